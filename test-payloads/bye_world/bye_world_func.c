/*
 * The replacement bye_world stacks on top of hello_world's: the same
 * function patched again, so the loader must apply it after hello_world.
 */
#include "xsplice.h"
#include "stand_in.h"

const char *xen_bye_world(void);

const char *xen_bye_world(void)
{
    return "Bye World";
}
