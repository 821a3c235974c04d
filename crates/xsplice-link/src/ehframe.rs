//! Padding of `.eh_frame` records.
//!
//! Assemblers pad CIE/FDE records with DW_CFA_nop (to the section alignment
//! at the end of a section, or as written in hand-made CFI). GNU ld parses
//! `.eh_frame` even under `-r` and shrinks every record to its last real
//! call-frame instruction rounded up to 4 bytes, then pads the last record
//! of an input again only as far as the next input's alignment requires. To
//! give the same bytes we walk each record's instructions, rewrite length
//! fields and FDE-to-CIE pointers, and map relocation offsets. Anything we
//! do not understand leaves the section untouched.

/// An input `.eh_frame` with its records shortened, and where each old
/// record went.
pub(crate) struct Trimmed {
    pub data: Vec<u8>,
    /// (old start, new start, dropped) of each record, in order.
    records: Vec<(usize, usize, bool)>,
}

impl Trimmed {
    /// The new offset of old offset `at` (inside a record's kept bytes), or
    /// `None` when its record was dropped.
    pub fn map(&self, at: u64) -> Option<u64> {
        let at = at as usize;
        let i = self.records.partition_point(|&(old, _, _)| old <= at);
        match i.checked_sub(1) {
            Some(i) if self.records[i].2 => None,
            Some(i) => Some((self.records[i].1 + (at - self.records[i].0)) as u64),
            None => Some(at as u64),
        }
    }
}

/// Shortens every record to its last real instruction, rounded up to 4
/// bytes, and leaves out the FDEs `drop_fde` names (by record start: those
/// describing code of a discarded COMDAT copy), rewriting length fields and
/// FDE-to-CIE pointers. Returns `None` when nothing changes or the section
/// is not understood.
pub(crate) fn trim(data: &[u8], is_64: bool, drop_fde: &dyn Fn(usize) -> bool) -> Option<Trimmed> {
    let mut records = Vec::new();
    let mut p = 0usize;
    while p < data.len() {
        let len = u32_at(data, p)? as usize;
        if len == 0 || len == 0xffff_ffff {
            return None;
        }
        let end = p.checked_add(4 + len)?;
        if end > data.len() {
            return None;
        }
        records.push((p, end));
        p = end;
    }
    let mut new_lens = Vec::with_capacity(records.len());
    let mut dropped = Vec::with_capacity(records.len());
    let mut changed = false;
    for &(start, end) in &records {
        let id = u32_at(data, start + 4)?;
        let drop = id != 0 && drop_fde(start);
        changed |= drop;
        dropped.push(drop);
        let (cie_start, is_cie) = if id == 0 {
            (start, true)
        } else {
            ((start + 4).checked_sub(id as usize)?, false)
        };
        let cie = parse_cie(data, cie_start, is_64)?;
        let address_size = pointer_size(cie.fde_encoding, is_64)?;
        let insns = if is_cie {
            cie.insns
        } else {
            let mut q = start + 8 + 2 * address_size;
            if cie.has_z {
                let (aug_len, n) = uleb(data, q)?;
                q += n + aug_len as usize;
            }
            q
        };
        if insns > end {
            return None;
        }
        let last = last_instruction_end(data, insns, end, address_size)?;
        let new_len = (last - start).next_multiple_of(4).min(end - start);
        changed |= new_len != end - start;
        new_lens.push(new_len);
    }
    if !changed {
        return None;
    }
    let mut out = Vec::with_capacity(data.len());
    let mut map = Vec::with_capacity(records.len());
    for (i, (&(start, _), &new_len)) in records.iter().zip(&new_lens).enumerate() {
        map.push((start, out.len(), dropped[i]));
        if !dropped[i] {
            out.extend_from_slice(&data[start..start + new_len]);
        }
    }
    let trimmed = Trimmed {
        data: out,
        records: map,
    };
    let mut data_out = trimmed.data.clone();
    for (i, &(start, _)) in records.iter().enumerate() {
        if dropped[i] {
            continue;
        }
        let new_start = trimmed.records[i].1;
        let new_len = new_lens[i];
        data_out[new_start..new_start + 4].copy_from_slice(&((new_len - 4) as u32).to_le_bytes());
        let id = u32_at(data, start + 4)?;
        if id != 0 {
            let cie_new = trimmed.map((start + 4 - id as usize) as u64)? as usize;
            let ptr = (new_start + 4 - cie_new) as u32;
            data_out[new_start + 4..new_start + 8].copy_from_slice(&ptr.to_le_bytes());
        }
    }
    Some(Trimmed {
        data: data_out,
        records: trimmed.records,
    })
}

