/*
 * The replacement for the stand-in's xen_extra_version (step 1 of the
 * seed's recipe): compiled first, so that its size can go into config.h.
 */
#include "xsplice.h"
#include "stand_in.h"

const char *xen_hello_world(void);

const char *xen_hello_world(void)
{
    return "Hello World";
}
