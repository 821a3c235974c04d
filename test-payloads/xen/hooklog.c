/*
 * The hook log: payload hooks call xen_hook_log("event") and a simulator
 * reads the log back to check which hooks ran, in which order, how often.
 *
 * Each event is appended followed by a newline; xen_hook_log_count counts
 * calls even when the buffer is full.
 */
#include "xen.h"

char xen_hook_log_buf[XEN_HOOK_LOG_SIZE];
size_t xen_hook_log_len;
unsigned int xen_hook_log_count;

/* Same name as the helper in console.c: lookups need `hooklog.c#emit`. */
static xen_out_of_line void emit(char c)
{
    if ( xen_hook_log_len < XEN_HOOK_LOG_SIZE - 1 )
    {
        xen_hook_log_buf[xen_hook_log_len++] = c;
        xen_hook_log_buf[xen_hook_log_len] = '\0';
    }
}

void xen_hook_log(const char *event)
{
    xen_hook_log_count++;
    while ( *event )
        emit(*event++);
    emit('\n');
}

void xen_hook_log_reset(void)
{
    xen_hook_log_len = 0;
    xen_hook_log_count = 0;
    xen_hook_log_buf[0] = '\0';
}
