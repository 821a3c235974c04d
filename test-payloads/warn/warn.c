/*
 * The .funcs entry of warn (step 3): redirects xen_minor_version to
 * warn_minor, at the address and with the sizes xsplice-config looked up.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int warn_minor(void);

STAND_IN_FUNCS_ENTRY(warn, "xen_minor_version", warn_minor);
