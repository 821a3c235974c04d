/*
 * The .funcs entry of run_fn (step 3): redirects xen_minor_version to
 * run_fn_minor.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int run_fn_minor(void);

static const char run_fn_patch_name[] = "xen_minor_version";

static xsplice_func_t XSPLICE_FUNCS run_fn_patch = {
    .name = run_fn_patch_name,
    .new_addr = PAYLOAD_ADDR(run_fn_minor),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
};
