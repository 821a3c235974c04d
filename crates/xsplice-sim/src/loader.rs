//! The hypervisor's payload loader, done in the parent: placement of the
//! text, rw and ro regions (§1.3), symbol resolution (§1.4, §3) and
//! relocation (§2.I), producing the bytes of the payload's memory block.
//! The `.funcs` entries and hook pointers are then read back from the
//! relocated bytes, as the hypervisor reads them.
//!
//! The validator has already refused anything malformed; the errors here
//! are the loader's own defence, with the errno Xen would return.

use xsplice_abi::{Abi, Arch, FuncEntry, Hook};
use xsplice_validate::Environment;
use xsplice_validate::model::{Payload, Region};

use crate::arm;
use crate::errno::Errno;
use crate::image::{NamedRange, page_up};

/// A failed load: the errno and what the hypervisor would log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub errno: Errno,
    pub message: String,
}

fn fail<T>(errno: Errno, message: String) -> Result<T, LoadError> {
    Err(LoadError { errno, message })
}

/// A placed and relocated payload, ready to be copied into the hypervisor.
pub struct Placed {
    /// The whole block: `PAGE_ALIGN(text) + PAGE_ALIGN(rw) + ro`.
    pub bytes: Vec<u8>,
    /// Page-rounded sizes of the text and rw regions, and the ro size.
    pub text: u64,
    pub rw: u64,
    pub ro: u64,
    /// The `.funcs` entries after relocation.
    pub funcs: Vec<FuncEntry>,
    /// The name each entry's `name` points at, when it points into the block.
    pub func_names: Vec<Option<String>>,
    /// Hook pointers by hook, after relocation.
    pub hooks: Vec<(Hook, Vec<u64>)>,
    /// The payload's kept symbols at their load addresses, for symbolising.
    pub symbols: Vec<NamedRange>,
    /// True if a non-empty rw section other than `.funcs` exists
    /// (`safe_to_reapply`, §1.3).
    pub has_rw_data: bool,
    /// Offset of the `.funcs` section in the block, and whether it lies in
    /// the read-only region, for releases that write into the entries.
    pub funcs_offset: Option<u64>,
    pub funcs_ro: bool,
}

/// The largest memory block the payload area can hold (spec §1.3): x86
/// inside the 1 GiB window of Xen's image, ARM the 2 MiB livepatch window.
fn max_block(arch: Arch) -> u64 {
    match arch {
        Arch::X86_64 => 1 << 30,
        Arch::Aarch64 | Arch::Arm32 => 2 << 20,
    }
}

const SHN_ABS: u16 = object::elf::SHN_ABS.0;
const SHN_COMMON: u16 = object::elf::SHN_COMMON.0;
const SHN_LORESERVE: u16 = object::elf::SHN_LORESERVE;

