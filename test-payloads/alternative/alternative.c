/*
 * The .funcs entry of alternative (step 3): redirects xen_minor_version to
 * alternative_minor, at the address and with the sizes xsplice-config looked up.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int alternative_minor(void);

STAND_IN_FUNCS_ENTRY(alternative, "xen_minor_version", alternative_minor);
