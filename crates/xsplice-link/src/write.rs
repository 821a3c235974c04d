//! Laying out and encoding the output ELF file, and its GNU build-id.
//!
//! The file layout follows GNU `ld -r`: ELF header, section contents in
//! section order, `.symtab`, `.strtab`, the relocation sections, `.shstrtab`,
//! then the section header table. Each relocation section's header follows
//! its target's; `.symtab`, `.strtab` and `.shstrtab` come last; string
//! tables are laid out as BFD lays them out. Everything is a function of
//! the inputs and options only, so the output is reproducible.
//!
//! The encoder is a few lines per structure on a pre-sized buffer rather than
//! `object::write::elf::Writer`, because the build-id hash needs exact control
//! of every header byte and of the order in which things are laid out.

use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, SectionHeader};
use sha1::{Digest, Sha1};
use xsplice_abi::arch::X86_NOPS;

use crate::link::{Linked, PartData, SymSection};
use crate::read::Object;
use crate::{LinkError, arm, bfdhash};

const SHN_LORESERVE: u32 = elf::SHN_LORESERVE as u32;

/// Little-endian writer for one ELF class.
struct Enc {
    buf: memmap2::MmapMut,
    is_64: bool,
}

impl Enc {
    fn u8(&mut self, at: usize, v: u8) {
        self.buf[at] = v;
    }
    fn u16(&mut self, at: usize, v: u16) {
        self.buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, at: usize, v: u64) {
        self.buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    /// An address-sized field (the caller checked that 32-bit values fit).
    fn word(&mut self, at: usize, v: u64) {
        if self.is_64 {
            self.u64(at, v);
        } else {
            self.u32(at, v as u32);
        }
    }
}

/// A string table: NUL first, then each string with its NUL.
struct Strtab {
    data: Vec<u8>,
}

/// A symbol's section: a reserved SHN_* value or a real section index.
#[derive(Clone, Copy)]
enum Shndx {
    Special(u16),
    Index(u32),
}

struct Shdr {
    name: u32,
    sh_type: u32,
    flags: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    align: u64,
    entsize: u64,
}

impl Shdr {
    /// A string table's header.
    fn strtab(name: u32, offset: u64, size: u64) -> Shdr {
        Shdr {
            name,
            sh_type: elf::SHT_STRTAB.0,
            flags: 0,
            offset,
            size,
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        }
    }
}

/// Encodes the linked output.
pub(crate) fn write(objects: &[Object<'_>], mut l: Linked<'_>) -> Result<crate::Output, LinkError> {
    let is_64 = l.is_64;
    let bits = if is_64 { 64 } else { 32 };
    let (ehsize, shentsize, symsize) = if is_64 {
        (64u64, 64u64, 24u64)
    } else {
        (52, 40, 16)
    };
    let relsize = |rela: bool| match (is_64, rela) {
        (true, true) => 24u64,
        (true, false) => 16,
        (false, true) => 12,
        (false, false) => 8,
    };
    let word_align = if is_64 { 8 } else { 4 };

    // Section indices.
    let mut next = 1usize;
    for s in &mut l.sections {
        s.index = next;
        next += 1;
        if !s.relocs.is_empty() {
            s.rel_index = next;
            next += 1;
        }
    }
    let symtab_index = next;
    let nsym = 1 + l.sections.len() + l.symbols.len();
    let needs_shndx = l.sections.iter().any(|s| s.index as u32 >= SHN_LORESERVE);
    let shndx_index = if needs_shndx { next + 1 } else { 0 };
    let strtab_index = next + 1 + usize::from(needs_shndx);
    let shstrtab_index = strtab_index + 1;
    let shnum = shstrtab_index + 1;

    // Strings, laid out as BFD does (shared tails, no duplicates), in
    // GNU's insertion order: the three table names, then each section's
    // name followed by its relocation section's, in GNU's section-list
    // order (groups by their flags, not first), then `.symtab_shndx`.
    let rel_names: Vec<Vec<u8>> = l
        .sections
        .iter()
        .map(|s| {
            let prefix: &[u8] = if s.rela { b".rela" } else { b".rel" };
            [prefix, &s.name[..]].concat()
        })
        .collect();
    let mut names: Vec<&[u8]> = vec![b".symtab", b".strtab", b".shstrtab"];
    let mut listed: Vec<usize> = (0..l.sections.len()).collect();
    listed.sort_by_key(|&i| l.sections[i].list_key);
    let mut slot = vec![(0usize, 0usize); l.sections.len()];
    for &i in &listed {
        let s = &l.sections[i];
        slot[i].0 = names.len();
        names.push(&s.name);
        if !s.relocs.is_empty() {
            slot[i].1 = names.len();
            names.push(&rel_names[i]);
        }
    }
    // `.symtab_shndx`, when needed, is named last.
    let shndx_slot = names.len();
    if needs_shndx {
        names.push(b".symtab_shndx");
    }
    let (shstr_data, name_offsets) = bfdhash::string_table(&names);
    let symtab_name = name_offsets[0];
    let strtab_name = name_offsets[1];
    let shstrtab_name = name_offsets[2];
    let shndx_name = if needs_shndx {
        name_offsets[shndx_slot]
    } else {
        0
    };
    let sec_names: Vec<(u32, u32)> = l
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let rel = if s.relocs.is_empty() {
                0
            } else {
                name_offsets[slot[i].1]
            };
            (name_offsets[slot[i].0], rel)
        })
        .collect();
    let shstr = Strtab { data: shstr_data };
    let sym_strings: Vec<&[u8]> = l.symbols.iter().map(|s| s.name).collect();
    let (strtab_data, sym_names) = bfdhash::string_table(&sym_strings);
    let strtab = Strtab { data: strtab_data };

