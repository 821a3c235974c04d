//! x86 alternatives, applied to a payload when it is loaded, against the
//! simulated CPU's feature bits, as Xen 4.17's `_apply_alternatives` does
//! from `prepare_payload`.
//!
//! Each 14-byte `alt_instr` (4.11+) holds two self-relative 32-bit offsets
//! (the original instructions, the replacement in `.altinstr_replacement`),
//! the feature number (bit 15 inverts it), and the lengths of the original,
//! the replacement and the padding after the original. When the feature is
//! present the replacement is copied over the original, a leading
//! `call`/`jmp rel32` re-aimed for its new place, and the rest filled with
//! NOPs; when absent, the padding is filled with NOPs unless the site was
//! already handled (Xen's `priv` byte, which the loader sets in the
//! payload's table). On `X86_FEATURE_ALWAYS`, a replacement `call`/`jmp`
//! whose displacement is -5 over an indirect `call`/`jmp *disp32(%rip)`
//! turns the site into a direct branch to the pointer's value at upload
//! (Xen's altcall). The validator refuses the entries that do not fit
//! (C-106) before this runs.
//!
//! Alternative calls (`.alt_call_sites`, Xen 4.21 on) are rewritten at
//! upload too, see [`apply_alt_calls`].

use xsplice_abi::arch::x86_nops;

/// Entry size on x86 from Xen 4.11.
const ALT_INSTR_SIZE: usize = 14;
/// Bit of `cpuid` that inverts the condition (`ALT_FLAG_NOT`).
const ALT_FLAG_NOT: u16 = 1 << 15;
/// Xen 4.17's `MAX_PATCH_LEN`: the longest site, padding included.
const MAX_PATCH_LEN: usize = 255 - 1;
/// Xen 4.17's `NCAPINTS`: 19 featureset words, one synthetic, one of bugs.
pub const NCAPINTS: u16 = 21;

/// A failed alternative: what the hypervisor would report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltError(pub String);

/// `X86_FEATURE_ALWAYS`: Xen 4.17 spells it `X86_FEATURE_LM` (word 2, bit
/// 29), which every x86-64 CPU has.
pub const X86_FEATURE_ALWAYS: u16 = 2 * 32 + 29;

