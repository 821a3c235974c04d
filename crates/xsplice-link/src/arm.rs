//! Implicit addends of arm32 REL relocations.
//!
//! arm32 objects use SHT_REL: the addend lives in the relocated field itself.
//! When `ld -r` retargets a relocation from an input section symbol to the
//! output section symbol, the addend grows by the input section's offset in
//! the output section, so the field must be decoded, adjusted and re-encoded
//! per relocation type (data words, ARM branches, MOVW/MOVT, Thumb-2
//! branches and MOVW/MOVT). Encodings are those of the ARM ELF ABI (AAELF32).

/// How a REL field can be adjusted.
pub(crate) enum AddendError {
    /// The relocation type is not one we can re-encode.
    Unknown,
    /// The new addend does not fit the field.
    Overflow,
}

/// Adds `delta` to the implicit addend of relocation `r_type` in `field`
/// (at least 4 bytes, little-endian).
pub(crate) fn add_to_implicit_addend(
    r_type: u32,
    field: &mut [u8],
    delta: i64,
) -> Result<(), AddendError> {
    if delta == 0 {
        return Ok(());
    }
    if field.len() < 4 {
        return Err(AddendError::Overflow);
    }
    let word = u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
    let new = match r_type {
        // ABS32, REL32, SBREL32, GOTOFF32, BASE_PREL, GOT_BREL, TARGET1,
        // TARGET2, ABS32_NOI, REL32_NOI, TLS_GD32, TLS_LDM32, TLS_LDO32,
        // TLS_IE32, TLS_LE32: a plain 32-bit word.
        2 | 3 | 9 | 24 | 25 | 26 | 38 | 41 | 55 | 56 | 104..=108 => {
            (i64::from(word as i32) + delta) as u32
        }
        // PREL31: 31-bit signed field, top bit preserved.
        42 => {
            let old = (((word & 0x7fff_ffff) << 1) as i32 >> 1) as i64;
            let a = old + delta;
            if !(-(1 << 30)..(1 << 30)).contains(&a) {
                return Err(AddendError::Overflow);
            }
            (word & 0x8000_0000) | (a as u32 & 0x7fff_ffff)
        }
        // PC24, PLT32, CALL, JUMP24: signed 24-bit word offset.
        1 | 27 | 28 | 29 => {
            let old = (((word & 0x00ff_ffff) << 8) as i32 >> 6) as i64;
            let a = old + delta;
            if a & 3 != 0 || !(-(1 << 25)..(1 << 25)).contains(&a) {
                return Err(AddendError::Overflow);
            }
            (word & 0xff00_0000) | ((a >> 2) as u32 & 0x00ff_ffff)
        }
        // MOVW_ABS_NC, MOVT_ABS, MOVW_PREL_NC, MOVT_PREL: imm4:imm12, signed 16 bits.
        43..=46 => {
            let imm = ((word >> 4) & 0xf000) | (word & 0x0fff);
            let a = i64::from(imm as u16 as i16) + delta;
            if !(-(1 << 15)..(1 << 15)).contains(&a) {
                return Err(AddendError::Overflow);
            }
            let a = a as u32 & 0xffff;
            (word & 0xfff0_f000) | ((a & 0xf000) << 4) | (a & 0x0fff)
        }
        // THM_CALL, THM_JUMP24: Thumb-2 BL/B.W, two halfwords.
        10 | 30 => return thumb_branch(field, delta),
        // THM_MOVW_ABS_NC, THM_MOVT_ABS, THM_MOVW_PREL_NC, THM_MOVT_PREL.
        47..=50 => return thumb_mov(field, delta),
        _ => return Err(AddendError::Unknown),
    };
    field[..4].copy_from_slice(&new.to_le_bytes());
    Ok(())
}

fn halves(field: &[u8]) -> (u32, u32) {
    (
        u32::from(u16::from_le_bytes([field[0], field[1]])),
        u32::from(u16::from_le_bytes([field[2], field[3]])),
    )
}

fn put_halves(field: &mut [u8], hi: u32, lo: u32) {
    field[0..2].copy_from_slice(&(hi as u16).to_le_bytes());
    field[2..4].copy_from_slice(&(lo as u16).to_le_bytes());
}

fn thumb_branch(field: &mut [u8], delta: i64) -> Result<(), AddendError> {
    let (hi, lo) = halves(field);
    let s = (hi >> 10) & 1;
    let j1 = (lo >> 13) & 1;
    let j2 = (lo >> 11) & 1;
    let i1 = !(j1 ^ s) & 1;
    let i2 = !(j2 ^ s) & 1;
    let raw = (s << 24) | (i1 << 23) | (i2 << 22) | ((hi & 0x3ff) << 12) | ((lo & 0x7ff) << 1);
    let old = ((raw << 7) as i32 >> 7) as i64;
    let a = old + delta;
    if a & 1 != 0 || !(-(1 << 24)..(1 << 24)).contains(&a) {
        return Err(AddendError::Overflow);
    }
    let v = a as u32;
    let s = (v >> 24) & 1;
    let i1 = (v >> 23) & 1;
    let i2 = (v >> 22) & 1;
    let j1 = (!(i1 ^ s)) & 1;
    let j2 = (!(i2 ^ s)) & 1;
    let hi = (hi & 0xf800) | (s << 10) | ((v >> 12) & 0x3ff);
    let lo = (lo & 0xd000) | (j1 << 13) | (j2 << 11) | ((v >> 1) & 0x7ff);
    put_halves(field, hi, lo);
    Ok(())
}

