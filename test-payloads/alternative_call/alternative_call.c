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

static const char alternative_call_patch_name[] = "xen_minor_version";

static xsplice_func_t XSPLICE_FUNCS alternative_call_patch = {
    .name = alternative_call_patch_name,
    .new_addr = PAYLOAD_ADDR(alternative_call_minor),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};

static void alternative_call_load(void)
{
    alternative_call_slot = alternative_call_other;
}

XSPLICE_LOAD_HOOK(alternative_call_load);
