//! Encoding the output object with `object::write::elf::Writer`.
//!
//! Layout: the included sections in the patched object's order (tables as
//! rebuilt), `.livepatch.funcs` and the names it points at, then each
//! section's relocations, the symbol table and the string tables. Symbols:
//! the file symbol, one section symbol per section, the locals that stay
//! defined, then the globals and every reference left to the hypervisor.
//!
//! Naming (§13): a defined symbol keeps a name only when it is new or is a
//! replacement function; an included part of an old function (`foo.cold`)
//! is reached through its section symbol, so that it never clashes with the
//! running hypervisor's `file#foo.cold`. A reference to something unchanged
//! is an undefined global named as Xen's runtime table names it.
//!
//! An arm32 object's output keeps SHT_REL: every relocation's addend is
//! written into its field, since retargeting changes addends. ARM mapping
//! symbols of the written sections are kept as they are, so that a
//! disassembler still tells code from literal pools.

use std::collections::HashMap;

use object::Endianness;
use object::elf;
use object::write::elf::{FileHeader, Rel, SectionHeader, Sym, Writer};
use xsplice_abi::FuncEntry;

use crate::diff::{Entry, State, Status};
use crate::elf::Reloc;
use crate::{DiffError, Options, arm32};

const FUNCS_STRINGS: &[u8] = b".livepatch.strings";

/// True when patched symbol `i`, included, is left for the hypervisor to
/// resolve.
pub(crate) fn is_undefined_in_output(st: &State<'_>, i: usize) -> bool {
    let s = st.patched.symbols[i];
    if s.is_file() || i == 0 {
        return false;
    }
    match s.section {
        None => s.shndx == 0,
        Some(sec) => !st.sec_include[sec],
    }
}

/// Whether an included, defined symbol keeps its own entry in the output.
fn keeps_name(st: &State<'_>, i: usize, entries: &[Entry]) -> bool {
    let s = st.patched.symbols[i];
    if s.is_section() || s.is_file() {
        return false;
    }
    if entries.iter().any(|e| e.sym == i) {
        return true;
    }
    if s.is_label() {
        return true;
    }
    st.sym_status[i] == Status::New && (s.is_func() || s.is_object() || !s.is_local())
}

struct OutSection<'a> {
    /// The patched section, or `None` for the sections made here.
    src: Option<usize>,
    name: Vec<u8>,
    sh_type: u32,
    flags: u64,
    align: u64,
    entsize: u64,
    data: std::borrow::Cow<'a, [u8]>,
    size: u64,
    /// (offset, type, output symbol, addend)
    relocs: Vec<(u64, u32, u32, i64)>,
}

struct OutSymbol {
    name: Vec<u8>,
    bind: u8,
    kind: u8,
    other: u8,
    /// Output section index (0 = undefined), or the raw special index.
    section: Option<usize>,
    shndx: u16,
    value: u64,
    size: u64,
}

