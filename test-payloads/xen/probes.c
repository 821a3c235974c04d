/*
 * Probes for the source-patch suite, one per kind of change a patch makes
 * (see probes.h).  Each is called by tests in the simulator; the comment
 * above each says which patch changes it.
 */
#include "probes.h"

unsigned long probe_input = 5;
unsigned long probe_table[4] = { 1, 2, 3, 4 };

/* body_change.patch, stack_body.patch: a changed body. */
unsigned long probe_body(void)
{
    return probe_input * 2;
}

/* new_callee.patch: the changed function calls a function the patch adds. */
unsigned long probe_new_callee(void)
{
    return probe_input + 1;
}

/* string_literal.patch: a changed string literal. */
const char *probe_string(void)
{
    return probe_input ? "probe: before" : "probe: never";
}

/* header_inline.patch: probe_scale() from probes.h, also in probes2.c. */
unsigned long probe_inline_a(void)
{
    return probe_scale(probe_input);
}

/* static_same_name.patch changes probes2.c's step(), not this one. */
static xen_out_of_line unsigned long step(unsigned long x)
{
    return x + 100;
}

unsigned long probe_step_a(void)
{
    return step(probe_input);
}

/*
 * cold_split.patch: a path through a cold function, which GCC moves to a
 * `probe_cold.cold` part in `.text.unlikely`.
 */
static __attribute__((cold, noinline)) unsigned long probe_cold_path(unsigned long x)
{
    xen_console_write("probe_cold: large input\n", 24);
    return x / 7;
}

unsigned long probe_cold(void)
{
    unsigned long x = probe_input;

    if ( x > 1000 )
        return probe_cold_path(x) + x * 5;
    return x + 7;
}

/* static_local.patch: the running copy of `calls` must be kept. */
unsigned long probe_counter(void)
{
    static unsigned long calls;

    calls += 1;
    return calls;
}

/* tiny_FAIL.patch: three bytes of code, too small for a jump. */
unsigned long probe_tiny(void)
{
    return 0;
}

/* data_layout_FAIL.patch: grows probe_table. */
unsigned long probe_table_sum(void)
{
    unsigned long sum = 0;
    unsigned int i;

    for ( i = 0; i < sizeof(probe_table) / sizeof(probe_table[0]); i++ )
        sum += probe_table[i];
    return sum;
}

/* init_only_FAIL.patch: code that runs once at boot (here: never). */
__attribute__((section(".init.text"), noinline)) void probe_init(void)
{
    probe_input = 5;
}
