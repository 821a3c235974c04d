//! Structure-aware mutations of ELF files, in place.
//!
//! Random bytes rarely get past an ELF reader's header checks, so most of
//! a byte-level fuzzer's time goes to inputs refused on their first bytes.
//! These mutations find the structures a reader walks (the file header,
//! section headers, symbol entries, relocation entries, note headers,
//! `.funcs` entries, string tables) and change one field to a value that
//! sits on a boundary a check tests: zero, one, the file's length, another
//! section's offset or index, the reserved section indexes, all ones.
//! Every edit keeps the file's length, so it works inside an archive
//! member as well as on a whole file.

use xsplice_abi::{Abi, Layout, WordSize};

use crate::Rng;

/// The parts of an ELF file the mutations need, found without trusting it.
struct View {
    is64: bool,
    big: bool,
    shoff: usize,
    shentsize: usize,
    shnum: usize,
}

/// One section header, decoded as far as the mutations need it.
struct Sh {
    /// File offset of the header itself.
    at: usize,
    name: u32,
    sh_type: u32,
    offset: usize,
    size: usize,
}

const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_RELA: u32 = 4;
const SHT_NOTE: u32 = 7;
const SHT_NOBITS: u32 = 8;
const SHT_REL: u32 = 9;
const SHT_DYNSYM: u32 = 11;
const SHT_GROUP: u32 = 17;
const SHT_SYMTAB_SHNDX: u32 = 18;

fn get(data: &[u8], at: usize, len: usize, big: bool) -> Option<u64> {
    let b = data.get(at..at.checked_add(len)?)?;
    let mut v = 0u64;
    if big {
        for &x in b {
            v = v << 8 | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = v << 8 | u64::from(x);
        }
    }
    Some(v)
}

fn put(data: &mut [u8], at: usize, len: usize, big: bool, v: u64) {
    let Some(end) = at.checked_add(len) else {
        return;
    };
    let Some(b) = data.get_mut(at..end) else {
        return;
    };
    for (i, x) in b.iter_mut().enumerate() {
        let shift = if big { 8 * (len - 1 - i) } else { 8 * i };
        *x = if shift < 64 { (v >> shift) as u8 } else { 0 };
    }
}

impl View {
    fn new(data: &[u8]) -> Option<View> {
        if data.len() < 52 || &data[..4] != b"\x7fELF" {
            return None;
        }
        let is64 = data[4] == 2;
        let big = data[5] == 2;
        let g = |at32, at64, len32, len64| {
            if is64 {
                get(data, at64, len64, big)
            } else {
                get(data, at32, len32, big)
            }
        };
        Some(View {
            is64,
            big,
            shoff: g(32, 40, 4, 8)? as usize,
            shentsize: g(46, 58, 2, 2)? as usize,
            shnum: g(48, 60, 2, 2)? as usize,
        })
    }

    fn word(&self) -> usize {
        if self.is64 { 8 } else { 4 }
    }

    /// Every section header that lies inside the file.
    fn sections(&self, data: &[u8]) -> Vec<Sh> {
        let mut out = Vec::new();
        if self.shentsize < if self.is64 { 64 } else { 40 } {
            return out;
        }
        for i in 0..self.shnum.min(256) {
            let Some(at) = self
                .shentsize
                .checked_mul(i)
                .and_then(|o| o.checked_add(self.shoff))
            else {
                break;
            };
            if at.saturating_add(self.shentsize) > data.len() {
                break;
            }
            let b = self.big;
            let w = self.word();
            let (off_at, size_at) = if self.is64 { (24, 32) } else { (16, 20) };
            out.push(Sh {
                at,
                name: get(data, at, 4, b).unwrap_or(0) as u32,
                sh_type: get(data, at + 4, 4, b).unwrap_or(0) as u32,
                offset: get(data, at + off_at, w, b).unwrap_or(0) as usize,
                size: get(data, at + size_at, w, b).unwrap_or(0) as usize,
            });
        }
        out
    }
}

/// The section's bytes as a range of the file, if they lie inside it.
fn body(data: &[u8], s: &Sh) -> Option<std::ops::Range<usize>> {
    let end = s.offset.checked_add(s.size)?;
    (end <= data.len() && s.size > 0).then_some(s.offset..end)
}

fn section_name<'a>(data: &'a [u8], shstr: Option<&Sh>, s: &Sh) -> &'a [u8] {
    let Some(r) = shstr.and_then(|t| body(data, t)) else {
        return b"";
    };
    let t = &data[r];
    let start = s.name as usize;
    if start >= t.len() {
        return b"";
    }
    let rest = &t[start..];
    &rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())]
}

