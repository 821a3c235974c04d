/*
 * The replacement for the stand-in's xen_minor_version: a bug frame in
 * `.bug_frames.2` (Xen 4.17's x86 layout, see ../xen/bug.h).  Calling it
 * is the hypervisor's panic, `Xen BUG at bug_func.c:<line of BUG()>`.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "../xen/bug.h"

unsigned int bug_minor(void);

unsigned int bug_minor(void)
{
    BUG();
    return 23;
}
