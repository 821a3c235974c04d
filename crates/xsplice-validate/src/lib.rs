//! Every check a Xen hypervisor makes on a live-patch payload, made before
//! the hypervisor sees it, plus the hazards Xen itself misses.
//!
//! The checks follow §2 of the payload-format specification in hypervisor
//! order and report the specification's ids (`C-13`, `C-92`, ...); the few
//! checks the specification lacks have our own `V-nn` ids
//! ([`CheckId::ALL`] lists them all). Every fact is re-derived from the
//! payload's bytes with a raw ELF reader: this crate never depends on the
//! linker, so it can catch the linker's mistakes. ABI facts (section names,
//! layouts, relocation types, limits) come from `xsplice-abi`.
//!
//! # Using it
//!
//! [`validate`] takes the payload bytes, [`Options`] (`--xen`) and an
//! [`Environment`] describing the hypervisor the payload is for: a
//! [`TargetImage`] (symbols, code bytes, build-id) and the payloads loaded
//! before it ([`LoadedPayload`]). It returns a [`Report`]: the findings, a
//! [`Summary`] naming the Xen releases that would accept the payload, and
//! the decoded [`Payload`] model (sections with their placement, symbols,
//! relocations, `.funcs` entries with symbolic pointers, hooks, build-ids),
//! which is what a loader needs to place, resolve and relocate the payload.
//!
//! ```no_run
//! use xsplice_validate::{validate, Environment, Options};
//! let bytes = std::fs::read("xen_hello_world.livepatch").unwrap();
//! let report = validate(&bytes, &Options::default(), &Environment::default());
//! let mut out = Vec::new();
//! report.write_text(&mut out, "xen_hello_world.livepatch").unwrap();
//! assert!(report.is_clean());
//! ```
//!
//! The simulator (`xsplice-sim`) calls [`validate`] at `upload` with its
//! running stand-in hypervisor as the [`TargetImage`] and its loaded
//! payloads as [`Environment::loaded`], and refuses the upload when
//! [`Report::is_clean`] is false, so that both tools apply one set of checks.
//! [`Report::loaded`] turns an accepted payload into the [`LoadedPayload`]
//! the next upload is checked against; [`Environment::load_after`] does the
//! whole `--after` step (check, record, move the next load address).
//! [`XenImage`] is the [`TargetImage`] of a `xen-syms` file, read with
//! `xsplice-symbols`. [`Environment::load_address`] sets where the payload's
//! memory block starts, which the branch-range and relocation-overflow
//! checks use; without it the target's [`TargetImage::payload_base`] is used.
//!
//! Severity: an error means the hypervisor would refuse the payload or
//! crash on it; a warning is a hazard it accepts. A finding concerning only
//! some of the releases in scope says which ([`Finding::releases`]), and
//! those releases drop out of [`Summary::accepted_by`] even for a warning
//! (a feature an older release of the same ABI lacks).
//!
//! The seed's own ABI, `xsplice-v4` (`pad[32]`, no version byte), is
//! checked against the rules of its own era, the unreleased xSplice v4
//! series (`xsplice_abi::XSPLICE_V4_SERIES`, the pseudo-release
//! [`Release::XspliceV4Series`]): the 4.7.0-rc1 rules where the layouts
//! agree, `pad[32]` all zero (V-08, our reconstruction), and one warning,
//! V-07, that no released Xen loads it. The summary then reads "accepted by
//! the xSplice v4 series (unreleased); no released Xen". With `--xen` naming
//! any release the payload is refused with C-92, as that release would.
//!
//! [`inspect`] writes the canonical, deterministic dump of what a payload
//! means (the `xsplice-inspect` tool and the snapshot tests use it).
//!
//! Map: `elf` (raw reader), `structure` (C-05..C-33), `symbols` (C-35,
//! C-36, C-45..C-48), `checker` (driver, ABI decision, placement C-40..C-42),
//! `relocs` (C-50..C-74), `special` (C-80..C-109), `target_checks` (C-37,
//! C-38, C-46, C-94..C-98, C-101, C-115, C-123), `inspect`, `finding`
//! (ids, output), `release` (sets of Xen releases).

