//! Per-architecture facts: ELF identification, the trampoline and NOP
//! encodings the hypervisor writes at `old_addr`, branch ranges, and the sizes
//! of the arch-specific tables a payload may carry.
//!
//! The linker reads the ELF identification and table sizes, the validator the
//! limits (`old_size`, NOP length, branch distance), and the simulator the
//! bytes. Sources: §1.1, §1.9, §2.K (C-95..C-98) and §4 of the payload-format
//! specification.

use std::fmt;
use std::str::FromStr;

use crate::AbiError;
use crate::xen::XenVersion;

/// Word size of the target, which decides the `.funcs` entry layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WordSize {
    /// 32-bit (arm32): pointers are 4 bytes, struct alignment 4.
    W32,
    /// 64-bit (x86-64, arm64): pointers are 8 bytes, struct alignment 8.
    W64,
}

impl WordSize {
    pub const ALL: [WordSize; 2] = [WordSize::W64, WordSize::W32];

    /// Size of a pointer (`ptr` in the specification) in bytes.
    pub fn pointer_size(self) -> usize {
        match self {
            WordSize::W32 => 4,
            WordSize::W64 => 8,
        }
    }

    /// `e_ident[EI_CLASS]`: ELFCLASS32 (1) or ELFCLASS64 (2) (§1.1).
    pub fn elf_class(self) -> u8 {
        match self {
            WordSize::W32 => 1,
            WordSize::W64 => 2,
        }
    }

    /// The largest value a pointer field can hold.
    pub fn max_pointer(self) -> u64 {
        match self {
            WordSize::W32 => u64::from(u32::MAX),
            WordSize::W64 => u64::MAX,
        }
    }
}

impl fmt::Display for WordSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WordSize::W32 => "32-bit",
            WordSize::W64 => "64-bit",
        })
    }
}

/// A hypervisor architecture with live-patch support (§1.1; x86-32 has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Aarch64,
    Arm32,
}

/// x86 ENDBR64, after which the trampoline goes (§4, C-95).
pub const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
/// The 4-byte NOP Xen writes over an ENDBR64 it seals ("poison", §4, C-95).
pub const ENDBR64_POISON: [u8; 4] = [0x66, 0x0f, 0x1f, 0x01];

/// arm64 `NOP` (§4).
pub const AARCH64_NOP: u32 = 0xd503_201f;
/// arm32 `mov r0, r0`, the NOP Xen writes on arm32 (§4).
pub const ARM32_NOP: u32 = 0xe1a0_0000;

/// Longest NOP run a `.funcs` entry can ask for (`new_size` ≤ 31, C-95/C-96).
pub const MAX_NOP_LEN: usize = 31;

