//! What Xen 4.17's ARM loader does to a payload's bytes, done without
//! running ARM code: the arm64 relocations of
//! `arch/arm/arm64/livepatch.c` (with `insn.c`'s immediate encodings), the
//! arm32 ones of `arch/arm/arm32/livepatch.c`, the arm64 alternatives of
//! `arch/arm/alternative.c`, and the 16-byte ARM bug frames.
//!
//! Each function mirrors Xen's arithmetic, including what it does not
//! check (arm64 TSTBR14 checks a 19-bit range; arm32 MOVW/MOVT drop the
//! addend and CALL/JUMP24 drop bit 0 of the word offset, C-73, C-74), so
//! that the placed bytes are the bytes Xen would run.

use xsplice_abi::Errno;

/// Why a relocation failed: Xen's errno and its log line's gist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelocError {
    pub errno: Errno,
    pub message: String,
}

fn err<T>(errno: Errno, message: impl Into<String>) -> Result<T, RelocError> {
    Err(RelocError {
        errno,
        message: message.into(),
    })
}

/// `AARCH64_BREAK_FAULT`: `insn.c` leaves this instruction as it is.
const AARCH64_BREAK_FAULT: u32 = 0xd420_0000 | (2 << 5);

/// The immediate fields `aarch64_insn_encode_immediate` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Imm {
    I26,
    I19,
    I16,
    I14,
    I12,
    Adr,
}

/// `aarch64_insn_encode_immediate`.
fn encode_imm(kind: Imm, insn: u32, imm: u64) -> u32 {
    if insn == AARCH64_BREAK_FAULT {
        return insn;
    }
    let (mask, shift, imm) = match kind {
        Imm::I26 => ((1u32 << 26) - 1, 0, imm),
        Imm::I19 => ((1 << 19) - 1, 5, imm),
        Imm::I16 => ((1 << 16) - 1, 5, imm),
        Imm::I14 => ((1 << 14) - 1, 5, imm),
        Imm::I12 => ((1 << 12) - 1, 10, imm),
        Imm::Adr => {
            let lo = (imm & 3) << 29;
            let hi = ((imm >> 2) & 0x7ffff) << 5;
            return (insn & !((3 << 29) | (0x7ffff << 5))) | (lo | hi) as u32;
        }
    };
    (insn & !(mask << shift)) | (((imm as u32) & mask) << shift)
}

/// `do_reloc`'s operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Abs,
    Prel,
    Page,
}

fn do_reloc(op: Op, place: u64, val: u64) -> u64 {
    match op {
        Op::Abs => val,
        Op::Prel => val.wrapping_sub(place),
        Op::Page => (val & !0xfff).wrapping_sub(place & !0xfff),
    }
}

/// What one arm64 relocation type does (the `switch` of
/// `arch_livepatch_perform_rela`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum A64 {
    /// Data of this many bits.
    Data(Op, u32),
    /// MOVZ/MOVK (unsigned) or MOVZ/MOVN (signed) with this shift.
    Movw(Op, u32, bool),
    /// An immediate of `len` bits from bit `lsb` of the value.
    Insn(Op, u32, u32, Imm),
}

