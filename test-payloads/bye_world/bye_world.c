/*
 * The .funcs entry of bye_world. Its .livepatch.depends note is
 * hello_world's build-id (the link step's --depends), which is what
 * makes it a stacked payload.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_bye_world(void);

STAND_IN_FUNCS_ENTRY(bye_world, "xen_extra_version", xen_bye_world);
