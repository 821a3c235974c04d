/* The replacement replace_world installs with the REPLACE action. */
#include "xsplice.h"
#include "stand_in.h"

const char *xen_replace_world(void);

const char *xen_replace_world(void)
{
    return "Hello Again World";
}