pub(crate) fn write(
    st: &State<'_>,
    entries: &[Entry],
    options: &Options,
) -> Result<Vec<u8>, DiffError> {
    let p = &st.patched;
    let arch = st.arch();
    let word = arch.word_size();
    let hint = st
        .orig
        .file
        .or(p.file)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let mangle = |name: &str| -> Vec<u8> {
        if hint.is_empty() {
            name.as_bytes().to_vec()
        } else {
            let mut v = hint.clone();
            v.push(b'#');
            v.extend_from_slice(name.as_bytes());
            v
        }
    };

    // Output sections.
    let mut secs: Vec<OutSection<'_>> = Vec::new();
    let mut sec_map: HashMap<usize, usize> = HashMap::new();
    for (i, s) in p.sections.iter().enumerate().skip(1) {
        if !st.sec_include[i] || s.base.is_some() || crate::diff::ignored_section(s.name) {
            continue;
        }
        let (data, size) = match st.rebuilt.get(&i) {
            Some(r) => (std::borrow::Cow::Owned(r.data.clone()), r.data.len() as u64),
            None => (std::borrow::Cow::Borrowed(s.data), s.size),
        };
        sec_map.insert(i, secs.len());
        secs.push(OutSection {
            src: Some(i),
            name: s.name.to_vec(),
            sh_type: s.sh_type,
            flags: s.flags,
            align: s.addralign,
            entsize: s.entsize,
            data,
            size,
            relocs: Vec::new(),
        });
    }
    let funcs_at = secs.len();
    let layout = options.abi.layout(word);
    let funcs_name = options.abi.funcs_section().as_bytes().to_vec();
    secs.push(OutSection {
        src: None,
        name: funcs_name,
        sh_type: elf::SHT_PROGBITS.0,
        flags: options.abi.funcs_section_flags(options.xen.as_ref()),
        align: layout.align as u64,
        entsize: 0,
        data: Vec::new().into(),
        size: 0,
        relocs: Vec::new(),
    });
    let strings_at = secs.len();
    let mut strings = Vec::new();
    let mut name_offsets = Vec::new();
    for e in entries {
        name_offsets.push(strings.len() as u64);
        strings.extend_from_slice(e.name.as_bytes());
        strings.push(0);
    }
    secs.push(OutSection {
        src: None,
        name: FUNCS_STRINGS.to_vec(),
        sh_type: elf::SHT_PROGBITS.0,
        flags: elf::SHF_ALLOC.0,
        align: 1,
        entsize: 0,
        size: strings.len() as u64,
        data: strings.into(),
        relocs: Vec::new(),
    });

    // Output symbols: file, section symbols, kept locals, then globals.
    let mut syms: Vec<OutSymbol> = Vec::new();
    syms.push(OutSymbol {
        name: hint.clone(),
        bind: elf::STB_LOCAL.0,
        kind: elf::STT_FILE.0,
        other: 0,
        section: None,
        shndx: elf::SHN_ABS.0,
        value: 0,
        size: 0,
    });
    let mut secsym: Vec<u32> = Vec::new();
    for (k, _) in secs.iter().enumerate() {
        secsym.push(syms.len() as u32 + 1);
        syms.push(OutSymbol {
            name: Vec::new(),
            bind: elf::STB_LOCAL.0,
            kind: elf::STT_SECTION.0,
            other: 0,
            section: Some(k),
            shndx: 0,
            value: 0,
            size: 0,
        });
    }
    // Patched symbol → output symbol index (1-based, as in the file).
    let mut sym_map: HashMap<usize, u32> = HashMap::new();
    let mut undefined: HashMap<Vec<u8>, u32> = HashMap::new();
    for pass_local in [true, false] {
        for i in 1..p.symbols.len() {
            let s = p.symbols[i];
            if pass_local
                && s.is_mapping()
                && let Some(&out_sec) = s.section.and_then(|sec| sec_map.get(&sec))
            {
                // A cut section's mapping symbols are placed below.
                if s.section.is_some_and(|sec| st.cuts.contains_key(&sec)) {
                    continue;
                }
                syms.push(OutSymbol {
                    name: s.name.to_vec(),
                    bind: s.bind,
                    kind: s.kind,
                    other: s.other,
                    section: Some(out_sec),
                    shndx: 0,
                    value: s.value,
                    size: s.size,
                });
                continue;
            }
            if !st.sym_include[i] {
                continue;
            }
            if let Some(sec) = s.section
                && st.sec_include[sec]
            {
                // A symbol of an included section that is not written (a
                // debug, note or init section) has nowhere to point.
                let Some(&out_sec) = sec_map.get(&sec) else {
                    continue;
                };
                if s.is_local() != pass_local || !keeps_name(st, i, entries) {
                    continue;
                }
                // In a cut section, a name in a dropped piece goes with it
                // (references into cut sections go through the section).
                let value = match st.cuts.get(&sec) {
                    Some(cut) => match cut.map(s.value) {
                        Some(v) => v,
                        None => continue,
                    },
                    None => s.value,
                };
                let name = if s.is_local() && !s.is_label() {
                    mangle(&s.name())
                } else {
                    s.name.to_vec()
                };
                sym_map.insert(i, syms.len() as u32 + 1);
                syms.push(OutSymbol {
                    name,
                    bind: s.bind,
                    kind: s.kind,
                    other: s.other,
                    section: Some(out_sec),
                    shndx: 0,
                    value: value | u64::from(s.thumb),
                    size: s.size,
                });
            } else if !pass_local && is_undefined_in_output(st, i) {
                let name = st.xen_name(i).into_bytes();
                if let Some(&k) = undefined.get(&name) {
                    sym_map.insert(i, k);
                    continue;
                }
                let k = syms.len() as u32 + 1;
                undefined.insert(name.clone(), k);
                sym_map.insert(i, k);
                let bind = if s.bind == elf::STB_WEAK.0 {
                    elf::STB_WEAK.0
                } else {
                    elf::STB_GLOBAL.0
                };
                syms.push(OutSymbol {
                    name,
                    bind,
                    kind: elf::STT_NOTYPE.0,
                    other: 0,
                    section: None,
                    shndx: 0,
                    value: 0,
                    size: 0,
                });
            } else if !pass_local && s.section.is_none() && s.shndx != 0 {
                // SHN_ABS: kept as it is.
                sym_map.insert(i, syms.len() as u32 + 1);
                syms.push(OutSymbol {
                    name: s.name.to_vec(),
                    bind: s.bind,
                    kind: s.kind,
                    other: s.other,
                    section: None,
                    shndx: s.shndx,
                    value: s.value,
                    size: s.size,
                });
            }
        }
        if pass_local {
            // Each kept piece of a cut section starts with the mapping
            // symbol in force where it started, then keeps its own.
            let mut cut_secs: Vec<_> = st.cuts.iter().collect();
            cut_secs.sort_by_key(|(sec, _)| **sec);
            for (&sec, cut) in cut_secs {
                let Some(&out_sec) = sec_map.get(&sec) else {
                    continue;
                };
                let mut maps: Vec<_> = p
                    .symbols
                    .iter()
                    .filter(|s| s.section == Some(sec) && s.is_mapping())
                    .collect();
                maps.sort_by_key(|s| s.value);
                for &(start, end, new) in &cut.pieces {
                    let in_force = maps.iter().rev().find(|s| s.value <= start);
                    let inside = maps.iter().filter(|s| s.value > start && s.value < end);
                    for (m, value) in in_force
                        .map(|m| (m, new))
                        .into_iter()
                        .chain(inside.map(|m| (m, m.value - start + new)))
                    {
                        syms.push(OutSymbol {
                            name: m.name.to_vec(),
                            bind: m.bind,
                            kind: m.kind,
                            other: m.other,
                            section: Some(out_sec),
                            shndx: 0,
                            value,
                            size: 0,
                        });
                    }
                }
            }
        }
    }
    let num_local = 1 + syms.iter().filter(|s| s.bind == elf::STB_LOCAL.0).count() as u32;

    // Relocations of copied sections, retargeted to output symbols.
    let target_of = |rel: &Reloc, from_code: bool| -> Result<(u32, i64), DiffError> {
        let s = p.symbols[rel.sym];
        // Into a cut section: to the same byte of the kept piece.
        if let Some(sec) = s.section
            && let Some(cut) = st.cuts.get(&sec)
            && let Some(&out_sec) = sec_map.get(&sec)
        {
            let bias = crate::diff::pc_bias(arch, rel.r_type, from_code);
            let value = if s.is_section() { 0 } else { s.value as i64 };
            let new = value
                .checked_add(rel.addend)
                .and_then(|v| v.checked_add(bias))
                .and_then(|v| u64::try_from(v).ok())
                .and_then(|at| cut.map(at));
            return match new {
                Some(at) => Ok((secsym[out_sec], (at as i64).wrapping_sub(bias))),
                None => Err(DiffError::Write {
                    path: p.path.clone(),
                    detail: format!(
                        "a relocation points into a piece of `{}` that is not in the payload",
                        p.sections[sec].name()
                    ),
                }),
            };
        }
        if let Some(&k) = sym_map.get(&rel.sym) {
            return Ok((k, rel.addend));
        }
        match s.section.and_then(|sec| sec_map.get(&sec)) {
            Some(&out_sec) => Ok((
                secsym[out_sec],
                rel.addend
                    .wrapping_add(if s.is_section() { 0 } else { s.value as i64 }),
            )),
            _ => Err(DiffError::Write {
                path: p.path.clone(),
                detail: format!("relocation to `{}` has no output symbol", s.name()),
            }),
        }
    };
    for out in secs.iter_mut() {
        let Some(src) = out.src else { continue };
        let relocs: &[Reloc] = match st.rebuilt.get(&src) {
            Some(r) => &r.relocs,
            None => match p.sections[src].rela {
                Some(r) => &p.sections[r].relocs,
                None => &[],
            },
        };
        let from_code = p.sections[src].is_exec();
        for rel in relocs {
            let (k, addend) = target_of(rel, from_code)?;
            out.relocs.push((rel.offset, rel.r_type, k, addend));
        }
    }

    // `.livepatch.funcs`.
    let pointer = arch.pointer_relocation().number;
    let mut funcs = Vec::new();
    let mut funcs_relocs = Vec::new();
    for (e, name_at) in entries.iter().zip(&name_offsets) {
        let s = p.symbols[e.sym];
        let mut entry = FuncEntry::new(options.abi);
        entry.new_size = u32::try_from(s.size).unwrap_or(u32::MAX);
        entry.old_size = u32::try_from(e.old_size).unwrap_or(u32::MAX);
        let base = funcs.len() as u64;
        funcs.extend(entry.encode(options.abi, word)?);
        funcs_relocs.push((
            base + layout.offset_of("name") as u64,
            pointer,
            secsym[strings_at],
            *name_at as i64,
        ));
        let (k, addend) = target_of(
            &Reloc {
                offset: 0,
                r_type: pointer,
                sym: e.sym,
                addend: 0,
            },
            false,
        )?;
        funcs_relocs.push((
            base + layout.offset_of("new_addr") as u64,
            pointer,
            k,
            addend,
        ));
    }
    secs[funcs_at].size = funcs.len() as u64;
    secs[funcs_at].data = funcs.into();
    secs[funcs_at].relocs = funcs_relocs;

    if p.rel {
        for out in &mut secs {
            if out.relocs.is_empty() || out.sh_type == elf::SHT_NOBITS.0 {
                continue;
            }
            let mut data = out.data.to_vec();
            for &(offset, r_type, _, addend) in &out.relocs {
                // A field the diff could not read was left as it was.
                if !arm32::knows(r_type) && addend == 0 {
                    continue;
                }
                let field = usize::try_from(offset).ok().and_then(|o| data.get_mut(o..));
                if field.is_none_or(|f| arm32::write(r_type, f, addend).is_err()) {
                    return Err(DiffError::Write {
                        path: p.path.clone(),
                        detail: format!(
                            "cannot write the addend {addend} of relocation type {r_type} at {}+{offset:#x}",
                            String::from_utf8_lossy(&out.name)
                        ),
                    });
                }
            }
            out.data = data.into();
        }
    }

    encode(st, &secs, &syms, num_local)
}

