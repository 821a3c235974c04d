/*
 * Every hook the ABI offers, each logging one event to the stand-in's hook
 * log, so that a simulator can check which hooks run, in which order, and
 * how often. Events are "hooks:<hook>": load and unload on livepatch-v1
 * (Xen 4.8+), plus pre_apply, post_apply, pre_revert and post_revert on
 * livepatch-v2 (Xen 4.14+), from include/logging_hook.h.
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

#define HOOK_LOG(event) xen_hook_log(event)
#include "logging_hook.h"

LOGGING_ACTION_HOOKS(hooks);

#endif
