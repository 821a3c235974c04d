//! Writing the output so that builds stay correct and incremental: a
//! failure never leaves a half-written file (temporary file in the same
//! directory, then rename), and identical content is not rewritten (the
//! file's mtime stays, so make does not rebuild what includes it).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path`, or to standard output when `path` is `None`.
pub fn write(path: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    let Some(path) = path else {
        return std::io::stdout()
            .write_all(bytes)
            .map_err(|e| format!("cannot write standard output: {e}"));
    };
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let shown = path.display();
    let name = path
        .file_name()
        .ok_or_else(|| format!("`{shown}` is not a file name"))?;
    // Created like a shell redirection would (mode from the umask), under a
    // name no other run uses, in the same directory so the rename is atomic.
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write `{shown}`: {e}")
    })
}