/// The arm64 types Xen applies, with whether it checks overflow.
fn a64_type(kind: u32) -> Option<(A64, bool)> {
    use A64::*;
    use Op::*;
    Some(match kind {
        257 => (Data(Abs, 64), false),
        258 => (Data(Abs, 32), true),
        259 => (Data(Abs, 16), true),
        260 => (Data(Prel, 64), false),
        261 => (Data(Prel, 32), true),
        262 => (Data(Prel, 16), true),
        263 => (Movw(Abs, 0, false), true),
        264 => (Movw(Abs, 0, false), false),
        265 => (Movw(Abs, 16, false), true),
        266 => (Movw(Abs, 16, false), false),
        267 => (Movw(Abs, 32, false), true),
        268 => (Movw(Abs, 32, false), false),
        269 => (Movw(Abs, 48, false), false),
        270 => (Movw(Abs, 0, true), true),
        271 => (Movw(Abs, 16, true), true),
        272 => (Movw(Abs, 32, true), true),
        287 => (Movw(Prel, 0, true), true),
        288 => (Movw(Prel, 0, false), false),
        289 => (Movw(Prel, 16, true), true),
        290 => (Movw(Prel, 16, false), false),
        291 => (Movw(Prel, 32, true), true),
        292 => (Movw(Prel, 32, false), false),
        293 => (Movw(Prel, 48, true), false),
        274 => (Insn(Prel, 0, 21, Imm::Adr), true),
        275 => (Insn(Page, 12, 21, Imm::Adr), true),
        276 => (Insn(Page, 12, 21, Imm::Adr), false),
        277 | 278 => (Insn(Abs, 0, 12, Imm::I12), false),
        284 => (Insn(Abs, 1, 11, Imm::I12), false),
        285 => (Insn(Abs, 2, 10, Imm::I12), false),
        286 => (Insn(Abs, 3, 9, Imm::I12), false),
        299 => (Insn(Abs, 4, 8, Imm::I12), false),
        // Xen's TSTBR14 checks 19 bits (spec §2.I C-67).
        279 => (Insn(Prel, 2, 19, Imm::I14), true),
        280 => (Insn(Prel, 2, 19, Imm::I19), true),
        282 | 283 => (Insn(Prel, 2, 26, Imm::I26), true),
        _ => return None,
    })
}

fn word(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(w)
}

/// Applies arm64 relocation `kind` at `place[..]`, the bytes of the
/// section from `r_offset` to its end, at address `p`, with S+A = `val`.
/// `place` must hold at least 4 bytes (8 for the 64-bit data types): the
/// caller makes Xen's bounds check first (C-66).
pub fn relocate_aarch64(kind: u32, place: &mut [u8], p: u64, val: u64) -> Result<(), RelocError> {
    let Some((op, checked)) = a64_type(kind) else {
        return err(
            Errno::Eopnotsupp,
            format!("unhandled relocation {kind} [C-67]"),
        );
    };
    let overflow = match op {
        A64::Data(op, bits) => {
            let sval = do_reloc(op, p, val) as i64;
            let n = (bits / 8) as usize;
            place[..n].copy_from_slice(&sval.to_le_bytes()[..n]);
            match bits {
                16 => !(i64::from(i16::MIN)..=i64::from(u16::MAX)).contains(&sval),
                32 => !(i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&sval),
                _ => false,
            }
        }
        A64::Movw(op, lsb, signed) => {
            let mut insn = word(place, 0);
            let sval = do_reloc(op, p, val) as i64;
            let mut imm = (sval >> lsb) as u64;
            if signed {
                insn &= !(3 << 29);
                if sval >= 0 {
                    insn |= 2 << 29;
                } else {
                    imm = !imm;
                }
            }
            let insn = encode_imm(Imm::I16, insn, imm);
            place[..4].copy_from_slice(&insn.to_le_bytes());
            imm > u64::from(u16::MAX)
        }
        A64::Insn(op, lsb, len, field) => {
            let insn = word(place, 0);
            let sval = (do_reloc(op, p, val) as i64) >> lsb;
            let mask = ((1u64 << (lsb + len)) - 1) >> lsb;
            let imm = (sval as u64) & mask;
            let insn = encode_imm(field, insn, imm);
            place[..4].copy_from_slice(&insn.to_le_bytes());
            let upper = ((sval as u64) & !(mask >> 1)) as i64 >> (len - 1);
            (upper as u64).wrapping_add(1) >= 2
        }
    };
    if checked && overflow {
        return err(Errno::Eoverflow, format!("overflow in relocation {kind}"));
    }
    Ok(())
}

/// The addend arm32 reads from the place of an SHT_REL entry (`get_addend`).
pub fn arm32_rel_addend(kind: u32, insn: u32) -> i32 {
    match kind {
        2 | 3 => insn as i32,
        43 | 44 => {
            let a = (insn & 0xfff) | ((insn & 0xf_0000) >> 4);
            i32::from(a as u16 as i16)
        }
        28 | 29 => (((insn & 0xff_ffff) ^ 0x80_0000) as i32 - 0x80_0000) << 2,
        _ => 0,
    }
}

