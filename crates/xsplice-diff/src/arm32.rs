//! arm32's implicit addends: SHT_REL relocations keep the addend in the
//! relocated field, encoded per relocation type (AAELF32).
//!
//! The diff reads every addend into the model, so that two objects are
//! compared on their targets and addends rather than on the encoded bits,
//! compares section bytes with those fields set to zero, and writes each
//! output relocation's addend back into its field. Setting a field keeps
//! every bit that is not the addend (condition, opcode, registers,
//! BL/BLX), so "zero" and "the same addend" leave the instruction itself to
//! the byte compare. `xsplice-link` adjusts the same fields by a delta when
//! it merges sections; this module sets them, which is what the diff needs.

/// Types whose field holds no addend (the marker `R_ARM_NONE` and
/// `R_ARM_V4BX`): the addend is 0 and the bytes are plain instruction.
fn has_no_field(r_type: u32) -> bool {
    matches!(r_type, 0 | 40)
}

/// A plain 32-bit word: ABS32, REL32, SBREL32, GOTOFF32, BASE_PREL,
/// GOT_BREL, TARGET1, TARGET2, ABS32_NOI, REL32_NOI and the TLS words.
fn is_word(r_type: u32) -> bool {
    matches!(
        r_type,
        2 | 3 | 9 | 24 | 25 | 26 | 38 | 41 | 55 | 56 | 104..=108
    )
}

/// True when the diff can read and write the addend of `r_type`.
pub(crate) fn knows(r_type: u32) -> bool {
    read(r_type, &[0; 4]).is_some()
}

fn word(field: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(field.get(..4)?.try_into().ok()?))
}

fn halves(field: &[u8]) -> Option<(u32, u32)> {
    let w = word(field)?;
    Some((w & 0xffff, w >> 16))
}

fn put_halves(field: &mut [u8], hi: u32, lo: u32) {
    field[0..2].copy_from_slice(&(hi as u16).to_le_bytes());
    field[2..4].copy_from_slice(&(lo as u16).to_le_bytes());
}

/// The addend of relocation type `r_type` held in `field` (the bytes from
/// the relocation's offset on), or `None` for a type this module does not
/// know or a field shorter than 4 bytes.
pub(crate) fn read(r_type: u32, field: &[u8]) -> Option<i64> {
    if has_no_field(r_type) {
        return Some(0);
    }
    let w = word(field)?;
    Some(match r_type {
        t if is_word(t) => i64::from(w as i32),
        // PREL31: 31-bit signed, top bit kept by the encoding.
        42 => i64::from(((w & 0x7fff_ffff) << 1) as i32 >> 1),
        // PC24, PLT32, CALL, JUMP24: signed 24-bit word offset.
        1 | 27 | 28 | 29 => i64::from(((w & 0x00ff_ffff) << 8) as i32 >> 6),
        // MOVW_ABS_NC, MOVT_ABS, MOVW_PREL_NC, MOVT_PREL: imm4:imm12.
        43..=46 => i64::from((((w >> 4) & 0xf000) | (w & 0x0fff)) as u16 as i16),
        // THM_CALL, THM_JUMP24: Thumb-2 BL/B.W.
        10 | 30 => {
            let (hi, lo) = halves(field)?;
            let s = (hi >> 10) & 1;
            let i1 = !(((lo >> 13) & 1) ^ s) & 1;
            let i2 = !(((lo >> 11) & 1) ^ s) & 1;
            let raw =
                (s << 24) | (i1 << 23) | (i2 << 22) | ((hi & 0x3ff) << 12) | ((lo & 0x7ff) << 1);
            i64::from((raw << 7) as i32 >> 7)
        }
        // THM_JUMP19: Thumb-2 B<c>.W.
        51 => {
            let (hi, lo) = halves(field)?;
            let s = (hi >> 10) & 1;
            let j1 = (lo >> 13) & 1;
            let j2 = (lo >> 11) & 1;
            let raw =
                (s << 20) | (j2 << 19) | (j1 << 18) | ((hi & 0x3f) << 12) | ((lo & 0x7ff) << 1);
            i64::from((raw << 11) as i32 >> 11)
        }
        // THM_MOVW_ABS_NC, THM_MOVT_ABS, THM_MOVW_PREL_NC, THM_MOVT_PREL.
        47..=50 => {
            let (hi, lo) = halves(field)?;
            let imm = ((hi & 0xf) << 12)
                | (((hi >> 10) & 1) << 11)
                | (((lo >> 12) & 7) << 8)
                | (lo & 0xff);
            i64::from(imm as u16 as i16)
        }
        _ => return None,
    })
}

/// Why an addend cannot be written.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// A type [`read`] does not know, or a field shorter than 4 bytes.
    Unknown,
    /// The addend does not fit the field (or breaks its alignment).
    Range,
}

