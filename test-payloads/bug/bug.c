/*
 * The .funcs entry of bug (step 3): redirects xen_minor_version to
 * bug_minor, at the address and with the sizes xsplice-config looked up.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int bug_minor(void);

static const char bug_patch_name[] = "xen_minor_version";

static xsplice_func_t XSPLICE_FUNCS bug_patch = {
    .name = bug_patch_name,
    .new_addr = PAYLOAD_ADDR(bug_minor),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};