/// Applies arm32 relocation `kind` (`perform_rel`) to the word `place` at
/// address `p`, with S = `s` and A = `addend`.
pub fn relocate_arm32(
    kind: u32,
    place: &mut [u8],
    p: u32,
    s: u32,
    addend: i32,
) -> Result<(), RelocError> {
    let mut insn = word(place, 0);
    match kind {
        0 => return Ok(()),
        2 => insn = s.wrapping_add(addend as u32),
        3 => insn = s.wrapping_add(addend as u32).wrapping_sub(p),
        43 | 44 => {
            if addend != 0 {
                insn &= 0xfff0_f000;
            }
            let v = if kind == 44 { s >> 16 } else { s & 0xffff };
            insn |= v & 0xfff;
            insn |= (v >> 12) << 16;
        }
        28 | 29 => {
            if addend != 0 {
                insn &= 0xff00_0000;
            }
            let v = s.wrapping_add(addend as u32).wrapping_sub(p);
            const RANGE: i32 = 32 << 20;
            if !(-RANGE..RANGE).contains(&(v as i32)) {
                return err(Errno::Eoverflow, format!("overflow in relocation {kind}"));
            }
            insn |= (v >> 2) & 0x00ff_fffe;
        }
        _ => {
            return err(
                Errno::Eopnotsupp,
                format!("unhandled relocation {kind} [C-71]"),
            );
        }
    }
    place[..4].copy_from_slice(&insn.to_le_bytes());
    Ok(())
}

/// Size of an arm64 `struct alt_instr`.
pub const ALT_INSTR_SIZE: usize = 12;
/// Xen 4.17's `ARM_NCAPS`; `ARM_CB_PATCH` is the same number.
pub const ARM_NCAPS: u16 = 18;

/// Xen's `aarch64_insn_is_branch_imm`: B, BL, CBZ, CBNZ, TBZ, TBNZ, B.cond.
fn is_branch_imm(insn: u32) -> bool {
    insn & 0x7c00_0000 == 0x1400_0000
        || matches!(insn & 0x7f00_0000, 0x3400_0000..=0x3700_0000)
        || insn & 0xff00_0010 == 0x5400_0000
}

/// The byte offset a branch encodes (`aarch64_get_branch_offset`).
fn branch_offset(insn: u32) -> i64 {
    if insn & 0x7c00_0000 == 0x1400_0000 {
        i64::from(((insn & 0x03ff_ffff) << 6) as i32 >> 4)
    } else if insn & 0x7e00_0000 == 0x3600_0000 {
        i64::from((((insn >> 5) & 0x3fff) << 18) as i32 >> 16)
    } else {
        i64::from((((insn >> 5) & 0x7ffff) << 13) as i32 >> 11)
    }
}

/// `aarch64_set_branch_offset`.
fn set_branch_offset(insn: u32, offset: i64) -> u32 {
    let imm = (offset >> 2) as u64;
    if insn & 0x7c00_0000 == 0x1400_0000 {
        encode_imm(Imm::I26, insn, imm)
    } else if insn & 0x7e00_0000 == 0x3600_0000 {
        encode_imm(Imm::I14, insn, imm)
    } else {
        encode_imm(Imm::I19, insn, imm)
    }
}

/// What the arm64 alternatives did, or the `BUG_ON` they hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AltOutcome {
    /// How many entries took their replacement.
    Applied(usize),
    /// Xen's `BUG_ON` in `__apply_alternatives` or `branch_insn_requires_update`:
    /// the hypervisor would crash while loading the payload.
    Bug(String),
}