    // Layout.
    let mut off = ehsize;
    let mut sec_off = Vec::with_capacity(l.sections.len());
    for s in &l.sections {
        if s.sh_type == elf::SHT_NOBITS.0 {
            // No bytes, but GNU still aligns the offset (and the next one).
            off = off.next_multiple_of(s.align.max(1));
            sec_off.push(off);
            continue;
        }
        off = off.next_multiple_of(s.align.max(1));
        sec_off.push(off);
        off += s.size;
    }
    off = off.next_multiple_of(word_align);
    let symtab_off = off;
    off += nsym as u64 * symsize;
    let shndx_off = if needs_shndx {
        off = off.next_multiple_of(4);
        let o = off;
        off += nsym as u64 * 4;
        o
    } else {
        0
    };
    let strtab_off = off;
    off += strtab.data.len() as u64;
    let mut rel_off = Vec::with_capacity(l.sections.len());
    for s in &l.sections {
        if s.relocs.is_empty() {
            rel_off.push(0);
            continue;
        }
        off = off.next_multiple_of(word_align);
        rel_off.push(off);
        off += s.relocs.len() as u64 * relsize(s.rela);
    }
    let shstrtab_off = off;
    off += shstr.data.len() as u64;
    off = off.next_multiple_of(word_align);
    let shoff = off;
    off += shnum as u64 * shentsize;
    if !is_64 && off > u64::from(u32::MAX) {
        return Err(LinkError::TooLarge {
            bits,
            what: format!("file size {off:#x}"),
        });
    }
    let total = usize::try_from(off).map_err(|_| LinkError::TooLarge {
        bits,
        what: "file size".into(),
    })?;
    let mut e = Enc {
        buf: output_buffer(total).map_err(|e| LinkError::TooLarge {
            bits,
            what: format!("cannot allocate {total} bytes: {e}"),
        })?,
        is_64,
    };

