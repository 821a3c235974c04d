//! Test fixtures: the good payloads and ELF patching helpers of the shared
//! mutation corpus (`xsplice-mutants`), and the ELF class in the validator's
//! own type for tests that call its reader directly.

#![allow(dead_code, unused_imports)]

pub use xsplice_mutants::*;

use xsplice_validate::elf::Class;

/// The ELF class of `b`, as the validator's reader names it.
pub fn class(b: &[u8]) -> Class {
    if b[4] == 1 {
        Class::Elf32
    } else {
        Class::Elf64
    }
}

/// Replaces every run of 16 or more hex digits with `<hex>`: build-ids and
/// code bytes depend on the compiler version, the diagnostics and dumps do not.
pub fn redact(text: &str) -> String {
    xsplice_testkit::redact(
        text,
        xsplice_testkit::Redact {
            hex: 16,
            addresses: None,
        },
    )
}
