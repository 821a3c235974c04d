/*
 * xsplice.h - the live-patch payload ABI for payload C sources.
 *
 * This header lets one C source build a payload for any of the four payload
 * ABIs xsplice knows. Define exactly one of
 *
 *   XSPLICE_ABI_XSPLICE_V4     the xSplice v4 patch series (March 2016):
 *                              .xsplice.funcs, 64-byte entry, pad[32]
 *   XSPLICE_ABI_XSPLICE        Xen 4.7.0-rc1..rc4: .xsplice.*, version 1
 *   XSPLICE_ABI_LIVEPATCH_V1   Xen 4.7 to 4.13: .livepatch.*, version 1
 *   XSPLICE_ABI_LIVEPATCH_V2   Xen 4.14 and later: version 2, expectations,
 *                              .livepatch.xen_depends, action hooks
 *
 * before including it; with none defined, XSPLICE_ABI_LIVEPATCH_V2 is used.
 * It works for 64-bit (x86-64, arm64) and 32-bit (arm32) targets.
 *
 * The Rust crate xsplice-abi is the reference for every size and offset
 * here; a test compiles a probe against this header with the native and the
 * cross compilers and compares sizeof/offsetof with the crate, so the two
 * cannot drift. Written for xsplice from the payload-format specification;
 * no hypervisor header is included or copied.
 */
#ifndef XSPLICE_H
#define XSPLICE_H

#include <stdint.h>

#if defined(XSPLICE_ABI_XSPLICE_V4) + defined(XSPLICE_ABI_XSPLICE) + \
    defined(XSPLICE_ABI_LIVEPATCH_V1) + defined(XSPLICE_ABI_LIVEPATCH_V2) > 1
#error "define at most one XSPLICE_ABI_* macro"
#endif

#if !defined(XSPLICE_ABI_XSPLICE_V4) && !defined(XSPLICE_ABI_XSPLICE) && \
    !defined(XSPLICE_ABI_LIVEPATCH_V1) && !defined(XSPLICE_ABI_LIVEPATCH_V2)
#define XSPLICE_ABI_LIVEPATCH_V2 1
#endif

/* ---- Section names and the version byte (spec §0, §1.6, C-92). ---- */

#if defined(XSPLICE_ABI_XSPLICE_V4) || defined(XSPLICE_ABI_XSPLICE)
#define XSPLICE_SECTION_PREFIX ".xsplice"
#define XSPLICE_FUNCS_SECTION ".xsplice.funcs"
#define XSPLICE_DEPENDS_SECTION ".xsplice.depends"
#else
#define XSPLICE_SECTION_PREFIX ".livepatch"
#define XSPLICE_FUNCS_SECTION ".livepatch.funcs"
#define XSPLICE_DEPENDS_SECTION ".livepatch.depends"
#endif

#if defined(XSPLICE_ABI_XSPLICE_V4)
#define XSPLICE_ABI_NAME "xsplice-v4"
/* No version byte: byte 32 is pad[0] and stays 0. */
#define XSPLICE_VERSION_INIT
#elif defined(XSPLICE_ABI_XSPLICE)
#define XSPLICE_ABI_NAME "xsplice"
#define XSPLICE_PAYLOAD_VERSION 1
#elif defined(XSPLICE_ABI_LIVEPATCH_V1)
#define XSPLICE_ABI_NAME "livepatch-v1"
#define XSPLICE_PAYLOAD_VERSION 1
#else
#define XSPLICE_ABI_NAME "livepatch-v2"
#define XSPLICE_PAYLOAD_VERSION 2
#define XSPLICE_XEN_DEPENDS_SECTION ".livepatch.xen_depends"
#define XSPLICE_MODINFO_SECTION ".modinfo"
#endif

#ifdef XSPLICE_PAYLOAD_VERSION
/* Designated initialiser for the version byte, empty where there is none. */
#define XSPLICE_VERSION_INIT .version = XSPLICE_PAYLOAD_VERSION,
#endif

/* ---- The .funcs entry (spec §1.7). ---- */

#if defined(XSPLICE_ABI_XSPLICE_V4)

/* (a) 64 bytes on x86-64: addresses as unsigned long, then pad[32]. */
struct xsplice_patch_func {
    const char *name;
    unsigned long new_addr;
    unsigned long old_addr;
    uint32_t new_size;
    uint32_t old_size;
    uint8_t pad[32];
};
typedef struct xsplice_patch_func xsplice_func_t;

#elif defined(XSPLICE_ABI_XSPLICE) || defined(XSPLICE_ABI_LIVEPATCH_V1)

/* (b) Version 1: 64 bytes on 64-bit targets, 52 on 32-bit. */
#if defined(XSPLICE_ABI_XSPLICE)
#define XSPLICE_FUNC_STRUCT xsplice_patch_func
#else
#define XSPLICE_FUNC_STRUCT livepatch_func
#endif
struct XSPLICE_FUNC_STRUCT {
    const char *name;
    void *new_addr;  /* replacement, or NULL to NOP out new_size bytes */
    void *old_addr;  /* patched function, or NULL to look up name */
    uint32_t new_size;
    uint32_t old_size;
    uint8_t version; /* XSPLICE_PAYLOAD_VERSION */
    uint8_t opaque[31]; /* hypervisor scratch: build as zero */
};
typedef struct XSPLICE_FUNC_STRUCT xsplice_func_t;

