/*
 * Must fail: an enabled expectation of bytes that are not at
 * xen_extra_version (DE AD C0 DE BA BE), so the apply is refused.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_expectations_world(void);

static const char expectations_fail_patch_name[] = "xen_extra_version";

static xsplice_func_t XSPLICE_FUNCS expectations_fail_patch = {
    .name = expectations_fail_patch_name,
    .new_addr = PAYLOAD_ADDR(xen_expectations_world),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
    .expect = {
        .enabled = 1,
        .len = 6,
        .data = { 0xde, 0xad, 0xc0, 0xde, 0xba, 0xbe },
    },
};