/// The multi-byte x86 NOP forms recommended in the Intel SDM (`0f 1f /0`
/// with growing ModRM/SIB displacement, then an operand-size and a segment
/// prefix), indexed by length - 1. The first nine are Xen's P6 table
/// (`P6_NOP1` to `P6_NOP9`); GNU ld's x86-64 code fill uses all ten.
pub const X86_NOPS: [&[u8]; 10] = [
    &[0x90],
    &[0x66, 0x90],
    &[0x0f, 0x1f, 0x00],
    &[0x0f, 0x1f, 0x40, 0x00],
    &[0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/// The longest single NOP [`x86_nops`] emits. Xen's own limit
/// (`ASM_NOP_MAX`) is 9 bytes.
pub const X86_NOP_MAX: usize = 8;

/// `len` bytes of x86 NOPs from [`X86_NOPS`], longest first, in pieces of
/// at most [`X86_NOP_MAX`] bytes. Xen's `add_nops` does the same with
/// 9-byte pieces from a table it picks at boot (P6 or K8 NOPs), so a running
/// hypervisor's bytes may differ; only the length and "does nothing" are
/// part of the contract (§4).
pub fn x86_nops(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut left = len;
    while left > 0 {
        let n = left.min(X86_NOP_MAX);
        out.extend_from_slice(X86_NOPS[n - 1]);
        left -= n;
    }
    out
}

impl Arch {
    pub const ALL: [Arch; 3] = [Arch::X86_64, Arch::Aarch64, Arch::Arm32];

    /// The name used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Arm32 => "arm32",
        }
    }

    /// `e_machine`: EM_X86_64 (62), EM_AARCH64 (183), EM_ARM (40) (§1.1, C-13).
    pub fn e_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Aarch64 => 183,
            Arch::Arm32 => 40,
        }
    }

    /// The architecture of an ELF `e_machine` value.
    pub fn from_e_machine(e_machine: u16) -> Option<Arch> {
        Arch::ALL.into_iter().find(|a| a.e_machine() == e_machine)
    }

    /// The word size, hence the ELF class (§1.1).
    pub fn word_size(self) -> WordSize {
        match self {
            Arch::X86_64 | Arch::Aarch64 => WordSize::W64,
            Arch::Arm32 => WordSize::W32,
        }
    }

    /// Size of a pointer in bytes.
    pub fn pointer_size(self) -> usize {
        self.word_size().pointer_size()
    }

    /// `e_ident[EI_CLASS]` (§1.1).
    pub fn elf_class(self) -> u8 {
        self.word_size().elf_class()
    }

    /// The `e_flags` bits Xen requires, as (mask, value): arm32 needs EABI
    /// version 5; the other architectures do not check `e_flags` (§1.1, C-13).
    pub fn required_e_flags(self) -> Option<(u32, u32)> {
        match self {
            Arch::Arm32 => Some((0xff00_0000, 0x0500_0000)),
            Arch::X86_64 | Arch::Aarch64 => None,
        }
    }

    /// Xen accepts SHT_REL relocation sections only on arm32 (§1.1, C-60,
    /// C-65, C-70).
    pub fn supports_rel(self) -> bool {
        self == Arch::Arm32
    }

    /// Every live-patch architecture accepts SHT_RELA (§1.1).
    pub fn supports_rela(self) -> bool {
        true
    }

    /// First Xen release with live-patch support on this architecture: x86
    /// since xSplice (4.7), ARM since 4.8 (§0).
    pub fn first_xen(self) -> XenVersion {
        match self {
            Arch::X86_64 => XenVersion::rc(4, 7, 0, 1),
            Arch::Aarch64 | Arch::Arm32 => XenVersion::series(4, 8),
        }
    }

    /// `ARCH_PATCH_INSN_SIZE`: bytes of the branch the hypervisor writes
    /// (x86 `e9 rel32` = 5, ARM one instruction = 4) (§4).
    pub fn patch_insn_size(self) -> usize {
        match self {
            Arch::X86_64 => 5,
            Arch::Aarch64 | Arch::Arm32 => 4,
        }
    }

    /// Where in the old function Xen `xen` writes, given its first bytes:
    /// x86 skips a leading ENDBR64 or its poison (4 bytes) on the releases
    /// that do ([`XenVersion::skips_endbr`]: 4.17+ and the 4.14.5, 4.15.3
    /// and 4.16.1 backports); older releases and ARM write at `old_addr` (§4).
    pub fn patch_offset(self, xen: &XenVersion, old_code: &[u8]) -> usize {
        if xen.skips_endbr(self) && starts_with_endbr(old_code) {
            4
        } else {
            0
        }
    }

    /// Minimum `old_size` of a branch-mode entry on Xen `xen`, given the
    /// first bytes of the old function: x86 5, or 9 after ENDBR64 where
    /// the release skips it (C-95); ARM 4 (C-96).
    pub fn min_old_size_on(self, xen: &XenVersion, old_code: &[u8]) -> usize {
        self.patch_offset(xen, old_code) + self.patch_insn_size()
    }

    /// [`Arch::min_old_size_on`] the newest release, which asks the most of
    /// any: a payload that meets it is big enough for every release.
    pub fn min_old_size(self, old_code: &[u8]) -> usize {
        self.min_old_size_on(&XenVersion::NEWEST, old_code)
    }

    /// Half-open branch range [-R, R) Xen checks on `old_addr - new_addr`
    /// (`livepatch_verify_distance`, C-97): 2 GiB on x86, 128 MiB on arm64,
    /// 32 MiB on arm32.
    pub fn branch_range(self) -> i128 {
        match self {
            Arch::X86_64 => 2 << 30,
            Arch::Aarch64 => 128 << 20,
            Arch::Arm32 => 32 << 20,
        }
    }

    /// Xen's distance check (C-97): `old_addr - new_addr` in [-R, R).
    ///
    /// Passing it does not guarantee the branch can be encoded: use
    /// [`Arch::branch`] for that (the arm64 edge `new - old = +128 MiB`
    /// passes here but not there).
    pub fn verify_distance(self, old_addr: u64, new_addr: u64) -> Result<(), AbiError> {
        let distance = i128::from(old_addr) - i128::from(new_addr);
        let r = self.branch_range();
        if (-r..r).contains(&distance) {
            Ok(())
        } else {
            Err(AbiError::BranchOutOfRange {
                arch: self,
                from: old_addr,
                to: new_addr,
                distance,
            })
        }
    }

    /// The branch instruction written at `at` that jumps to `target` (§4).
    ///
    /// `at` is where the instruction goes, i.e. `old_addr` plus
    /// [`Arch::patch_offset`]. x86: `e9 rel32`, rel32 = target - (at + 5),
    /// which must fit in a signed 32-bit value. arm64: `B`, offset
    /// target - at in [-128 MiB, 128 MiB), both addresses 4-aligned. arm32:
    /// `B` with condition AL, offset target - (at + 8) in [-32 MiB, 32 MiB),
    /// both addresses 4-aligned. ARM instructions are little-endian words.
    pub fn branch(self, at: u64, target: u64) -> Result<Vec<u8>, AbiError> {
        let out_of_range = |distance: i128| AbiError::BranchOutOfRange {
            arch: self,
            from: at,
            to: target,
            distance,
        };
        match self {
            Arch::X86_64 => {
                let rel = i128::from(target) - (i128::from(at) + 5);
                let rel = i32::try_from(rel).map_err(|_| out_of_range(rel))?;
                let mut bytes = vec![0xe9];
                bytes.extend_from_slice(&rel.to_le_bytes());
                Ok(bytes)
            }
            Arch::Aarch64 | Arch::Arm32 => {
                for (what, addr) in [("source", at), ("target", target)] {
                    if addr % 4 != 0 {
                        return Err(AbiError::BranchMisaligned {
                            arch: self,
                            what,
                            addr,
                        });
                    }
                }
                let (pc_bias, opcode, range) = match self {
                    Arch::Aarch64 => (0, 0x1400_0000_u32, 128_i128 << 20),
                    _ => (8, 0xea00_0000_u32, 32_i128 << 20),
                };
                let rel = i128::from(target) - (i128::from(at) + pc_bias);
                if !(-range..range).contains(&rel) {
                    return Err(out_of_range(rel));
                }
                let imm_mask = (range >> 1) - 1; // 26 or 24 bits of words
                let imm = ((rel >> 2) & imm_mask) as u32;
                Ok((opcode | imm).to_le_bytes().to_vec())
            }
        }
    }

    /// `len` bytes of NOPs, as the hypervisor writes for a NOP-mode entry
    /// (`new_addr` = 0) (§4).
    ///
    /// At most 31 bytes; on ARM a multiple of 4 (C-95, C-96). x86 bytes come
    /// from [`x86_nops`]: Xen's own bytes depend on the CPU it boots on.
    pub fn nops(self, len: usize) -> Result<Vec<u8>, AbiError> {
        if len > MAX_NOP_LEN {
            return Err(AbiError::NopTooLong { arch: self, len });
        }
        match self {
            Arch::X86_64 => Ok(x86_nops(len)),
            Arch::Aarch64 | Arch::Arm32 => {
                if len % 4 != 0 {
                    return Err(AbiError::NopNotMultipleOf4 { arch: self, len });
                }
                let word = if self == Arch::Aarch64 {
                    AARCH64_NOP
                } else {
                    ARM32_NOP
                };
                Ok(word.to_le_bytes().repeat(len / 4))
            }
        }
    }

    /// What Xen `xen` writes for a branch-mode entry (§4): the branch from
    /// the patch site (`old_addr` plus [`Arch::patch_offset`] of the old
    /// function's first bytes `old_code`) to `new_addr`.
    pub fn trampoline(
        self,
        xen: &XenVersion,
        old_addr: u64,
        new_addr: u64,
        old_code: &[u8],
    ) -> Result<PatchSite, AbiError> {
        let offset = self.patch_offset(xen, old_code);
        let bytes = self.branch(old_addr + offset as u64, new_addr)?;
        Ok(PatchSite { offset, bytes })
    }

    /// What Xen `xen` writes for a NOP-mode entry (`new_addr` = 0, §4):
    /// `new_size - patch_offset` NOP bytes after the patch offset. The
    /// limits (C-95, C-96) apply to `new_size`; a `new_size` smaller than
    /// the ENDBR64 it must skip is refused (Xen would underflow, C-98).
    pub fn nop_patch(
        self,
        xen: &XenVersion,
        new_size: u32,
        old_code: &[u8],
    ) -> Result<PatchSite, AbiError> {
        let new_size = new_size as usize;
        if new_size > MAX_NOP_LEN {
            return Err(AbiError::NopTooLong {
                arch: self,
                len: new_size,
            });
        }
        if self != Arch::X86_64 && new_size % 4 != 0 {
            return Err(AbiError::NopNotMultipleOf4 {
                arch: self,
                len: new_size,
            });
        }
        let offset = self.patch_offset(xen, old_code);
        let len = new_size
            .checked_sub(offset)
            .ok_or(AbiError::NopShorterThanEndbr { new_size, offset })?;
        Ok(PatchSite {
            offset,
            bytes: self.nops(len)?,
        })
    }

    /// Size of `struct alt_instr` (§1.9): x86 14 bytes (packed, Xen 4.11+;
    /// 12 before), ARM 12. `xen` = `None` means the current layout.
    pub fn alt_instr_size(self, xen: Option<&XenVersion>) -> usize {
        match self {
            Arch::X86_64 => match xen {
                Some(v) if *v < XenVersion::series(4, 11) => 12,
                _ => 14,
            },
            Arch::Aarch64 | Arch::Arm32 => 12,
        }
    }

    /// Size of `struct bug_frame` (§1.9): x86 8 (assert frames take two of
    /// them), ARM 16. `.bug_frames.N` sizes are multiples of it (C-105).
    pub fn bug_frame_size(self) -> usize {
        match self {
            Arch::X86_64 => 8,
            Arch::Aarch64 | Arch::Arm32 => 16,
        }
    }

    /// Size of an `.ex_table` entry (x86 only: `{s32 addr, s32 cont}`, C-108).
    pub fn ex_table_entry_size(self) -> Option<usize> {
        (self == Arch::X86_64).then_some(8)
    }

    /// Size of an `.alt_call_sites` entry (x86 only, Xen 4.21+, C-107).
    pub fn alt_call_size(self) -> Option<usize> {
        (self == Arch::X86_64).then_some(4)
    }
}

