/*
 * The replacement for the stand-in's xen_minor_version: an indirect call
 * through the writable pointer `altcall_slot`, at a site listed in
 * `.alt_call_sites` (Xen 4.21's x86 layout: a 32-bit offset from the entry
 * to a 6-byte `call *disp32(%rip)`).  The loader reads the pointer at
 * upload, when it holds xen_major_version, and makes the site a direct
 * call to it; the load hook (altcall.c) then aims the pointer at
 * altcall_other.  `xl info` shows minor 4 when the site was rewritten, and
 * 77 if the call still went through the pointer.  Alternative calls are
 * x86's: elsewhere the function calls through the pointer in C.
 */
#include "xsplice.h"
#include "stand_in.h"

unsigned int altcall_minor(void);
unsigned int altcall_other(void);

unsigned int (*altcall_slot)(void) = xen_major_version;

unsigned int altcall_other(void)
{
    return 77;
}

unsigned int altcall_minor(void)
{
    unsigned int v;

#if defined(__x86_64__)
    asm volatile ( "1: call *altcall_slot(%%rip)\n"
                   ".pushsection .alt_call_sites, \"a\", @progbits\n"
                   ".long 1b - .\n"
                   ".popsection"
                   : "=a" (v)
                   :
                   : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
                     "memory", "cc" );
#else
    v = altcall_slot();
#endif
    return v;
}