/// Places `payload` (decoded from `file`) at `base` and relocates it,
/// resolving undefined symbols through `env` (the image, then the loaded
/// payloads' new symbols).
pub fn place(
    payload: &Payload,
    abi: Abi,
    file: &[u8],
    base: u64,
    env: &Environment<'_>,
) -> Result<Placed, LoadError> {
    // C-41: the block is one vmalloc allocation in the payload area, which
    // on x86 lies inside Xen's 1 GiB image window and on ARM is a 2 MiB
    // window; a larger block (a huge SHT_NOBITS section needs no file
    // bytes) cannot be allocated.
    if payload.block_size() > max_block(payload.arch) {
        return fail(
            Errno::Enomem,
            format!(
                "payload needs {:#x} bytes, more than the payload area holds [C-41]",
                payload.block_size()
            ),
        );
    }
    let text = page_up(payload.region_sizes[0]);
    let rw = page_up(payload.region_sizes[1]);
    let ro = payload.region_sizes[2];
    let size = usize::try_from(text + rw + ro).map_err(|_| LoadError {
        errno: Errno::Enomem,
        message: "payload too large".into(),
    })?;
    let mut bytes = vec![0u8; size];
    let mut has_rw_data = false;
    for (i, s) in payload.sections.iter().enumerate().skip(1) {
        let Some(off) = payload.block_offset(i) else {
            continue;
        };
        if s.region() == Some(Region::Rw) && s.size != 0 && s.name != abi.funcs_section() {
            has_rw_data = true;
        }
        let data = s.data(file);
        if s.is_nobits() || data.is_empty() {
            continue;
        }
        let at = off as usize;
        let Some(dst) = bytes.get_mut(at..at + data.len()) else {
            return fail(
                Errno::Einval,
                format!("section {} does not fit its region", s.name),
            );
        };
        dst.copy_from_slice(data);
    }

    // §1.4: the value of every symbol once loaded.
    let mut values: Vec<Option<u64>> = Vec::with_capacity(payload.symbols.len());
    for (i, s) in payload.symbols.iter().enumerate() {
        let v = if i == 0 {
            None
        } else if s.is_undefined() {
            if s.name.is_empty() {
                None
            } else {
                match env.resolve(&s.name) {
                    Some(a) => Some(a),
                    None => {
                        return fail(Errno::Enoent, format!("unknown symbol: {}", s.name));
                    }
                }
            }
        } else if s.shndx == SHN_ABS {
            Some(s.value)
        } else if s.shndx == SHN_COMMON {
            return fail(
                Errno::Einval,
                format!("common symbol {} (build with -fno-common)", s.name),
            );
        } else if s.shndx >= SHN_LORESERVE {
            return fail(
                Errno::Eopnotsupp,
                format!("symbol {} in reserved section {:#x}", s.name, s.shndx),
            );
        } else {
            // Defined in a section that is not loaded: ignored (C-57 if used).
            // Xen adds st_value to the load address in unsigned long
            // arithmetic, which wraps: so does this.
            payload
                .block_offset(usize::from(s.shndx))
                .map(|off| base.wrapping_add(off).wrapping_add(s.value))
        };
        values.push(v);
    }

    let arch = payload.arch;
    for rs in &payload.relocations {
        let Some(target_off) = payload.block_offset(rs.target) else {
            continue;
        };
        let target = &payload.sections[rs.target];
        for r in &rs.entries {
            let Some(sym) = payload.symbols.get(r.sym as usize) else {
                return fail(
                    Errno::Einval,
                    format!("relocation symbol {} out of range", r.sym),
                );
            };
            if r.sym == 0 {
                return fail(
                    Errno::Eopnotsupp,
                    format!("relocation against STN_UNDEF in {}", target.name),
                );
            }
            let Some(s) = values[r.sym as usize] else {
                return fail(
                    Errno::Einval,
                    format!(
                        "relocation against ignored symbol {} in {}",
                        sym.name, target.name
                    ),
                );
            };
            let at = Place {
                base,
                section_offset: target_off,
                section_size: target.size,
                section: &target.name,
            };
            relocate(
                arch, &mut bytes, &at, r.kind, r.offset, s, r.addend, rs.rela,
            )?;
        }
    }

    // Read the relocated `.funcs` entries and hook pointers back.
    let word = arch.word_size();
    let mut funcs = Vec::new();
    let mut func_names = Vec::new();
    let (mut funcs_offset, mut funcs_ro) = (None, false);
    if let Some(i) = payload
        .sections
        .iter()
        .position(|s| s.name == abi.funcs_section())
        && let Some(off) = payload.block_offset(i)
    {
        let size = payload.sections[i].size as usize;
        funcs_offset = Some(off);
        funcs_ro = payload.sections[i].region() == Some(Region::Ro);
        let entry = abi.entry_size(word);
        let section = &bytes[off as usize..off as usize + size];
        for chunk in section.chunks_exact(entry) {
            let f = FuncEntry::decode(abi, word, chunk).map_err(|e| LoadError {
                errno: Errno::Einval,
                message: e.to_string(),
            })?;
            func_names.push(c_string(&bytes, base, f.name));
            funcs.push(f);
        }
    }
    let mut hooks = Vec::new();
    for &hook in abi.hooks() {
        let Some(i) = payload
            .sections
            .iter()
            .position(|s| s.name == hook.section())
        else {
            continue;
        };
        let Some(off) = payload.block_offset(i) else {
            continue;
        };
        let section = &bytes[off as usize..(off + payload.sections[i].size) as usize];
        let ptrs: Vec<u64> = section
            .chunks_exact(word.pointer_size())
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        hooks.push((hook, ptrs));
    }

    let mut symbols: Vec<NamedRange> = payload
        .kept_symbols()
        .filter_map(|s| {
            let off = payload.block_offset(usize::from(s.shndx))?;
            Some(NamedRange {
                addr: base.wrapping_add(off).wrapping_add(s.value),
                size: s.size,
                name: s.name.clone(),
            })
        })
        .collect();
    symbols.sort_by(|a, b| (a.addr, &a.name).cmp(&(b.addr, &b.name)));

    Ok(Placed {
        bytes,
        text,
        rw,
        ro,
        funcs,
        func_names,
        hooks,
        symbols,
        has_rw_data,
        funcs_offset,
        funcs_ro,
    })
}

