/*
 * The .funcs entry of bug (step 3): redirects xen_minor_version to
 * bug_minor, at the address and with the sizes xsplice-config looked up.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int bug_minor(void);

STAND_IN_FUNCS_ENTRY(bug, "xen_minor_version", bug_minor);