/// Applies the `.altinstructions` table at `table_off..table_off + size` of
/// the payload's memory block `block`, loaded at `base`, for the feature
/// numbers in `features`, as Xen 4.17's `_apply_alternatives` does for a
/// payload (`force` set): entries in order; an entry whose `priv` byte is
/// set is skipped, and each handled entry gets `priv` set in the block; a
/// site whose first entry was handled is not padded again.
///
/// A replacement that is a `call`/`jmp rel32` is re-aimed for its new
/// place, except the indirect-to-direct case: on `X86_FEATURE_ALWAYS`, a
/// replacement whose displacement is -5 over an original `call`/`jmp
/// *disp32(%rip)` (`ff 15` / `ff 25`, at least 6 bytes) becomes a direct
/// branch to the function pointer read now (through `outside` when it is
/// not in the block), or `ud2; ud0` when the pointer is NULL. The
/// simulated build has no CET-IBT, so an ENDBR64 at the target is not
/// skipped. Returns how many sites took their replacement.
pub fn apply(
    block: &mut [u8],
    base: u64,
    table_off: usize,
    size: usize,
    features: &[u16],
    outside: &dyn Fn(u64) -> Option<u64>,
) -> Result<usize, AltError> {
    let end = table_off
        .checked_add(size)
        .filter(|&e| e <= block.len())
        .ok_or_else(|| AltError("alternatives table outside the payload".into()))?;
    let mut replaced = 0;
    // The first entry of the run of entries for the current site (`base`).
    let mut first = table_off;
    let mut at = table_off;
    while at + ALT_INSTR_SIZE <= end {
        let n = (at - table_off) / ALT_INSTR_SIZE;
        let e: [u8; ALT_INSTR_SIZE] = block[at..at + ALT_INSTR_SIZE]
            .try_into()
            .map_err(|_| AltError(format!("alternative {n} is cut short")))?;
        let rel = |o: usize| i64::from(i32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]));
        let orig_of =
            |entry: usize, disp: i64| usize::try_from((entry as i64).checked_add(disp)?).ok();
        let orig = orig_of(at, rel(0))
            .ok_or_else(|| AltError(format!("alternative {n}: original outside the payload")))?;
        let repl = orig_of(at + 4, rel(4))
            .ok_or_else(|| AltError(format!("alternative {n}: replacement outside the payload")))?;
        let cpuid = u16::from_le_bytes([e[8], e[9]]);
        let (orig_len, repl_len, pad_len) =
            (usize::from(e[10]), usize::from(e[11]), usize::from(e[12]));
        let total = orig_len + pad_len;
        let feature = cpuid & !ALT_FLAG_NOT;
        if repl_len > total {
            return Err(AltError(format!(
                "alternative {n}: {repl_len} bytes do not fit {orig_len}+{pad_len} (Xen 4.17 BUG_ON)"
            )));
        }
        if total > MAX_PATCH_LEN {
            return Err(AltError(format!(
                "alternative {n}: {total} bytes are more than {MAX_PATCH_LEN} (Xen 4.17 BUG_ON)"
            )));
        }
        if feature >= NCAPINTS * 32 {
            return Err(AltError(format!(
                "alternative {n}: feature {feature} is not below {} (Xen 4.17 BUG_ON)",
                NCAPINTS * 32
            )));
        }
        if orig.checked_add(total).is_none_or(|e| e > block.len()) {
            return Err(AltError(format!(
                "alternative {n}: {total} bytes at its original do not fit the payload"
            )));
        }
        let first_entry = &block[first..first + ALT_INSTR_SIZE];
        let first_orig = orig_of(
            first,
            i64::from(i32::from_le_bytes([
                first_entry[0],
                first_entry[1],
                first_entry[2],
                first_entry[3],
            ])),
        );
        if first_orig != Some(orig) {
            first = at;
        }
        let priv_at = at + 13;
        if block[priv_at] != 0 {
            at += ALT_INSTR_SIZE;
            continue;
        }
        let replace = features.contains(&feature) ^ (cpuid & ALT_FLAG_NOT != 0);
        if !replace {
            if block[first + 13] == 0 {
                block[priv_at] = 1;
                if pad_len > 1 {
                    block[orig + orig_len..orig + total].copy_from_slice(&x86_nops(pad_len));
                }
            }
            at += ALT_INSTR_SIZE;
            continue;
        }
        let mut buf = block
            .get(repl..repl.saturating_add(repl_len))
            .ok_or_else(|| AltError(format!("alternative {n}: replacement outside the payload")))?
            .to_vec();
        if repl_len >= 5 && buf[0] & 0xfe == 0xe8 {
            let disp = i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]);
            let indirect = if buf[0] & 1 == 1 { 0x25 } else { 0x15 };
            if cpuid == X86_FEATURE_ALWAYS
                && disp == -5
                && orig_len >= 6
                && block[orig] == 0xff
                && block[orig + 1] == indirect
            {
                // The slot the original branches through, read now.
                let d = i32::from_le_bytes([
                    block[orig + 2],
                    block[orig + 3],
                    block[orig + 4],
                    block[orig + 5],
                ]);
                let site = base.wrapping_add(orig as u64);
                let slot = site.wrapping_add(6).wrapping_add_signed(i64::from(d));
                let inside = slot
                    .checked_sub(base)
                    .and_then(|o| usize::try_from(o).ok())
                    .and_then(|o| block.get(o..o.checked_add(8)?));
                let dest = match inside {
                    Some(w) => Some(u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))),
                    None => outside(slot),
                }
                .ok_or_else(|| {
                    AltError(format!(
                        "alternative {n}: its function pointer at {slot:#x} cannot be read"
                    ))
                })?;
                if dest == 0 {
                    buf[..5].copy_from_slice(&[0x0f, 0x0b, 0x0f, 0xff, 0xff]);
                } else {
                    let rel = i32::try_from(i128::from(dest) - i128::from(site) - 5).map_err(|_| {
                        AltError(format!(
                            "alternative {n}: {dest:#x} is out of reach of a rel32 branch (Xen 4.17 ASSERT)"
                        ))
                    })?;
                    buf[1..5].copy_from_slice(&rel.to_le_bytes());
                }
            } else {
                // The rel32 was relative to the replacement's place.
                let moved = (repl as i64 - orig as i64) as i32;
                buf[1..5].copy_from_slice(&disp.wrapping_add(moved).to_le_bytes());
            }
        }
        block[priv_at] = 1;
        buf.extend(x86_nops(total - repl_len));
        block[orig..orig + total].copy_from_slice(&buf);
        replaced += 1;
        at += ALT_INSTR_SIZE;
    }
    Ok(replaced)
}

