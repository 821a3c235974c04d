/*
 * A guarded memory read with an exception-table fixup, and probes that
 * raise a fault, a warning, a bug and a failed assertion, so that a
 * simulator shows how it handles each (see README.md, "Traps").
 */
#include "xen.h"
#include "bug.h"

/* The first page is never mapped: a read there always faults. */
#define XEN_UNMAPPED_ADDRESS 0x10UL

#define EFAULT 14

long xen_read_guarded(const unsigned long *addr, unsigned long *val)
{
    long rc = 0;
    unsigned long v;

#if defined(__x86_64__)
    asm volatile ( "1: mov (%[p]), %[v]\n"
                   "2:\n"
                   ".pushsection .fixup, \"ax\", @progbits\n"
                   "3: mov %[efault], %[rc]\n"
                   "   xor %k[v], %k[v]\n"
                   "   jmp 2b\n"
                   ".popsection\n"
                   XEN_EXTABLE(1b, 3b)
                   : [rc] "+r" (rc), [v] "=&r" (v)
                   : [p] "r" (addr), [efault] "i" (-EFAULT) );
#else
    v = *addr;
#endif
    *val = v;
    return rc;
}

long xen_guarded_probe(void)
{
    unsigned long v = 1;

    return xen_read_guarded((const unsigned long *)XEN_UNMAPPED_ADDRESS, &v);
}

unsigned int xen_warn_probe(void)
{
    WARN_ON(xen_version_numbers[0] == XEN_VERSION);
    return xen_version_numbers[0];
}

unsigned int xen_bug_probe(void)
{
    BUG_ON(xen_version_numbers[1] == XEN_SUBVERSION);
    return xen_version_numbers[1];
}

unsigned int xen_assert_probe(void)
{
    ASSERT(xen_version_numbers[0] == 5);
    return xen_version_numbers[0];
}
