/* The replacement the expectations payload installs. */
#include "xsplice.h"
#include "stand_in.h"

const char *xen_expectations_world(void);

const char *xen_expectations_world(void)
{
    return "Hello Expectations";
}
