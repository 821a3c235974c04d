//! The guest's initramfs: an uncompressed cpio archive in the "newc" format
//! the Linux kernel unpacks at boot (`Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Written here rather than by the `cpio` program so that the archive is
//! built from bytes in memory, with fixed owners, times and inode numbers:
//! the same inputs give the same archive. The kernel decompresses nothing
//! for an uncompressed archive, which is also the fastest to unpack under
//! emulation.

use std::collections::BTreeMap;

/// What a path in the archive is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    File { mode: u32, data: Vec<u8> },
    Symlink(String),
}

/// An archive being built. Parents are created as needed; paths are
/// relative to the guest's root, `/`-separated, without `.` or `..`.
#[derive(Clone, Debug, Default)]
pub struct Archive {
    entries: BTreeMap<String, Entry>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

impl Archive {
    /// An empty archive.
    pub fn new() -> Archive {
        Archive::default()
    }

    /// Adds a directory (and its parents).
    pub fn dir(&mut self, path: &str) -> Result<(), String> {
        let path = clean(path)?;
        self.parents(&path)?;
        match self.entries.get(&path) {
            None => {
                self.entries.insert(path, Entry::Dir);
                Ok(())
            }
            Some(Entry::Dir) => Ok(()),
            Some(_) => Err(format!("`/{path}` is already a file")),
        }
    }

    /// Adds a regular file with permission bits `mode` (e.g. `0o755`).
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> Result<(), String> {
        self.add(
            path,
            Entry::File {
                mode: mode & 0o7777,
                data: data.to_vec(),
            },
        )
    }

    /// Adds a symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> Result<(), String> {
        self.add(path, Entry::Symlink(target.to_string()))
    }

    /// True when the archive holds `path` (a file, link or directory).
    pub fn contains(&self, path: &str) -> bool {
        clean(path).is_ok_and(|p| self.entries.contains_key(&p))
    }

    fn add(&mut self, path: &str, entry: Entry) -> Result<(), String> {
        let path = clean(path)?;
        self.parents(&path)?;
        match self.entries.get(&path) {
            None => {
                self.entries.insert(path, entry);
                Ok(())
            }
            // The same bytes twice (one payload named by two spellings) is one file.
            Some(old) if *old == entry => Ok(()),
            Some(_) => Err(format!("`/{path}` is already in the guest's file system")),
        }
    }

    fn parents(&mut self, path: &str) -> Result<(), String> {
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let parent = &path[..at + i];
            match self.entries.get(parent) {
                None => {
                    self.entries.insert(parent.to_string(), Entry::Dir);
                }
                Some(Entry::Dir) => {}
                Some(_) => return Err(format!("`/{parent}` is a file, not a directory")),
            }
            at += i + 1;
        }
        Ok(())
    }

    /// The archive's bytes: every entry, parents before children, then the
    /// trailer.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // BTreeMap order puts `a` before `a/b`: parents come first.
        for (n, (path, entry)) in self.entries.iter().enumerate() {
            let ino = n as u32 + 1;
            let (mode, data): (u32, &[u8]) = match entry {
                Entry::Dir => (S_IFDIR | 0o755, &[]),
                Entry::File { mode, data } => (S_IFREG | mode, data),
                Entry::Symlink(target) => (S_IFLNK | 0o777, target.as_bytes()),
            };
            let nlink = if matches!(entry, Entry::Dir) { 2 } else { 1 };
            header(&mut out, ino, mode, nlink, data.len(), path);
            out.extend_from_slice(data);
            pad4(&mut out);
        }
        header(&mut out, 0, 0, 1, 0, "TRAILER!!!");
        out
    }
}

/// Writes one newc header and the NUL-terminated name, padded to 4 bytes.
fn header(out: &mut Vec<u8>, ino: u32, mode: u32, nlink: u32, size: usize, name: &str) {
    let fields = [
        ino,
        mode,
        0, // uid
        0, // gid
        nlink,
        0, // mtime
        size as u32,
        0, // devmajor
        0, // devminor
        0, // rdevmajor
        0, // rdevminor
        name.len() as u32 + 1,
        0, // check
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// `path` without leading `/`; refuses empty paths, `.`, `..`, empty
/// components and NULs, which have no place in a guest path we build.
fn clean(path: &str) -> Result<String, String> {
    let p = path.trim_start_matches('/');
    let bad = p.is_empty()
        || p.contains('\0')
        || p.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(format!("`{path}` is not a plain path"));
    }
    Ok(p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The archive as `path mode size` lines, read back with our own
    /// header arithmetic (the format is simple enough to check by hand
    /// against the kernel's documentation).
    fn listing(bytes: &[u8]) -> String {
        let mut out = String::new();
        let mut at = 0;
        loop {
            let h = &bytes[at..at + 110];
            assert_eq!(&h[..6], b"070701");
            let field = |i: usize| {
                u32::from_str_radix(std::str::from_utf8(&h[6 + 8 * i..14 + 8 * i]).unwrap(), 16)
                    .unwrap()
            };
            let (mode, size, namesize) = (field(1), field(6) as usize, field(11) as usize);
            let name = std::str::from_utf8(&bytes[at + 110..at + 110 + namesize - 1]).unwrap();
            at = (at + 110 + namesize).next_multiple_of(4);
            if name == "TRAILER!!!" {
                assert_eq!(at, bytes.len());
                return out;
            }
            let data = &bytes[at..at + size];
            at = (at + size).next_multiple_of(4);
            out.push_str(&format!("{name} {mode:o} {size}"));
            if mode & 0o170000 == S_IFLNK {
                out.push_str(&format!(" -> {}", std::str::from_utf8(data).unwrap()));
            }
            out.push('\n');
        }
    }

    #[test]
    fn parents_first_and_padded() {
        let mut a = Archive::new();
        a.file("/bin/busybox", 0o755, b"12345").unwrap();
        a.symlink("bin/sh", "busybox").unwrap();
        a.dir("proc").unwrap();
        a.file("usr/lib/debug/p.livepatch", 0o644, b"x").unwrap();
        assert_eq!(
            listing(&a.finish()),
            "bin 40755 0\n\
             bin/busybox 100755 5\n\
             bin/sh 120777 7 -> busybox\n\
             proc 40755 0\n\
             usr 40755 0\n\
             usr/lib 40755 0\n\
             usr/lib/debug 40755 0\n\
             usr/lib/debug/p.livepatch 100644 1\n"
        );
    }

    #[test]
    fn conflicts_and_bad_paths() {
        let mut a = Archive::new();
        a.file("bin/x", 0o755, b"1").unwrap();
        a.file("bin/x", 0o755, b"1").unwrap();
        assert_eq!(
            a.file("bin/x", 0o755, b"2").unwrap_err(),
            "`/bin/x` is already in the guest's file system"
        );
        assert_eq!(
            a.file("bin/x/y", 0o644, b"").unwrap_err(),
            "`/bin/x` is a file, not a directory"
        );
        assert_eq!(a.dir("bin/x").unwrap_err(), "`/bin/x` is already a file");
        for bad in ["", "/", "a/../b", "a//b", "./a"] {
            assert!(a.file(bad, 0o644, b"").is_err(), "{bad:?}");
        }
        assert!(a.contains("/bin/x") && !a.contains("bin/y"));
    }
}
