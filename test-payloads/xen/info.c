/*
 * `xl info`-style lines, built from the live version functions.
 *
 * xen_info_format writes into a caller's buffer; xen_console_info writes the
 * same lines to the console.  Both call the version functions every time, so
 * a patched function shows up at once.
 */
#include "xen.h"

unsigned int xen_info_calls;

struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void put(struct out *o, char c)
{
    if ( o->len + 1 < o->size )
        o->buf[o->len] = c;
    o->len++;
}

static void put_str(struct out *o, const char *s)
{
    while ( *s )
        put(o, *s++);
}

/* Decimal without division: 32-bit ARM has no divide instruction to rely on. */
static void put_uint(struct out *o, unsigned int v)
{
    static const unsigned int powers[] = {
        1000000000u, 100000000u, 10000000u, 1000000u, 100000u,
        10000u, 1000u, 100u, 10u, 1u,
    };
    int started = 0;
    unsigned int i;

    for ( i = 0; i < sizeof(powers) / sizeof(powers[0]); i++ )
    {
        char d = '0';

        while ( v >= powers[i] )
        {
            v -= powers[i];
            d++;
        }
        if ( d != '0' || started || powers[i] == 1 )
        {
            put(o, d);
            started = 1;
        }
    }
}

/* `xl info` pads the key to 23 columns, then ": ". */
static void put_key(struct out *o, const char *key)
{
    size_t n = strlen(key);

    put_str(o, key);
    while ( n++ < 23 )
        put(o, ' ');
    put_str(o, ": ");
}

size_t xen_info_format(char *buf, size_t size)
{
    struct out o = { buf, size, 0 };

    xen_info_calls++;
    put_key(&o, "xen_major");
    put_uint(&o, xen_major_version());
    put(&o, '\n');
    put_key(&o, "xen_minor");
    put_uint(&o, xen_minor_version());
    put(&o, '\n');
    put_key(&o, "xen_extra");
    put_str(&o, xen_extra_version());
    put(&o, '\n');
    if ( size )
        buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len;
}

size_t xen_console_info(void)
{
    char line[256];
    size_t len = xen_info_format(line, sizeof(line));

    if ( len >= sizeof(line) )
        len = sizeof(line) - 1;
    return xen_console_write(line, len);
}