    // ELF header.
    e.buf[..4].copy_from_slice(b"\x7fELF");
    e.u8(
        4,
        if is_64 {
            elf::ELFCLASS64.0
        } else {
            elf::ELFCLASS32.0
        },
    );
    e.u8(5, elf::ELFDATA2LSB.0);
    e.u8(6, elf::EV_CURRENT.0);
    e.u8(7, l.osabi);
    e.u16(16, elf::ET_REL.0);
    e.u16(18, l.machine);
    e.u32(20, u32::from(elf::EV_CURRENT.0));
    let (phoff_at, shoff_at, flags_at) = if is_64 { (32, 40, 48) } else { (28, 32, 36) };
    e.word(phoff_at, 0);
    e.word(shoff_at, shoff);
    e.u32(flags_at, l.e_flags);
    let h = flags_at + 4;
    e.u16(h, ehsize as u16);
    e.u16(h + 2, 0);
    e.u16(h + 4, 0);
    e.u16(h + 6, shentsize as u16);
    e.u16(
        h + 8,
        if shnum as u32 >= SHN_LORESERVE {
            0
        } else {
            shnum as u16
        },
    );
    e.u16(
        h + 10,
        if shstrtab_index as u32 >= SHN_LORESERVE {
            elf::SHN_XINDEX.0
        } else {
            shstrtab_index as u16
        },
    );

    // Section contents.
    for (i, s) in l.sections.iter().enumerate() {
        if s.sh_type == elf::SHT_NOBITS.0 {
            continue;
        }
        let base = sec_off[i] as usize;
        if let Some(g) = &s.group {
            e.u32(base, g.flag);
            for (k, (out, is_rel)) in g.members.iter().enumerate() {
                let target = &l.sections[*out];
                let idx = if *is_rel {
                    target.rel_index
                } else {
                    target.index
                };
                e.u32(base + 4 * (k + 1), idx as u32);
            }
            continue;
        }
        let code = s.flags & elf::SHF_EXECINSTR.0 != 0;
        let mut end = 0usize;
        for p in &s.parts {
            let at = base + p.offset as usize;
            if code && at > base + end && end > 0 {
                fill_code(l.machine, &s.name, &mut e.buf[base + end..at]);
            }
            end = p.offset as usize
                + match &p.data {
                    PartData::Borrowed(d) => d.len(),
                    PartData::Owned(d) | PartData::BuildId(d) => d.len(),
                    PartData::Zero => 0,
                };
            match &p.data {
                PartData::Borrowed(d) => e.buf[at..at + d.len()].copy_from_slice(d),
                PartData::Owned(d) | PartData::BuildId(d) => {
                    e.buf[at..at + d.len()].copy_from_slice(d)
                }
                PartData::Zero => {}
            }
        }
        for patch in &s.rel_patches {
            let at = base + patch.offset as usize;
            let end = (at + 4).min(base + s.size as usize).max(at);
            let obj = &objects[patch.obj];
            let section = String::from_utf8_lossy(obj.sections[patch.sec].name).into_owned();
            arm::add_to_implicit_addend(patch.r_type, &mut e.buf[at..end], patch.delta).map_err(
                |err| match err {
                    arm::AddendError::Unknown => LinkError::RelAddend {
                        path: obj.path.clone(),
                        section,
                        offset: patch.in_offset,
                        r_type: patch.r_type,
                    },
                    arm::AddendError::Overflow => LinkError::RelAddendOverflow {
                        path: obj.path.clone(),
                        section,
                        offset: patch.in_offset,
                        r_type: patch.r_type,
                    },
                },
            )?;
        }
    }