/// Applies the arm64 `.altinstructions` table at `table_off..+size` of the
/// block at `base`, with the capabilities `caps` set, as
/// `__apply_alternatives` does from `prepare_payload`. `text` is the
/// payload's text region `[start, end)` and `core_text` Xen's, both
/// "active text" for a branch in a replacement. The validator has checked
/// that every original lies in text and every replacement in
/// `.altinstr_replacement` (C-106).
pub fn apply_alternatives_arm64(
    block: &mut [u8],
    base: u64,
    table_off: usize,
    size: usize,
    caps: &[u16],
    core_text: (u64, u64),
) -> AltOutcome {
    let Some(table) = block.get(table_off..table_off.saturating_add(size)) else {
        return AltOutcome::Bug("alternatives table outside the payload".into());
    };
    let table = table.to_vec();
    let mut applied = 0;
    for (n, e) in table.chunks_exact(ALT_INSTR_SIZE).enumerate() {
        let at = base.wrapping_add((table_off + n * ALT_INSTR_SIZE) as u64);
        let rel = |o: usize| i64::from(i32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]));
        let orig = at.wrapping_add_signed(rel(0));
        let repl = at.wrapping_add(4).wrapping_add_signed(rel(4));
        let feature = u16::from_le_bytes([e[8], e[9]]);
        let (orig_len, repl_len) = (usize::from(e[10]), usize::from(e[11]));
        if feature < ARM_NCAPS && !caps.contains(&feature) {
            continue;
        }
        if feature == ARM_NCAPS {
            // A callback alternative calls code at upload: not executed.
            return AltOutcome::Bug(format!(
                "alternative {n} is a callback (ARM_CB_PATCH): not executed on arm"
            ));
        }
        if feature > ARM_NCAPS || repl_len != orig_len {
            return AltOutcome::Bug(format!(
                "Xen BUG in __apply_alternatives: alternative {n} has repl_len {repl_len} != orig_len {orig_len}"
            ));
        }
        let off = |addr: u64| usize::try_from(addr.wrapping_sub(base)).ok();
        let (Some(o), Some(r)) = (off(orig), off(repl)) else {
            return AltOutcome::Bug(format!("alternative {n} outside the payload"));
        };
        if o.checked_add(orig_len).is_none_or(|e| e > block.len())
            || r.checked_add(orig_len).is_none_or(|e| e > block.len())
        {
            return AltOutcome::Bug(format!("alternative {n} outside the payload"));
        }
        for i in 0..orig_len / 4 {
            let insn_ptr = orig.wrapping_add(4 * i as u64);
            let alt_ptr = repl.wrapping_add(4 * i as u64);
            let mut insn = word(block, r + 4 * i);
            if is_branch_imm(insn) {
                let target = alt_ptr.wrapping_add_signed(branch_offset(insn));
                let active = (core_text.0..core_text.1).contains(&target);
                let inside = (repl..=repl.saturating_add(repl_len as u64)).contains(&target);
                if active || !inside {
                    if !active {
                        return AltOutcome::Bug(format!(
                            "Xen BUG in branch_insn_requires_update: alternative {n} branches to {target:#x}, outside Xen's text and its own replacement"
                        ));
                    }
                    insn = set_branch_offset(insn, target.wrapping_sub(insn_ptr) as i64);
                }
            }
            block[o + 4 * i..o + 4 * i + 4].copy_from_slice(&insn.to_le_bytes());
        }
        applied += 1;
    }
    AltOutcome::Applied(applied)
}

/// One raw ARM bug frame (`struct bug_frame`, 16 bytes: `loc_disp`,
/// `file_disp`, `msg_disp`, each relative to its own field's frame, and a
/// 16-bit line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArmFrame {
    pub loc: u64,
    pub file: u64,
    pub msg: u64,
    pub line: u32,
}

