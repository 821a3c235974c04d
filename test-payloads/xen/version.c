/*
 * The version functions that the payload suite patches.
 *
 * They live in their own file so that the formatter in info.c calls them
 * through real call instructions: a trampoline written over one of them is
 * then seen by every caller, as in the hypervisor.
 */
#include "xen.h"

const char xen_extra_string[] = XEN_EXTRAVERSION;

/* Read at run time so the compiler cannot fold the versions into callers. */
unsigned int xen_version_numbers[2] = { XEN_VERSION, XEN_SUBVERSION };

/*
 * Counts calls of the original version functions: a patched function stops
 * counting, which a simulator can observe.  It also gives each function a
 * realistic size (at least 9 bytes on x86, room for ENDBR64 plus a jump).
 */
unsigned int xen_version_queries;

unsigned int xen_major_version(void)
{
    xen_version_queries++;
    return xen_version_numbers[0];
}

unsigned int xen_minor_version(void)
{
    xen_version_queries++;
    return xen_version_numbers[1];
}

const char *xen_extra_version(void)
{
    xen_version_queries++;
    return xen_extra_string;
}