    // Symbols: null, section symbols, then locals and globals.
    let sym_at = |i: usize| symtab_off as usize + i * symsize as usize;
    let write_sym = |e: &mut Enc,
                     i: usize,
                     name: u32,
                     info: u8,
                     other: u8,
                     shndx: Shndx,
                     value: u64,
                     size: u64| {
        let at = sym_at(i);
        let short = match shndx {
            Shndx::Special(v) => v,
            Shndx::Index(i) if i >= SHN_LORESERVE => elf::SHN_XINDEX.0,
            Shndx::Index(i) => i as u16,
        };
        let long = match shndx {
            Shndx::Index(i) if i >= SHN_LORESERVE => i,
            _ => 0,
        };
        if needs_shndx {
            e.u32(shndx_off as usize + i * 4, long);
        }
        if is_64 {
            e.u32(at, name);
            e.u8(at + 4, info);
            e.u8(at + 5, other);
            e.u16(at + 6, short);
            e.u64(at + 8, value);
            e.u64(at + 16, size);
        } else {
            e.u32(at, name);
            e.u32(at + 4, value as u32);
            e.u32(at + 8, size as u32);
            e.u8(at + 12, info);
            e.u8(at + 13, other);
            e.u16(at + 14, short);
        }
    };
    for (i, s) in l.sections.iter().enumerate() {
        let info = (elf::STB_LOCAL.0 << 4) | elf::STT_SECTION.0;
        write_sym(
            &mut e,
            i + 1,
            0,
            info,
            0,
            Shndx::Index(s.index as u32),
            0,
            0,
        );
    }
    let first_sym = 1 + l.sections.len();
    for (k, s) in l.symbols.iter().enumerate() {
        let shndx = match s.section {
            SymSection::Undef => Shndx::Special(0),
            SymSection::Abs => Shndx::Special(elf::SHN_ABS.0),
            SymSection::Common => Shndx::Special(elf::SHN_COMMON.0),
            SymSection::Out(o) => Shndx::Index(l.sections[o].index as u32),
        };
        if !is_64 && (s.value > u64::from(u32::MAX) || s.size > u64::from(u32::MAX)) {
            return Err(LinkError::TooLarge {
                bits,
                what: format!("symbol `{}`", String::from_utf8_lossy(s.name)),
            });
        }
        write_sym(
            &mut e,
            first_sym + k,
            sym_names[k],
            s.info,
            s.other,
            shndx,
            s.value,
            s.size,
        );
    }
    let num_local = (first_sym + l.num_locals) as u32;
    e.buf[strtab_off as usize..strtab_off as usize + strtab.data.len()]
        .copy_from_slice(&strtab.data);

    // Relocations.
    for (i, s) in l.sections.iter().enumerate() {
        let mut at = rel_off[i] as usize;
        let size = relsize(s.rela) as usize;
        for r in &s.relocs {
            if is_64 {
                e.u64(at, r.offset);
                e.u64(at + 8, (u64::from(r.sym) << 32) | u64::from(r.r_type));
                if s.rela {
                    e.u64(at + 16, r.addend as u64);
                }
            } else {
                if r.offset > u64::from(u32::MAX) || r.sym > 0x00ff_ffff {
                    return Err(LinkError::TooLarge {
                        bits,
                        what: format!("relocations of `{}`", String::from_utf8_lossy(&s.name)),
                    });
                }
                e.u32(at, r.offset as u32);
                e.u32(at + 4, (r.sym << 8) | (r.r_type & 0xff));
                if s.rela {
                    e.u32(at + 8, r.addend as u32);
                }
            }
            at += size;
        }
    }
    e.buf[shstrtab_off as usize..shstrtab_off as usize + shstr.data.len()]
        .copy_from_slice(&shstr.data);

