//! One `.funcs` entry as a value: [`FuncEntry`], encoded to and decoded from
//! the little-endian bytes of any ABI and word size (§1.7).
//!
//! Pointer fields hold the raw stored values. In a payload they are usually 0
//! in the section bytes and filled in by relocations, which are the caller's
//! business; the layout tells where each pointer sits
//! ([`crate::Layout::pointer_fields`]).

use crate::AbiError;
use crate::abi::Abi;
use crate::arch::WordSize;
use crate::layout::{EXPECT_DATA_OFFSET, Layout};

/// Most bytes an expectation can hold: `data[31]`, and `len` has 5 bits
/// (§1.7).
pub const EXPECT_MAX_LEN: usize = 31;

/// `struct livepatch_expectation` (v2 only, §1.7): the bytes the hypervisor
/// expects at `old_addr` before it applies (C-123).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Expectation {
    /// Bit 0: the check is enabled.
    pub enabled: bool,
    /// Bits 1..=5: how many bytes of `data` are compared (0..=31).
    pub len: u8,
    /// Bits 6..=7: reserved, must be 0 when enabled.
    pub rsv: u8,
    /// The expected bytes; only the first `len` count.
    pub data: [u8; 31],
}

impl Expectation {
    /// An enabled expectation of `bytes` (at most 31).
    pub fn of(bytes: &[u8]) -> Result<Expectation, AbiError> {
        if bytes.len() > EXPECT_MAX_LEN {
            return Err(AbiError::ExpectLenTooLong { len: bytes.len() });
        }
        let mut data = [0; 31];
        data[..bytes.len()].copy_from_slice(bytes);
        Ok(Expectation {
            enabled: true,
            len: bytes.len() as u8,
            rsv: 0,
            data,
        })
    }

    /// The bitfield byte: enabled | len << 1 | rsv << 6 (enabled with len 8
    /// is `0x11`, §1.7).
    pub fn flags_byte(&self) -> Result<u8, AbiError> {
        if self.len > 31 {
            return Err(AbiError::ExpectLenTooLong {
                len: usize::from(self.len),
            });
        }
        if self.rsv > 3 {
            return Err(AbiError::ExpectRsvTooWide { rsv: self.rsv });
        }
        Ok(u8::from(self.enabled) | self.len << 1 | self.rsv << 6)
    }

    /// The 32 bytes of the struct.
    pub fn encode(&self) -> Result<[u8; 32], AbiError> {
        let mut out = [0; 32];
        out[0] = self.flags_byte()?;
        out[EXPECT_DATA_OFFSET..].copy_from_slice(&self.data);
        Ok(out)
    }

    /// Reads the 32 bytes of the struct.
    pub fn decode(bytes: &[u8; 32]) -> Expectation {
        let flags = bytes[0];
        let mut data = [0; 31];
        data.copy_from_slice(&bytes[EXPECT_DATA_OFFSET..]);
        Expectation {
            enabled: flags & 1 != 0,
            len: (flags >> 1) & 0x1f,
            rsv: flags >> 6,
            data,
        }
    }

    /// True if every bit is zero (the default a builder writes).
    pub fn is_zero(&self) -> bool {
        *self == Expectation::default()
    }
}

/// One function patch descriptor, the union of every ABI's fields.
///
/// Fields an ABI lacks (`applied`, `pad`, `expect` before v2) must stay zero
/// for [`FuncEntry::encode`] to accept the entry for that ABI. For
/// `xsplice-v4`, `version` and `opaque` together are its `pad[32]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FuncEntry {
    /// Address of the NUL-terminated name (usually 0 plus a relocation).
    pub name: u64,
    /// Replacement function, or 0 for NOP mode.
    pub new_addr: u64,
    /// Function to patch, or 0 to resolve it by `name` (C-94).
    pub old_addr: u64,
    pub new_size: u32,
    pub old_size: u32,
    /// The version byte (C-92); `pad[0]` in `xsplice-v4`, where it is 0.
    pub version: u8,
    /// `opaque[31]` (hypervisor scratch before 4.19, `_pad` after); the
    /// rest of `pad[32]` in `xsplice-v4`. Built as zero.
    pub opaque: [u8; 31],
    /// v2 `applied` (or, in 4.14.5..4.18.0, the byte before `patch_offset`).
    pub applied: u8,
    /// v2 `_pad[7]` (byte 0 is `patch_offset` on 4.14.5..4.18.0).
    pub pad: [u8; 7],
    /// v2 `expect`.
    pub expect: Expectation,
}

