//! Content hashes that decide whether a step must run again.
//!
//! A step's hash covers every input that can change its output: the bytes of
//! input files, the command line, and the compiler's identity. Timestamps are
//! never used, so a fresh checkout with the same inputs reuses nothing but
//! also rebuilds nothing twice.

use std::path::Path;

use sha1::{Digest, Sha1};

use crate::BuildError;

/// Accumulates the inputs of one step.
#[derive(Default)]
pub(crate) struct InputHash(Sha1);

impl InputHash {
    pub(crate) fn new() -> Self {
        InputHash::default()
    }

    /// Adds a length-prefixed string, so that ("ab","c") differs from ("a","bc").
    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
        self
    }

    /// Adds a file's contents.
    pub(crate) fn file(&mut self, path: &Path) -> Result<&mut Self, BuildError> {
        let data = std::fs::read(path).map_err(|e| BuildError::io("cannot read", path, e))?;
        Ok(self.bytes(&data))
    }

    pub(crate) fn hex(&self) -> String {
        self.0
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// True when `stamp` records exactly `hash` and every output exists.
pub(crate) fn up_to_date(stamp: &Path, hash: &str, outputs: &[&Path]) -> bool {
    std::fs::read_to_string(stamp).is_ok_and(|s| s.trim() == hash)
        && outputs.iter().all(|p| p.exists())
}

/// Writes `data` to `path` whole or not at all (the workspace's one
/// output helper): a step's product, so always rewritten.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), BuildError> {
    xsplice_symbols::write_file(path, data, xsplice_symbols::WriteMode::Replace)
        .map_err(|e| BuildError::io("cannot write", path, e))
}
