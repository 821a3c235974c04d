/*
 * The .funcs entry of run_fn (step 3): redirects xen_minor_version to
 * run_fn_minor.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

unsigned int run_fn_minor(void);

STAND_IN_FUNCS_ENTRY(run_fn, "xen_minor_version", run_fn_minor);
