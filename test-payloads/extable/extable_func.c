/*
 * The replacement for the stand-in's xen_minor_version: reads a word from
 * the unmapped first page through the payload's own exception-table entry,
 * whose fixup makes the function return 33.  Without the fixup the read
 * faults and the hypervisor dies; with it `xl info` shows minor 33.
 * Exception tables are x86's: on ARM (which the payload is not built for,
 * but whose compilers see every source) the function returns 22.
 */
#include "xsplice.h"
#include "stand_in.h"

unsigned int extable_minor(void);

unsigned int extable_minor(void)
{
    unsigned int v = 22;

#if defined(__x86_64__)
    asm volatile ( "1: movl (%[p]), %[v]\n"
                   "2:\n"
                   ".pushsection .fixup, \"ax\", @progbits\n"
                   "3: movl $33, %[v]\n"
                   "   jmp 2b\n"
                   ".popsection\n"
                   ".pushsection .ex_table, \"a\", @progbits\n"
                   ".balign 4\n"
                   ".long (1b) - .\n"
                   ".long (3b) - .\n"
                   ".popsection"
                   : [v] "+r" (v)
                   : [p] "r" (0x10UL) );
#endif
    return v;
}
