/*
 * The replacement for the stand-in's xen_minor_version: `mov $25` with an
 * alternative `mov $26` for CPU feature 100 (an `.altinstructions` entry in
 * Xen's 14-byte x86 layout and its `.altinstr_replacement`).  The loader
 * applies it at upload: `xl info` shows minor 26 on a CPU with the feature
 * and 25 without.  Alternatives are x86's here: elsewhere it returns 25.
 */
#include "xsplice.h"
#include "stand_in.h"

/* Any feature number the simulator is given (word 3, bit 4). */
#define ALTERNATIVE_FEATURE 100

unsigned int alternative_minor(void);

unsigned int alternative_minor(void)
{
    unsigned int v;

#if defined(__x86_64__)
    asm volatile ( "661: movl $25, %[v]\n"
                   "662:\n"
                   ".pushsection .altinstr_replacement, \"ax\", @progbits\n"
                   "663: movl $26, %[v]\n"
                   "664:\n"
                   ".popsection\n"
                   ".pushsection .altinstructions, \"a\", @progbits\n"
                   ".long 661b - .\n"
                   ".long 663b - .\n"
                   ".word %c[feature]\n"
                   ".byte 662b - 661b\n"
                   ".byte 664b - 663b\n"
                   ".byte 0\n"
                   ".byte 0\n"
                   ".popsection"
                   : [v] "=r" (v)
                   : [feature] "i" (ALTERNATIVE_FEATURE) );
#else
    v = 25;
#endif
    return v;
}
