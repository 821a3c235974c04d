//! Input files mapped into memory, for every binary of the workspace.
//!
//! A hypervisor image with debug information is tens of megabytes, and a
//! tool usually needs its headers, its symbol table and a few code bytes:
//! mapping the file lets the kernel fault in only those pages, where a read
//! copies every byte first. The readers of this crate work on `&[u8]`, so a
//! [`MappedFile`] is handed to them through `Deref`. Only binaries call
//! [`map_file`]: the libraries themselves take bytes, never paths.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// The bytes of an input file: mapped when it is a regular file.
///
/// Pipes and character devices (`<(...)` in a shell, `/dev/stdin`) cannot be
/// mapped, so they are read; an empty file has nothing to map.
pub struct MappedFile {
    bytes: Bytes,
}

enum Bytes {
    Empty,
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl MappedFile {
    /// True when the bytes come from a memory map (not an empty file, not a
    /// pipe that had to be read).
    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped(_))
    }
}

impl Deref for MappedFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Empty => &[],
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// Maps the file at `path` read-only.
///
/// Errors are the operating system's (missing file, permission, a
/// directory); callers add the path to the message.
pub fn map_file(path: &Path) -> std::io::Result<MappedFile> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    if !meta.is_file() {
        let mut v = Vec::new();
        file.read_to_end(&mut v)?;
        return Ok(MappedFile {
            bytes: Bytes::Read(v),
        });
    }
    if meta.len() == 0 {
        return Ok(MappedFile {
            bytes: Bytes::Empty,
        });
    }
    // SAFETY: the map is private and only ever read. The one hazard, as for
    // every reader that maps its input, is another process truncating the
    // file while we hold the map (a SIGBUS); tools read inputs they were
    // given and never write them.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    Ok(MappedFile {
        bytes: Bytes::Mapped(map),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(contents: &[u8], mapped: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        std::fs::write(&path, contents).unwrap();
        let m = map_file(&path).unwrap();
        assert_eq!(&*m, contents);
        assert_eq!(m.is_mapped(), mapped);
    }

    #[test]
    fn regular_files_are_mapped() {
        check(b"\x7fELF and more", true);
        check(&vec![0xa5; 3 * 4096 + 17], true);
    }

    #[test]
    fn an_empty_file_is_empty() {
        check(b"", false);
    }

    #[test]
    fn errors_are_the_systems() {
        let dir = tempfile::tempdir().unwrap();
        let missing = map_file(&dir.path().join("missing")).err().unwrap();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
        let directory = map_file(dir.path()).err().unwrap();
        assert_eq!(directory.kind(), std::io::ErrorKind::IsADirectory);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pipe_is_read() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "printf abc"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let fd = {
            use std::os::fd::AsRawFd;
            child.stdout.as_ref().unwrap().as_raw_fd()
        };
        let m = map_file(Path::new(&format!("/proc/self/fd/{fd}"))).unwrap();
        child.wait().unwrap();
        assert_eq!(&*m, b"abc");
        assert!(!m.is_mapped());
    }
}
