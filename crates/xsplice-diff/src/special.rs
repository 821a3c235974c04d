//! Xen's tables of fixed-size elements that point into code (§11): bug
//! frames, the exception table, alternatives and alternative call sites.
//!
//! They are never compared (a moved `WARN()` changes only a line number
//! folded into a bug frame's addend, which is no change to the code); the
//! elements that point into an included function are kept, rebased, and the
//! rest dropped. Element sizes are the target release's, from xsplice-abi;
//! a release whose layout is unknown, or an ABI whose releases disagree when
//! no release was named, is refused rather than guessed.
//!
//! The code the kept elements point at outside the function (`.fixup`
//! stubs for `.ex_table`, `.altinstr_replacement` code for
//! `.altinstructions`) is cut as `create-diff-object` cuts it: the
//! companion section is split at every place any element of its table
//! points at, and only the pieces a kept element points at are written,
//! with their relocations renumbered. The references into it are moved with
//! [`Cut::map`].

use std::collections::BTreeSet;

use xsplice_abi::{Abi, Arch, XenVersion};

use crate::Options;
use crate::diff::{Item, State};
use crate::elf::Reloc;

/// A table section rebuilt from its kept elements, or a companion section
/// rebuilt from its kept pieces.
#[derive(Clone, Debug)]
pub(crate) struct Rebuilt {
    pub data: Vec<u8>,
    pub relocs: Vec<Reloc>,
}

/// The kept pieces of a companion section: `(start, end, new start)` in
/// the original's offsets, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cut {
    pub pieces: Vec<(u64, u64, u64)>,
}

impl Cut {
    /// Where offset `at` of the original section is in the cut one: inside
    /// a kept piece, or at its end (a reference to one past its last byte).
    pub fn map(&self, at: u64) -> Option<u64> {
        self.pieces
            .iter()
            .find(|&&(s, e, _)| at >= s && at < e)
            .or_else(|| self.pieces.iter().find(|&&(_, e, _)| at == e))
            .map(|&(s, _, n)| n + (at - s))
    }
}

/// The tables filtered element by element.
pub(crate) fn is_table(name: &[u8]) -> bool {
    name.starts_with(b".bug_frames.")
        || name == b".ex_table"
        || name == b".altinstructions"
        || name == b".alt_call_sites"
}

/// Code only the tables point at.
pub(crate) fn is_companion(name: &[u8]) -> bool {
    name == b".fixup" || name == b".altinstr_replacement"
}

/// The table whose elements point into companion `name`.
fn table_of(companion: &[u8]) -> &'static [u8] {
    if companion == b".fixup" {
        b".ex_table"
    } else {
        b".altinstructions"
    }
}

/// Element size of table `name` on `arch` in Xen `xen`, from xsplice-abi's
/// per-release layouts; `None` when that release does not read the table.
fn size_in(arch: Arch, xen: &XenVersion, name: &str) -> Option<usize> {
    let size = arch
        .arch_sections(Some(xen))
        .into_iter()
        .find(|s| s.name == name)?
        .entry_size?;
    // x86 assertion frames (`.bug_frames.3`) carry the message too: two
    // frames each.
    Some(if arch == Arch::X86_64 && name == ".bug_frames.3" {
        2 * size
    } else {
        size
    })
}

/// Element size of table `name` for the payload `options` describe, or why
/// there is none to use.
fn element_size(arch: Arch, options: &Options, name: &str) -> Result<usize, String> {
    if let Some(xen) = &options.xen {
        if *xen < arch.first_xen() {
            return Err(format!(
                "Xen {xen} has no live patching on {arch} (it starts with {})",
                arch.first_xen()
            ));
        }
        return size_in(arch, xen, name)
            .ok_or_else(|| format!("Xen {xen} on {arch} does not read `{name}`"));
    }
    // No release named: every release the ABI covers must agree.
    let (first, last) = match options.abi.xen_releases() {
        Some(r) => (r.first, r.last),
        None => (XenVersion::series(4, 7), XenVersion::series(4, 7)),
    };
    let first = first.max(arch.first_xen());
    let (a, b) = (size_in(arch, &first, name), size_in(arch, &last, name));
    match (a, b) {
        (Some(a), Some(b)) if a == b => Ok(a),
        (Some(a), Some(b)) => Err(format!(
            "its element size is {a} bytes in Xen {first} and {b} in Xen {last}, releases ABI {} \
             covers; name the target release",
            abi_name(options.abi)
        )),
        (None, None) => Err(format!(
            "no Xen release of ABI {} on {arch} reads it",
            abi_name(options.abi)
        )),
        _ => Err(format!(
            "only some of the Xen releases ABI {} covers read it; name the target release",
            abi_name(options.abi)
        )),
    }
}

