//! Relocation sections and every relocation, C-50 to C-74
//! (`livepatch_elf_perform_relocs` and the per-arch `arch_livepatch_perform*`).
//!
//! Overflow checks need the final addresses. The payload is placed as the
//! hypervisor would place it (§1.3) at the environment's load address, so a
//! PC-relative relocation between two payload sections is always decided;
//! one against a target symbol is decided only when a target is given.

use xsplice_abi::reloc::{Overflow, RelocType};
use xsplice_abi::{Arch, Errno};

use crate::checker::Checker;
use crate::elf;
use crate::finding::{CheckId as C, Location};
use crate::model::{RelocSection, Relocation};
use crate::symbols::display_name;

impl Checker<'_, '_> {
    /// The address a symbol resolves to, if it can be known here.
    pub(crate) fn symbol_address(&self, index: usize) -> Option<u64> {
        let s = self.symbols.get(index)?;
        match s.shndx {
            elf::SHN_UNDEF => self.env.resolve(&s.name),
            elf::SHN_ABS => Some(s.value),
            n if n >= elf::SHN_LORESERVE => None,
            n => self
                .section_address(usize::from(n))
                .map(|a| a.wrapping_add(s.value)),
        }
    }

    pub(crate) fn check_relocations(&mut self) {
        let Some(arch) = self.arch else { return };
        let Some(symtab) = self.symtab else { return };
        let shnum = self.sections.len();
        let nsyms = self.symbols.len();
        for i in 1..shnum {
            let sec = self.sections[i].clone();
            let rela = match sec.sh_type {
                elf::SHT_RELA => true,
                elf::SHT_REL => false,
                _ => continue,
            };
            let loc = Location::section(sec.name.clone());
            if sec.info == 0 {
                self.error(
                    C::C50,
                    loc,
                    "relocation section with sh_info 0 (the hypervisor would use a null section)"
                        .into(),
                );
                continue;
            }
            let target = sec.info as usize;
            if target >= shnum {
                self.warning(
                    C::C50,
                    loc,
                    format!(
                        "sh_info {} is not below e_shnum {shnum}: the hypervisor silently skips these relocations",
                        sec.info
                    ),
                );
                continue;
            }
            // C-51: relocations of unloaded (debug) sections are skipped.
            if !self.sections[target].is_alloc() {
                continue;
            }
            if sec.link as usize != symtab {
                self.error(
                    C::C52,
                    loc,
                    format!(
                        "sh_link {} is not the symbol table (section {symtab})",
                        sec.link
                    ),
                );
                continue;
            }
            if sec.size == 0 {
                continue;
            }
            let entry = if rela {
                self.class.rela_size()
            } else {
                self.class.rel_size()
            };
            if sec.entsize < entry || sec.size % sec.entsize != 0 {
                self.error(
                    C::C53,
                    loc,
                    format!(
                        "size {:#x} with entry size {} is not a whole number of {entry}-byte entries",
                        sec.size, sec.entsize
                    ),
                );
                continue;
            }
            if !self.sane[i] {
                continue;
            }
            if !rela && !arch.supports_rel() {
                let check = if arch == Arch::X86_64 { C::C60 } else { C::C65 };
                self.error(
                    check,
                    loc,
                    format!("SHT_REL relocations: the {arch} hypervisor only applies SHT_RELA"),
                );
                continue;
            }
            let mut entries = Vec::new();
            for n in 0..sec.size / sec.entsize {
                let off = sec.offset + n * sec.entsize;
                let Some(r) = elf::reloc(self.data, self.class, off, rela) else {
                    break;
                };
                if let Some(rel) =
                    self.check_one(arch, &sec.name, target, n * sec.entsize, r, nsyms)
                {
                    entries.push(rel);
                }
            }
            if let Some(p) = &mut self.payload {
                p.relocations.push(RelocSection {
                    index: i,
                    target,
                    rela,
                    entries,
                });
            }
        }
    }

