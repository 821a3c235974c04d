/*
 * The replacement for the stand-in's xen_minor_version: an indirect call
 * through the writable pointer `alternative_call_slot`, written the way
 * Xen 4.17's `alternative_call()` writes one: the original is
 * `call *slot(%rip)`, and an `.altinstructions` entry on
 * X86_FEATURE_ALWAYS (X86_FEATURE_LM, feature 93) replaces it with
 * `call .`, whose displacement of -5 asks the loader to make the site a
 * direct call to the pointer's value at upload.  The pointer then holds
 * xen_major_version; the load hook (alternative_call.c) aims it at
 * alternative_call_other.  `xl info` shows minor 4 when the site was
 * rewritten, and 77 if the call still went through the pointer.
 */
#include "xsplice.h"
#include "stand_in.h"

unsigned int alternative_call_minor(void);
unsigned int alternative_call_other(void);

unsigned int (*alternative_call_slot)(void) = xen_major_version;

unsigned int alternative_call_other(void)
{
    return 77;
}

unsigned int alternative_call_minor(void)
{
    unsigned int v;

    asm volatile ( "661: call *alternative_call_slot(%%rip)\n"
                   "662:\n"
                   ".pushsection .altinstr_replacement, \"ax\", @progbits\n"
                   "663: call .\n"
                   "664:\n"
                   ".popsection\n"
                   ".pushsection .altinstructions, \"a\", @progbits\n"
                   ".long 661b - .\n"
                   ".long 663b - .\n"
                   ".word 93\n"
                   ".byte 662b - 661b\n"
                   ".byte 664b - 663b\n"
                   ".byte 0\n"
                   ".byte 0\n"
                   ".popsection"
                   : "=a" (v)
                   :
                   : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                     "memory", "cc" );
    return v;
}
