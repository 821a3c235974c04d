/*
 * The replacement for the stand-in's xen_minor_version: a `run_fn` frame
 * of its own in `.bug_frames.0` (Xen 4.17's x86 layout, as
 * `run_in_exception_handler()` writes it: the distance to the `ud2`, then
 * the distance to the function, line 0).  The `ud2` traps; the hypervisor
 * calls run_fn_handler with the trap's `struct cpu_user_regs`, which sets
 * the saved rax (word 10 of Xen's x86-64 layout) to 10 more than it was,
 * and goes on after the `ud2`: the function returns 21 + 10 = 31.
 */
#include "xsplice.h"
#include "stand_in.h"

unsigned int run_fn_minor(void);
void run_fn_handler(unsigned long *regs);

/* Xen's `struct cpu_user_regs`, x86-64: r15 ... rdi, then the rest. */
#define UREGS_rax 10

void run_fn_handler(unsigned long *regs)
{
    regs[UREGS_rax] += 10;
}

unsigned int run_fn_minor(void)
{
    unsigned long v = 21;

    asm volatile ( "1: ud2\n"
                   ".pushsection .bug_frames.0, \"a\", @progbits\n"
                   ".p2align 2\n"
                   "2: .long 1b - 2b\n"
                   ".long run_fn_handler - 2b\n"
                   ".popsection"
                   : "+a" (v)
                   :
                   : "memory" );
    return v;
}