/// A value on a boundary for a field of `len` bytes in a file of `flen`
/// bytes with `nsec` sections, or near the field's current value `cur`.
fn interesting(
    rng: &mut Rng,
    len: usize,
    cur: u64,
    flen: usize,
    nsec: usize,
    others: &[u64],
) -> u64 {
    let max = if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    };
    let v = match rng.below(14) {
        0 => 0,
        1 => 1,
        2 => max,
        3 => max >> 1,
        4 => (max >> 1) + 1,
        5 => flen as u64,
        6 => cur.wrapping_add(1),
        7 => cur.wrapping_sub(1),
        8 => nsec as u64,
        9 => rng.below(nsec.max(1) + 2) as u64,
        10 => [0xff00, 0xfff1, 0xfff2, 0xffff, 0xff1f][rng.below(5)],
        11 if !others.is_empty() => others[rng.below(others.len())],
        12 => cur ^ (1 << rng.below(8 * len.min(8))),
        13 => 1u64 << rng.below(8 * len.min(8)),
        _ => rng.next_u32() as u64,
    };
    v & max
}

/// Names the readers look for, written over a string to steer into them.
const NAMES: &[&[u8]] = &[
    b".livepatch.funcs",
    b".xsplice.funcs",
    b".livepatch.depends",
    b".livepatch.xen_depends",
    b".note.gnu.build-id",
    b".modinfo",
    b".livepatch.hooks.load",
    b".livepatch.hooks.preapply",
    b".rela.livepatch.funcs",
    b".text",
    b".data",
    b".bss",
    b".symtab",
    b".strtab",
    b".eh_frame",
    b".group",
    b".note.GNU-stack",
    b".altinstructions",
    b".ex_table",
    b".bug_frames.0",
    b"xen_extra_version",
    b"version.c#emit",
    b"$x",
    b"$d",
    b"GNU",
    b"Xen",
];

/// How many bytes a relocatable link or a payload's memory block may need
/// for this ELF file beyond its own: the largest `sh_addralign` (sections
/// are padded to their alignment, as GNU ld and Xen's loader do) plus the
/// sizes of its SHT_NOBITS sections (zero-filled in the output file when a
/// same-named input section has contents, and in the block). 0 for
/// anything else. A file of a few hundred bytes can ask for gigabytes.
pub fn output_growth(data: &[u8]) -> u64 {
    let Some(v) = View::new(data) else {
        return 0;
    };
    let (at, len) = if v.is64 { (48, 8) } else { (32, 4) };
    let secs = v.sections(data);
    let align = secs
        .iter()
        .filter_map(|s| get(data, s.at + at, len, v.big))
        .max()
        .unwrap_or(0);
    secs.iter()
        .filter(|s| s.sh_type == SHT_NOBITS)
        .fold(align, |sum, s| sum.saturating_add(s.size as u64))
}