impl FuncEntry {
    /// A zero entry with the version byte `abi` requires.
    pub fn new(abi: Abi) -> FuncEntry {
        FuncEntry {
            version: abi.version_byte(),
            ..FuncEntry::default()
        }
    }

    /// The entry's bytes for `abi` on a `word`-size target.
    pub fn encode(&self, abi: Abi, word: WordSize) -> Result<Vec<u8>, AbiError> {
        let layout = Layout::of(abi, word);
        let mut out = vec![0u8; layout.size];
        let mut put = |field: &'static str, bytes: &[u8]| match layout.field(field) {
            Some(f) => {
                out[f.offset..f.offset + bytes.len()].copy_from_slice(bytes);
                Ok(())
            }
            None if bytes.iter().all(|&b| b == 0) => Ok(()),
            None => Err(AbiError::FieldNotInAbi { abi, field }),
        };
        for (field, value) in [
            ("name", self.name),
            ("new_addr", self.new_addr),
            ("old_addr", self.old_addr),
        ] {
            if value > word.max_pointer() {
                return Err(AbiError::PointerTooWide { field, value, word });
            }
            put(field, &value.to_le_bytes()[..word.pointer_size()])?;
        }
        put("new_size", &self.new_size.to_le_bytes())?;
        put("old_size", &self.old_size.to_le_bytes())?;
        if abi == Abi::XspliceV4 {
            let mut pad = [0u8; 32];
            pad[0] = self.version;
            pad[1..].copy_from_slice(&self.opaque);
            put("pad", &pad)?;
        } else {
            put("version", &[self.version])?;
            put("opaque", &self.opaque)?;
        }
        put("applied", &[self.applied])?;
        put("_pad", &self.pad)?;
        put("expect", &self.expect.encode()?)?;
        Ok(out)
    }

    /// Reads one entry; `bytes` must be exactly one entry long.
    pub fn decode(abi: Abi, word: WordSize, bytes: &[u8]) -> Result<FuncEntry, AbiError> {
        let layout = Layout::of(abi, word);
        if bytes.len() != layout.size {
            return Err(AbiError::EntryLength {
                abi,
                word,
                expected: layout.size,
                found: bytes.len(),
            });
        }
        let get = |field: &str| {
            layout
                .field(field)
                .map(|f| &bytes[f.offset..f.offset + f.size])
        };
        let pointer = |field: &str| {
            let raw = get(field).expect("every abi has the pointer fields");
            let mut wide = [0u8; 8];
            wide[..raw.len()].copy_from_slice(raw);
            u64::from_le_bytes(wide)
        };
        let u32_at = |field: &str| {
            let raw = get(field).expect("every abi has the size fields");
            u32::from_le_bytes(raw.try_into().expect("4-byte field"))
        };
        let mut entry = FuncEntry {
            name: pointer("name"),
            new_addr: pointer("new_addr"),
            old_addr: pointer("old_addr"),
            new_size: u32_at("new_size"),
            old_size: u32_at("old_size"),
            ..FuncEntry::default()
        };
        let tail = match get("pad") {
            Some(pad) => pad,
            None => {
                let version = get("version").expect("version byte");
                let opaque = get("opaque").expect("opaque bytes");
                let start = layout.offset_of("version");
                debug_assert_eq!(version.len() + opaque.len(), 32);
                &bytes[start..start + 32]
            }
        };
        entry.version = tail[0];
        entry.opaque.copy_from_slice(&tail[1..]);
        if let Some(applied) = get("applied") {
            entry.applied = applied[0];
        }
        if let Some(pad) = get("_pad") {
            entry.pad.copy_from_slice(pad);
        }
        if let Some(expect) = get("expect") {
            entry.expect = Expectation::decode(expect.try_into().expect("32-byte expect"));
        }
        Ok(entry)
    }

    /// Decodes every entry of a `.funcs` section. The size must be a
    /// multiple of the entry size (C-90).
    pub fn decode_all(
        abi: Abi,
        word: WordSize,
        section: &[u8],
    ) -> Result<Vec<FuncEntry>, AbiError> {
        let size = abi.entry_size(word);
        if section.len() % size != 0 {
            return Err(AbiError::EntryLength {
                abi,
                word,
                expected: size,
                found: section.len() % size,
            });
        }
        section
            .chunks(size)
            .map(|chunk| FuncEntry::decode(abi, word, chunk))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::hex;

    /// Encodes `entry`, compares the hex with `expect` (or the error text),
    /// and on success decodes it back to the same entry.
    fn check(entry: &FuncEntry, abi: Abi, word: WordSize, expect: &str) {
        match entry.encode(abi, word) {
            Ok(bytes) => {
                assert_eq!(hex(&bytes), expect, "{abi} {word}");
                assert_eq!(
                    &FuncEntry::decode(abi, word, &bytes).unwrap(),
                    entry,
                    "{abi} {word} round trip"
                );
            }
            Err(e) => assert_eq!(e.to_string(), expect, "{abi} {word}"),
        }
    }

    fn sample(abi: Abi) -> FuncEntry {
        FuncEntry {
            name: 0x1122_3344,
            new_addr: 0x5566_7788,
            old_addr: 0x99aa_bbcc,
            new_size: 0x0d,
            old_size: 0x1f,
            ..FuncEntry::new(abi)
        }
    }

    #[test]
    fn encodings() {
        let zeros = |n: usize| "00".repeat(n);
        check(
            &sample(Abi::LivepatchV2),
            Abi::LivepatchV2,
            WordSize::W64,
            &format!(
                "44332211000000008877665500000000ccbbaa99000000000d0000001f00000002{}",
                zeros(31 + 1 + 7 + 32)
            ),
        );
        check(
            &sample(Abi::LivepatchV2),
            Abi::LivepatchV2,
            WordSize::W32,
            &format!(
                "4433221188776655ccbbaa990d0000001f00000002{}",
                zeros(31 + 1 + 7 + 32)
            ),
        );
        check(
            &sample(Abi::LivepatchV1),
            Abi::LivepatchV1,
            WordSize::W32,
            &format!("4433221188776655ccbbaa990d0000001f00000001{}", zeros(31)),
        );
        check(
            &sample(Abi::XspliceV4),
            Abi::XspliceV4,
            WordSize::W64,
            &format!(
                "44332211000000008877665500000000ccbbaa99000000000d0000001f000000{}",
                zeros(32)
            ),
        );
        let mut wide = sample(Abi::LivepatchV2);
        wide.old_addr = 0xffff_82d0_8013_963c;
        check(
            &wide,
            Abi::LivepatchV2,
            WordSize::W32,
            "field `old_addr` = 0xffff82d08013963c does not fit a 32-bit pointer",
        );
        let mut expect = sample(Abi::LivepatchV2);
        expect.expect = Expectation::of(&[0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3]).unwrap();
        check(
            &expect,
            Abi::LivepatchV1,
            WordSize::W64,
            "field `expect` is non-zero but the livepatch-v1 entry has no such field",
        );
        let bytes = expect.encode(Abi::LivepatchV2, WordSize::W64).unwrap();
        assert_eq!(hex(&bytes[72..81]), "11488d0500000000c3");
        assert_eq!(
            FuncEntry::decode(Abi::LivepatchV2, WordSize::W64, &bytes).unwrap(),
            expect
        );
    }

    #[test]
    fn expectation_bits() {
        let e = Expectation {
            enabled: true,
            len: 31,
            rsv: 3,
            data: [0; 31],
        };
        assert_eq!(e.flags_byte(), Ok(0xff));
        assert_eq!(Expectation::decode(&e.encode().unwrap()), e);
        let long = Expectation { len: 32, ..e };
        assert_eq!(
            long.flags_byte().unwrap_err().to_string(),
            "expectation length 32 is over 31"
        );
        let rsv = Expectation { rsv: 4, ..e };
        assert_eq!(
            rsv.flags_byte().unwrap_err().to_string(),
            "expectation reserved bits 0x4 do not fit in 2 bits"
        );
        assert!(Expectation::of(&[0; 32]).is_err());
    }

    #[test]
    fn decode_rejects_wrong_lengths() {
        let err = FuncEntry::decode(Abi::LivepatchV2, WordSize::W64, &[0; 64]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a livepatch-v2 .funcs entry is 104 bytes on 64-bit, got 64"
        );
        let all = FuncEntry::decode_all(Abi::LivepatchV1, WordSize::W64, &[0; 128]).unwrap();
        assert_eq!(all.len(), 2);
        assert!(FuncEntry::decode_all(Abi::LivepatchV1, WordSize::W64, &[0; 100]).is_err());
        assert_eq!(
            FuncEntry::decode_all(Abi::LivepatchV1, WordSize::W64, &[]).unwrap(),
            vec![]
        );
    }
}
