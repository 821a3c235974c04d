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

/// The largest memory block the payload area can hold (x86: inside the
/// 1 GiB window of Xen's image, spec §1.3).
const MAX_BLOCK: u64 = 1 << 30;

const SHN_ABS: u16 = 0xfff1;
const SHN_COMMON: u16 = 0xfff2;
const SHN_LORESERVE: u16 = 0xff00;

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
    // on x86 lies inside Xen's 1 GiB image window; a larger block (a huge
    // SHT_NOBITS section needs no file bytes) cannot be allocated.
    if payload.block_size() > MAX_BLOCK {
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
            relocate(
                arch,
                &mut bytes,
                base,
                target_off,
                target.size,
                &target.name,
                r.kind,
                r.offset,
                s,
                r.addend,
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

/// Applies one relocation at `target_off + offset` of the block (§2.I, C-61).
#[allow(clippy::too_many_arguments)]
fn relocate(
    arch: Arch,
    bytes: &mut [u8],
    base: u64,
    target_off: u64,
    target_size: u64,
    target: &str,
    kind: u32,
    offset: u64,
    s: u64,
    addend: i64,
) -> Result<(), LoadError> {
    let Some(rt) = arch.relocation(kind) else {
        return fail(
            Errno::Eopnotsupp,
            format!("unhandled relocation type {kind} in {target}"),
        );
    };
    if arch != Arch::X86_64 {
        return fail(
            Errno::Eopnotsupp,
            format!("{arch} relocations are not simulated"),
        );
    }
    let width = u64::from(rt.width);
    if width == 0 {
        return Ok(());
    }
    if offset
        .checked_add(width)
        .is_none_or(|end| end > target_size)
    {
        return fail(
            Errno::Einval,
            format!(
                "{} at {target}+{offset:#x} is past the end of the section",
                rt.name
            ),
        );
    }
    let at = (target_off + offset) as usize;
    let value = s.wrapping_add(addend as u64);
    if rt.pc_relative {
        let p = base + target_off + offset;
        let rel = i128::from(value) - i128::from(p);
        let Ok(rel) = i32::try_from(rel) else {
            return fail(
                Errno::Eoverflow,
                format!("{} at {target}+{offset:#x} overflows: {rel:#x}", rt.name),
            );
        };
        bytes[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    } else {
        bytes[at..at + width as usize].copy_from_slice(&value.to_le_bytes()[..width as usize]);
    }
    Ok(())
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
        let got = match relocate(
            Arch::X86_64,
            &mut block,
            base,
            0x1000,
            16,
            ".text",
            kind,
            offset,
            s,
            a,
        ) {
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
            "EINVAL: R_X86_64_64 at .text+0x9 is past the end of the section",
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
