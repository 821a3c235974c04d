/*
 * The .funcs entry of extable (step 3): redirects xen_minor_version to
 * extable_minor, at the address and with the sizes xsplice-config looked up.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int extable_minor(void);

static const char extable_patch_name[] = "xen_minor_version";

static xsplice_func_t XSPLICE_FUNCS extable_patch = {
    .name = extable_patch_name,
    .new_addr = PAYLOAD_ADDR(extable_minor),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};