fn thumb_mov(field: &mut [u8], delta: i64) -> Result<(), AddendError> {
    let (hi, lo) = halves(field);
    let imm = ((hi & 0xf) << 12) | (((hi >> 10) & 1) << 11) | (((lo >> 12) & 7) << 8) | (lo & 0xff);
    let a = i64::from(imm as u16 as i16) + delta;
    if !(-(1 << 15)..(1 << 15)).contains(&a) {
        return Err(AddendError::Overflow);
    }
    let v = a as u32 & 0xffff;
    let hi = (hi & 0xfbf0) | ((v >> 12) & 0xf) | (((v >> 11) & 1) << 10);
    let lo = (lo & 0x8f00) | (((v >> 8) & 7) << 12) | (v & 0xff);
    put_halves(field, hi, lo);
    Ok(())
}

/// Reads the implicit addend of `r_type` from `field`, for diagnostics and tests.
pub fn implicit_addend(r_type: u32, field: &[u8]) -> Option<i64> {
    if field.len() < 4 {
        return None;
    }
    let word = u32::from_le_bytes([field[0], field[1], field[2], field[3]]);
    Some(match r_type {
        2 | 3 | 9 | 24 | 25 | 26 | 38 | 41 | 55 | 56 | 104..=108 => i64::from(word as i32),
        42 => (((word & 0x7fff_ffff) << 1) as i32 >> 1) as i64,
        1 | 27 | 28 | 29 => (((word & 0x00ff_ffff) << 8) as i32 >> 6) as i64,
        43..=46 => i64::from((((word >> 4) & 0xf000) | (word & 0x0fff)) as u16 as i16),
        10 | 30 => {
            let (hi, lo) = halves(field);
            let s = (hi >> 10) & 1;
            let i1 = !(((lo >> 13) & 1) ^ s) & 1;
            let i2 = !(((lo >> 11) & 1) ^ s) & 1;
            let raw =
                (s << 24) | (i1 << 23) | (i2 << 22) | ((hi & 0x3ff) << 12) | ((lo & 0x7ff) << 1);
            ((raw << 7) as i32 >> 7) as i64
        }
        47..=50 => {
            let (hi, lo) = halves(field);
            let imm = ((hi & 0xf) << 12)
                | (((hi >> 10) & 1) << 11)
                | (((lo >> 12) & 7) << 8)
                | (lo & 0xff);
            i64::from(imm as u16 as i16)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adjusts `word` by `delta` for `r_type` and checks the decoded addend.
    fn check(r_type: u32, word: u32, delta: i64, expect_addend: i64) {
        let mut field = word.to_le_bytes();
        let before = implicit_addend(r_type, &field).expect("known type");
        assert!(add_to_implicit_addend(r_type, &mut field, delta).is_ok());
        let after = implicit_addend(r_type, &field).expect("known type");
        assert_eq!(after, before + delta);
        assert_eq!(after, expect_addend);
    }

    #[test]
    fn data_words() {
        check(2, 2, 5, 7);
        check(3, 0xffff_fffc, 0x10, 0xc);
        check(42, 0x7fff_fff0, 0x20, 0x10);
    }

    #[test]
    fn arm_branches() {
        // bl with addend -8 (the usual PC bias), 0xebfffffe.
        check(28, 0xebff_fffe, 0x40, 0x38);
        check(29, 0xeaff_fffe, -0x10, -0x18);
    }

    #[test]
    fn movw_movt() {
        // movw r0, #0 ; add 0x1234
        check(43, 0xe300_0000, 0x1234, 0x1234);
        check(44, 0xe340_0000, 0x7f00, 0x7f00);
    }

    #[test]
    fn thumb() {
        // Thumb-2 bl with addend -4: f7ff fffe as halfwords.
        let word = 0xfffe_f7ffu32;
        check(10, word, 0x100, 0xfc);
        check(47, 0x0000_f240, 0x1234, 0x1234);
    }

    #[test]
    fn overflow_and_unknown() {
        let mut field = 0xe300_0000u32.to_le_bytes();
        assert!(matches!(
            add_to_implicit_addend(43, &mut field, 0x10000),
            Err(AddendError::Overflow)
        ));
        assert!(matches!(
            add_to_implicit_addend(200, &mut field, 4),
            Err(AddendError::Unknown)
        ));
    }
}
