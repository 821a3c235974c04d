/*
 * Functions for the source-patch suite (test-payloads/patches/stand-in/).
 *
 * Only the Kbuild-style tree of `xsplice_build::build_stand_in_tree` links
 * probes.c and probes2.c, so the stand-in image of the payload suite stays
 * as it is.  Each probe takes no argument and returns a number or a string
 * pointer, so that a test can call it in the simulator before a patch is
 * applied, while it is applied and after it is reverted.
 */
#ifndef XSPLICE_STAND_IN_PROBES_H
#define XSPLICE_STAND_IN_PROBES_H

#include "xen.h"

/* Read at run time, so that no probe folds to a constant. */
extern unsigned long probe_input;
extern unsigned long probe_table[4];

/* Inlined into callers in both files: a change must patch every caller. */
static inline unsigned long probe_scale(unsigned long x)
{
    return x * 3 + 1;
}

/*
 * A warning frame shaped like Xen's x86 bug frames: `ud2` in the code and
 * an 8-byte element in `.bug_frames.1` whose two words are displacements to
 * the `ud2` and to the file name, with the line number folded into their
 * top bits.  Moving the line changes the frame only, never the code.
 */
#if defined(__x86_64__)
#define PROBE_WARN()                                                        \
    asm volatile ( "1: ud2\n"                                               \
                   ".pushsection .rodata.str1.1, \"aMS\", @progbits, 1\n"   \
                   "3: .asciz \"" __FILE__ "\"\n"                           \
                   ".popsection\n"                                          \
                   ".pushsection .bug_frames.1, \"a\", @progbits\n"         \
                   ".p2align 2\n"                                           \
                   "2: .long (1b - 2b) + %c0\n"                             \
                   ".long (3b - 2b) + %c1\n"                                \
                   ".popsection"                                            \
                   :: "i" ((__LINE__ >> 7) << 24),                          \
                      "i" ((__LINE__ & 0x7f) << 24) )
#else
#define PROBE_WARN() do { } while ( 0 )
#endif

/* probes.c */
unsigned long probe_body(void);
unsigned long probe_new_callee(void);
const char *probe_string(void);
unsigned long probe_inline_a(void);
unsigned long probe_step_a(void);
unsigned long probe_cold(void);
unsigned long probe_counter(void);
unsigned long probe_tiny(void);
unsigned long probe_table_sum(void);
void probe_init(void);

/* probes2.c */
unsigned long probe_inline_b(void);
unsigned long probe_step_b(void);
unsigned long probe_warn(void);

#endif
