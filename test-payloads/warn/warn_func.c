/*
 * The replacement for the stand-in's xen_minor_version: a warning frame in
 * `.bug_frames.1` (Xen 4.17's x86 layout, see ../xen/bug.h), then 24.  The
 * hypervisor prints `Xen WARN at warn_func.c:<line of WARN()>` and goes on.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "../xen/bug.h"

unsigned int warn_minor(void);

unsigned int warn_minor(void)
{
    WARN();
    return 24;
}
