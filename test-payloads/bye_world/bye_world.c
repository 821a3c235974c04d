/*
 * The .funcs entry of bye_world. Its .livepatch.depends note is
 * hello_world's build-id (the link step's --depends), which is what
 * makes it a stacked payload.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_bye_world(void);

static const char bye_world_patch_name[] = "xen_extra_version";

static xsplice_func_t XSPLICE_FUNCS bye_world_patch = {
    .name = bye_world_patch_name,
    .new_addr = PAYLOAD_ADDR(xen_bye_world),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};
