//! Byte layouts of one `.funcs` entry, per ABI and word size (§1.7).
//!
//! The tables are written out by hand, field by field, so that they can be
//! read against the specification; the tests check that they tile the entry
//! without gaps or overlaps, and the C-header test holds
//! `test-payloads/include/xsplice.h` to them with `sizeof`/`offsetof`.
//! The linker uses them to place relocations ("`R_X86_64_64` at offset 8 =
//! `new_addr`"), the validator to name what it finds at an offset.

use crate::abi::Abi;
use crate::arch::WordSize;

/// What a field holds, which decides how it is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A pointer-sized little-endian value, filled by a relocation.
    Pointer,
    /// A little-endian `uint32_t`.
    U32,
    /// A single byte.
    U8,
    /// A byte array the builder leaves zero (padding or hypervisor scratch).
    Bytes,
    /// `struct livepatch_expectation`: one bitfield byte, then `data[31]`.
    Expectation,
}

/// One field of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Xen's spelling of the field.
    pub name: &'static str,
    pub offset: usize,
    pub size: usize,
    pub kind: FieldKind,
}

/// The layout of one `.funcs` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub abi: Abi,
    pub word: WordSize,
    /// `sizeof` the entry; the section size is a multiple of it (C-90).
    pub size: usize,
    /// Alignment of the entry, the `sh_addralign` to give `.funcs` (§1.6).
    pub align: usize,
    /// Fields in offset order, covering `0..size` exactly.
    pub fields: &'static [Field],
}

impl Layout {
    /// The layout for `abi` on a target of `word` size.
    pub fn of(abi: Abi, word: WordSize) -> &'static Layout {
        LAYOUTS
            .iter()
            .find(|l| l.abi == abi && l.word == word)
            .expect("a layout for every abi and word size")
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field that holds byte `offset` of the entry.
    pub fn field_at(&self, offset: usize) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| (f.offset..f.offset + f.size).contains(&offset))
    }

    /// The pointer fields, which the builder fills by relocations.
    pub fn pointer_fields(&self) -> impl Iterator<Item = &'static Field> {
        self.fields.iter().filter(|f| f.kind == FieldKind::Pointer)
    }

    /// Offset of `field`; panics if the ABI has no such field (a programming
    /// error in the caller: the field set per ABI is fixed).
    pub fn offset_of(&self, field: &str) -> usize {
        match self.field(field) {
            Some(f) => f.offset,
            None => panic!("{} has no field `{field}`", self.abi),
        }
    }
}

macro_rules! fields {
    ($( $name:literal @ $off:expr, $size:expr, $kind:ident; )*) => {
        &[ $( Field { name: $name, offset: $off, size: $size, kind: FieldKind::$kind }, )* ]
    };
}

// (a) The seed's series / pre-merge builder layout: byte 32 is padding (§1.7 a).
const XSPLICE_V4_64: &[Field] = fields! {
    "name" @ 0, 8, Pointer;
    "new_addr" @ 8, 8, Pointer;
    "old_addr" @ 16, 8, Pointer;
    "new_size" @ 24, 4, U32;
    "old_size" @ 28, 4, U32;
    "pad" @ 32, 32, Bytes;
};
// The same declaration compiled for a 32-bit target; no 32-bit xSplice
// hypervisor existed (x86-64 only), so this is what the C header gives.
const XSPLICE_V4_32: &[Field] = fields! {
    "name" @ 0, 4, Pointer;
    "new_addr" @ 4, 4, Pointer;
    "old_addr" @ 8, 4, Pointer;
    "new_size" @ 12, 4, U32;
    "old_size" @ 16, 4, U32;
    "pad" @ 20, 32, Bytes;
};
// (b) Version 1, `xsplice_patch_func` and `livepatch_func` (§1.7 b).
const V1_64: &[Field] = fields! {
    "name" @ 0, 8, Pointer;
    "new_addr" @ 8, 8, Pointer;
    "old_addr" @ 16, 8, Pointer;
    "new_size" @ 24, 4, U32;
    "old_size" @ 28, 4, U32;
    "version" @ 32, 1, U8;
    "opaque" @ 33, 31, Bytes;
};
const V1_32: &[Field] = fields! {
    "name" @ 0, 4, Pointer;
    "new_addr" @ 4, 4, Pointer;
    "old_addr" @ 8, 4, Pointer;
    "new_size" @ 12, 4, U32;
    "old_size" @ 16, 4, U32;
    "version" @ 20, 1, U8;
    "opaque" @ 21, 31, Bytes;
};
// (c)-(e) Version 2 as released, 104/92 bytes (§1.7 c). In (d) byte 65/53 is
// `patch_offset`; in (e) bytes 33..71 / 21..59 are `_pad[39]`. Offsets and
// size never changed, so one table serves all three.
const V2_64: &[Field] = fields! {
    "name" @ 0, 8, Pointer;
    "new_addr" @ 8, 8, Pointer;
    "old_addr" @ 16, 8, Pointer;
    "new_size" @ 24, 4, U32;
    "old_size" @ 28, 4, U32;
    "version" @ 32, 1, U8;
    "opaque" @ 33, 31, Bytes;
    "applied" @ 64, 1, U8;
    "_pad" @ 65, 7, Bytes;
    "expect" @ 72, 32, Expectation;
};
const V2_32: &[Field] = fields! {
    "name" @ 0, 4, Pointer;
    "new_addr" @ 4, 4, Pointer;
    "old_addr" @ 8, 4, Pointer;
    "new_size" @ 12, 4, U32;
    "old_size" @ 16, 4, U32;
    "version" @ 20, 1, U8;
    "opaque" @ 21, 31, Bytes;
    "applied" @ 52, 1, U8;
    "_pad" @ 53, 7, Bytes;
    "expect" @ 60, 32, Expectation;
};

