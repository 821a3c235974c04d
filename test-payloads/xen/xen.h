/*
 * Shared declarations of the stand-in hypervisor.
 *
 * The stand-in is a small freestanding program shaped like Xen's `xen-syms`:
 * version functions a payload can patch, an `xl info`-style formatter, a
 * console buffer and a hook log that a simulator can read back.  Nothing here
 * comes from Xen; only the names of the version functions follow it so that
 * the payloads read like Xen's own test payloads.
 */
#ifndef XSPLICE_STAND_IN_XEN_H
#define XSPLICE_STAND_IN_XEN_H

typedef unsigned long size_t;

#define XEN_VERSION    4
#define XEN_SUBVERSION 22
#define XEN_EXTRAVERSION "-unstable"

#define XEN_CONSOLE_SIZE  4096
#define XEN_HOOK_LOG_SIZE 4096

/*
 * Keeps a static helper out of line and unrenamed, so that its symbol stays
 * `file#name` in the image (no `.constprop`/`.isra` clones).
 */
#if defined(__clang__)
#define xen_out_of_line __attribute__((noinline, used))
#else
#define xen_out_of_line __attribute__((noipa, used))
#endif

/* version.c */
unsigned int xen_major_version(void);
unsigned int xen_minor_version(void);
const char *xen_extra_version(void);
extern const char xen_extra_string[];
extern unsigned int xen_version_numbers[2];
extern unsigned int xen_version_queries;

/* cet.c (x86: built with -fcf-protection=branch, starts with ENDBR64) */
const char *xen_changeset(void);

/* info.c */
size_t xen_info_format(char *buf, size_t size);
size_t xen_console_info(void);
extern unsigned int xen_info_calls;

/* console.c */
extern char xen_console_buf[XEN_CONSOLE_SIZE];
extern size_t xen_console_len;
extern int xen_console_enabled;
size_t xen_console_write(const char *s, size_t len);
void xen_console_reset(void);

/* hooklog.c */
extern char xen_hook_log_buf[XEN_HOOK_LOG_SIZE];
extern size_t xen_hook_log_len;
extern unsigned int xen_hook_log_count;
void xen_hook_log(const char *event);
void xen_hook_log_reset(void);

/* traps.c */
long xen_read_guarded(const unsigned long *addr, unsigned long *val);
long xen_guarded_probe(void);
unsigned int xen_warn_probe(void);
unsigned int xen_bug_probe(void);
unsigned int xen_assert_probe(void);

/* lib.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
