//! Xen's tables of fixed-size elements that point into code (§11): bug
//! frames, the exception table, alternatives and alternative call sites.
//!
//! They are never compared (a moved `WARN()` changes only a line number
//! folded into a bug frame's addend, which is no change to the code); the
//! elements that point into an included function are kept, rebased, and the
//! rest dropped. The code the kept elements point at outside the function
//! (`.fixup`, `.altinstr_replacement`) goes in whole: its pieces for
//! functions that are not in the payload are never reached, and their
//! references resolve against the running hypervisor like any other.

use xsplice_abi::Arch;

use crate::diff::{Item, State};
use crate::elf::Reloc;

/// A table section rebuilt from its kept elements.
#[derive(Clone, Debug)]
pub(crate) struct Rebuilt {
    pub data: Vec<u8>,
    pub relocs: Vec<Reloc>,
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

/// Element size of a table, on `arch` (Xen 4.11 and later).
fn element_size(arch: Arch, name: &[u8]) -> Option<usize> {
    if let Some(n) = name.strip_prefix(b".bug_frames.") {
        // x86 assert frames (`.bug_frames.3`) carry the message too.
        return Some(match (arch, n) {
            (Arch::X86_64, b"3") => 2 * arch.bug_frame_size(),
            _ => arch.bug_frame_size(),
        });
    }
    match name {
        b".ex_table" => arch.ex_table_entry_size(),
        b".altinstructions" => Some(arch.alt_instr_size(None)),
        b".alt_call_sites" => arch.alt_call_size(),
        _ => None,
    }
}

/// Keeps, in every table, the elements that point into included code, and
/// includes what those elements reference.
pub(crate) fn filter(st: &mut State<'_>) {
    let arch = st.arch();
    let mut work = Vec::new();
    for ti in 1..st.patched.sections.len() {
        let sec = &st.patched.sections[ti];
        if !is_table(sec.name) || sec.base.is_some() {
            continue;
        }
        let Some(size) = element_size(arch, sec.name) else {
            let name = sec.name();
            st.warnings.push(format!(
                "`{name}` is not a table this architecture has; left out"
            ));
            continue;
        };
        let name = sec.name();
        if sec.data.len() % size != 0 {
            st.warnings.push(format!(
                "`{name}` is not a whole number of {size}-byte elements; left out"
            ));
            continue;
        }
        let relocs: &[Reloc] = match sec.rela {
            Some(r) => &st.patched.sections[r].relocs,
            None => &[],
        };
        let mut data = Vec::new();
        let mut kept = Vec::new();
        for (k, element) in sec.data.chunks_exact(size).enumerate() {
            let start = (k * size) as u64;
            let end = start + size as u64;
            let mine: Vec<Reloc> = relocs
                .iter()
                .filter(|r| r.offset >= start && r.offset < end)
                .copied()
                .collect();
            let keep = mine.iter().any(|r| {
                let t = st.patched.symbols[r.sym];
                t.section.is_some_and(|s| {
                    let target = &st.patched.sections[s];
                    target.is_exec()
                        && !is_companion(target.name)
                        && st.sec_include[s]
                        && (t.is_section()
                            || st.sym_include[r.sym]
                            || target.bundled == Some(r.sym))
                })
            });
            if !keep {
                continue;
            }
            let at = data.len() as u64;
            data.extend_from_slice(element);
            for r in mine {
                kept.push(Reloc {
                    offset: r.offset - start + at,
                    ..r
                });
                work.push(Item::Sym(r.sym));
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
    }
    st.run_closure(work);
}
