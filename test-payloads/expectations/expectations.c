/*
 * An enabled expectation: the hypervisor compares the first bytes of
 * xen_extra_version with EXPECT_BYTES, which xsplice-config read from the
 * target (`expect:8`), and refuses the apply if they differ.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_expectations_world(void);

STAND_IN_FUNCS_ENTRY(expectations, "xen_extra_version", xen_expectations_world,
    .expect = {
        .enabled = 1,
        .len = sizeof((unsigned char[])EXPECT_BYTES),
        .data = EXPECT_BYTES,
    });
