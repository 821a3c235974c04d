//! `xsplice-diff`: the changed part of an object, as a live-patch object.
//!
//! Given one object compiled from the original source and the same object
//! compiled from the patched source (both with split sections), it finds
//! what changed, takes the changed functions and everything new they need,
//! and writes a relocatable object with a `.livepatch.funcs` entry for each
//! changed function, its name resolved exactly against the target
//! hypervisor's runtime symbol table. Unchanged code and data the new code
//! uses become undefined references, named as Xen's table names them
//! (`file#name` for statics), so the loader binds them to the running copy.
//!
//! The algorithm is the one `create-diff-object` (livepatch-build-tools,
//! kpatch) uses, described in the object-diff specification; this crate
//! adds the traps that tool falls into on today's compilers (per-function
//! string sections, renumbered statics, split `.cold` parts, line numbers in
//! bug frames) and explains every decision in its [`Report`]. It reads
//! x86_64 and arm64 objects (RELA) and arm32 ones (REL: addends in the
//! instructions), and cuts `.fixup` and `.altinstr_replacement` to the
//! pieces the kept table elements jump to.
//!
//! Map: [`elf`] reads an object into the model ([`arm32`] decodes the
//! addends arm32 keeps in the relocated fields); [`diff`] correlates,
//! compares, includes and checks; [`special`] filters Xen's tables;
//! [`write`] encodes the output; [`report`] says why.

#![forbid(unsafe_code)]

mod arm32;
mod diff;
mod elf;
mod error;
mod report;
mod special;
mod write;

pub use diff::{Outcome, Verdict, diff};
pub use error::DiffError;
pub use report::{FuncEntryReport, Refusal, Report, SectionReport, SymbolReport};
use xsplice_abi::{Abi, XenVersion};

/// What the caller chooses about the output.
#[derive(Clone, Debug)]
pub struct Options {
    /// The payload ABI whose `.funcs` layout is written.
    pub abi: Abi,
    /// The Xen release the payload is for: decides whether `.funcs` must
    /// be writable (releases that write into it, §1.7; `None` assumes the
    /// oldest the ABI covers) and the element sizes of Xen's tables (`None`:
    /// every release the ABI covers must agree, else the table is refused).
    pub xen: Option<XenVersion>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            abi: Abi::LivepatchV2,
            xen: None,
        }
    }
}

/// One input file: its name for messages and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub path: &'a str,
    pub data: &'a [u8],
}