/// Bytes the hypervisor writes over the old function: `bytes` at
/// `old_addr + offset`; the same number of original bytes is what it saves
/// for the revert (§4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchSite {
    pub offset: usize,
    pub bytes: Vec<u8>,
}

/// An arch-specific section Xen reads by name (§1.6, C-105..C-108).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchSection {
    pub name: &'static str,
    /// Size of one entry; the section size must be a multiple of it.
    /// `None` for `.altinstr_replacement`, which holds code.
    pub entry_size: Option<usize>,
    /// The `sh_addralign` to build it with (§1.6 alignment table); Xen
    /// itself checks only that the value is valid.
    pub align: usize,
    /// First Xen release that reads it, where that is later than
    /// live patching on the architecture.
    pub since: Option<XenVersion>,
}

impl Arch {
    /// The arch-specific sections Xen `xen` reads (`None`: the newest
    /// layout): bug frames, alternatives, and on x86 the exception table
    /// and [4.21+] alternative-call sites (§1.6, §1.9).
    pub fn arch_sections(self, xen: Option<&XenVersion>) -> Vec<ArchSection> {
        let (alt_align, table_align) = match self {
            Arch::X86_64 => (1, 4),
            Arch::Aarch64 | Arch::Arm32 => (4, 4),
        };
        let mut out: Vec<ArchSection> = [
            ".bug_frames.0",
            ".bug_frames.1",
            ".bug_frames.2",
            ".bug_frames.3",
        ]
        .into_iter()
        .map(|name| ArchSection {
            name,
            entry_size: Some(self.bug_frame_size()),
            align: table_align,
            since: None,
        })
        .collect();
        out.push(ArchSection {
            name: ".altinstructions",
            entry_size: Some(self.alt_instr_size(xen)),
            align: alt_align,
            since: None,
        });
        // Code: instruction alignment (1 on x86, 4 on ARM).
        out.push(ArchSection {
            name: ".altinstr_replacement",
            entry_size: None,
            align: alt_align,
            since: None,
        });
        if let Some(size) = self.ex_table_entry_size() {
            out.push(ArchSection {
                name: ".ex_table",
                entry_size: Some(size),
                align: table_align,
                since: None,
            });
        }
        if let Some(size) = self.alt_call_size() {
            if xen.is_none_or(XenVersion::has_alt_calls) {
                out.push(ArchSection {
                    name: ".alt_call_sites",
                    entry_size: Some(size),
                    align: 1,
                    since: Some(XenVersion::series(4, 21)),
                });
            }
        }
        out
    }
}