    // Section headers.
    let mut headers: Vec<Shdr> = Vec::with_capacity(shnum);
    headers.push(Shdr {
        name: 0,
        sh_type: 0,
        flags: 0,
        offset: 0,
        size: if shnum as u32 >= SHN_LORESERVE {
            shnum as u64
        } else {
            0
        },
        link: if shstrtab_index as u32 >= SHN_LORESERVE {
            shstrtab_index as u32
        } else {
            0
        },
        info: 0,
        align: 0,
        entsize: 0,
    });
    for (i, s) in l.sections.iter().enumerate() {
        let (link, info, entsize) = if let Some(g) = &s.group {
            (symtab_index as u32, g.signature, 4)
        } else {
            let link = s.link_section.map_or(0, |o| l.sections[o].index as u32);
            (link, s.info, s.entsize)
        };
        headers.push(Shdr {
            name: sec_names[i].0,
            sh_type: s.sh_type,
            flags: s.flags,
            offset: sec_off[i],
            size: s.size,
            link,
            info,
            align: s.align,
            entsize,
        });
        if !s.relocs.is_empty() {
            headers.push(Shdr {
                name: sec_names[i].1,
                sh_type: if s.rela {
                    elf::SHT_RELA.0
                } else {
                    elf::SHT_REL.0
                },
                flags: elf::SHF_INFO_LINK.0 | (s.flags & elf::SHF_GROUP.0),
                offset: rel_off[i],
                size: s.relocs.len() as u64 * relsize(s.rela),
                link: symtab_index as u32,
                info: s.index as u32,
                align: word_align,
                entsize: relsize(s.rela),
            });
        }
    }
    headers.push(Shdr {
        name: symtab_name,
        sh_type: elf::SHT_SYMTAB.0,
        flags: 0,
        offset: symtab_off,
        size: nsym as u64 * symsize,
        link: strtab_index as u32,
        info: num_local,
        align: word_align,
        entsize: symsize,
    });
    if needs_shndx {
        headers.push(Shdr {
            name: shndx_name,
            sh_type: elf::SHT_SYMTAB_SHNDX.0,
            flags: 0,
            offset: shndx_off,
            size: nsym as u64 * 4,
            link: symtab_index as u32,
            info: 0,
            align: 4,
            entsize: 4,
        });
    }
    headers.push(Shdr::strtab(
        strtab_name,
        strtab_off,
        strtab.data.len() as u64,
    ));
    headers.push(Shdr::strtab(
        shstrtab_name,
        shstrtab_off,
        shstr.data.len() as u64,
    ));
    debug_assert_eq!(headers.len(), shnum);
    let _ = shndx_index;
    for (i, h) in headers.iter().enumerate() {
        let at = shoff as usize + i * shentsize as usize;
        e.u32(at, h.name);
        e.u32(at + 4, h.sh_type);
        if is_64 {
            e.u64(at + 8, h.flags);
            e.u64(at + 24, h.offset);
            e.u64(at + 32, h.size);
            e.u32(at + 40, h.link);
            e.u32(at + 44, h.info);
            e.u64(at + 48, h.align);
            e.u64(at + 56, h.entsize);
        } else {
            for (name, v) in [
                ("flags", h.flags),
                ("size", h.size),
                ("alignment", h.align),
                ("entsize", h.entsize),
            ] {
                if v > u64::from(u32::MAX) {
                    return Err(LinkError::TooLarge {
                        bits,
                        what: format!("section {name} {v:#x}"),
                    });
                }
            }
            e.u32(at + 8, h.flags as u32);
            e.u32(at + 16, h.offset as u32);
            e.u32(at + 20, h.size as u32);
            e.u32(at + 24, h.link);
            e.u32(at + 28, h.info);
            e.u32(at + 32, h.align as u32);
            e.u32(at + 36, h.entsize as u32);
        }
    }

    if let Some((sec, part_off)) = l.build_id {
        let id = compute_build_id(&e.buf).map_err(LinkError::Payload)?;
        let at = sec_off[sec] as usize + part_off as usize + 16;
        e.buf[at..at + 20].copy_from_slice(&id);
    }
    Ok(crate::Output {
        map: e.buf,
        len: total,
    })
}

/// A zeroed buffer of `len` bytes, faulted in ahead of use: the output is
/// written once, front to back, and page faults would dominate. A large one
/// (a megabyte or more) asks for transparent huge pages first.
fn output_buffer(len: usize) -> std::io::Result<memmap2::MmapMut> {
    let mut options = memmap2::MmapOptions::new();
    options.len(len.max(1));
    if len < 1 << 20 {
        return options.populate().map_anon();
    }
    let map = options.map_anon()?;
    // Both are only advice: without them the pages fault in on first write.
    #[cfg(target_os = "linux")]
    {
        let _ = map.advise(memmap2::Advice::HugePage);
        let _ = map.advise(memmap2::Advice::PopulateWrite);
    }
    Ok(map)
}

