//! Writing the output so that builds stay correct and incremental: a
//! failure never leaves a half-written file (temporary file in the same
//! directory, then rename), and identical content is not rewritten (the
//! file's mtime stays, so make does not rebuild what includes it).

use std::io::Write;
use std::path::Path;

use xsplice_symbols::{WriteMode, write_file};

/// Writes `bytes` to `path`, or to standard output when `path` is `None`.
pub fn write(path: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    let Some(path) = path else {
        return std::io::stdout()
            .write_all(bytes)
            .map_err(|e| format!("cannot write standard output: {e}"));
    };
    write_file(path, bytes, WriteMode::KeepUnchanged)
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
