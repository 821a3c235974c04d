/*
 * The second file of the source-patch suite's probes: a caller of the
 * header inline and a static with the same name as one in probes.c.
 */
#include "probes.h"

/* header_inline.patch: the second caller of probe_scale(). */
unsigned long probe_inline_b(void)
{
    return probe_scale(probe_input + 1);
}

/* static_same_name.patch: `probes2.c#step`, not `probes.c#step`. */
static xen_out_of_line unsigned long step(unsigned long x)
{
    return x + 200;
}

unsigned long probe_step_b(void)
{
    return step(probe_input);
}

/* warn_line_moved.patch: a warning whose line moves; the code does not. */
unsigned long probe_warn(void)
{
    if ( probe_input > 1000 )
        PROBE_WARN();
    return probe_input + 3;
}