/// Sets the addend of `r_type` in `field` to `addend`, keeping every
/// other bit.
pub(crate) fn write(r_type: u32, field: &mut [u8], addend: i64) -> Result<(), WriteError> {
    if has_no_field(r_type) {
        return if addend == 0 {
            Ok(())
        } else {
            Err(WriteError::Range)
        };
    }
    let w = word(field).ok_or(WriteError::Unknown)?;
    let fits = |bits: u32| (-(1i64 << (bits - 1))..(1i64 << (bits - 1))).contains(&addend);
    let new = match r_type {
        t if is_word(t) => {
            if !(i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&addend) {
                return Err(WriteError::Range);
            }
            addend as u32
        }
        42 => {
            if !fits(31) {
                return Err(WriteError::Range);
            }
            (w & 0x8000_0000) | (addend as u32 & 0x7fff_ffff)
        }
        1 | 27 | 28 | 29 => {
            if addend & 3 != 0 || !fits(26) {
                return Err(WriteError::Range);
            }
            (w & 0xff00_0000) | ((addend >> 2) as u32 & 0x00ff_ffff)
        }
        43..=46 => {
            if !fits(16) {
                return Err(WriteError::Range);
            }
            let a = addend as u32 & 0xffff;
            (w & 0xfff0_f000) | ((a & 0xf000) << 4) | (a & 0x0fff)
        }
        10 | 30 => {
            if addend & 1 != 0 || !fits(25) {
                return Err(WriteError::Range);
            }
            let (hi, lo) = halves(field).ok_or(WriteError::Unknown)?;
            let v = addend as u32;
            let s = (v >> 24) & 1;
            let j1 = !(((v >> 23) & 1) ^ s) & 1;
            let j2 = !(((v >> 22) & 1) ^ s) & 1;
            let hi = (hi & 0xf800) | (s << 10) | ((v >> 12) & 0x3ff);
            let lo = (lo & 0xd000) | (j1 << 13) | (j2 << 11) | ((v >> 1) & 0x7ff);
            put_halves(field, hi, lo);
            return Ok(());
        }
        51 => {
            if addend & 1 != 0 || !fits(21) {
                return Err(WriteError::Range);
            }
            let (hi, lo) = halves(field).ok_or(WriteError::Unknown)?;
            let v = addend as u32;
            let hi = (hi & 0xfbc0) | (((v >> 20) & 1) << 10) | ((v >> 12) & 0x3f);
            let lo = (lo & 0xd000)
                | (((v >> 18) & 1) << 13)
                | (((v >> 19) & 1) << 11)
                | ((v >> 1) & 0x7ff);
            put_halves(field, hi, lo);
            return Ok(());
        }
        47..=50 => {
            if !fits(16) {
                return Err(WriteError::Range);
            }
            let (hi, lo) = halves(field).ok_or(WriteError::Unknown)?;
            let v = addend as u32 & 0xffff;
            let hi = (hi & 0xfbf0) | ((v >> 12) & 0xf) | (((v >> 11) & 1) << 10);
            let lo = (lo & 0x8f00) | (((v >> 8) & 7) << 12) | (v & 0xff);
            put_halves(field, hi, lo);
            return Ok(());
        }
        _ => return Err(WriteError::Unknown),
    };
    field[..4].copy_from_slice(&new.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `addend` into `insn` as `r_type`, reads it back, and checks
    /// that the bits outside the field are untouched.
    fn check(r_type: u32, insn: u32, addend: i64) {
        let mut field = insn.to_le_bytes();
        write(r_type, &mut field, addend).unwrap();
        assert_eq!(read(r_type, &field), Some(addend), "type {r_type}");
        let mut zero = insn.to_le_bytes();
        write(r_type, &mut zero, 0).unwrap();
        let mut again = field;
        write(r_type, &mut again, 0).unwrap();
        assert_eq!(
            again, zero,
            "type {r_type}: bits outside the addend changed"
        );
    }

    #[test]
    fn addends_round_trip_and_keep_the_instruction() {
        // `bl` (cond AL), `b` (cond NE), movw/movt r3, Thumb-2 bl, b.w,
        // bne.w, movw/movt r3, data words.
        for a in [-8, 0, 4, 0x1234, -0x100_0000] {
            check(28, 0xebfffffe, a);
            check(29, 0x1afffffe, a);
        }
        for a in [0, 0x40, -4, 0x7fff, -0x8000] {
            check(43, 0xe3003000, a);
            check(44, 0xe3403000, a);
            check(47, 0x0300f240, a);
            check(48, 0x0300f2c0, a);
        }
        for a in [-4, 0, 2, 0x7_fffe, -0x80_0000] {
            check(10, 0xfffef7ff, a);
            check(30, 0xbffef7ff, a);
        }
        for a in [-4, 0, 2, 0xf_fffe, -0x10_0000] {
            check(51, 0x8000f040, a);
        }
        for a in [0, -1, 0x7fff_ffff, -0x8000_0000] {
            check(2, 0, a);
        }
        check(42, 0x8000_0000, -8);
    }

    #[test]
    fn what_does_not_fit_is_an_error_not_a_wrong_field() {
        let mut f = 0xebfffffeu32.to_le_bytes();
        assert_eq!(write(28, &mut f, 2), Err(WriteError::Range));
        assert_eq!(write(28, &mut f, 1 << 26), Err(WriteError::Range));
        assert_eq!(write(43, &mut f, 0x1_0000), Err(WriteError::Range));
        assert_eq!(write(200, &mut f, 0), Err(WriteError::Unknown));
        assert_eq!(write(2, &mut [0u8; 3], 0), Err(WriteError::Unknown));
        assert_eq!(read(2, &[0u8; 3]), None);
        assert_eq!(read(0, &[]), Some(0));
        assert!(knows(28) && knows(40) && !knows(102));
    }
}
