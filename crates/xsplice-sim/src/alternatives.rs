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
//! already handled. The validator refuses the entries that do not fit
//! (C-106) before this runs. Not done: Xen's rewrite of an indirect branch
//! into a direct one (a replacement `call`/`jmp` whose displacement is -5).
//!
//! Alternative calls (`.alt_call_sites`, Xen 4.21 on) are rewritten at
//! upload too, see [`apply_alt_calls`].

/// Entry size on x86 from Xen 4.11.
const ALT_INSTR_SIZE: usize = 14;
/// Bit of `cpuid` that inverts the condition (`ALT_FLAG_NOT`).
const ALT_FLAG_NOT: u16 = 1 << 15;
/// Xen 4.17's `NCAPINTS`: 19 featureset words, one synthetic, one of bugs.
pub const NCAPINTS: u16 = 21;

/// A failed alternative: what the hypervisor would report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AltError(pub String);

/// The long NOPs Xen pads with (`P6_NOP1` to `P6_NOP8`), by length.
const NOPS: [&[u8]; 8] = [
    &[0x90],
    &[0x66, 0x90],
    &[0x0f, 0x1f, 0x00],
    &[0x0f, 0x1f, 0x40, 0x00],
    &[0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

fn nops(mut len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while len > 0 {
        let n = len.min(NOPS.len());
        out.extend_from_slice(NOPS[n - 1]);
        len -= n;
    }
    out
}

/// Applies the `.altinstructions` table at `table_off..table_off + size` of
/// the payload's memory block `block` (offsets in it are relative, so its
/// load address does not matter), for the feature numbers in `features`.
/// Returns how many sites took their replacement.
pub fn apply(
    block: &mut [u8],
    table_off: usize,
    size: usize,
    features: &[u16],
) -> Result<usize, AltError> {
    let table = block
        .get(table_off..table_off + size)
        .ok_or_else(|| AltError("alternatives table outside the payload".into()))?
        .to_vec();
    let mut replaced = 0;
    // Sites already patched or padded: a later entry for the same site must
    // not pad it again (Xen's `priv` on the first entry of a run).
    let mut touched = std::collections::HashSet::new();
    for (n, e) in table.chunks_exact(ALT_INSTR_SIZE).enumerate() {
        let at = table_off + n * ALT_INSTR_SIZE;
        let rel = |o: usize| i64::from(i32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]));
        let orig = (at as i64 + rel(0)) as usize;
        let repl = (at as i64 + 4 + rel(4)) as usize;
        let cpuid = u16::from_le_bytes([e[8], e[9]]);
        let (orig_len, repl_len, pad_len) =
            (usize::from(e[10]), usize::from(e[11]), usize::from(e[12]));
        let total = orig_len + pad_len;
        let feature = cpuid & !ALT_FLAG_NOT;
        if feature >= NCAPINTS * 32 {
            return Err(AltError(format!(
                "alternative {n}: feature {feature} is not below {} (Xen 4.17 BUG_ON)",
                NCAPINTS * 32
            )));
        }
        if repl_len > total || orig.checked_add(total).is_none_or(|e| e > block.len()) {
            return Err(AltError(format!(
                "alternative {n}: {repl_len} bytes do not fit {orig_len}+{pad_len} in the payload"
            )));
        }
        let replace = features.contains(&feature) ^ (cpuid & ALT_FLAG_NOT != 0);
        if !replace {
            if touched.insert(orig) && pad_len > 1 {
                block[orig + orig_len..orig + total].copy_from_slice(&nops(pad_len));
            }
            continue;
        }
        let mut buf = block
            .get(repl..repl + repl_len)
            .ok_or_else(|| AltError(format!("alternative {n}: replacement outside the payload")))?
            .to_vec();
        if repl_len >= 5 && buf[0] & 0xfe == 0xe8 {
            // The rel32 was relative to the replacement's place.
            let d = i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]);
            let moved = (repl as i64 - orig as i64) as i32;
            buf[1..5].copy_from_slice(&d.wrapping_add(moved).to_le_bytes());
        }
        buf.extend(nops(total - repl_len));
        block[orig..orig + total].copy_from_slice(&buf);
        touched.insert(orig);
        replaced += 1;
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

    #[test]
    fn replaced_when_the_feature_is_present() {
        let mut b = block(7, &[0xb8, 1, 0, 0, 0], 5, 2);
        assert_eq!(apply(&mut b, 32, 14, &[7]), Ok(1));
        assert_eq!(&b[..8], &[0xb8, 1, 0, 0, 0, 0x66, 0x90, 0xcc]);
        // Absent: only the padding becomes NOPs.
        let mut b = block(7, &[0xb8, 1, 0, 0, 0], 5, 2);
        assert_eq!(apply(&mut b, 32, 14, &[3]), Ok(0));
        assert_eq!(&b[..8], &[0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x66, 0x90, 0xcc]);
        // Inverted: replaced when the feature is absent.
        let mut b = block(7 | ALT_FLAG_NOT, &[0x90], 1, 0);
        assert_eq!(apply(&mut b, 32, 14, &[]), Ok(1));
        assert_eq!(b[0], 0x90);
    }

    #[test]
    fn a_branch_is_re_aimed() {
        // jmp +0 at 16 (to 21) becomes, at 0, jmp +16 (still to 21).
        let mut b = block(1, &[0xe9, 0, 0, 0, 0], 5, 0);
        assert_eq!(apply(&mut b, 32, 14, &[1]), Ok(1));
        assert_eq!(&b[..5], &[0xe9, 16, 0, 0, 0]);
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
        assert!(apply(&mut b, 32, 14, &[]).is_err());
        let mut b = block(1, &[0x90, 0x90], 1, 0);
        assert!(apply(&mut b, 32, 14, &[1]).is_err());
    }
}
