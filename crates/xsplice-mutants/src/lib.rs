//! The payload mutation corpus, shared by the tests of the validator and of
//! the simulator so that both exercise the same broken payloads.
//!
//! [`fixture`] builds a good hello_world payload per architecture against
//! the stand-in hypervisor with GNU tools (once per test process), and
//! [`fixture_for`] the same payload against another image (a real Xen's);
//! [`mutants`] lists, for each check a payload file can fail, the in-place
//! edits that break it and the check id the validator must report. The ELF
//! helpers of [`patch`] read and write header, section, symbol and
//! relocation fields with their own offset arithmetic, independent of the
//! validator they serve to test.
//!
//! A test-support crate: dev-dependency only, never published. It depends
//! on `xsplice-testkit` (tools and skip rules) and `xsplice-symbols` (facts
//! about the target), never on the linker or the validator.

#![forbid(unsafe_code)]

mod corpus;
mod fixture;
pub mod patch;

pub use corpus::{Env, Mutant, arm_mutants, mutants, x86_mutants};
pub use fixture::{Fixture, fixture, fixture_for, write};
pub use patch::*;