    /// Checks one relocation; returns it (with its effective addend) unless
    /// it is too broken to describe.
    fn check_one(
        &mut self,
        arch: Arch,
        rsec: &str,
        target: usize,
        entry_off: u64,
        r: elf::Reloc,
        nsyms: usize,
    ) -> Option<Relocation> {
        let tname = self.name(target);
        let tsize = self.sections[target].size;
        let loc = Location::in_section(rsec.to_string(), entry_off);
        let kind = arch.relocation(r.kind);
        let type_name = kind.map_or_else(|| format!("type {}", r.kind), |k| k.name.to_string());
        if r.sym == 0 {
            self.error(
                C::C55,
                loc,
                format!(
                    "{type_name} at {tname}+{:#x} against symbol 0 (STN_UNDEF)",
                    r.offset
                ),
            );
            return None;
        }
        if r.sym as usize >= nsyms {
            self.error(
                C::C56,
                loc,
                format!(
                    "{type_name} at {tname}+{:#x}: symbol index {} is not below the {nsyms} symbols",
                    r.offset, r.sym
                ),
            );
            return None;
        }
        let sym = self.symbols[r.sym as usize].clone();
        let sname = if sym.name.is_empty() && sym.kind == elf::STT_SECTION {
            self.name(usize::from(sym.shndx))
        } else {
            display_name(&sym.name, r.sym as usize)
        };
        let loc = loc.with_symbol(sname.clone());
        if self.ignored.contains(&(r.sym as usize)) {
            // 4.17+ refuse it; earlier releases relocate against a section
            // that was never loaded, which is no better.
            self.error(
                C::C57,
                loc.clone(),
                format!(
                    "{type_name} at {tname}+{:#x} against `{sname}`, defined in unloaded section {}",
                    r.offset,
                    self.name(usize::from(sym.shndx))
                ),
            );
        }
        let place = self.sections[target].data(self.data);
        let addend = match r.addend {
            Some(a) => a,
            None => kind.map_or(0, |k| implicit_addend(k, place, r.offset)),
        };
        let rel = Relocation {
            offset: r.offset,
            sym: r.sym,
            kind: r.kind,
            addend,
        };
        let Some(kind) = kind else {
            let check = match arch {
                Arch::X86_64 => C::C61,
                Arch::Aarch64 => C::C67,
                Arch::Arm32 => C::C71,
            };
            self.error(
                check,
                loc,
                format!(
                    "relocation type {} at {tname}+{:#x} is not one the {arch} hypervisor applies",
                    r.kind, r.offset
                ),
            );
            return Some(rel);
        };
        // Bounds: x86 per type, arm64 a 4-byte minimum before the type is
        // looked at, arm32 none at all in Xen (C-72, required here).
        let need = u64::from(kind.safe_bound);
        if r.offset.checked_add(need).is_none_or(|end| end > tsize) {
            let check = match arch {
                Arch::X86_64 => C::C61,
                Arch::Aarch64 => C::C66,
                Arch::Arm32 => C::C72,
            };
            self.error_errno(
                check,
                Errno::Einval,
                loc,
                format!(
                    "{type_name} at {tname}+{:#x} needs {need} bytes there, past the end of the {tsize:#x}-byte section",
                    r.offset
                ),
            );
            return Some(rel);
        }
        if arch == Arch::Arm32 && kind.name.starts_with("R_ARM_MOV") && addend != 0 {
            self.warning(
                C::C73,
                loc.clone(),
                format!(
                    "{type_name} at {tname}+{:#x} with addend {addend}: the arm32 hypervisor drops the addend",
                    r.offset
                ),
            );
        }
        // Overflow, when the addresses are known.
        let s = self.symbol_address(r.sym as usize);
        let p = self
            .section_address(target)
            .map(|a| a.wrapping_add(r.offset));
        let (Some(s), Some(p)) = (s, p) else {
            return Some(rel);
        };
        let value = if kind.pc_relative {
            i128::from(s) + i128::from(addend) - i128::from(p)
        } else {
            i128::from(s) + i128::from(addend)
        };
        let value = if kind.name.contains("PG_HI21") {
            ((i128::from(s) + i128::from(addend)) & !0xfff) - (i128::from(p) & !0xfff)
        } else {
            value
        };
        if let Some(range) = overflows(kind, value) {
            let check = match arch {
                Arch::X86_64 => C::C61,
                Arch::Aarch64 => C::C67,
                Arch::Arm32 => C::C71,
            };
            self.error_errno(
                check,
                Errno::Eoverflow,
                loc,
                format!(
                    "{type_name} at {tname}+{:#x} to `{sname}`: value {} does not fit {range}",
                    r.offset,
                    signed_hex(value),
                ),
            );
        } else if arch == Arch::Arm32 && matches!(kind.number, 28 | 29) && (value >> 2) & 1 != 0 {
            self.warning(
                C::C74,
                loc,
                format!(
                    "{type_name} at {tname}+{:#x} to `{sname}`: odd word offset {}, whose low bit the arm32 hypervisor drops",
                    r.offset,
                    value >> 2
                ),
            );
        }
        Some(rel)
    }
}

/// The addend of an SHT_REL entry, read from the place as the arm32
/// hypervisor reads it (C-70).
fn implicit_addend(t: &RelocType, place: &[u8], offset: u64) -> i64 {
    let Some(word) = crate::elf::Bytes(place).u32(offset) else {
        return 0;
    };
    match t.number {
        2 | 3 => i64::from(word as i32),
        43 | 44 => {
            let imm = ((word >> 4) & 0xf000) | (word & 0xfff);
            i64::from(imm as u16 as i16)
        }
        28 | 29 => i64::from(((word << 8) as i32) >> 8) << 2,
        _ => 0,
    }
}