/// Applies one structure-aware mutation to the ELF file in `data`; false
/// when `data` is not an ELF file this module can walk.
pub fn mutate(data: &mut [u8], rng: &mut Rng) -> bool {
    let Some(v) = View::new(data) else {
        return false;
    };
    let secs = v.sections(data);
    let flen = data.len();
    let nsec = secs.len();
    let b = v.big;
    let w = v.word();
    let offsets: Vec<u64> = secs.iter().map(|s| s.offset as u64).collect();
    match rng.below(10) {
        // The file header: a field the readers check first.
        0 => {
            let fields: &[(usize, usize)] = if v.is64 {
                &[
                    (4, 1),
                    (5, 1),
                    (6, 1),
                    (7, 1),
                    (16, 2),
                    (18, 2),
                    (20, 4),
                    (40, 8),
                    (48, 4),
                    (52, 2),
                    (58, 2),
                    (60, 2),
                    (62, 2),
                ]
            } else {
                &[
                    (4, 1),
                    (5, 1),
                    (6, 1),
                    (7, 1),
                    (16, 2),
                    (18, 2),
                    (20, 4),
                    (32, 4),
                    (36, 4),
                    (40, 2),
                    (46, 2),
                    (48, 2),
                    (50, 2),
                ]
            };
            let (at, len) = fields[rng.below(fields.len())];
            let cur = get(data, at, len, b).unwrap_or(0);
            let val = interesting(rng, len, cur, flen, nsec, &offsets);
            put(data, at, len, b, val);
        }
        // A section header field.
        1 | 2 => {
            if secs.is_empty() {
                return false;
            }
            let s = &secs[rng.below(nsec)];
            let fields: &[(usize, usize)] = if v.is64 {
                &[
                    (0, 4),
                    (4, 4),
                    (8, 8),
                    (16, 8),
                    (24, 8),
                    (32, 8),
                    (40, 4),
                    (44, 4),
                    (48, 8),
                    (56, 8),
                ]
            } else {
                &[
                    (0, 4),
                    (4, 4),
                    (8, 4),
                    (12, 4),
                    (16, 4),
                    (20, 4),
                    (24, 4),
                    (28, 4),
                    (32, 4),
                    (36, 4),
                ]
            };
            let (at, len) = fields[rng.below(fields.len())];
            let cur = get(data, s.at + at, len, b).unwrap_or(0);
            let val = if at == 4 && rng.below(2) == 0 {
                // A type the readers treat specially.
                [
                    SHT_SYMTAB,
                    SHT_STRTAB,
                    SHT_RELA,
                    SHT_NOTE,
                    SHT_REL,
                    SHT_DYNSYM,
                    SHT_GROUP,
                    SHT_SYMTAB_SHNDX,
                    8,
                    1,
                    0,
                ][rng.below(11)] as u64
            } else {
                interesting(rng, len, cur, flen, nsec, &offsets)
            };
            put(data, s.at + at, len, b, val);
        }
        // A symbol entry field.
        3 | 4 => {
            let tabs: Vec<&Sh> = secs
                .iter()
                .filter(|s| s.sh_type == SHT_SYMTAB || s.sh_type == SHT_DYNSYM)
                .collect();
            let Some(t) = pick(rng, &tabs) else {
                return false;
            };
            let Some(r) = body(data, t) else {
                return false;
            };
            let ent = if v.is64 { 24 } else { 16 };
            let n = r.len() / ent;
            if n == 0 {
                return false;
            }
            let at = r.start + ent * rng.below(n);
            // (offset, length) of name, value, size, info, other, shndx.
            let fields: [(usize, usize); 6] = if v.is64 {
                [(0, 4), (8, 8), (16, 8), (4, 1), (5, 1), (6, 2)]
            } else {
                [(0, 4), (4, 4), (8, 4), (12, 1), (13, 1), (14, 2)]
            };
            let k = rng.below(6);
            let (off, len) = fields[k];
            let cur = get(data, at + off, len, b).unwrap_or(0);
            let val = match k {
                // st_info: binding and type that nm and the loader treat apart.
                3 => {
                    ((rng.below(4) as u64) << 4 | [0, 1, 2, 3, 4, 5, 6, 10, 13][rng.below(9)])
                        & 0xff
                }
                5 if rng.below(2) == 0 => [
                    0,
                    0xfff1,
                    0xfff2,
                    0xffff,
                    0xff00,
                    rng.below(nsec + 2) as u64,
                ][rng.below(6)],
                _ => interesting(rng, len, cur, flen, nsec, &offsets),
            };
            put(data, at + off, len, b, val);
        }
        // A relocation entry field.
        5 => {
            let tabs: Vec<&Sh> = secs
                .iter()
                .filter(|s| s.sh_type == SHT_RELA || s.sh_type == SHT_REL)
                .collect();
            let Some(t) = pick(rng, &tabs) else {
                return false;
            };
            let Some(r) = body(data, t) else {
                return false;
            };
            let rela = t.sh_type == SHT_RELA;
            let ent = match (v.is64, rela) {
                (true, true) => 24,
                (true, false) => 16,
                (false, true) => 12,
                (false, false) => 8,
            };
            let n = r.len() / ent;
            if n == 0 {
                return false;
            }
            let at = r.start + ent * rng.below(n);
            match rng.below(if rela { 4 } else { 3 }) {
                0 => {
                    let cur = get(data, at, w, b).unwrap_or(0);
                    let val = interesting(rng, w, cur, flen, nsec, &[]);
                    put(data, at, w, b, val);
                }
                // r_info's symbol index (the high part).
                1 => {
                    let cur = get(data, at + w, w, b).unwrap_or(0);
                    let sym = interesting(rng, 2, 0, 0, nsec, &[]);
                    let val = if v.is64 {
                        (cur & 0xffff_ffff) | sym << 32
                    } else {
                        (cur & 0xff) | sym << 8
                    };
                    put(data, at + w, w, b, val);
                }
                // r_info's type (the low part).
                2 => {
                    let cur = get(data, at + w, w, b).unwrap_or(0);
                    let ty = rng.below(if v.is64 { 320 } else { 256 }) as u64;
                    let val = if v.is64 {
                        (cur & !0xffff_ffff) | ty
                    } else {
                        (cur & !0xff) | ty
                    };
                    put(data, at + w, w, b, val);
                }
                _ => {
                    let cur = get(data, at + 2 * w, w, b).unwrap_or(0);
                    let val = interesting(rng, w, cur, flen, nsec, &[]);
                    put(data, at + 2 * w, w, b, val);
                }
            }
        }
        // A note header: namesz, descsz or type.
        6 => {
            let notes: Vec<&Sh> = secs.iter().filter(|s| s.sh_type == SHT_NOTE).collect();
            let Some(t) = pick(rng, &notes) else {
                return false;
            };
            let Some(r) = body(data, t) else {
                return false;
            };
            // Walk the notes to pick a header, not just the first.
            let mut heads = Vec::new();
            let mut at = r.start;
            while at + 12 <= r.end && heads.len() < 16 {
                heads.push(at);
                let namesz = get(data, at, 4, b).unwrap_or(0) as usize;
                let descsz = get(data, at + 4, 4, b).unwrap_or(0) as usize;
                let step = 12usize
                    .saturating_add(namesz.saturating_add(3) & !3)
                    .saturating_add(descsz.saturating_add(3) & !3);
                at = at.saturating_add(step);
            }
            if heads.is_empty() {
                return false;
            }
            let at = heads[rng.below(heads.len())] + 4 * rng.below(3);
            let cur = get(data, at, 4, b).unwrap_or(0);
            let val = [
                0,
                1,
                3,
                4,
                16,
                20,
                21,
                0xffff_ffff,
                cur + 1,
                cur.wrapping_sub(1),
            ][rng.below(10)];
            put(data, at, 4, b, val & 0xffff_ffff);
        }
        // A `.funcs` entry field, by the ABI layouts.
        7 => {
            let shstr = data_shstr(data, &v, &secs);
            let funcs: Vec<&Sh> = secs
                .iter()
                .filter(|s| {
                    let n = section_name(data, shstr, s);
                    n.ends_with(b".funcs") && !n.starts_with(b".rel")
                })
                .collect();
            let Some(t) = pick(rng, &funcs) else {
                return false;
            };
            let Some(r) = body(data, t) else {
                return false;
            };
            let word = if v.is64 { WordSize::W64 } else { WordSize::W32 };
            let abi = [Abi::LivepatchV2, Abi::LivepatchV1, Abi::XspliceV4][rng.below(3)];
            let layout = Layout::of(abi, word);
            let n = r.len() / layout.size;
            if n == 0 {
                return false;
            }
            let entry = r.start + layout.size * rng.below(n);
            let f = &layout.fields[rng.below(layout.fields.len())];
            let len = f.size.min(8);
            let cur = get(data, entry + f.offset, len, false).unwrap_or(0);
            let val = interesting(rng, len, cur, flen, nsec, &[]);
            // Payload fields are little-endian by the ABI.
            put(data, entry + f.offset, len, false, val);
        }
        // A string in a string table: a name the readers look for, a cut,
        // or a static's `file#name` separator.
        8 => {
            let tabs: Vec<&Sh> = secs.iter().filter(|s| s.sh_type == SHT_STRTAB).collect();
            let Some(t) = pick(rng, &tabs) else {
                return false;
            };
            let Some(r) = body(data, t) else {
                return false;
            };
            let at = r.start + rng.below(r.len());
            match rng.below(3) {
                0 => {
                    let name = NAMES[rng.below(NAMES.len())];
                    let room = (r.end - at).min(name.len() + 1);
                    data[at..at + room.min(name.len())]
                        .copy_from_slice(&name[..room.min(name.len())]);
                    if room > name.len() {
                        data[at + name.len()] = 0;
                    }
                }
                1 => data[at] = 0,
                _ => data[at] = [b'#', b'.', b'$', 0xff, b'_'][rng.below(5)],
            }
        }
        // One section's header copied over another's, or its contents
        // over another section's (a symbol table where relocations were).
        _ => {
            if nsec < 2 {
                return false;
            }
            let a = &secs[rng.below(nsec)];
            let c = &secs[rng.below(nsec)];
            if rng.below(2) == 0 {
                let hdr = data[a.at..a.at + v.shentsize].to_vec();
                data[c.at..c.at + v.shentsize].copy_from_slice(&hdr);
            } else if let (Some(ra), Some(rc)) = (body(data, a), body(data, c)) {
                let n = ra.len().min(rc.len());
                data.copy_within(ra.start..ra.start + n, rc.start);
            } else {
                return false;
            }
        }
    }
    true
}

fn data_shstr<'s>(data: &[u8], v: &View, secs: &'s [Sh]) -> Option<&'s Sh> {
    let idx = if v.is64 {
        get(data, 62, 2, v.big)
    } else {
        get(data, 50, 2, v.big)
    }? as usize;
    secs.get(idx)
}

fn pick<'a, T>(rng: &mut Rng, items: &[&'a T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| items[rng.below(items.len())])
}
