//! The relocation types the hypervisor's payload loader applies, per
//! architecture, with the bounds rule it checks and the one a validator
//! should check (§2.I: C-60..C-74).
//!
//! Anything not listed is refused by Xen (-EOPNOTSUPP).

use crate::arch::Arch;

/// What the loader checks on a relocated value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Nothing is checked (`_NC` forms, 64-bit data, arm32 MOVW/MOVT).
    None,
    /// The value must be representable in the given signed bit width.
    Signed(u8),
    /// Data relocations of `bits` width: the value is in [-2^(bits-1), 2^bits - 1].
    Data(u8),
    /// MOVW unsigned group: value >> shift ≤ 0xffff.
    MovwUnsigned,
    /// MOVW signed group.
    MovwSigned,
    /// A PC-relative branch or ADR with this half-open byte range [-R, R).
    Range(i64),
}

/// One supported relocation type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelocType {
    /// `r_type` / ELF32_R_TYPE value.
    pub number: u32,
    /// The ELF name, `R_X86_64_64` etc.
    pub name: &'static str,
    /// Bytes written at the place.
    pub width: u8,
    /// Bytes from `r_offset` that Xen requires inside the target section, or
    /// `None` where Xen checks nothing (arm32, C-72; x86 NONE).
    pub xen_bound: Option<u8>,
    /// Bytes from `r_offset` a validator should require inside the target
    /// section: the width written, at least the Xen bound.
    pub safe_bound: u8,
    pub pc_relative: bool,
    pub overflow: Overflow,
}

const fn r(
    number: u32,
    name: &'static str,
    width: u8,
    xen_bound: Option<u8>,
    pc_relative: bool,
    overflow: Overflow,
) -> RelocType {
    let safe_bound = match xen_bound {
        Some(b) if b > width => b,
        _ => width,
    };
    RelocType {
        number,
        name,
        width,
        xen_bound,
        safe_bound,
        pc_relative,
        overflow,
    }
}

/// x86-64 (C-61): NONE, 64, PC32, PLT32; bounds checked per type.
const X86_64: &[RelocType] = &[
    r(0, "R_X86_64_NONE", 0, None, false, Overflow::None),
    r(1, "R_X86_64_64", 8, Some(8), false, Overflow::None),
    r(2, "R_X86_64_PC32", 4, Some(4), true, Overflow::Signed(32)),
    r(4, "R_X86_64_PLT32", 4, Some(4), true, Overflow::Signed(32)),
];

