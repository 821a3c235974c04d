//! Merging `.note.gnu.property` the way GNU ld does.
//!
//! Each input may carry GNU program properties (x86 CET and ISA levels,
//! AArch64 BTI/PAC). GNU ld merges them into one note whatever the link
//! mode: an AND property survives only if every input has it (bits
//! AND-ed), an OR property collects the bits of the inputs that have it,
//! and an OR-AND property (x86 "used" sets) is OR-ed if every input has it
//! and dropped otherwise. The merged properties are written sorted by type
//! in a single NT_GNU_PROPERTY_TYPE_0 note; nothing left means no section.
//! Property kinds we do not know make us give up on the merge (the
//! caller then keeps the old behaviour of dropping disagreeing notes).

use std::collections::BTreeMap;

use object::elf;

const NT_GNU_PROPERTY_TYPE_0: u32 = object::elf::NT_GNU_PROPERTY_TYPE_0.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    And,
    Or,
    OrAnd,
}

fn rule(machine: u16, pr_type: u32) -> Option<Rule> {
    if machine == elf::EM_X86_64.0 {
        match pr_type {
            0xc000_0002..=0xc000_7fff => Some(Rule::And),
            0xc000_8000..=0xc000_ffff => Some(Rule::Or),
            0xc001_0000..=0xc001_7fff => Some(Rule::OrAnd),
            0xb000_8000 => Some(Rule::Or),
            _ => None,
        }
    } else if machine == elf::EM_AARCH64.0 {
        match pr_type {
            0xc000_0000 => Some(Rule::And),
            0xb000_8000 => Some(Rule::Or),
            _ => None,
        }
    } else {
        None
    }
}

/// The properties of one input: type → 32-bit value. `None` if malformed
/// or not understood.
fn parse(machine: u16, data: &[u8], is_64: bool) -> Option<BTreeMap<u32, u32>> {
    let align = if is_64 { 8 } else { 4 };
    let word = |at: usize| {
        data.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut props = BTreeMap::new();
    let mut p = 0usize;
    while p < data.len() {
        let namesz = word(p)? as usize;
        let descsz = word(p + 4)? as usize;
        let n_type = word(p + 8)?;
        let name = data.get(p + 12..p + 12 + namesz)?;
        let desc_start = p + 12 + namesz.next_multiple_of(4);
        let desc = data.get(desc_start..desc_start + descsz)?;
        if n_type == NT_GNU_PROPERTY_TYPE_0 && name == b"GNU\0" {
            let mut q = 0usize;
            while q < desc.len() {
                let t = u32::from_le_bytes(desc.get(q..q + 4)?.try_into().ok()?);
                let sz = u32::from_le_bytes(desc.get(q + 4..q + 8)?.try_into().ok()?) as usize;
                if sz != 4 || rule(machine, t).is_none() {
                    return None;
                }
                let v = u32::from_le_bytes(desc.get(q + 8..q + 12)?.try_into().ok()?);
                props.insert(t, v);
                q += (8 + sz).next_multiple_of(align);
            }
        }
        p = (desc_start + descsz).next_multiple_of(align);
    }
    Some(props)
}

/// Merges the property notes of all inputs (`None` for an input without
/// one). Returns the merged section contents (empty if nothing is left), or
/// `None` if some note is not understood.
pub(crate) fn merge(machine: u16, inputs: &[Option<&[u8]>], is_64: bool) -> Option<Vec<u8>> {
    let parsed: Vec<BTreeMap<u32, u32>> = inputs
        .iter()
        .map(|d| match d {
            Some(d) => parse(machine, d, is_64),
            None => Some(BTreeMap::new()),
        })
        .collect::<Option<_>>()?;
    let mut types: Vec<u32> = parsed.iter().flat_map(|m| m.keys().copied()).collect();
    types.sort_unstable();
    types.dedup();
    let mut merged = Vec::new();
    for t in types {
        let values: Vec<Option<u32>> = parsed.iter().map(|m| m.get(&t).copied()).collect();
        let value = match rule(machine, t)? {
            Rule::And | Rule::OrAnd if values.iter().any(Option::is_none) => continue,
            Rule::And => values.iter().flatten().fold(u32::MAX, |a, v| a & v),
            Rule::Or | Rule::OrAnd => values.iter().flatten().fold(0, |a, v| a | v),
        };
        if value == 0 && rule(machine, t) == Some(Rule::And) {
            continue;
        }
        merged.push((t, value));
    }
    if merged.is_empty() {
        return Some(Vec::new());
    }
    let align = if is_64 { 8 } else { 4 };
    let mut desc = Vec::new();
    for (t, v) in merged {
        desc.extend_from_slice(&t.to_le_bytes());
        desc.extend_from_slice(&4u32.to_le_bytes());
        desc.extend_from_slice(&v.to_le_bytes());
        desc.resize(desc.len().next_multiple_of(align), 0);
    }
    let mut out = Vec::with_capacity(16 + desc.len());
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    out.extend_from_slice(&NT_GNU_PROPERTY_TYPE_0.to_le_bytes());
    out.extend_from_slice(b"GNU\0");
    out.extend_from_slice(&desc);
    Some(out)
}