#else

/* Bytes the hypervisor expects at old_addr before applying (v2 only). */
struct livepatch_expectation {
    uint8_t enabled : 1;
    uint8_t len : 5; /* bytes of data compared, at most 31 */
    uint8_t rsv : 2; /* must be 0 */
    uint8_t data[31];
};

/* (c)-(e) Version 2: 104 bytes on 64-bit targets, 92 on 32-bit. */
struct livepatch_func {
    const char *name;
    void *new_addr;
    void *old_addr;
    uint32_t new_size;
    uint32_t old_size;
    uint8_t version;    /* XSPLICE_PAYLOAD_VERSION */
    uint8_t opaque[31]; /* hypervisor scratch before 4.19: build as zero */
    uint8_t applied;    /* hypervisor state before 4.19: build as zero */
    uint8_t _pad[7];
    struct livepatch_expectation expect;
};
typedef struct livepatch_func xsplice_func_t;

#endif

/*
 * Place a .funcs entry:
 *   static xsplice_func_t XSPLICE_FUNCS patch = { ... };
 * The section gets the pointer alignment; its flags come from the compiler
 * (writable for a non-const object) and the linker may change them.
 */
#define XSPLICE_FUNCS \
    __attribute__((__used__, __section__(XSPLICE_FUNCS_SECTION), __aligned__(sizeof(void *))))

/* ---- Hooks (spec §1.6, C-99). ---- */

/*
 * A hook is one pointer in its own section. The load and unload sections
 * are arrays (any number of XSPLICE_LOAD_HOOK/XSPLICE_UNLOAD_HOOK uses);
 * the six action hooks take exactly one pointer, so use each at most once
 * per payload. Every hook variable is a local symbol the hypervisor keeps
 * as a "new symbol": its name must be unique among loaded payloads.
 */
#define XSPLICE_HOOK_ATTR_(sec) \
    __attribute__((__used__, __section__(sec), __aligned__(sizeof(void *))))

#if !defined(XSPLICE_ABI_XSPLICE_V4) && !defined(XSPLICE_ABI_XSPLICE)

/* void fn(void), run before the functions are patched (Xen 4.8+). */
#define XSPLICE_LOAD_HOOK(fn) \
    static void (*const xsplice_load_hook_##fn)(void) \
        XSPLICE_HOOK_ATTR_(".livepatch.hooks.load") = (fn)
/* void fn(void), run after the functions are restored (Xen 4.8+). */
#define XSPLICE_UNLOAD_HOOK(fn) \
    static void (*const xsplice_unload_hook_##fn)(void) \
        XSPLICE_HOOK_ATTR_(".livepatch.hooks.unload") = (fn)

#endif

#if defined(XSPLICE_ABI_LIVEPATCH_V2)

/* The hypervisor's payload descriptor; its layout is not a stable ABI. */
struct payload;

#define XSPLICE_SINGLE_HOOK_(kind, ret, fn) \
    static ret (*const xsplice_##kind##_hook)(struct payload *) \
        XSPLICE_HOOK_ATTR_(".livepatch.hooks." #kind) = (fn)

/* int fn(struct payload *): non-zero vetoes the apply. */
#define XSPLICE_PREAPPLY_HOOK(fn) XSPLICE_SINGLE_HOOK_(preapply, int, fn)
/* int fn(struct payload *): replaces the native apply. */
#define XSPLICE_APPLY_HOOK(fn) XSPLICE_SINGLE_HOOK_(apply, int, fn)
/* void fn(struct payload *): runs after the apply. */
#define XSPLICE_POSTAPPLY_HOOK(fn) XSPLICE_SINGLE_HOOK_(postapply, void, fn)
/* int fn(struct payload *): non-zero vetoes the revert. */
#define XSPLICE_PREREVERT_HOOK(fn) XSPLICE_SINGLE_HOOK_(prerevert, int, fn)
/* int fn(struct payload *): replaces the native revert. */
#define XSPLICE_REVERT_HOOK(fn) XSPLICE_SINGLE_HOOK_(revert, int, fn)
/* void fn(struct payload *): runs after the revert. */
#define XSPLICE_POSTREVERT_HOOK(fn) XSPLICE_SINGLE_HOOK_(postrevert, void, fn)

/*
 * One "key=value" string in .modinfo (spec §1.6, C-109), NUL included, so
 * several uses concatenate into the key=value\0key=value\0 list the
 * hypervisor prints, in an order the compiler chooses. key must be a C
 * identifier.
 */
#define XSPLICE_MODINFO(key, value) \
    static const char xsplice_modinfo_##key[] \
        __attribute__((__used__, __section__(XSPLICE_MODINFO_SECTION), __aligned__(1))) = #key "=" value

#endif

#endif /* XSPLICE_H */
