//! The GNU build-id note (§1.8): parsed with exactly the hypervisor's rules
//! and in its order (C-100), and encoded the way `ld --build-id` writes it.
//!
//! Used for `.note.gnu.build-id`, `.livepatch.depends` and
//! `.livepatch.xen_depends`. Only the first note of a section counts.

use crate::AbiError;

/// `NT_GNU_BUILD_ID`.
pub const NT_GNU_BUILD_ID: u32 = 3;
/// Size of the note header: namesz, descsz, type.
pub const NOTE_HEADER_SIZE: usize = 12;

/// A parsed build-id note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildIdNote {
    /// `namesz` as stored (at least 4, normally exactly 4).
    pub namesz: u32,
    /// The descriptor: the build-id bytes (20 for SHA-1).
    pub desc: Vec<u8>,
}

fn u32_le(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

impl BuildIdNote {
    /// Parses the first note of `section` with the hypervisor's checks, in
    /// its order (C-100): size > 12 (EINVAL), type 3 (ENODATA), no overflow
    /// of namesz + descsz (EINVAL), namesz ≥ 4 (EINVAL), namesz + descsz ≤
    /// size - 12 (EINVAL), name "GNU" (ENODATA), descsz ≠ 0 (EINVAL).
    /// [`AbiError::xen_errno`] gives the errno.
    ///
    /// Xen does not count the name padding in its bound; a note that passes
    /// Xen's checks but whose descriptor, after the padded name, runs past
    /// the section is refused with [`AbiError::NoteDescriptorPastEnd`]
    /// (Xen would read beyond the section; no errno).
    pub fn parse(section: &[u8]) -> Result<BuildIdNote, AbiError> {
        let size = section.len();
        if size <= NOTE_HEADER_SIZE {
            return Err(AbiError::NoteTooShort { size });
        }
        let namesz = u32_le(section, 0);
        let descsz = u32_le(section, 4);
        let note_type = u32_le(section, 8);
        if note_type != NT_GNU_BUILD_ID {
            return Err(AbiError::NoteWrongType { note_type });
        }
        let total = namesz
            .checked_add(descsz)
            .ok_or(AbiError::NoteSizeOverflow { namesz, descsz })?;
        if namesz < 4 {
            return Err(AbiError::NoteNameTooShort { namesz });
        }
        let available = size - NOTE_HEADER_SIZE;
        if total as usize > available {
            return Err(AbiError::NoteTruncated {
                namesz,
                descsz,
                available,
            });
        }
        if &section[NOTE_HEADER_SIZE..NOTE_HEADER_SIZE + 4] != b"GNU\0" {
            return Err(AbiError::NoteNotGnu);
        }
        if descsz == 0 {
            return Err(AbiError::NoteEmptyDescriptor);
        }
        let start = NOTE_HEADER_SIZE + align4(namesz as usize);
        let end = start + descsz as usize;
        if end > size {
            return Err(AbiError::NoteDescriptorPastEnd { end, size });
        }
        Ok(BuildIdNote {
            namesz,
            desc: section[start..end].to_vec(),
        })
    }

    /// Encodes a note for `desc` as `ld --build-id` does: namesz 4, type 3,
    /// `GNU\0`, the descriptor, padded to 4 bytes (§1.8, §7 item 3). A
    /// 20-byte SHA-1 build-id gives the usual 36 bytes.
    pub fn encode(desc: &[u8]) -> Result<Vec<u8>, AbiError> {
        let descsz = u32::try_from(desc.len())
            .ok()
            .filter(|&d| d != 0 && d.checked_add(4).is_some())
            .ok_or(AbiError::NoteDescriptorTooLong { len: desc.len() })?;
        let mut out = Vec::with_capacity(NOTE_HEADER_SIZE + 4 + align4(desc.len()));
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&descsz.to_le_bytes());
        out.extend_from_slice(&NT_GNU_BUILD_ID.to_le_bytes());
        out.extend_from_slice(b"GNU\0");
        out.extend_from_slice(desc);
        out.resize(align4(out.len()), 0);
        Ok(out)
    }
}

/// A build-id (or any bytes) as people write it: lower-case hex, no
/// separators, as `xen-livepatch`, `readelf -n` and the tools' messages do.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::Errno;

    fn note(namesz: u32, descsz: u32, note_type: u32, rest: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [namesz, descsz, note_type] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(rest);
        out
    }

    /// Parses `bytes` and compares with the descriptor hex, or with
    /// "<errno>: <message>".
    fn check(bytes: &[u8], expect: &str) {
        let got = match BuildIdNote::parse(bytes) {
            Ok(n) => n.desc.iter().map(|b| format!("{b:02x}")).collect(),
            Err(e) => format!("{}: {e}", e.xen_errno().map_or("-", Errno::name)),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn parse_follows_xen_order() {
        let id: Vec<u8> = (1..=20).collect();
        let good = BuildIdNote::encode(&id).unwrap();
        assert_eq!(good.len(), 36);
        check(&good, "0102030405060708090a0b0c0d0e0f1011121314");
        check(
            &good[..12],
            "EINVAL: build-id note is 12 bytes, not more than the 12-byte header",
        );
        // The type is checked before the sizes.
        check(
            &note(0, 0, 1, b"x"),
            "ENODATA: note type is 1, not NT_GNU_BUILD_ID (3)",
        );
        check(
            &note(u32::MAX, 1, 3, b"x"),
            "EINVAL: note namesz 4294967295 + descsz 1 overflows",
        );
        check(
            &note(3, 1, 3, b"GNU\0x"),
            "EINVAL: note namesz 3 is under 4",
        );
        check(
            &note(4, 2, 3, b"GNU\0x"),
            "EINVAL: note namesz 4 + descsz 2 exceeds the 5 bytes after the header",
        );
        check(&note(4, 1, 3, b"GNV\0x"), "ENODATA: note name is not `GNU`");
        check(&note(4, 0, 3, b"GNU\0"), "EINVAL: note descriptor is empty");
        check(&note(4, 1, 3, b"GNU\0x"), "78");
        // namesz 5 passes Xen's bound (5 + 1 <= 6) but the padded name ends at 20.
        check(
            &note(5, 1, 3, b"GNU\0\0x"),
            "-: note descriptor ends at byte 21, past the 18-byte section (name padding not counted by xen)",
        );
        check(&note(8, 1, 3, b"GNU\0\0\0\0\0y"), "79");
    }

    #[test]
    fn encode_pads_and_rejects_empty() {
        assert_eq!(
            BuildIdNote::encode(&[0xab]).unwrap(),
            note(4, 1, 3, b"GNU\0\xab\0\0\0")
        );
        assert!(BuildIdNote::encode(&[]).is_err());
    }
}
