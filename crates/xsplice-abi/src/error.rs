//! The crate's one error type.
//!
//! Variants name the field, section, ABI or architecture concerned, so a
//! caller can print them as they are. Build-id note errors also carry the
//! errno Xen would return for the same input (C-100), see
//! [`AbiError::xen_errno`].

use crate::abi::Abi;
use crate::arch::{Arch, WordSize};
use crate::errno::Errno;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    #[error(
        "unknown payload abi `{name}` (expected xsplice-v4, xsplice, livepatch-v1 or livepatch-v2)"
    )]
    UnknownAbi { name: String },
    #[error("unknown architecture `{name}` (expected x86_64, aarch64 or arm32)")]
    UnknownArch { name: String },
    #[error("`{text}` is not a xen version (expected e.g. 4.14, 4.17.3 or 4.7.0-rc2)")]
    BadXenVersion { text: String },

    // ---- .funcs entries
    #[error("a {abi} .funcs entry is {expected} bytes on {word}, got {found}")]
    EntryLength {
        abi: Abi,
        word: WordSize,
        expected: usize,
        found: usize,
    },
    #[error("field `{field}` = {value:#x} does not fit a {word} pointer")]
    PointerTooWide {
        field: &'static str,
        value: u64,
        word: WordSize,
    },
    #[error("field `{field}` is non-zero but the {abi} entry has no such field")]
    FieldNotInAbi { abi: Abi, field: &'static str },
    #[error("expectation length {len} is over 31")]
    ExpectLenTooLong { len: usize },
    #[error("expectation reserved bits {rsv:#x} do not fit in 2 bits")]
    ExpectRsvTooWide { rsv: u8 },

    // ---- trampolines and NOPs
    #[error("{arch} branch from {from:#x} to {to:#x} is out of range (distance {distance:#x})")]
    BranchOutOfRange {
        arch: Arch,
        from: u64,
        to: u64,
        distance: i128,
    },
    #[error("{arch} branch {what} address {addr:#x} is not 4-byte aligned")]
    BranchMisaligned {
        arch: Arch,
        what: &'static str,
        addr: u64,
    },
    #[error("{arch} nop length {len} is over 31 bytes")]
    NopTooLong { arch: Arch, len: usize },
    #[error("{arch} nop length {len} is not a multiple of 4")]
    NopNotMultipleOf4 { arch: Arch, len: usize },
    #[error("nop-mode new_size {new_size} is shorter than the {offset}-byte endbr64 it must skip")]
    NopShorterThanEndbr { new_size: usize, offset: usize },

    // ---- build-id notes (C-100 order)
    #[error("build-id note is {size} bytes, not more than the 12-byte header")]
    NoteTooShort { size: usize },
    #[error("note type is {note_type}, not NT_GNU_BUILD_ID (3)")]
    NoteWrongType { note_type: u32 },
    #[error("note namesz {namesz} + descsz {descsz} overflows")]
    NoteSizeOverflow { namesz: u32, descsz: u32 },
    #[error("note namesz {namesz} is under 4")]
    NoteNameTooShort { namesz: u32 },
    #[error(
        "note namesz {namesz} + descsz {descsz} exceeds the {available} bytes after the header"
    )]
    NoteTruncated {
        namesz: u32,
        descsz: u32,
        available: usize,
    },
    #[error("note name is not `GNU`")]
    NoteNotGnu,
    #[error("note descriptor is empty")]
    NoteEmptyDescriptor,
    #[error(
        "note descriptor ends at byte {end}, past the {size}-byte section (name padding not counted by xen)"
    )]
    NoteDescriptorPastEnd { end: usize, size: usize },
    #[error("build-id of {len} bytes does not fit a note")]
    NoteDescriptorTooLong { len: usize },

    // ---- hooks, modinfo
    #[error("hook section `{section}` is {size} bytes, not a non-zero multiple of {ptr}")]
    HookArraySize {
        section: &'static str,
        size: usize,
        ptr: usize,
    },
    #[error("hook section `{section}` is {size} bytes, not exactly one {ptr}-byte pointer")]
    HookSingleSize {
        section: &'static str,
        size: usize,
        ptr: usize,
    },
    #[error("`.modinfo` is empty")]
    ModinfoEmpty,
    #[error("`.modinfo` does not end with a nul byte")]
    ModinfoNotTerminated,

    // ---- abi detection
    #[error("no `.xsplice.*` or `.livepatch.*` section: not a live-patch payload")]
    NotAPayload,
    #[error("payload mixes `.xsplice.*` and `.livepatch.*` sections")]
    MixedPrefixes,
    #[error("`{prefix}.*` payload with .funcs version byte {version} matches no known abi")]
    UnknownVersion { prefix: &'static str, version: u8 },
    #[error("`{prefix}.*` payload without a .funcs entry: the abi cannot be told apart")]
    NoVersionByte { prefix: &'static str },
}

impl AbiError {
    /// The errno a hypervisor returns for the same input, where this error
    /// mirrors one of its checks (build-id notes, C-100; NOP and branch
    /// limits, C-95..C-97; hook sizes, C-99; `.modinfo`, C-109).
    pub fn xen_errno(&self) -> Option<Errno> {
        use AbiError::*;
        match self {
            NoteTooShort { .. }
            | NoteSizeOverflow { .. }
            | NoteNameTooShort { .. }
            | NoteTruncated { .. }
            | NoteEmptyDescriptor
            | HookArraySize { .. }
            | HookSingleSize { .. }
            | ModinfoNotTerminated => Some(Errno::Einval),
            NoteWrongType { .. } | NoteNotGnu => Some(Errno::Enodata),
            NopTooLong { .. } | NopNotMultipleOf4 { .. } => Some(Errno::Eopnotsupp),
            BranchOutOfRange { .. } => Some(Errno::Eoverflow),
            _ => None,
        }
    }
}
