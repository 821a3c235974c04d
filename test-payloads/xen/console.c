/*
 * The console: a byte buffer in the image's bss that a simulator reads back.
 *
 * Writes past the end are dropped rather than wrapped, so the buffer always
 * holds the first XEN_CONSOLE_SIZE - 1 bytes written since the last reset.
 */
#include "xen.h"

char xen_console_buf[XEN_CONSOLE_SIZE];
size_t xen_console_len;
int xen_console_enabled = 1;

/* Same name as the helper in hooklog.c: lookups need `console.c#emit`. */
static xen_out_of_line size_t emit(const char *s, size_t len)
{
    size_t room = XEN_CONSOLE_SIZE - 1 - xen_console_len;

    if ( len > room )
        len = room;
    memcpy(xen_console_buf + xen_console_len, s, len);
    xen_console_len += len;
    xen_console_buf[xen_console_len] = '\0';
    return len;
}

size_t xen_console_write(const char *s, size_t len)
{
    if ( !xen_console_enabled )
        return 0;
    return emit(s, len);
}

void xen_console_reset(void)
{
    xen_console_len = 0;
    xen_console_buf[0] = '\0';
}