#![forbid(unsafe_code)]

mod checker;
pub mod elf;
mod finding;
mod image;
mod inspect;
pub mod model;
mod release;
mod relocs;
mod special;
mod structure;
mod symbols;
mod target;
mod target_checks;

use std::io::{self, Write};
use std::path::Path;

pub use finding::{CheckId, Finding, Location, Needs, Response, Severity, Summary};
pub use image::{ImageError, XenImage};
pub use inspect::{InspectError, inspect, inspect_json};
pub use model::Payload;
pub use release::{Release, ReleaseSet};
pub use target::{Environment, LoadedPayload, TargetImage, TargetSymbol, default_payload_base};

use xsplice_abi::XenVersion;

/// Options of a validation.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Apply only this release's rules (`--xen 4.19`); `None` checks against
    /// every release that loads the payload's ABI.
    pub xen: Option<XenVersion>,
}

/// The result of [`validate`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// Findings in hypervisor order.
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// The decoded payload, when its structure could be read far enough to
    /// place it (the ELF header, section headers and names are sane).
    #[serde(skip)]
    pub payload: Option<Payload>,
}

impl Report {
    /// True when no finding is an error.
    pub fn is_clean(&self) -> bool {
        self.summary.errors == 0
    }

    /// The distinct check ids of the errors, in order.
    pub fn error_ids(&self) -> Vec<CheckId> {
        let mut ids: Vec<CheckId> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.check)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Compiler-style diagnostics, then the summary line; `file` names the
    /// payload in the output.
    pub fn write_text(&self, out: &mut dyn Write, file: &str) -> io::Result<()> {
        finding::write_text(out, file, &self.findings, &self.summary)
    }

    /// The findings and summary as one JSON object.
    pub fn write_json(&self, out: &mut dyn Write, file: &str) -> io::Result<()> {
        let value = serde_json::json!({
            "file": file,
            "abi": self.payload.as_ref().and_then(|p| p.abi).map(|a| a.to_string()),
            "arch": self.payload.as_ref().map(|p| p.arch.to_string()),
            "findings": self.findings,
            "summary": self.summary,
        });
        serde_json::to_writer_pretty(&mut *out, &value)?;
        writeln!(out)
    }

    /// What a later payload sees of this one once it is loaded at
    /// `load_address`: its build-id and its new symbols (§1.4).
    pub fn loaded(&self, name: &str, load_address: u64) -> Option<LoadedPayload> {
        let p = self.payload.as_ref()?;
        Some(LoadedPayload {
            name: name.to_string(),
            build_id: p.build_id.clone().unwrap_or_default(),
            new_symbols: p
                .new_symbols()
                .into_iter()
                .map(|(n, off)| (n, load_address.wrapping_add(off)))
                .collect(),
        })
    }
}

impl Environment<'_> {
    /// Loads `payload` after the payloads already in [`Environment::loaded`],
    /// as `--after` does: checks it against this environment at the next
    /// free address (from [`Environment::load_address`], else the target's
    /// payload base), records its build-id and new symbols there, and moves
    /// the next free address past its memory block. Returns its report; a
    /// payload too broken to model is not recorded.
    pub fn load_after(&mut self, name: &str, payload: &[u8], opts: &Options) -> Report {
        let base = self
            .load_address
            .unwrap_or_else(|| self.target.map_or(0, |t| t.payload_base()));
        self.load_address = Some(base);
        let report = validate(payload, opts, self);
        if let Some(loaded) = report.loaded(name, base) {
            let size = report.payload.as_ref().map_or(0, Payload::block_size);
            self.loaded.push(loaded);
            self.load_address = Some(base.saturating_add(size.div_ceil(4096).saturating_mul(4096)));
        }
        report
    }
}

/// The name a report gives a file: its last path component, or the whole
/// path when it has none.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Runs every check on `payload` that `env` makes decidable.
pub fn validate(payload: &[u8], opts: &Options, env: &Environment<'_>) -> Report {
    let mut checker = checker::Checker::new(payload, opts, env);
    checker.run();
    checker.finish()
}