/// True if `code` starts with ENDBR64 or its poison (§4, C-95).
pub fn starts_with_endbr(code: &[u8]) -> bool {
    code.starts_with(&ENDBR64) || code.starts_with(&ENDBR64_POISON)
}

crate::named_enum!(Arch);

impl FromStr for Arch {
    type Err = AbiError;

    /// Accepts the canonical names and the usual aliases (`x86-64` and
    /// Debian's `amd64`, `arm64`, `arm` and Debian's `armhf`): the one set
    /// of architecture names every tool and the build take.
    fn from_str(s: &str) -> Result<Self, AbiError> {
        match s {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            "arm32" | "arm" | "armhf" => Ok(Arch::Arm32),
            _ => Err(AbiError::UnknownArch {
                name: s.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::spaced_hex;

    /// One row: arch, at, target, expected bytes or error text.
    fn check_branch(arch: Arch, at: u64, target: u64, expect: &str) {
        let got = match arch.branch(at, target) {
            Ok(bytes) => spaced_hex(&bytes),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{arch} branch {at:#x} -> {target:#x}");
    }

    #[test]
    fn branches() {
        let base = 0xffff_82d0_4000_0000;
        check_branch(Arch::X86_64, base, base + 0x100, "e9 fb 00 00 00");
        check_branch(Arch::X86_64, base + 0x100, base, "e9 fb fe ff ff");
        // rel32 = target - (at + 5) at both ends of the signed range.
        check_branch(Arch::X86_64, base, base + 5 + 0x7fff_ffff, "e9 ff ff ff 7f");
        check_branch(Arch::X86_64, base + 0x8000_0000 - 5, base, "e9 00 00 00 80");
        check_branch(
            Arch::X86_64,
            base,
            base + 5 + 0x8000_0000,
            "x86_64 branch from 0xffff82d040000000 to 0xffff82d0c0000005 is out of range (distance 0x80000000)",
        );
        check_branch(Arch::Aarch64, 0x1000, 0x1000, "00 00 00 14");
        check_branch(Arch::Aarch64, 0x1000, 0x1004, "01 00 00 14");
        check_branch(Arch::Aarch64, 0x1004, 0x1000, "ff ff ff 17");
        check_branch(Arch::Aarch64, 0x0, (128 << 20) - 4, "ff ff ff 15");
        check_branch(Arch::Aarch64, 128 << 20, 0, "00 00 00 16");
        check_branch(
            Arch::Aarch64,
            0,
            128 << 20,
            "aarch64 branch from 0x0 to 0x8000000 is out of range (distance 0x8000000)",
        );
        check_branch(
            Arch::Aarch64,
            0x1002,
            0x2000,
            "aarch64 branch source address 0x1002 is not 4-byte aligned",
        );
        check_branch(Arch::Arm32, 0x1000, 0x1008, "00 00 00 ea");
        check_branch(Arch::Arm32, 0x1000, 0x1000, "fe ff ff ea");
        check_branch(Arch::Arm32, 0x0, (32 << 20) + 4, "ff ff 7f ea");
        check_branch(Arch::Arm32, (32 << 20) - 8, 0, "00 00 80 ea");
        check_branch(
            Arch::Arm32,
            0,
            (32 << 20) + 8,
            "arm32 branch from 0x0 to 0x2000008 is out of range (distance 0x2000000)",
        );
        check_branch(
            Arch::Arm32,
            0x1000,
            0x2002,
            "arm32 branch target address 0x2002 is not 4-byte aligned",
        );
    }

    #[test]
    fn xen_distance_check_is_half_open_on_old_minus_new() {
        for arch in Arch::ALL {
            let r = arch.branch_range() as u64;
            let old = 0x8000_0000_0000;
            assert!(arch.verify_distance(old, old + r).is_ok(), "{arch} -R");
            assert!(
                arch.verify_distance(old, old + r + 1).is_err(),
                "{arch} -R-1"
            );
            assert!(arch.verify_distance(old + r - 1, old).is_ok(), "{arch} R-1");
            assert!(arch.verify_distance(old + r, old).is_err(), "{arch} R");
        }
    }

    fn check_nops(arch: Arch, len: usize, expect: &str) {
        let got = match arch.nops(len) {
            Ok(bytes) => spaced_hex(&bytes),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{arch} nops({len})");
    }

    #[test]
    fn nops() {
        check_nops(Arch::X86_64, 0, "");
        check_nops(Arch::X86_64, 1, "90");
        check_nops(Arch::X86_64, 5, "0f 1f 44 00 00");
        check_nops(Arch::X86_64, 10, "0f 1f 84 00 00 00 00 00 66 90");
        check_nops(Arch::X86_64, 32, "x86_64 nop length 32 is over 31 bytes");
        check_nops(Arch::Aarch64, 8, "1f 20 03 d5 1f 20 03 d5");
        check_nops(
            Arch::Aarch64,
            6,
            "aarch64 nop length 6 is not a multiple of 4",
        );
        check_nops(Arch::Arm32, 4, "00 00 a0 e1");
        check_nops(Arch::Arm32, 32, "arm32 nop length 32 is over 31 bytes");
        for len in 0..=MAX_NOP_LEN {
            assert_eq!(Arch::X86_64.nops(len).unwrap().len(), len);
        }
    }

    #[test]
    fn old_size_minimum_follows_endbr() {
        // Only the releases that skip ENDBR64 need room for it.
        let old: XenVersion = "4.14.4".parse().unwrap();
        let backport: XenVersion = "4.14.5".parse().unwrap();
        assert_eq!(Arch::X86_64.min_old_size_on(&old, &ENDBR64), 5);
        assert_eq!(Arch::X86_64.min_old_size_on(&backport, &ENDBR64), 9);
        assert_eq!(Arch::X86_64.min_old_size(&[0x55, 0x48]), 5);
        assert_eq!(Arch::X86_64.min_old_size(&ENDBR64), 9);
        assert_eq!(Arch::X86_64.min_old_size(&ENDBR64_POISON), 9);
        assert_eq!(Arch::X86_64.min_old_size(&ENDBR64[..3]), 5);
        assert_eq!(Arch::Aarch64.min_old_size(&ENDBR64), 4);
        assert_eq!(Arch::Arm32.min_old_size(&[]), 4);
    }

    fn check_site(result: Result<PatchSite, AbiError>, expect: &str) {
        let got = match result {
            Ok(site) => format!("+{} {}", site.offset, spaced_hex(&site.bytes)),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn patch_sites() {
        let new = XenVersion::NEWEST;
        let old = XenVersion::series(4, 13);
        let plain = [0x55, 0x48, 0x89, 0xe5];
        check_site(
            Arch::X86_64.trampoline(&old, 0x1000, 0x2000, &ENDBR64),
            "+0 e9 fb 0f 00 00",
        );
        check_site(Arch::X86_64.nop_patch(&old, 3, &ENDBR64), "+0 0f 1f 00");
        check_site(
            Arch::X86_64.trampoline(&new, 0x1000, 0x2000, &plain),
            "+0 e9 fb 0f 00 00",
        );
        check_site(
            Arch::X86_64.trampoline(&new, 0x1000, 0x2000, &ENDBR64),
            "+4 e9 f7 0f 00 00",
        );
        check_site(
            Arch::X86_64.trampoline(&new, 0x1000, 0x2000, &ENDBR64_POISON),
            "+4 e9 f7 0f 00 00",
        );
        check_site(
            Arch::Aarch64.trampoline(&new, 0x1000, 0x2000, &ENDBR64),
            "+0 00 04 00 14",
        );
        check_site(
            Arch::X86_64.nop_patch(&new, 6, &plain),
            "+0 66 0f 1f 44 00 00",
        );
        check_site(Arch::X86_64.nop_patch(&new, 6, &ENDBR64), "+4 66 90");
        check_site(Arch::X86_64.nop_patch(&new, 4, &ENDBR64), "+4 ");
        check_site(
            Arch::X86_64.nop_patch(&new, 3, &ENDBR64),
            "nop-mode new_size 3 is shorter than the 4-byte endbr64 it must skip",
        );
        check_site(
            Arch::X86_64.nop_patch(&new, 32, &plain),
            "x86_64 nop length 32 is over 31 bytes",
        );
        check_site(
            Arch::Arm32.nop_patch(&new, 8, &[]),
            "+0 00 00 a0 e1 00 00 a0 e1",
        );
        check_site(
            Arch::Arm32.nop_patch(&new, 6, &[]),
            "arm32 nop length 6 is not a multiple of 4",
        );
    }

    #[test]
    fn identification_round_trips() {
        for arch in Arch::ALL {
            assert_eq!(Arch::from_e_machine(arch.e_machine()), Some(arch));
            assert_eq!(arch.name().parse::<Arch>().unwrap(), arch);
        }
        let aliases = |arch: Arch| -> Vec<&str> {
            ["x86-64", "amd64", "arm64", "arm", "armhf"]
                .into_iter()
                .filter(|a| a.parse::<Arch>().ok() == Some(arch))
                .collect()
        };
        assert_eq!(aliases(Arch::X86_64), ["x86-64", "amd64"]);
        assert_eq!(aliases(Arch::Aarch64), ["arm64"]);
        assert_eq!(aliases(Arch::Arm32), ["arm", "armhf"]);
        assert_eq!(
            "mips".parse::<Arch>().unwrap_err().to_string(),
            "unknown architecture `mips` (expected x86_64, aarch64 or arm32)"
        );
        assert_eq!(Arch::from_e_machine(3), None);
    }

    #[test]
    fn arch_sections() {
        let dump = |arch: Arch, xen: Option<&XenVersion>| -> String {
            arch.arch_sections(xen)
                .iter()
                .map(|s| {
                    format!(
                        "{}:{}/{}",
                        s.name,
                        s.entry_size.map_or("-".to_string(), |n| n.to_string()),
                        s.align
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            dump(Arch::X86_64, None),
            ".bug_frames.0:8/4 .bug_frames.1:8/4 .bug_frames.2:8/4 .bug_frames.3:8/4 \
             .altinstructions:14/1 .altinstr_replacement:-/1 .ex_table:8/4 .alt_call_sites:4/1"
        );
        assert_eq!(
            dump(Arch::X86_64, Some(&XenVersion::series(4, 10))),
            ".bug_frames.0:8/4 .bug_frames.1:8/4 .bug_frames.2:8/4 .bug_frames.3:8/4 \
             .altinstructions:12/1 .altinstr_replacement:-/1 .ex_table:8/4"
        );
        assert_eq!(
            dump(Arch::Arm32, None),
            ".bug_frames.0:16/4 .bug_frames.1:16/4 .bug_frames.2:16/4 .bug_frames.3:16/4 \
             .altinstructions:12/4 .altinstr_replacement:-/4"
        );
    }

    #[test]
    fn table_sizes() {
        let old = XenVersion::series(4, 10);
        assert_eq!(Arch::X86_64.alt_instr_size(Some(&old)), 12);
        assert_eq!(Arch::X86_64.alt_instr_size(None), 14);
        assert_eq!(Arch::Aarch64.alt_instr_size(Some(&old)), 12);
        assert_eq!(Arch::X86_64.bug_frame_size(), 8);
        assert_eq!(Arch::Arm32.bug_frame_size(), 16);
        assert_eq!(Arch::X86_64.ex_table_entry_size(), Some(8));
        assert_eq!(Arch::Aarch64.ex_table_entry_size(), None);
        assert_eq!(Arch::X86_64.alt_call_size(), Some(4));
    }
}
