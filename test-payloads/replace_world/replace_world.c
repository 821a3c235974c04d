/*
 * The .funcs entry of replace_world: old_addr is 0, so the loader finds the
 * patched function by `name` in the hypervisor's symbol table. Only the
 * size of the old function comes from config.h.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_replace_world(void);

static const char replace_world_patch_name[] = "xen_extra_version";

static xsplice_func_t XSPLICE_FUNCS replace_world_patch = {
    .name = replace_world_patch_name,
    .new_addr = PAYLOAD_ADDR(xen_replace_world),
    .old_addr = 0,
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};
