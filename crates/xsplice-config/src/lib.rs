//! Config headers for payload builds, from exact symbol lookups.
//!
//! Payload C sources need numbers only the built hypervisor and objects
//! know: the size of the replacement function, the address and size of the
//! function to patch, its first bytes for an expectation, a build-id. The
//! seed's Makefile, and Xen's test Makefile today, get them with
//! `nm | grep NAME | awk`, which silently writes an empty value when the
//! symbol is missing and a wrong one when the name is a substring of
//! another. This crate computes the same values with exact lookups
//! (`xsplice-symbols`), fails with a message that names the symbol and file
//! otherwise, and renders them byte for byte as the recipes would.
//!
//! The library takes file contents, not paths to open: the binary maps the
//! files and writes the output.

#![forbid(unsafe_code)]

mod define;
mod error;
mod preset;
mod render;

pub use define::{Define, Kind};
pub use error::ConfigError;
pub use preset::{Preset, PresetInputs};
pub use render::{Format, Value, evaluate, render};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One line of output: a lookup, or a fixed value a preset writes as is
/// (`EXPECT_BYTES_COUNT 8`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Lookup(Define),
    Literal { name: String, value: String },
}

impl Item {
    /// The macro name.
    pub fn name(&self) -> &str {
        match self {
            Item::Lookup(d) => &d.name,
            Item::Literal { name, .. } => name,
        }
    }

    /// The file the item reads, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Item::Lookup(d) => Some(&d.file),
            Item::Literal { .. } => None,
        }
    }
}

/// The contents of the input files, keyed by the path as given. The
/// bytes are borrowed, so that a binary can hand over a mapped file of
/// which only the pages looked at are ever read.
pub type Files<'d> = BTreeMap<PathBuf, &'d [u8]>;
