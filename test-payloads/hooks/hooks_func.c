/* The function the hooks payload patches in, so it also has a .funcs entry. */
#include "xsplice.h"
#include "stand_in.h"

const char *xen_hooks_world(void);

const char *xen_hooks_world(void)
{
    return "Hello Hooks";
}
