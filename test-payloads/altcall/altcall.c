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

static const char altcall_patch_name[] = "xen_minor_version";

static xsplice_func_t XSPLICE_FUNCS altcall_patch = {
    .name = altcall_patch_name,
    .new_addr = PAYLOAD_ADDR(altcall_minor),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};

static void altcall_load(void)
{
    altcall_slot = altcall_other;
}

XSPLICE_LOAD_HOOK(altcall_load);