/// Grows the last record of trimmed contents by `extra` DW_CFA_nop bytes.
pub(crate) fn extend_last_record(data: &mut Vec<u8>, extra: usize) {
    let mut p = 0usize;
    let mut last = None;
    while let Some(len) = u32_at(data, p) {
        last = Some(p);
        p += 4 + len as usize;
    }
    if let Some(start) = last {
        let len = u32_at(data, start).unwrap_or(0) as usize + extra;
        data[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
        data.resize(data.len() + extra, 0);
    }
}

struct Cie {
    insns: usize,
    fde_encoding: u8,
    has_z: bool,
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn uleb(data: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let start = at;
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let b = *data.get(at)?;
        at += 1;
        if shift < 64 {
            value |= u64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            return Some((value, at - start));
        }
    }
}

fn pointer_size(encoding: u8, is_64: bool) -> Option<usize> {
    match encoding & 0x0f {
        0x00 => Some(if is_64 { 8 } else { 4 }),
        0x02 | 0x0a => Some(2),
        0x03 | 0x0b => Some(4),
        0x04 | 0x0c => Some(8),
        _ => None,
    }
}

fn parse_cie(data: &[u8], start: usize, is_64: bool) -> Option<Cie> {
    if u32_at(data, start + 4)? != 0 {
        return None;
    }
    let version = *data.get(start + 8)?;
    let mut q = start + 9;
    let aug_end = q + data.get(q..)?.iter().position(|&b| b == 0)?;
    let aug = &data[q..aug_end];
    q = aug_end + 1;
    if aug.starts_with(b"eh") {
        return None;
    }
    q += uleb(data, q)?.1; // code alignment
    q += uleb(data, q)?.1; // data alignment (sleb has the same length rules)
    if version == 1 {
        q += 1;
    } else {
        q += uleb(data, q)?.1;
    }
    let mut fde_encoding = 0;
    let has_z = aug.first() == Some(&b'z');
    if has_z {
        let (aug_len, n) = uleb(data, q)?;
        let mut r = q + n;
        let aug_data_end = r + aug_len as usize;
        for &c in &aug[1..] {
            match c {
                b'R' => {
                    fde_encoding = *data.get(r)?;
                    r += 1;
                }
                b'L' => r += 1,
                b'P' => {
                    let enc = *data.get(r)?;
                    r += 1 + pointer_size(enc, is_64)?;
                }
                b'S' | b'B' => {}
                _ => return None,
            }
        }
        q = aug_data_end;
    } else if !aug.is_empty() {
        return None;
    }
    Some(Cie {
        insns: q,
        fde_encoding,
        has_z,
    })
}

/// The offset just after the last instruction that is not DW_CFA_nop.
fn last_instruction_end(
    data: &[u8],
    mut at: usize,
    end: usize,
    address_size: usize,
) -> Option<usize> {
    let mut last = at;
    while at < end {
        let op = data[at];
        at += 1;
        let skip_uleb = |at: &mut usize| -> Option<()> {
            *at += uleb(data, *at)?.1;
            Some(())
        };
        match op >> 6 {
            1 | 3 => {}
            2 => skip_uleb(&mut at)?,
            _ => match op {
                0x00 => continue,
                0x01 => at += address_size,
                0x02 => at += 1,
                0x03 => at += 2,
                0x04 => at += 4,
                0x05 | 0x09 | 0x0c | 0x11 | 0x12 | 0x14 | 0x15 | 0x2f => {
                    skip_uleb(&mut at)?;
                    skip_uleb(&mut at)?;
                }
                0x06 | 0x07 | 0x08 | 0x0d | 0x0e | 0x13 | 0x2e => skip_uleb(&mut at)?,
                0x0a | 0x0b | 0x2d => {}
                0x0f => {
                    let (len, n) = uleb(data, at)?;
                    at += n + len as usize;
                }
                0x10 | 0x16 => {
                    skip_uleb(&mut at)?;
                    let (len, n) = uleb(data, at)?;
                    at += n + len as usize;
                }
                _ => return None,
            },
        }
        if at > end {
            return None;
        }
        last = at;
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CIE (zR, pcrel sdata4) and one FDE padded with four DW_CFA_nop.
    fn sample(fde_tail: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&0x14u32.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&[
            1, b'z', b'R', 0, 1, 0x78, 0x10, 1, 0x1b, 0x0c, 7, 8, 0x90, 1, 0, 0,
        ]);
        let len = 12 + 1 + fde_tail.len();
        d.extend_from_slice(&(len as u32).to_le_bytes());
        d.extend_from_slice(&((d.len() as u32) - 4 + 4).to_le_bytes());
        d.extend_from_slice(&[0; 8]);
        d.push(0);
        d.extend_from_slice(fde_tail);
        d
    }

    #[test]
    fn trims_nop_padding_to_four_bytes() {
        let data = sample(&[0x0e, 0x10, 0x4a, 0, 0, 0, 0]);
        let cie_ptr = u32_at(&data, 0x1c).expect("ptr");
        assert_eq!(cie_ptr, 0x1c);
        let out = trim(&data, true, &|_| false).expect("trimmed").data;
        assert_eq!(out.len(), data.len() - 4);
        assert_eq!(u32_at(&out, 0x18), Some(0x10));
        assert_eq!(u32_at(&out, 0x1c), Some(0x1c));
    }

    #[test]
    fn drops_fdes() {
        let data = sample(&[0x0e, 0x10, 0x4a, 0]);
        // The dropped FDE is the last record: nothing may be written for it.
        let t = trim(&data, true, &|start| start == 0x18).expect("dropped");
        assert_eq!(t.data.len(), 0x18);
        assert_eq!(t.map(0x20), None);
        assert_eq!(t.map(0x4), Some(0x4));
    }

    #[test]
    fn keeps_zero_operands() {
        // def_cfa_offset 0 ends with a zero byte that is an operand, not a
        // nop: stripping zero bytes blindly would cut it off.
        let data = sample(&[0x4a, 0x4a, 0x0e, 0x00, 0, 0, 0]);
        assert!(trim(&data, true, &|_| false).is_none());
    }
}
