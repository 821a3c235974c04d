/*
 * An enabled expectation: the hypervisor compares the first bytes of
 * xen_extra_version with EXPECT_BYTES, which xsplice-config read from the
 * target (`expect:8`), and refuses the apply if they differ.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_expectations_world(void);

static const char expectations_patch_name[] = "xen_extra_version";

static xsplice_func_t XSPLICE_FUNCS expectations_patch = {
    .name = expectations_patch_name,
    .new_addr = PAYLOAD_ADDR(xen_expectations_world),
    .old_addr = PAYLOAD_ADDR(OLD_CODE),
    .new_size = NEW_CODE_SZ,
    .old_size = OLD_CODE_SZ,
    XSPLICE_VERSION_INIT
    .expect = {
        .enabled = 1,
        .len = sizeof((unsigned char[])EXPECT_BYTES),
        .data = EXPECT_BYTES,
    },
};