/// Where a relocation section's target lies in the block.
struct Place<'a> {
    /// The block's load address.
    base: u64,
    section_offset: u64,
    section_size: u64,
    section: &'a str,
}

/// Applies one relocation at `offset` of the section `at` (§2.I): x86-64
/// C-61, arm64 C-66/C-67, arm32 C-70..C-74, each as that architecture's
/// Xen does it. `addend` is `r_addend`, or for SHT_REL the validator's
/// reading of the file; arm32 reads it again from the block, as Xen does.
#[allow(clippy::too_many_arguments)]
fn relocate(
    arch: Arch,
    bytes: &mut [u8],
    at: &Place<'_>,
    kind: u32,
    offset: u64,
    s: u64,
    addend: i64,
    rela: bool,
) -> Result<(), LoadError> {
    let target = at.section;
    let name = arch
        .relocation(kind)
        .map_or_else(|| format!("relocation type {kind}"), |t| t.name.to_string());
    // The bytes Xen requires inside the section before it looks at the type:
    // arm64 4 (8 for the 64-bit data types), x86 per type, arm32 none (the
    // validator's C-72 requires 4, and so must this, not to write outside).
    let need: u64 = match (arch, kind) {
        (Arch::Aarch64, 257 | 260) => 8,
        (Arch::Aarch64 | Arch::Arm32, _) => 4,
        (Arch::X86_64, _) => arch.relocation(kind).map_or(0, |t| u64::from(t.width)),
    };
    if arch == Arch::X86_64 && arch.relocation(kind).is_none() {
        return fail(
            Errno::Eopnotsupp,
            format!("unhandled relocation type {kind} in {target}"),
        );
    }
    if need == 0 {
        return Ok(());
    }
    let check = match arch {
        Arch::X86_64 => "C-61",
        Arch::Aarch64 => "C-66",
        Arch::Arm32 => "C-72",
    };
    if offset
        .checked_add(need)
        .is_none_or(|end| end > at.section_size)
    {
        return fail(
            Errno::Einval,
            format!("{name} at {target}+{offset:#x} is past the end of the section [{check}]"),
        );
    }
    // In bounds of the section, which lies inside the block.
    let start = (at.section_offset + offset) as usize;
    let Some(place) = bytes.get_mut(start..start + need as usize) else {
        return fail(
            Errno::Einval,
            format!("{name} at {target}+{offset:#x} is outside the payload"),
        );
    };
    let p = at.base.wrapping_add(at.section_offset).wrapping_add(offset);
    let value = s.wrapping_add(addend as u64);
    match arch {
        Arch::X86_64 => {
            let pc_relative = arch.relocation(kind).is_some_and(|t| t.pc_relative);
            if pc_relative {
                let rel = i128::from(value) - i128::from(p);
                let Ok(rel) = i32::try_from(rel) else {
                    return fail(
                        Errno::Eoverflow,
                        format!("{name} at {target}+{offset:#x} overflows: {rel:#x}"),
                    );
                };
                place.copy_from_slice(&rel.to_le_bytes());
            } else {
                place.copy_from_slice(&value.to_le_bytes()[..need as usize]);
            }
            Ok(())
        }
        Arch::Aarch64 => arm::relocate_aarch64(kind, place, p, value).map_err(|e| {
            let check = if e.errno == Errno::Eoverflow {
                " [C-67]"
            } else {
                ""
            };
            LoadError {
                errno: e.errno,
                message: format!("{name} at {target}+{offset:#x}: {}{check}", e.message),
            }
        }),
        Arch::Arm32 => {
            let word = u32::from_le_bytes([place[0], place[1], place[2], place[3]]);
            // Xen's arm32 arithmetic is 32-bit: S and A are truncated.
            let a = if rela {
                addend as i32
            } else {
                arm::arm32_rel_addend(kind, word)
            };
            arm::relocate_arm32(kind, place, p as u32, s as u32, a).map_err(|e| {
                let check = if e.errno == Errno::Eoverflow {
                    " [C-71]"
                } else {
                    ""
                };
                LoadError {
                    errno: e.errno,
                    message: format!("{name} at {target}+{offset:#x}: {}{check}", e.message),
                }
            })
        }
    }
}

