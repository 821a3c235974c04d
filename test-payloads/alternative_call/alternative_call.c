/*
 * The .funcs entry of alternative_call (step 3): redirects
 * xen_minor_version to alternative_call_minor; and the load hook that
 * re-aims the call's pointer after the loader has read it.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int alternative_call_minor(void);
unsigned int alternative_call_other(void);
extern unsigned int (*alternative_call_slot)(void);

STAND_IN_FUNCS_ENTRY(alternative_call, "xen_minor_version", alternative_call_minor);

static void alternative_call_load(void)
{
    alternative_call_slot = alternative_call_other;
}

XSPLICE_LOAD_HOOK(alternative_call_load);
