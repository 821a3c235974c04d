/*
 * The .funcs entry of altcall (step 3): redirects xen_minor_version to
 * altcall_minor; and the load hook that re-aims the call's pointer after
 * the loader has read it.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int altcall_minor(void);
unsigned int altcall_other(void);
extern unsigned int (*altcall_slot)(void);

STAND_IN_FUNCS_ENTRY(altcall, "xen_minor_version", altcall_minor);

static void altcall_load(void)
{
    altcall_slot = altcall_other;
}

XSPLICE_LOAD_HOOK(altcall_load);
