/*
 * LOGGING_ACTION_HOOKS(prefix): the four livepatch-v2 action hooks a
 * payload may register, `prefix_pre_apply`, `prefix_post_apply`,
 * `prefix_pre_revert` and `prefix_post_revert`, each passing the event
 * "prefix:<hook>" to HOOK_LOG; the pre hooks return 0, so they never veto.
 * The includer defines HOOK_LOG: the stand-in's hook log, or printk on a
 * real Xen. The apply and revert action hooks are left out: they would
 * replace the hypervisor's own patching.
 */
#ifndef XSPLICE_LOGGING_HOOK_H
#define XSPLICE_LOGGING_HOOK_H

#define LOGGING_HOOK(ret, fn, event, ...) \
    static ret fn(struct payload *p)      \
    {                                     \
        (void)p;                          \
        HOOK_LOG(event);                  \
        __VA_ARGS__                       \
    }

#define LOGGING_ACTION_HOOKS(prefix)                                           \
    LOGGING_HOOK(int, prefix##_pre_apply, #prefix ":pre_apply", return 0;)     \
    LOGGING_HOOK(void, prefix##_post_apply, #prefix ":post_apply")             \
    LOGGING_HOOK(int, prefix##_pre_revert, #prefix ":pre_revert", return 0;)   \
    LOGGING_HOOK(void, prefix##_post_revert, #prefix ":post_revert")           \
    XSPLICE_PREAPPLY_HOOK(prefix##_pre_apply);                                 \
    XSPLICE_POSTAPPLY_HOOK(prefix##_post_apply);                               \
    XSPLICE_PREREVERT_HOOK(prefix##_pre_revert);                               \
    XSPLICE_POSTREVERT_HOOK(prefix##_post_revert)

#endif