/// The range a relocated value must fit, when it does not fit it (C-61, C-67, C-71).
fn overflows(t: &RelocType, value: i128) -> Option<String> {
    let shift = ["_G0", "_G1", "_G2", "_G3"]
        .iter()
        .position(|g| t.name.contains(g))
        .map_or(0, |g| 16 * g as u32);
    match t.overflow {
        Overflow::None => None,
        Overflow::Signed(bits) => {
            let half = 1i128 << (bits - 1);
            (!(-half..half).contains(&value)).then(|| format!("a signed {bits}-bit value"))
        }
        Overflow::Data(bits) => {
            let lo = -(1i128 << (bits - 1));
            let hi = (1i128 << bits) - 1;
            (!(lo..=hi).contains(&value))
                .then(|| format!("[{}, {}]", signed_hex(lo), signed_hex(hi)))
        }
        Overflow::MovwUnsigned => ((value >> shift) > 0xffff || value < 0)
            .then(|| format!("an unsigned 16-bit immediate at bit {shift}")),
        Overflow::MovwSigned => {
            let v = if value < 0 { !value } else { value };
            ((v >> shift) > 0xffff).then(|| format!("a signed 16-bit immediate at bit {shift}"))
        }
        Overflow::Range(r) => {
            let r = i128::from(r);
            (!(-r..r).contains(&value)).then(|| format!("the range [-{r:#x}, {r:#x})"))
        }
    }
}

/// `-0x10` rather than a 128-bit two's complement.
fn signed_hex(v: i128) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row: arch, type number, value; expect `None` (fits) or the range text.
    fn check(arch: Arch, number: u32, value: i128, expect: Option<&str>) {
        let t = arch.relocation(number).expect("supported type");
        assert_eq!(
            overflows(t, value).as_deref(),
            expect,
            "{} {value:#x}",
            t.name
        );
    }

    #[test]
    fn overflow_rules() {
        // x86 PC32: a signed 32-bit value.
        check(Arch::X86_64, 2, 0x7fff_ffff, None);
        check(Arch::X86_64, 2, -0x8000_0000, None);
        check(Arch::X86_64, 2, 0x8000_0000, Some("a signed 32-bit value"));
        check(Arch::X86_64, 4, -0x8000_0001, Some("a signed 32-bit value"));
        check(Arch::X86_64, 1, i128::from(u64::MAX), None);
        // arm64 data: [-2^(n-1), 2^n - 1].
        check(Arch::Aarch64, 258, 0xffff_ffff, None);
        check(
            Arch::Aarch64,
            258,
            0x1_0000_0000,
            Some("[-0x80000000, 0xffffffff]"),
        );
        check(Arch::Aarch64, 262, -0x8001, Some("[-0x8000, 0xffff]"));
        // MOVW unsigned groups: value >> shift <= 0xffff, negatives overflow.
        check(Arch::Aarch64, 263, 0xffff, None);
        check(
            Arch::Aarch64,
            263,
            0x1_0000,
            Some("an unsigned 16-bit immediate at bit 0"),
        );
        check(Arch::Aarch64, 265, 0xffff_ffff, None);
        check(
            Arch::Aarch64,
            265,
            -1,
            Some("an unsigned 16-bit immediate at bit 16"),
        );
        check(Arch::Aarch64, 264, 0x1_0000, None); // _NC
        // MOVW signed groups: negatives are inverted first.
        check(Arch::Aarch64, 270, -0x1_0000, None);
        check(
            Arch::Aarch64,
            270,
            -0x1_0001,
            Some("a signed 16-bit immediate at bit 0"),
        );
        // Branch ranges are half-open.
        check(Arch::Aarch64, 283, (128 << 20) - 4, None);
        check(
            Arch::Aarch64,
            283,
            128 << 20,
            Some("the range [-0x8000000, 0x8000000)"),
        );
        check(Arch::Aarch64, 283, -(128 << 20), None);
        check(
            Arch::Aarch64,
            279,
            1 << 15,
            Some("the range [-0x8000, 0x8000)"),
        );
        check(Arch::Arm32, 28, (32 << 20) - 4, None);
        check(
            Arch::Arm32,
            29,
            32 << 20,
            Some("the range [-0x2000000, 0x2000000)"),
        );
    }

    #[test]
    fn arm32_implicit_addends() {
        let a = |number: u32, word: u32| {
            implicit_addend(
                Arch::Arm32.relocation(number).unwrap(),
                &word.to_le_bytes(),
                0,
            )
        };
        assert_eq!(a(2, 0xffff_fffc), -4); // ABS32: the whole word
        assert_eq!(a(3, 0x10), 0x10); // REL32
        assert_eq!(a(43, 0xe300_0004), 4); // MOVW imm16 = imm4:imm12
        assert_eq!(a(44, 0xe34f_0fff), -1); // MOVT, sign-extended
        assert_eq!(a(28, 0xebff_fffe), -8); // BL -8: imm24 << 2
        assert_eq!(a(29, 0xea00_0001), 4);
        assert_eq!(
            implicit_addend(Arch::Arm32.relocation(2).unwrap(), &[1, 2], 0),
            0
        );
    }

    #[test]
    fn signed_hex_has_a_sign() {
        assert_eq!(signed_hex(-16), "-0x10");
        assert_eq!(signed_hex(255), "0xff");
    }
}
