//! The one place that knows the Xen live-patch payload format.
//!
//! Every other xsplice crate (the linker, the validator, the simulator and the
//! config generator) reads section names, struct layouts, trampoline encodings,
//! relocation rules and the build-id note format from here, so that a fact is
//! written down once and a test can hold the C header
//! (`test-payloads/include/xsplice.h`) to it.
//!
//! The crate does no I/O: it turns typed values into bytes and bytes into
//! typed values. Every fact cites the section of the payload-format
//! specification (`§n`) or the numbered hypervisor check (`C-nn`) it comes
//! from.
//!
//! Map of the crate:
//! - [`abi`]: the four payload ABIs ([`Abi`]), their sections, versions and
//!   the Xen releases that accept them (or, for `xsplice-v4`, the unreleased
//!   [`PatchSeries`]), and detection from a payload's
//!   section names;
//! - [`layout`]: byte layouts of the `.funcs` entry per ABI and word size;
//! - [`func`]: [`FuncEntry`] and [`Expectation`], encoded and decoded;
//! - [`arch`]: per-architecture facts ([`Arch`]): ELF machine, trampolines,
//!   NOPs, branch ranges, sizes of the arch-specific tables;
//! - [`reloc`]: the relocation types the hypervisor's loader applies;
//! - [`hooks`]: hook sections and `.modinfo`;
//! - [`note`]: the GNU build-id note;
//! - [`limits`]: whole-payload limits (file size, section count, names);
//! - `rules`: what changes from one release to the next, as predicates of
//!   a [`XenVersion`] (and [`Arch`]), for the validator and the simulator;
//! - [`Errno`]: the errno values Xen returns, for every crate that names one;
//! - [`describe`]: a canonical text dump of one ABI on one architecture.

#![forbid(unsafe_code)]

pub mod abi;
pub mod arch;
mod describe;
mod errno;
mod error;
pub mod func;
pub mod hooks;
pub mod layout;
pub mod limits;
pub mod note;
pub mod reloc;
mod rules;
pub mod xen;

pub use abi::{Abi, PatchSeries, XSPLICE_V4_SERIES};
pub use arch::{Arch, ArchSection, PatchSite, WordSize};
pub use describe::describe;
pub use errno::Errno;
pub use error::AbiError;
pub use func::{Expectation, FuncEntry};
pub use hooks::{Hook, HookKind};
pub use layout::{Field, Layout};
pub use note::BuildIdNote;
pub use xen::{XenRange, XenVersion};

/// Implements `Display` for an enum of named values as its `name()`; given
/// an error type and a function from the unknown name to that error, also
/// `FromStr` as the value of `ALL` with that name.
#[macro_export]
macro_rules! named_enum {
    ($ty:ty) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
    ($ty:ty, $err:ty, $unknown:expr) => {
        $crate::named_enum!($ty);

        impl ::std::str::FromStr for $ty {
            type Err = $err;

            fn from_str(name: &str) -> ::std::result::Result<$ty, $err> {
                <$ty>::ALL
                    .into_iter()
                    .find(|value| value.name() == name)
                    .ok_or_else(|| $unknown(name))
            }
        }
    };
}
