//! Hook sections and `.modinfo` (§1.6, C-99, C-109).
//!
//! A hook section holds function pointers, each one relocated pointer
//! (`R_X86_64_64`, `R_AARCH64_ABS64` or `R_ARM_ABS32`). The load and unload
//! sections are arrays of `void fn(void)`; the six action hooks added in 4.14
//! hold exactly one pointer each.

use crate::AbiError;
use crate::arch::WordSize;

/// A hook the hypervisor calls around APPLY and REVERT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// Array of `void fn(void)`, run before the native apply patches (4.8+).
    Load,
    /// Array of `void fn(void)`, run after the native revert (4.8+).
    Unload,
    /// `int fn(struct payload *)`, may veto APPLY (4.14+).
    PreApply,
    /// Replaces the native apply (4.14+).
    Apply,
    /// Runs after APPLY, whatever its result (4.14+).
    PostApply,
    /// May veto REVERT (4.14+).
    PreRevert,
    /// Replaces the native revert (4.14+).
    Revert,
    /// Runs after REVERT (4.14+).
    PostRevert,
}

/// How many pointers a hook section holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    /// Any non-zero number of pointers; every one is called (no NULL check).
    Multi,
    /// Exactly one pointer; the hook is enabled when it is non-NULL.
    Single,
}

impl Hook {
    pub const ALL: [Hook; 8] = [
        Hook::Load,
        Hook::Unload,
        Hook::PreApply,
        Hook::Apply,
        Hook::PostApply,
        Hook::PreRevert,
        Hook::Revert,
        Hook::PostRevert,
    ];

    /// The hook's short name, as in its section name.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Load => "load",
            Hook::Unload => "unload",
            Hook::PreApply => "preapply",
            Hook::Apply => "apply",
            Hook::PostApply => "postapply",
            Hook::PreRevert => "prerevert",
            Hook::Revert => "revert",
            Hook::PostRevert => "postrevert",
        }
    }

    /// `.livepatch.hooks.<name>` (§1.6). Hooks exist only in the
    /// `.livepatch.*` ABIs.
    pub fn section(self) -> &'static str {
        match self {
            Hook::Load => ".livepatch.hooks.load",
            Hook::Unload => ".livepatch.hooks.unload",
            Hook::PreApply => ".livepatch.hooks.preapply",
            Hook::Apply => ".livepatch.hooks.apply",
            Hook::PostApply => ".livepatch.hooks.postapply",
            Hook::PreRevert => ".livepatch.hooks.prerevert",
            Hook::Revert => ".livepatch.hooks.revert",
            Hook::PostRevert => ".livepatch.hooks.postrevert",
        }
    }

    /// The hook whose section is `name`.
    pub fn from_section(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.section() == name)
    }

    /// Array or single pointer (C-99).
    pub fn kind(self) -> HookKind {
        match self {
            Hook::Load | Hook::Unload => HookKind::Multi,
            _ => HookKind::Single,
        }
    }

    /// Xen's size check on the hook section (C-82, C-99): an array is a
    /// non-zero multiple of the pointer size, a single hook exactly one
    /// pointer.
    pub fn check_section_size(self, size: usize, word: WordSize) -> Result<(), AbiError> {
        let ptr = word.pointer_size();
        match self.kind() {
            HookKind::Multi if size == 0 || size % ptr != 0 => Err(AbiError::HookArraySize {
                section: self.section(),
                size,
                ptr,
            }),
            HookKind::Single if size != ptr => Err(AbiError::HookSingleSize {
                section: self.section(),
                size,
                ptr,
            }),
            _ => Ok(()),
        }
    }
}

crate::named_enum!(Hook);

/// Xen's `.modinfo` rule (C-109): the last byte is NUL. Xen does not reject
/// an empty section but then reads out of bounds, so it is refused here too.
pub fn check_modinfo(bytes: &[u8]) -> Result<(), AbiError> {
    match bytes.last() {
        None => Err(AbiError::ModinfoEmpty),
        Some(0) => Ok(()),
        Some(_) => Err(AbiError::ModinfoNotTerminated),
    }
}

/// `.modinfo` contents for `key=value` pairs: each pair followed by a NUL.
pub fn encode_modinfo<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pairs {
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(hook: Hook, size: usize, word: WordSize, expect: &str) {
        let got = match hook.check_section_size(size, word) {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{hook} {size} {word}");
    }

    #[test]
    fn section_sizes() {
        check(Hook::Load, 16, WordSize::W64, "ok");
        check(Hook::Load, 4, WordSize::W32, "ok");
        check(
            Hook::Load,
            0,
            WordSize::W64,
            "hook section `.livepatch.hooks.load` is 0 bytes, not a non-zero multiple of 8",
        );
        check(
            Hook::Unload,
            12,
            WordSize::W64,
            "hook section `.livepatch.hooks.unload` is 12 bytes, not a non-zero multiple of 8",
        );
        check(Hook::Apply, 8, WordSize::W64, "ok");
        check(Hook::Apply, 4, WordSize::W32, "ok");
        check(
            Hook::PostRevert,
            16,
            WordSize::W64,
            "hook section `.livepatch.hooks.postrevert` is 16 bytes, not exactly one 8-byte pointer",
        );
        check(
            Hook::PreApply,
            8,
            WordSize::W32,
            "hook section `.livepatch.hooks.preapply` is 8 bytes, not exactly one 4-byte pointer",
        );
    }

    #[test]
    fn names() {
        for hook in Hook::ALL {
            assert_eq!(hook.section(), format!(".livepatch.hooks.{}", hook.name()));
            assert_eq!(Hook::from_section(hook.section()), Some(hook));
        }
        assert_eq!(Hook::from_section(".livepatch.hooks"), None);
    }

    #[test]
    fn modinfo() {
        assert_eq!(
            encode_modinfo([("LIVEPATCH_RULEZ", ""), ("a", "b")]),
            b"LIVEPATCH_RULEZ=\0a=b\0"
        );
        assert_eq!(check_modinfo(b"LIVEPATCH_RULEZ\0"), Ok(()));
        assert_eq!(check_modinfo(b""), Err(AbiError::ModinfoEmpty));
        assert_eq!(check_modinfo(b"x=y"), Err(AbiError::ModinfoNotTerminated));
    }
}
