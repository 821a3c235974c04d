//! Output files written whole or not at all, for every binary and the
//! build automation of the workspace: the one helper they share, beside
//! [`crate::map_file`], the one way they read.
//!
//! The bytes go to a temporary file in the output's own directory (so the
//! rename is atomic), created like a shell redirection would create it
//! (mode 0666 less the umask), then renamed into place: a failure never
//! leaves a half-written file. What differs between outputs is whether
//! identical content is left alone and whether the data is flushed, so the
//! caller says ([`WriteMode`]).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How [`write_file`] replaces an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// A file other steps depend on by time stamp (a `config.h` that `make`
    /// compiles against): identical content is not rewritten, so its mtime
    /// stays and nothing is rebuilt; new content is flushed to disk before
    /// the rename, which replaces the old file in one step.
    KeepUnchanged,
    /// A step's product (a linked payload, a stamp): always rewritten, so it
    /// is newer than its inputs, and not flushed. The old file is removed
    /// before the rename, as GNU ld does: renaming over an existing file
    /// makes some file systems (ext4's `auto_da_alloc`) flush the new data
    /// inside the rename, milliseconds for a large output. The path never
    /// holds a partial file, only, for a moment, none.
    Replace,
}

/// Writes `bytes` to `path` as `how` says. Errors are the operating
/// system's; callers add the path to the message.
pub fn write_file(path: &Path, bytes: &[u8], how: WriteMode) -> io::Result<()> {
    if how == WriteMode::KeepUnchanged && std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let tmp = temporary_name(path)?;
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            if how == WriteMode::KeepUnchanged {
                f.sync_all()?;
            }
            Ok(())
        })
        .and_then(|()| {
            if how == WriteMode::Replace {
                match std::fs::remove_file(path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&tmp, path)
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A name beside `path` that no other writer uses: hidden, with this
/// process's id and a counter (threads of one process write too).
fn temporary_name(path: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a file name", path.display()),
        )
    })?;
    Ok(path.with_file_name(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mtime(p: &Path) -> std::time::SystemTime {
        std::fs::metadata(p).unwrap().modified().unwrap()
    }

    #[test]
    fn writes_replace_and_keep() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("config.h");
        write_file(&out, b"one", WriteMode::KeepUnchanged).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"one");
        // Created as a redirection would: no execute bit, readable.
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0);
        assert_ne!(mode & 0o400, 0);

        let before = mtime(&out);
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_file(&out, b"one", WriteMode::KeepUnchanged).unwrap();
        assert_eq!(mtime(&out), before, "identical content is left alone");
        write_file(&out, b"one", WriteMode::Replace).unwrap();
        assert_ne!(mtime(&out), before, "a product is always rewritten");
        write_file(&out, b"two", WriteMode::KeepUnchanged).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"two");

        // Nothing is left beside the output.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["config.h"]);
    }

    #[test]
    fn a_path_that_cannot_be_written_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("missing-dir").join("out");
        assert!(write_file(&out, b"x", WriteMode::Replace).is_err());
        assert!(write_file(Path::new("/"), b"x", WriteMode::Replace).is_err());
    }
}