fn encode(
    st: &State<'_>,
    secs: &[OutSection<'_>],
    syms: &[OutSymbol],
    num_local: u32,
) -> Result<Vec<u8>, DiffError> {
    let p = &st.patched;
    let is_rela = !p.rel;
    let bad = |e: object::write::Error| DiffError::Write {
        path: p.path.clone(),
        detail: e.to_string(),
    };
    let mut buf = Vec::new();
    let mut w = Writer::new(Endianness::Little, p.is_64, &mut buf);
    w.reserve_file_header();
    w.reserve_null_section_index();
    let mut index = Vec::new();
    let mut names = Vec::new();
    for s in secs {
        index.push(w.reserve_section_index());
        names.push(w.add_section_name(&s.name));
    }
    let mut rela_index = Vec::new();
    let mut rela_names = Vec::new();
    let rela_name_bufs: Vec<Vec<u8>> = secs
        .iter()
        .map(|s| {
            let prefix: &[u8] = if is_rela { b".rela" } else { b".rel" };
            [prefix, &s.name].concat()
        })
        .collect();
    for (k, s) in secs.iter().enumerate() {
        if s.relocs.is_empty() {
            rela_index.push(None);
            rela_names.push(None);
        } else {
            rela_index.push(Some(w.reserve_section_index()));
            rela_names.push(Some(w.add_section_name(&rela_name_bufs[k])));
        }
    }
    let symtab = w.reserve_symtab_section_index();
    w.reserve_strtab_section_index();
    w.reserve_shstrtab_section_index();

    let mut sym_names = Vec::new();
    for s in syms {
        let id =
            (!s.name.is_empty() && s.kind != elf::STT_SECTION.0).then(|| w.add_string(&s.name));
        sym_names.push(id);
        w.reserve_symbol_index(s.section.map(|k| index[k]));
    }

    let mut offsets = Vec::new();
    for s in secs {
        if s.sh_type == elf::SHT_NOBITS.0 {
            offsets.push(0);
        } else {
            offsets.push(w.reserve(s.data.len() as u64, s.align.max(1)));
        }
    }
    let mut rela_offsets = Vec::new();
    for s in secs {
        rela_offsets.push(if s.relocs.is_empty() {
            0
        } else {
            w.reserve_relocations(s.relocs.len(), is_rela)
        });
    }
    w.reserve_symtab();
    w.reserve_strtab().map_err(bad)?;
    w.reserve_shstrtab().map_err(bad)?;
    w.reserve_section_headers();

    w.write_file_header(&FileHeader {
        os_abi: elf::OsAbi(st.patched.osabi),
        abi_version: st.patched.abi_version,
        e_type: elf::ET_REL,
        e_machine: elf::Machine(st.patched.header_key.2),
        e_entry: 0,
        e_flags: elf::FileFlags(st.patched.e_flags),
    })
    .map_err(bad)?;
    for (k, s) in secs.iter().enumerate() {
        if s.sh_type == elf::SHT_NOBITS.0 {
            continue;
        }
        w.write_align(s.align.max(1));
        debug_assert_eq!(w.len(), offsets[k]);
        w.write(&s.data);
    }
    for s in secs {
        if s.relocs.is_empty() {
            continue;
        }
        w.write_align_relocation();
        for &(offset, r_type, sym, addend) in &s.relocs {
            w.write_relocation(
                is_rela,
                &Rel {
                    r_offset: offset,
                    r_sym: sym,
                    r_type: elf::RelocationType(r_type),
                    r_addend: addend,
                },
            );
        }
    }
    w.write_null_symbol();
    for (s, id) in syms.iter().zip(&sym_names) {
        w.write_symbol(&Sym {
            section: s.section.map(|k| index[k].0),
            st_name: w.string_offset(*id),
            st_info: elf::SymbolInfo::new(elf::SymbolBind(s.bind), elf::SymbolType(s.kind)),
            st_other: elf::SymbolOther(s.other),
            st_shndx: elf::SymbolSection(s.shndx),
            st_value: s.value,
            st_size: s.size,
        });
    }
    w.write_strtab();
    w.write_shstrtab();
    w.write_null_section_header();
    for (k, s) in secs.iter().enumerate() {
        w.write_section_header(&SectionHeader {
            sh_name: w.section_name_offset(Some(names[k])),
            sh_type: elf::SectionType(s.sh_type),
            sh_flags: elf::SectionFlags(s.flags),
            sh_addr: 0,
            sh_offset: offsets[k],
            sh_size: s.size,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: s.align,
            sh_entsize: s.entsize,
        });
    }
    for (k, s) in secs.iter().enumerate() {
        if let (Some(_), Some(name)) = (rela_index[k], rela_names[k]) {
            w.write_relocation_section_header(
                name,
                index[k],
                symtab,
                rela_offsets[k],
                s.relocs.len(),
                is_rela,
            );
        }
    }
    w.write_symtab_section_header(num_local);
    w.write_strtab_section_header();
    w.write_shstrtab_section_header();
    Ok(buf)
}
