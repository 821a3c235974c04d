/*
 * The .funcs entry of extable (step 3): redirects xen_minor_version to
 * extable_minor, at the address and with the sizes xsplice-config looked up.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int extable_minor(void);

STAND_IN_FUNCS_ENTRY(extable, "xen_minor_version", extable_minor);