/// The NUL-terminated string at `addr`, if it lies in the block at `base`.
fn c_string(block: &[u8], base: u64, addr: u64) -> Option<String> {
    let off = usize::try_from(addr.checked_sub(base)?).ok()?;
    let tail = block.get(off..)?;
    let end = tail.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&tail[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies relocation `kind` at offset 8 of a 16-byte section placed at
    /// `0x1000` in a block at `base`, against S = `s`, A = `a`; renders
    /// the section's bytes or the errno.
    fn check(kind: u32, base: u64, offset: u64, s: u64, a: i64, expect: &str) {
        let mut block = vec![0u8; 0x1010];
        let at = Place {
            base,
            section_offset: 0x1000,
            section_size: 16,
            section: ".text",
        };
        let got = match relocate(Arch::X86_64, &mut block, &at, kind, offset, s, a, true) {
            Ok(()) => block[0x1000..]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            Err(e) => format!("{}: {}", e.errno.name(), e.message),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn x86_64_relocations() {
        // R_X86_64_64: S + A.
        check(
            1,
            0,
            8,
            0x2000_0000_0020,
            2,
            "00000000000000002200000000200000",
        );
        // R_X86_64_PC32 and PLT32: S + A - P, P = base + 0x1000 + 8.
        check(
            2,
            0x10_0000,
            8,
            0x10_2000,
            -4,
            "0000000000000000f40f000000000000",
        );
        check(
            4,
            0x10_0000,
            8,
            0x10_0000,
            0,
            "0000000000000000f8efffff00000000",
        );
        // R_X86_64_NONE writes nothing.
        check(0, 0, 8, 0x1234, 0, "00000000000000000000000000000000");
    }

    #[test]
    fn x86_64_relocation_errors() {
        check(
            2,
            0,
            8,
            0x1_0000_0000,
            0,
            "EOVERFLOW: R_X86_64_PC32 at .text+0x8 overflows: 0xffffeff8",
        );
        check(
            1,
            0,
            9,
            0,
            0,
            "EINVAL: R_X86_64_64 at .text+0x9 is past the end of the section [C-61]",
        );
        check(
            10,
            0,
            0,
            0,
            0,
            "EOPNOTSUPP: unhandled relocation type 10 in .text",
        );
    }
}