fn abi_name(abi: Abi) -> &'static str {
    abi.name()
}

/// Keeps, in every table, the elements that point into included code, cuts
/// the companions to the pieces those elements point at, and includes what
/// the kept elements and pieces reference.
pub(crate) fn filter(st: &mut State<'_>, options: &Options) {
    let arch = st.arch();
    let mut work = Vec::new();
    // Table section → the relocations of its kept elements, as they were
    // in the patched object (offsets before rebasing).
    let mut kept_targets: Vec<(usize, Vec<Reloc>)> = Vec::new();
    for ti in 1..st.patched.sections.len() {
        let sec = &st.patched.sections[ti];
        if !is_table(sec.name) || sec.base.is_some() {
            continue;
        }
        let name = sec.name();
        let relocs: &[Reloc] = match sec.rela {
            Some(r) => &st.patched.sections[r].relocs,
            None => &[],
        };
        let points_into_kept_code = |r: &Reloc| {
            let t = st.patched.symbols[r.sym];
            t.section.is_some_and(|s| {
                let target = &st.patched.sections[s];
                target.is_exec()
                    && !is_companion(target.name)
                    && st.sec_include[s]
                    && (t.is_section() || st.sym_include[r.sym] || target.bundled == Some(r.sym))
            })
        };
        if !relocs.iter().any(points_into_kept_code) {
            continue;
        }
        let size = match element_size(arch, options, &name) {
            Ok(size) => size,
            Err(why) => {
                st.refusals.push(crate::report::Refusal {
                    object: st.patched.path.clone(),
                    what: name,
                    reason: format!(
                        "the patched code has elements in this table, and they cannot be kept: {why}"
                    ),
                    advice: Some(
                        "pass the Xen release the payload is for (`--xen`), one whose layout xsplice-abi knows"
                            .into(),
                    ),
                });
                continue;
            }
        };
        // Leaving the patched code's elements out would lose its bug
        // frames or alternatives: the layout is not the release's.
        if size == 0 || sec.data.len() % size != 0 {
            st.refusals.push(crate::report::Refusal {
                object: st.patched.path.clone(),
                what: name.clone(),
                reason: format!(
                    "the patched code has elements in this table, and its {} bytes are not a whole number of the target release's {size}-byte elements",
                    sec.data.len()
                ),
                advice: Some(
                    "build the object for the release the payload is for, or name that release (`--xen`)"
                        .into(),
                ),
            });
            continue;
        }
        let mut data = Vec::new();
        let mut kept = Vec::new();
        let mut original = Vec::new();
        for (k, element) in sec.data.chunks_exact(size).enumerate() {
            let start = (k * size) as u64;
            let end = start + size as u64;
            let mine: Vec<Reloc> = relocs
                .iter()
                .filter(|r| r.offset >= start && r.offset < end)
                .copied()
                .collect();
            if !mine.iter().any(points_into_kept_code) {
                continue;
            }
            let at = data.len() as u64;
            data.extend_from_slice(element);
            for r in mine {
                kept.push(Reloc {
                    offset: r.offset - start + at,
                    ..r
                });
                original.push(r);
                let into_companion = st.patched.symbols[r.sym]
                    .section
                    .is_some_and(|s| is_companion(st.patched.sections[s].name));
                if !into_companion {
                    work.push(Item::Sym(r.sym));
                }
            }
        }
        if data.is_empty() {
            continue;
        }
        st.sec_include[ti] = true;
        if let Some(s) = st.patched.sections[ti].secsym {
            work.push(Item::Sym(s));
        }
        if let Some(r) = st.patched.sections[ti].rela {
            st.sec_include[r] = true;
        }
        st.rebuilt.insert(ti, Rebuilt { data, relocs: kept });
        kept_targets.push((ti, original));
    }
    for ci in 1..st.patched.sections.len() {
        let sec = &st.patched.sections[ci];
        // Already included: changed code references it itself, so it is
        // written whole.
        if !is_companion(sec.name) || sec.base.is_some() || st.sec_include[ci] {
            continue;
        }
        let table = table_of(sec.name);
        // Every place any element of the table points at in the companion
        // starts a piece; the places of kept elements are the pieces kept.
        let mut bounds = BTreeSet::new();
        let mut wanted = BTreeSet::new();
        for ti in 1..st.patched.sections.len() {
            let t = &st.patched.sections[ti];
            if t.name != table || t.base.is_some() {
                continue;
            }
            let Some(r) = t.rela else { continue };
            for rel in &st.patched.sections[r].relocs {
                if let Some(at) = offset_in(st, ci, rel) {
                    bounds.insert(at);
                }
            }
            if let Some((_, kept)) = kept_targets.iter().find(|(k, _)| *k == ti) {
                for rel in kept {
                    if let Some(at) = offset_in(st, ci, rel) {
                        wanted.insert(at);
                    }
                }
            }
        }
        if wanted.is_empty() {
            continue;
        }
        let end = sec.data.len() as u64;
        bounds.insert(end);
        let mut cut = Cut::default();
        let mut data = Vec::new();
        for &start in &wanted {
            // An empty replacement points at the end of the section (or
            // at the next piece): a piece of no bytes, still a place.
            let stop = bounds.range(start + 1..).next().copied().unwrap_or(start);
            let (Ok(s), Ok(e)) = (usize::try_from(start), usize::try_from(stop)) else {
                continue;
            };
            let Some(piece) = sec.data.get(s..e) else {
                continue;
            };
            cut.pieces.push((start, stop, data.len() as u64));
            data.extend_from_slice(piece);
        }
        let mut relocs = Vec::new();
        if let Some(r) = sec.rela {
            for rel in &st.patched.sections[r].relocs {
                if let Some(&(s, _, n)) = cut
                    .pieces
                    .iter()
                    .find(|&&(s, e, _)| rel.offset >= s && rel.offset < e)
                {
                    relocs.push(Reloc {
                        offset: rel.offset - s + n,
                        ..*rel
                    });
                    work.push(Item::Sym(rel.sym));
                }
            }
            st.sec_include[r] = true;
        }
        st.sec_include[ci] = true;
        if let Some(s) = sec.secsym {
            work.push(Item::Sym(s));
        }
        st.rebuilt.insert(ci, Rebuilt { data, relocs });
        st.cuts.insert(ci, cut);
    }
    st.run_closure(work);
}