/// Fills the padding between two input sections of a code section the way
/// GNU ld does: on x86_64 the target's code fill, multi-byte NOPs (longest
/// first, at most 10 bytes) in every code section; on aarch64 the fill
/// pattern `=0x1f2003d5` that the relocatable script gives `.init`, `.text`
/// and `.fini` only; zeros elsewhere.
fn fill_code(machine: u16, name: &[u8], gap: &mut [u8]) {
    if machine == elf::EM_X86_64.0 {
        for chunk in gap.chunks_mut(10) {
            chunk.copy_from_slice(X86_NOPS[chunk.len() - 1]);
        }
    } else if machine == elf::EM_AARCH64.0 && [&b".init"[..], b".text", b".fini"].contains(&name) {
        for (i, b) in gap.iter_mut().enumerate() {
            *b = [0x1f, 0x20, 0x03, 0xd5][i % 4];
        }
    }
}

/// Computes the SHA-1 build-id of a relocatable ELF file the way GNU ld does
/// for `ld -r --build-id=sha1`.
///
/// The hash covers the ELF header with `e_phoff` and `e_shoff` zeroed, then
/// each section header with `sh_offset` zeroed followed by the section's
/// contents. Contents are left out for SHT_NOBITS and for the symbol and
/// string tables (GNU writes those after hashing). The `.note.gnu.build-id`
/// contents are hashed as zeros. Works on GNU's output and on ours alike.
pub fn compute_build_id(data: &[u8]) -> Result<[u8; 20], String> {
    match data.get(4) {
        Some(2) => build_id_class::<elf::FileHeader64<Endianness>>(data, 64),
        Some(1) => build_id_class::<elf::FileHeader32<Endianness>>(data, 52),
        _ => Err("not an ELF file".into()),
    }
}

fn build_id_class<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    ehsize: usize,
) -> Result<[u8; 20], String> {
    let err = |e: object::read::Error| e.to_string().to_lowercase();
    let header = Elf::parse(data).map_err(err)?;
    let endian = header.endian().map_err(err)?;
    if endian != Endianness::Little {
        return Err("big-endian ELF is not supported".into());
    }
    let sections = header.sections(endian, data).map_err(err)?;
    let mut hasher = Sha1::new();
    let mut ehdr = data.get(..ehsize).ok_or("truncated ELF header")?.to_vec();
    let (phoff, shoff, len) = if ehsize == 64 {
        (32, 40, 8)
    } else {
        (28, 32, 4)
    };
    ehdr[phoff..phoff + len].fill(0);
    ehdr[shoff..shoff + len].fill(0);
    hasher.update(&ehdr);
    let shoff_value: u64 = header.e_shoff(endian).into();
    let shentsize = usize::from(header.e_shentsize(endian));
    let (off_at, off_len) = if ehsize == 64 { (24, 8) } else { (16, 4) };
    for (index, shdr) in sections.enumerate() {
        let at = shoff_value as usize + index.0 * shentsize;
        let mut raw = data
            .get(at..at + shentsize)
            .ok_or("truncated section headers")?
            .to_vec();
        raw[off_at..off_at + off_len].fill(0);
        hasher.update(&raw);
        let t = shdr.sh_type(endian);
        if index.0 == 0
            || t == elf::SHT_NOBITS
            || t == elf::SHT_SYMTAB
            || t == elf::SHT_STRTAB
            || t == elf::SHT_SYMTAB_SHNDX
        {
            continue;
        }
        let contents = shdr.data(endian, data).map_err(err)?;
        if sections.section_name(endian, shdr).map_err(err)? == b".note.gnu.build-id" {
            hasher.update(vec![0; contents.len()]);
        } else {
            hasher.update(contents);
        }
    }
    Ok(hasher.finalize().into())
}