/// The ARM frames of a `.bug_frames.N` section at `addr`. Xen's
/// `bug_loc`, `bug_file` and `bug_msg` add each displacement to the frame's
/// own address.
pub fn decode_arm_bug_frames(bytes: &[u8], addr: u64) -> Vec<ArmFrame> {
    bytes
        .chunks_exact(16)
        .enumerate()
        .map(|(n, e)| {
            let at = addr.wrapping_add(16 * n as u64);
            let d = |o: usize| i64::from(i32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]));
            ArmFrame {
                loc: at.wrapping_add_signed(d(0)),
                file: at.wrapping_add_signed(d(4)),
                msg: at.wrapping_add_signed(d(8)),
                line: u32::from(u16::from_le_bytes([e[12], e[13]])),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relocates `insn` with `kind` at P = `p` for S+A = `val`; renders the
    /// word or the errno.
    fn check(kind: u32, insn: u32, p: u64, val: u64, expect: &str) {
        let mut place = [0u8; 8];
        place[..4].copy_from_slice(&insn.to_le_bytes());
        let got = match relocate_aarch64(kind, &mut place, p, val) {
            Ok(()) => format!("{:08x}", u32::from_le_bytes(place[..4].try_into().unwrap())),
            Err(e) => e.errno.name().to_string(),
        };
        assert_eq!(got, expect, "type {kind}");
    }

    #[test]
    fn aarch64_instructions() {
        // bl: imm26 = (0x1000 - 0) >> 2.
        check(283, 0x9400_0000, 0x4000_0000, 0x4000_1000, "94000400");
        // b backwards by 4.
        check(282, 0x1400_0000, 0x4000_0004, 0x4000_0000, "17ffffff");
        // The last reachable word, and one past it.
        check(283, 0x9400_0000, 0, (128 << 20) - 4, "95ffffff");
        check(283, 0x9400_0000, 0, 128 << 20, "EOVERFLOW");
        // adrp x0: page delta 0x12345 pages: immlo 1, immhi 0x48d1.
        check(275, 0x9000_0000, 0x1000, 0x1234_6000, "b0091a20");
        // add x0, x0, #:lo12: 0x678.
        check(277, 0x9100_0000, 0, 0x1234_5678, "9119e000");
        // ldr x0, [x0, #:lo12:] of 0x...678 >> 3 = 0xcf.
        check(286, 0xf940_0000, 0, 0x1234_5678, "f9433c00");
        // movz x0, #:abs_g0: 0x1234 and its overflow.
        check(263, 0xd280_0000, 0, 0x1234, "d2824680");
        check(263, 0xd280_0000, 0, 0x1_0000, "EOVERFLOW");
        check(264, 0xd280_0000, 0, 0x1_0000, "d2800000");
        // movn for a negative signed value: imm = !(-2) = 1.
        check(270, 0xd280_0000, 0, (-2i64) as u64, "92800020");
        // b.eq 8 forward, cbz 8 forward.
        check(280, 0x5400_0000, 0, 8, "54000040");
        // TSTBR14: Xen checks 19 bits, so 1 MiB - 4 away passes, and the
        // 14-bit field keeps the low bits: the branch lands 4 bytes back.
        check(279, 0x3600_0000, 0, (1 << 20) - 4, "3607ffe0");
        check(279, 0x3600_0000, 0, 8, "36000040");
        // Data: ABS32 range [-2^31, 2^32 - 1].
        check(258, 0, 0, 0xffff_ffff, "ffffffff");
        check(258, 0, 0, 0x1_0000_0000, "EOVERFLOW");
        check(261, 0, 0x10, 0x8, "fffffff8");
        // Not applied by Xen.
        check(256, 0, 0, 0, "EOPNOTSUPP");
        check(273, 0, 0, 0, "EOPNOTSUPP");
    }

    #[test]
    fn arm32_relocations() {
        let run = |kind: u32, insn: u32, p: u32, s: u32, a: i32| {
            let mut w = insn.to_le_bytes();
            match relocate_arm32(kind, &mut w, p, s, a) {
                Ok(()) => format!("{:08x}", u32::from_le_bytes(w)),
                Err(e) => e.errno.name().to_string(),
            }
        };
        // bl with the REL addend -8 (0xfffffe) to 0x1000 from 0.
        let a = arm32_rel_addend(28, 0xebff_fffe);
        assert_eq!(a, -8);
        assert_eq!(run(28, 0xebff_fffe, 0, 0x1000, a), "eb0003fe");
        // An odd word offset loses bit 0 (C-74).
        assert_eq!(run(28, 0xeb00_0000, 0, 0x1004, 0), "eb000400");
        assert_eq!(run(28, 0xeb00_0000, 0, 32 << 20, 0), "EOVERFLOW");
        // movw/movt of 0x12345678, no addend.
        assert_eq!(run(43, 0xe300_0000, 0, 0x1234_5678, 0), "e3050678");
        assert_eq!(run(44, 0xe340_0000, 0, 0x1234_5678, 0), "e3410234");
        assert_eq!(run(2, 0, 0, 0x1000, 4), "00001004");
        assert_eq!(run(3, 0, 0x10, 0x1000, 4), "00000ff4");
    }
}