/// Applies the `.alt_call_sites` table at `table_off..table_off + size` of
/// the block loaded at `base`, as Xen 4.21's `apply_alt_calls` does: each
/// entry is a self-relative offset to a 6-byte `call *disp32(%rip)` (`ff
/// 15`); the function pointer it reads is read now, through `outside` when
/// it is not in the block. A non-NULL pointer makes the site `cs call rel32`
/// (`2e e8`), a NULL one three `ud2`. Indirect branch tracking is off on
/// the simulated CPU, so an ENDBR64 at the target is not skipped. Returns
/// how many sites became direct calls.
pub fn apply_alt_calls(
    block: &mut [u8],
    base: u64,
    table_off: usize,
    size: usize,
    outside: &dyn Fn(u64) -> Option<u64>,
) -> Result<usize, AltError> {
    let table = block
        .get(table_off..table_off + size)
        .ok_or_else(|| AltError("alternative call sites outside the payload".into()))?
        .to_vec();
    let mut direct = 0;
    for (n, e) in table.chunks_exact(4).enumerate() {
        let at = (table_off + 4 * n) as i64;
        let site = at + i64::from(i32::from_le_bytes([e[0], e[1], e[2], e[3]]));
        let insn = usize::try_from(site)
            .ok()
            .and_then(|s| Some((s, block.get(s..s.checked_add(6)?)?)))
            .filter(|(_, b)| b[..2] == [0xff, 0x15]);
        let Some((site, bytes)) = insn else {
            return Err(AltError(format!(
                "alternative call {n}: no `call *disp32(%rip)` (ff 15) at the site"
            )));
        };
        let disp = i32::from_le_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
        let next = base + site as u64 + 6;
        let slot = next.wrapping_add_signed(i64::from(disp));
        let inside = slot
            .checked_sub(base)
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| block.get(o..o.checked_add(8)?));
        let target = match inside {
            Some(w) => Some(u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))),
            None => outside(slot),
        }
        .ok_or_else(|| {
            AltError(format!(
                "alternative call {n}: its pointer at {slot:#x} cannot be read"
            ))
        })?;
        let patch: Vec<u8> = if target == 0 {
            [0x0f, 0x0b].repeat(3)
        } else {
            let rel = i32::try_from(i128::from(target) - i128::from(next)).map_err(|_| {
                AltError(format!(
                    "alternative call {n}: {target:#x} is out of reach of a rel32 call"
                ))
            })?;
            direct += 1;
            [&[0x2e, 0xe8][..], &rel.to_le_bytes()].concat()
        };
        block[site..site + 6].copy_from_slice(&patch);
    }
    Ok(direct)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block with 8 bytes of original code at 0, a replacement at 16 and
    /// one entry at 32 for feature `cpuid`.
    fn block(cpuid: u16, repl: &[u8], orig_len: u8, pad: u8) -> Vec<u8> {
        let mut b = vec![0xccu8; 48];
        b[16..16 + repl.len()].copy_from_slice(repl);
        let mut e = Vec::new();
        e.extend_from_slice(&(0i32 - 32).to_le_bytes());
        e.extend_from_slice(&(16i32 - 36).to_le_bytes());
        e.extend_from_slice(&cpuid.to_le_bytes());
        e.extend_from_slice(&[orig_len, repl.len() as u8, pad, 0]);
        b[32..46].copy_from_slice(&e);
        b
    }

    fn run(b: &mut [u8], features: &[u16]) -> Result<usize, AltError> {
        apply(b, 0x1000, 32, 14, features, &|_| None)
    }

    #[test]
    fn replaced_when_the_feature_is_present() {
        let mut b = block(7, &[0xb8, 1, 0, 0, 0], 5, 2);
        assert_eq!(run(&mut b, &[7]), Ok(1));
        assert_eq!(&b[..8], &[0xb8, 1, 0, 0, 0, 0x66, 0x90, 0xcc]);
        // The entry's `priv` is set: a second pass leaves the site alone.
        assert_eq!(b[45], 1);
        assert_eq!(run(&mut b, &[7]), Ok(0));
        // Absent: only the padding becomes NOPs.
        let mut b = block(7, &[0xb8, 1, 0, 0, 0], 5, 2);
        assert_eq!(run(&mut b, &[3]), Ok(0));
        assert_eq!(&b[..8], &[0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x66, 0x90, 0xcc]);
        // Inverted: replaced when the feature is absent.
        let mut b = block(7 | ALT_FLAG_NOT, &[0x90], 1, 0);
        assert_eq!(run(&mut b, &[]), Ok(1));
        assert_eq!(b[0], 0x90);
        // An entry built with `priv` set is skipped, as Xen skips it.
        let mut b = block(7, &[0x90], 1, 0);
        b[45] = 1;
        assert_eq!(run(&mut b, &[7]), Ok(0));
        assert_eq!(b[0], 0xcc);
    }

    #[test]
    fn a_branch_is_re_aimed() {
        // jmp +0 at 16 (to 21) becomes, at 0, jmp +16 (still to 21).
        let mut b = block(1, &[0xe9, 0, 0, 0, 0], 5, 0);
        assert_eq!(run(&mut b, &[1]), Ok(1));
        assert_eq!(&b[..5], &[0xe9, 16, 0, 0, 0]);
    }

    #[test]
    fn an_indirect_call_becomes_direct_on_always() {
        // `call *0(%rip)` at 0 (6 bytes; the slot right after it, at 6),
        // replacement `call .` (-5) at 16, feature ALWAYS.
        let site = |slot: u64| {
            let mut b = block(X86_FEATURE_ALWAYS, &[0xe8, 0xfb, 0xff, 0xff, 0xff], 6, 0);
            b[..6].copy_from_slice(&[0xff, 0x15, 0, 0, 0, 0]);
            b[6..14].copy_from_slice(&slot.to_le_bytes());
            b
        };
        let mut b = site(0x2000);
        assert_eq!(run(&mut b, &[X86_FEATURE_ALWAYS]), Ok(1));
        // 0x2000 - (0x1000 + 5), then a one-byte NOP.
        assert_eq!(&b[..6], &[0xe8, 0xfb, 0x0f, 0, 0, 0x90]);
        // A NULL pointer: `ud2; ud0`.
        let mut b = site(0);
        assert_eq!(run(&mut b, &[X86_FEATURE_ALWAYS]), Ok(1));
        assert_eq!(&b[..6], &[0x0f, 0x0b, 0x0f, 0xff, 0xff, 0x90]);
        // On another feature the -5 is only re-aimed: no altcall.
        let mut b = site(0x2000);
        b[40..42].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(run(&mut b, &[1]), Ok(1));
        assert_eq!(&b[..5], &[0xe8, 0x0b, 0, 0, 0]);
        // A pointer outside the block is read through `outside`.
        let mut b = site(0);
        b[2..6].copy_from_slice(&0x100i32.to_le_bytes());
        // The entry's original now holds `call *0x100(%rip)`: the slot is
        // 0x1000 + 6 + 0x100.
        let outside = |a: u64| (a == 0x1106).then_some(0x3000);
        assert_eq!(
            apply(&mut b, 0x1000, 32, 14, &[X86_FEATURE_ALWAYS], &outside),
            Ok(1)
        );
        assert_eq!(&b[..5], &[0xe8, 0xfb, 0x1f, 0, 0]);
    }

    #[test]
    fn alt_call_sites_become_direct_calls_or_traps() {
        // A site at 0 calling through the pointer at 16; the entry at 24.
        let mut b = vec![0u8; 28];
        b[..6].copy_from_slice(&[0xff, 0x15, 10, 0, 0, 0]);
        b[16..24].copy_from_slice(&0x1100u64.to_le_bytes());
        b[24..28].copy_from_slice(&(-24i32).to_le_bytes());
        let none = |_: u64| None;
        assert_eq!(apply_alt_calls(&mut b, 0x1000, 24, 4, &none), Ok(1));
        // 0x1100 - (0x1000 + 6).
        assert_eq!(&b[..6], &[0x2e, 0xe8, 0xfa, 0, 0, 0]);
        // A NULL pointer: three ud2.
        let mut b2 = b.clone();
        b2[..6].copy_from_slice(&[0xff, 0x15, 10, 0, 0, 0]);
        b2[16..24].fill(0);
        assert_eq!(apply_alt_calls(&mut b2, 0x1000, 24, 4, &none), Ok(0));
        assert_eq!(&b2[..6], &[0x0f, 0x0b, 0x0f, 0x0b, 0x0f, 0x0b]);
        // Not a call: refused.
        assert!(apply_alt_calls(&mut b, 0x1000, 24, 4, &none).is_err());
    }

    #[test]
    fn out_of_range_features_and_overflows_are_errors() {
        let mut b = block(NCAPINTS * 32, &[0x90], 1, 0);
        assert!(run(&mut b, &[]).is_err());
        let mut b = block(1, &[0x90, 0x90], 1, 0);
        assert!(run(&mut b, &[1]).is_err());
    }
}
