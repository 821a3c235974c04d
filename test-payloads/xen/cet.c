/*
 * A function built with -fcf-protection=branch on x86, so that it starts with
 * ENDBR64 and a patch must place its jump after the landing pad.
 */
#include "xen.h"

static const char xen_changeset_string[] = "unavailable";

const char *xen_changeset(void)
{
    return xen_changeset_string;
}
