/*
 * Must fail: an enabled expectation of bytes that are not at
 * xen_extra_version (DE AD C0 DE BA BE), so the apply is refused.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_expectations_world(void);

STAND_IN_FUNCS_ENTRY(expectations_fail, "xen_extra_version", xen_expectations_world,
    .expect = {
        .enabled = 1,
        .len = 6,
        .data = { 0xde, 0xad, 0xc0, 0xde, 0xba, 0xbe },
    });