// arm64 (C-66, C-67): every entry needs r_offset + 4 inside the section,
// ABS64 and PREL64 r_offset + 8; instructions are 4 bytes.
const A4: Option<u8> = Some(4);
const AARCH64: &[RelocType] = &[
    r(257, "R_AARCH64_ABS64", 8, Some(8), false, Overflow::None),
    r(258, "R_AARCH64_ABS32", 4, A4, false, Overflow::Data(32)),
    r(259, "R_AARCH64_ABS16", 2, A4, false, Overflow::Data(16)),
    r(260, "R_AARCH64_PREL64", 8, Some(8), true, Overflow::None),
    r(261, "R_AARCH64_PREL32", 4, A4, true, Overflow::Data(32)),
    r(262, "R_AARCH64_PREL16", 2, A4, true, Overflow::Data(16)),
    r(
        263,
        "R_AARCH64_MOVW_UABS_G0",
        4,
        A4,
        false,
        Overflow::MovwUnsigned,
    ),
    r(
        264,
        "R_AARCH64_MOVW_UABS_G0_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    r(
        265,
        "R_AARCH64_MOVW_UABS_G1",
        4,
        A4,
        false,
        Overflow::MovwUnsigned,
    ),
    r(
        266,
        "R_AARCH64_MOVW_UABS_G1_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    r(
        267,
        "R_AARCH64_MOVW_UABS_G2",
        4,
        A4,
        false,
        Overflow::MovwUnsigned,
    ),
    r(
        268,
        "R_AARCH64_MOVW_UABS_G2_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    r(269, "R_AARCH64_MOVW_UABS_G3", 4, A4, false, Overflow::None),
    r(
        270,
        "R_AARCH64_MOVW_SABS_G0",
        4,
        A4,
        false,
        Overflow::MovwSigned,
    ),
    r(
        271,
        "R_AARCH64_MOVW_SABS_G1",
        4,
        A4,
        false,
        Overflow::MovwSigned,
    ),
    r(
        272,
        "R_AARCH64_MOVW_SABS_G2",
        4,
        A4,
        false,
        Overflow::MovwSigned,
    ),
    r(
        274,
        "R_AARCH64_ADR_PREL_LO21",
        4,
        A4,
        true,
        Overflow::Range(1 << 20),
    ),
    r(
        275,
        "R_AARCH64_ADR_PREL_PG_HI21",
        4,
        A4,
        true,
        Overflow::Range(1 << 32),
    ),
    r(
        276,
        "R_AARCH64_ADR_PREL_PG_HI21_NC",
        4,
        A4,
        true,
        Overflow::None,
    ),
    r(
        277,
        "R_AARCH64_ADD_ABS_LO12_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    r(
        278,
        "R_AARCH64_LDST8_ABS_LO12_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    // Xen checks a 19-bit range for TSTBR14 (C-67 ⚠); the encodable range is
    // ±32 KiB, which is what a validator should require.
    r(
        279,
        "R_AARCH64_TSTBR14",
        4,
        A4,
        true,
        Overflow::Range(1 << 15),
    ),
    r(
        280,
        "R_AARCH64_CONDBR19",
        4,
        A4,
        true,
        Overflow::Range(1 << 20),
    ),
    r(
        282,
        "R_AARCH64_JUMP26",
        4,
        A4,
        true,
        Overflow::Range(1 << 27),
    ),
    r(
        283,
        "R_AARCH64_CALL26",
        4,
        A4,
        true,
        Overflow::Range(1 << 27),
    ),
    r(
        284,
        "R_AARCH64_LDST16_ABS_LO12_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    r(
        285,
        "R_AARCH64_LDST32_ABS_LO12_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    r(
        286,
        "R_AARCH64_LDST64_ABS_LO12_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
    r(
        287,
        "R_AARCH64_MOVW_PREL_G0",
        4,
        A4,
        true,
        Overflow::MovwSigned,
    ),
    r(
        288,
        "R_AARCH64_MOVW_PREL_G0_NC",
        4,
        A4,
        true,
        Overflow::None,
    ),
    r(
        289,
        "R_AARCH64_MOVW_PREL_G1",
        4,
        A4,
        true,
        Overflow::MovwSigned,
    ),
    r(
        290,
        "R_AARCH64_MOVW_PREL_G1_NC",
        4,
        A4,
        true,
        Overflow::None,
    ),
    r(
        291,
        "R_AARCH64_MOVW_PREL_G2",
        4,
        A4,
        true,
        Overflow::MovwSigned,
    ),
    r(
        292,
        "R_AARCH64_MOVW_PREL_G2_NC",
        4,
        A4,
        true,
        Overflow::None,
    ),
    r(293, "R_AARCH64_MOVW_PREL_G3", 4, A4, true, Overflow::None),
    r(
        299,
        "R_AARCH64_LDST128_ABS_LO12_NC",
        4,
        A4,
        false,
        Overflow::None,
    ),
];

// arm32 (C-71, C-72): Xen checks no bounds at all; every type writes a word.
const ARM32: &[RelocType] = &[
    r(0, "R_ARM_NONE", 0, None, false, Overflow::None),
    r(2, "R_ARM_ABS32", 4, None, false, Overflow::None),
    r(3, "R_ARM_REL32", 4, None, true, Overflow::None),
    r(28, "R_ARM_CALL", 4, None, true, Overflow::Range(32 << 20)),
    r(29, "R_ARM_JUMP24", 4, None, true, Overflow::Range(32 << 20)),
    r(43, "R_ARM_MOVW_ABS_NC", 4, None, false, Overflow::None),
    r(44, "R_ARM_MOVT_ABS", 4, None, false, Overflow::None),
];

impl Arch {
    /// The relocation types Xen applies on this architecture (C-61, C-67,
    /// C-71), in number order.
    pub fn relocations(self) -> &'static [RelocType] {
        match self {
            Arch::X86_64 => X86_64,
            Arch::Aarch64 => AARCH64,
            Arch::Arm32 => ARM32,
        }
    }

    /// The supported relocation type `number`, or `None` (Xen:
    /// -EOPNOTSUPP).
    pub fn relocation(self, number: u32) -> Option<&'static RelocType> {
        self.relocations().iter().find(|t| t.number == number)
    }

    /// Bytes from `r_offset` Xen requires inside the target section for any
    /// entry, before it looks at the type: 4 on arm64 (C-66), nothing
    /// elsewhere.
    pub fn xen_bound_before_type(self) -> Option<u8> {
        (self == Arch::Aarch64).then_some(4)
    }

    /// The pointer relocation used for `.funcs` pointers and hook entries
    /// (§1.6, §3): `R_X86_64_64`, `R_AARCH64_ABS64`, `R_ARM_ABS32`.
    pub fn pointer_relocation(self) -> &'static RelocType {
        let number = match self {
            Arch::X86_64 => 1,
            Arch::Aarch64 => 257,
            Arch::Arm32 => 2,
        };
        self.relocation(number)
            .expect("pointer relocation is supported")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(arch: Arch, number: u32, expect: &str) {
        let got = match arch.relocation(number) {
            Some(t) => format!(
                "{} width {} xen bound {} safe bound {}",
                t.name,
                t.width,
                t.xen_bound.map_or("none".to_string(), |b| b.to_string()),
                t.safe_bound
            ),
            None => "unsupported".to_string(),
        };
        assert_eq!(got, expect, "{arch} type {number}");
    }

    #[test]
    fn supported_types() {
        check(
            Arch::X86_64,
            1,
            "R_X86_64_64 width 8 xen bound 8 safe bound 8",
        );
        check(
            Arch::X86_64,
            4,
            "R_X86_64_PLT32 width 4 xen bound 4 safe bound 4",
        );
        check(Arch::X86_64, 10, "unsupported");
        check(Arch::X86_64, 11, "unsupported");
        check(
            Arch::Aarch64,
            259,
            "R_AARCH64_ABS16 width 2 xen bound 4 safe bound 4",
        );
        check(
            Arch::Aarch64,
            260,
            "R_AARCH64_PREL64 width 8 xen bound 8 safe bound 8",
        );
        check(Arch::Aarch64, 256, "unsupported");
        check(Arch::Aarch64, 273, "unsupported");
        check(Arch::Aarch64, 281, "unsupported");
        check(
            Arch::Arm32,
            28,
            "R_ARM_CALL width 4 xen bound none safe bound 4",
        );
        check(Arch::Arm32, 10, "unsupported");
        assert_eq!(Arch::Aarch64.relocations().len(), 36);
    }

    #[test]
    fn tables_are_sorted_and_named_for_their_arch() {
        for arch in Arch::ALL {
            let prefix = match arch {
                Arch::X86_64 => "R_X86_64_",
                Arch::Aarch64 => "R_AARCH64_",
                Arch::Arm32 => "R_ARM_",
            };
            let table = arch.relocations();
            assert!(
                table.windows(2).all(|w| w[0].number < w[1].number),
                "{arch}"
            );
            assert!(table.iter().all(|t| t.name.starts_with(prefix)), "{arch}");
            assert!(table.iter().all(|t| t.safe_bound >= t.width), "{arch}");
            assert_eq!(
                arch.pointer_relocation().width as usize,
                arch.pointer_size()
            );
        }
    }
}
