/*
 * The .funcs entry of hello_world (step 3): redirects xen_extra_version,
 * at the address and with the sizes that xsplice-config looked up.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_hello_world(void);

static const char hello_world_patch_name[] = "xen_extra_version";

static xsplice_func_t XSPLICE_FUNCS hello_world_patch = {
    .name = hello_world_patch_name,
    .new_addr = PAYLOAD_ADDR(xen_hello_world),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};
