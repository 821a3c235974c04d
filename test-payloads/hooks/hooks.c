/*
 * Every hook the ABI offers, each logging one event to the stand-in's hook
 * log, so that a simulator can check which hooks run, in which order, and
 * how often. Events are "hooks:<hook>": load and unload on livepatch-v1
 * (Xen 4.8+), plus pre_apply, post_apply, pre_revert and post_revert on
 * livepatch-v2 (Xen 4.14+). The pre hooks return 0, so they never veto.
 * The apply and revert action hooks are left out: they would replace the
 * hypervisor's own patching.
 */
#include "xsplice.h"
#include "stand_in.h"
#include "config.h"

const char *xen_hooks_world(void);

STAND_IN_FUNCS_ENTRY(hooks, "xen_extra_version", xen_hooks_world);

static void hooks_load(void)
{
    xen_hook_log("hooks:load");
}

static void hooks_unload(void)
{
    xen_hook_log("hooks:unload");
}

XSPLICE_LOAD_HOOK(hooks_load);
XSPLICE_UNLOAD_HOOK(hooks_unload);

#if defined(XSPLICE_ABI_LIVEPATCH_V2)

static int hooks_pre_apply(struct payload *p)
{
    (void)p;
    xen_hook_log("hooks:pre_apply");
    return 0;
}

static void hooks_post_apply(struct payload *p)
{
    (void)p;
    xen_hook_log("hooks:post_apply");
}

static int hooks_pre_revert(struct payload *p)
{
    (void)p;
    xen_hook_log("hooks:pre_revert");
    return 0;
}

static void hooks_post_revert(struct payload *p)
{
    (void)p;
    xen_hook_log("hooks:post_revert");
}

XSPLICE_PREAPPLY_HOOK(hooks_pre_apply);
XSPLICE_POSTAPPLY_HOOK(hooks_post_apply);
XSPLICE_PREREVERT_HOOK(hooks_pre_revert);
XSPLICE_POSTREVERT_HOOK(hooks_post_revert);

#endif
