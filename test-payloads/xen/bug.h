/*
 * Exception tables and bug frames of the stand-in hypervisor, in the
 * element layouts of Xen 4.17 on x86.
 *
 * An exception-table entry is two 32-bit words in `.ex_table`, each the
 * distance from the word itself to an address: the instruction that may
 * fault, then the fixup code (in `.fixup`) to resume at.  A bug frame is a
 * `ud2` in the code and an element in `.bug_frames.N` (N: 0 run_fn, 1 warn,
 * 2 bug, 3 assert): two words holding the distances from the element to the
 * `ud2` and to the file name in their low 24 bits, and the line number's
 * high and low 7 bits above them; an assert element has two more words, the
 * second the distance to the failed predicate.  On other architectures the
 * macros compile to nothing and a guarded read is a plain one.
 */
#ifndef XSPLICE_STAND_IN_BUG_H
#define XSPLICE_STAND_IN_BUG_H

#define BUGFRAME_warn   1
#define BUGFRAME_bug    2
#define BUGFRAME_assert 3

#if defined(__x86_64__)

/* One `.ex_table` entry: the fault at `from` resumes at `to`. */
#define XEN_EXTABLE(from, to)                                               \
    ".pushsection .ex_table, \"a\", @progbits\n"                            \
    ".balign 4\n"                                                           \
    ".long (" #from ") - .\n"                                               \
    ".long (" #to ") - .\n"                                                 \
    ".popsection\n"

/*
 * The strings go into mergeable rodata from the asm itself: under -fpie a
 * string's address is no assemble-time constant an "i" operand could carry.
 */
#define XEN_BUG_FRAME(type, pred)                                           \
    asm volatile ( "1: ud2\n"                                               \
                   ".pushsection .rodata.str1.1, \"aMS\", @progbits, 1\n"   \
                   "3: .asciz \"" __FILE__ "\"\n"                           \
                   "4: .asciz \"" pred "\"\n"                               \
                   ".popsection\n"                                          \
                   ".pushsection .bug_frames.%c0, \"a\", @progbits\n"       \
                   ".p2align 2\n"                                           \
                   "2: .long (1b - 2b) + %c1\n"                             \
                   ".long (3b - 2b) + %c2\n"                                \
                   ".if %c0 == 3\n"                                         \
                   ".long 0, (4b - 2b)\n"                                   \
                   ".endif\n"                                               \
                   ".popsection"                                            \
                   :: "i" (type),                                           \
                      "i" ((__LINE__ >> 7) << 24),                          \
                      "i" ((__LINE__ & 0x7f) << 24) )

#else

#define XEN_BUG_FRAME(type, pred) do { } while ( 0 )

#endif

#define WARN() XEN_BUG_FRAME(BUGFRAME_warn, "")
#define BUG() XEN_BUG_FRAME(BUGFRAME_bug, "")
#define WARN_ON(p) do { if ( p ) WARN(); } while ( 0 )
#define BUG_ON(p) do { if ( p ) BUG(); } while ( 0 )
#define ASSERT(p) do { if ( !(p) ) XEN_BUG_FRAME(BUGFRAME_assert, #p); } while ( 0 )

#endif