/// Where relocation `rel` of a table points in section `sec`, if there.
fn offset_in(st: &State<'_>, sec: usize, rel: &Reloc) -> Option<u64> {
    let t = st.patched.symbols[rel.sym];
    if t.section != Some(sec) {
        return None;
    }
    let at = (t.value as i64).checked_add(rel.addend)?;
    u64::try_from(at).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_maps_offsets_into_its_kept_pieces() {
        let cut = Cut {
            pieces: vec![(4, 10, 0), (20, 24, 6)],
        };
        let check = |at: u64, expect: Option<u64>| assert_eq!(cut.map(at), expect, "{at}");
        check(4, Some(0));
        check(9, Some(5));
        check(10, Some(6));
        check(21, Some(7));
        check(24, Some(10));
        check(0, None);
        check(12, None);
    }

    #[test]
    fn element_sizes_are_the_release_s() {
        let opts = |abi: Abi, xen: Option<XenVersion>| Options { abi, xen };
        let v417 = Some(XenVersion::new(4, 17, 5));
        let v410 = Some(XenVersion::new(4, 10, 0));
        let x86 = Arch::X86_64;
        let lp2 = opts(Abi::LivepatchV2, v417);
        assert_eq!(element_size(x86, &lp2, ".altinstructions"), Ok(14));
        assert_eq!(element_size(x86, &lp2, ".bug_frames.3"), Ok(16));
        assert_eq!(element_size(x86, &lp2, ".ex_table"), Ok(8));
        assert_eq!(
            element_size(x86, &opts(Abi::LivepatchV1, v410), ".altinstructions"),
            Ok(12)
        );
        assert_eq!(
            element_size(Arch::Aarch64, &lp2, ".altinstructions"),
            Ok(12)
        );
        assert_eq!(element_size(Arch::Aarch64, &lp2, ".bug_frames.1"), Ok(16));
        // Releases that do not read a table, or disagree on its size.
        let e = element_size(x86, &lp2, ".alt_call_sites").unwrap_err();
        assert!(e.contains("does not read `.alt_call_sites`"), "{e}");
        let e = element_size(Arch::Aarch64, &lp2, ".ex_table").unwrap_err();
        assert!(e.contains("does not read"), "{e}");
        let e = element_size(x86, &opts(Abi::LivepatchV1, None), ".altinstructions").unwrap_err();
        assert!(
            e.contains("12 bytes in Xen 4.7") && e.contains("name the target release"),
            "{e}"
        );
        let e = element_size(x86, &opts(Abi::LivepatchV2, None), ".alt_call_sites").unwrap_err();
        assert!(e.contains("only some"), "{e}");
        assert_eq!(
            element_size(x86, &opts(Abi::LivepatchV2, None), ".altinstructions"),
            Ok(14)
        );
        let e = element_size(
            Arch::Arm32,
            &opts(Abi::LivepatchV1, Some(XenVersion::new(4, 7, 0))),
            ".altinstructions",
        )
        .unwrap_err();
        assert!(e.contains("no live patching on arm32"), "{e}");
    }
}