static LAYOUTS: [Layout; 8] = [
    Layout {
        abi: Abi::XspliceV4,
        word: WordSize::W64,
        size: 64,
        align: 8,
        fields: XSPLICE_V4_64,
    },
    Layout {
        abi: Abi::XspliceV4,
        word: WordSize::W32,
        size: 52,
        align: 4,
        fields: XSPLICE_V4_32,
    },
    Layout {
        abi: Abi::Xsplice,
        word: WordSize::W64,
        size: 64,
        align: 8,
        fields: V1_64,
    },
    Layout {
        abi: Abi::Xsplice,
        word: WordSize::W32,
        size: 52,
        align: 4,
        fields: V1_32,
    },
    Layout {
        abi: Abi::LivepatchV1,
        word: WordSize::W64,
        size: 64,
        align: 8,
        fields: V1_64,
    },
    Layout {
        abi: Abi::LivepatchV1,
        word: WordSize::W32,
        size: 52,
        align: 4,
        fields: V1_32,
    },
    Layout {
        abi: Abi::LivepatchV2,
        word: WordSize::W64,
        size: 104,
        align: 8,
        fields: V2_64,
    },
    Layout {
        abi: Abi::LivepatchV2,
        word: WordSize::W32,
        size: 92,
        align: 4,
        fields: V2_32,
    },
];

/// Offset of `data[31]` inside `struct livepatch_expectation`: after the
/// one bitfield byte (§1.7).
pub const EXPECT_DATA_OFFSET: usize = 1;

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders a layout as one line per field, the canonical dump the
    /// expectations below are written in.
    fn dump(layout: &Layout) -> String {
        let mut out = format!(
            "{} {} size {} align {}\n",
            layout.abi, layout.word, layout.size, layout.align
        );
        for f in layout.fields {
            out += &format!("  {:>3} {:>2} {}\n", f.offset, f.size, f.name);
        }
        out
    }

    fn check(abi: Abi, word: WordSize, expect: &str) {
        assert_eq!(dump(Layout::of(abi, word)), expect);
    }

    #[test]
    fn layouts_match_the_specification() {
        check(
            Abi::LivepatchV2,
            WordSize::W64,
            "livepatch-v2 64-bit size 104 align 8
    0  8 name
    8  8 new_addr
   16  8 old_addr
   24  4 new_size
   28  4 old_size
   32  1 version
   33 31 opaque
   64  1 applied
   65  7 _pad
   72 32 expect
",
        );
        check(
            Abi::LivepatchV2,
            WordSize::W32,
            "livepatch-v2 32-bit size 92 align 4
    0  4 name
    4  4 new_addr
    8  4 old_addr
   12  4 new_size
   16  4 old_size
   20  1 version
   21 31 opaque
   52  1 applied
   53  7 _pad
   60 32 expect
",
        );
        check(
            Abi::XspliceV4,
            WordSize::W64,
            "xsplice-v4 64-bit size 64 align 8
    0  8 name
    8  8 new_addr
   16  8 old_addr
   24  4 new_size
   28  4 old_size
   32 32 pad
",
        );
        check(
            Abi::Xsplice,
            WordSize::W32,
            "xsplice 32-bit size 52 align 4
    0  4 name
    4  4 new_addr
    8  4 old_addr
   12  4 new_size
   16  4 old_size
   20  1 version
   21 31 opaque
",
        );
    }

    #[test]
    fn every_layout_tiles_its_entry() {
        for abi in Abi::ALL {
            for word in WordSize::ALL {
                let l = Layout::of(abi, word);
                let mut next = 0;
                for f in l.fields {
                    assert_eq!(
                        f.offset, next,
                        "{abi} {word} gap or overlap at `{}`",
                        f.name
                    );
                    if f.kind == FieldKind::Pointer {
                        assert_eq!(f.size, word.pointer_size());
                        assert_eq!(f.offset % f.size, 0);
                    }
                    next += f.size;
                }
                assert_eq!(next, l.size, "{abi} {word}");
                assert_eq!(l.size % l.align, 0);
                assert_eq!(l.align, word.pointer_size());
                assert_eq!(l.field_at(l.size), None);
                assert_eq!(
                    l.field_at(l.size - 1).map(|f| f.name),
                    l.fields.last().map(|f| f.name)
                );
            }
        }
    }

    #[test]
    fn lookups() {
        let l = Layout::of(Abi::LivepatchV2, WordSize::W64);
        assert_eq!(l.offset_of("new_addr"), 8);
        assert_eq!(l.field_at(70).unwrap().name, "_pad");
        let names: Vec<_> = l.pointer_fields().map(|f| f.name).collect();
        assert_eq!(names, ["name", "new_addr", "old_addr"]);
        assert!(
            Layout::of(Abi::LivepatchV1, WordSize::W64)
                .field("expect")
                .is_none()
        );
    }
}
