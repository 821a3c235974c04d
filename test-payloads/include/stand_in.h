/*
 * What payloads may call in the stand-in hypervisor (test-payloads/xen/),
 * plus the small portability macros every payload source uses.
 *
 * Include it after xsplice.h. Symbols declared here are undefined in the
 * payload and resolved by the loader against the image's symbol table.
 */
#ifndef XSPLICE_STAND_IN_H
#define XSPLICE_STAND_IN_H

/*
 * Like Xen's own build: every declaration is hidden, so the compiler never
 * goes through a GOT (x86 GOTPCREL is not a relocation the loader accepts).
 */
#pragma GCC visibility push(hidden)

/* Appends "event\n" to the stand-in's hook log (see test-payloads/xen/README.md). */
void xen_hook_log(const char *event);

unsigned int xen_major_version(void);
unsigned int xen_minor_version(void);
const char *xen_extra_version(void);

/*
 * A code address as the .funcs entry spells it: `unsigned long` in the
 * xsplice-v4 struct, `void *` in every merged one.
 */
#if defined(XSPLICE_ABI_XSPLICE_V4)
#define PAYLOAD_ADDR(x) ((unsigned long)(x))
#else
#define PAYLOAD_ADDR(x) ((void *)(x))
#endif

/*
 * STAND_IN_FUNCS_ENTRY(prefix, old_name, new_fn, ...): the .funcs entry
 * `prefix_patch` (name in `prefix_patch_name`) that redirects the function
 * called old_name to new_fn, at the address and with the sizes xsplice-config
 * wrote to config.h (OLD_CODE, NEW_CODE_SZ, OLD_CODE_SZ). Further designated
 * initialisers (an expectation) may follow new_fn.
 */
#define STAND_IN_FUNCS_ENTRY(prefix, old_name, new_fn, ...)              \
    static const char prefix##_patch_name[] = old_name;                  \
    static xsplice_func_t XSPLICE_FUNCS prefix##_patch = {               \
        .name = prefix##_patch_name,                                     \
        .new_addr = PAYLOAD_ADDR(new_fn),                                \
        .old_addr = PAYLOAD_ADDR(OLD_CODE),                              \
        .new_size = NEW_CODE_SZ,                                         \
        .old_size = OLD_CODE_SZ,                                         \
        XSPLICE_VERSION_INIT                                             \
        __VA_ARGS__                                                      \
    }

#endif
