//! A canonical, linker-independent text dump of a relocatable ELF file.
//!
//! Differential tests compare GNU `ld -r` output with ours through this
//! dump rather than bytes, because GNU's byte layout is partly arbitrary
//! (global symbols in BFD hash-table order, string tables with suffix
//! sharing). The dump names everything: sections by name, symbols by name,
//! relocations by target section, offset, type, symbol name and addend. It
//! is written with `object`'s raw ELF reader only and shares no code with
//! the linker, so it can catch the linker's mistakes.
//!
//! What it deliberately leaves out, each being layout rather than meaning:
//! file offsets, section indices, symbol indices (symbols are listed in
//! table order and named), and the contents of `.symtab`, `.strtab`,
//! `.shstrtab` and relocation sections (their meaning is dumped instead).

use std::fmt::Write as _;

use object::elf;
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, Sym};
use object::{Endianness, SectionIndex};
use sha1::{Digest, Sha1};

/// Options for the dump: the few places where a comparison must look away.
#[derive(Clone, Copy, Default)]
pub struct DumpOptions {
    /// Replace the build-id descriptor by a placeholder.
    pub mask_build_id: bool,
    /// Leave out the SHF_EXECINSTR flag of `.note.GNU-stack`.
    pub ignore_stack_exec: bool,
    /// Leave out section contents (and implicit addends) altogether.
    pub omit_contents: bool,
}

/// Dumps `data` as lines.
pub fn dump(data: &[u8], opts: DumpOptions) -> Vec<String> {
    match data.get(4) {
        Some(2) => dump_class::<elf::FileHeader64<Endianness>>(data, opts),
        Some(1) => dump_class::<elf::FileHeader32<Endianness>>(data, opts),
        _ => panic!("not an ELF file"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn contents_digest(bytes: &[u8]) -> String {
    if bytes.len() <= 48 {
        return hex(bytes);
    }
    let digest: [u8; 20] = Sha1::digest(bytes).into();
    format!("{}… sha1:{}", hex(&bytes[..16]), hex(&digest[..10]))
}

fn dump_class<Elf: FileHeader<Endian = Endianness>>(data: &[u8], opts: DumpOptions) -> Vec<String> {
    let header = Elf::parse(data).expect("ELF header");
    let e = header.endian().expect("endian");
    let sections = header.sections(e, data).expect("section table");
    let mut lines = Vec::new();
    lines.push(format!(
        "header class={} machine={} type={} osabi={} flags={:#x}",
        if header.is_type_64() { 64 } else { 32 },
        header.e_machine(e).0,
        header.e_type(e).0,
        header.e_ident().os_abi.0,
        header.e_flags(e).0,
    ));
    let name_of = |i: usize| -> String {
        sections
            .section(SectionIndex(i))
            .ok()
            .and_then(|s| sections.section_name(e, s).ok())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_else(|| format!("#{i}"))
    };
    let symtab = sections
        .symbols(e, data, elf::SHT_SYMTAB)
        .expect("symbol table");
    let sym_desc = |index: usize| -> String {
        if index == 0 {
            return "0".into();
        }
        let sym = symtab
            .symbol(object::SymbolIndex(index))
            .expect("symbol index");
        if sym.st_type() == elf::STT_SECTION {
            let sec = symtab
                .symbol_section(e, sym, object::SymbolIndex(index))
                .ok()
                .flatten()
                .map_or(0, |s| s.0);
            format!("[section {}]", name_of(sec))
        } else {
            String::from_utf8_lossy(symtab.symbol_name(e, sym).unwrap_or(b"?")).into_owned()
        }
    };

    for (index, shdr) in sections.enumerate().skip(1) {
        let t = shdr.sh_type(e);
        if [
            elf::SHT_SYMTAB,
            elf::SHT_STRTAB,
            elf::SHT_REL,
            elf::SHT_RELA,
            elf::SHT_SYMTAB_SHNDX,
        ]
        .contains(&t)
        {
            continue;
        }
        let name = name_of(index.0);
        let mut flags: u64 = shdr.sh_flags(e).0;
        if opts.ignore_stack_exec && name == ".note.GNU-stack" {
            flags &= !elf::SHF_EXECINSTR.0;
        }
        let size: u64 = shdr.sh_size(e).into();
        let mut line = format!(
            "section {name} type={:#x} flags={flags:#x} align={} size={size:#x} entsize={}",
            t.0,
            Into::<u64>::into(shdr.sh_addralign(e)),
            Into::<u64>::into(shdr.sh_entsize(e)),
        );
        if flags & elf::SHF_LINK_ORDER.0 != 0 {
            let _ = write!(line, " link={}", name_of(shdr.sh_link(e) as usize));
        }
        if t == elf::SHT_GROUP {
            let words = shdr.data(e, data).expect("group contents");
            let word =
                |i: usize| u32::from_le_bytes(words[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
            let members: Vec<String> = (1..words.len() / 4)
                .map(|i| name_of(word(i) as usize))
                .collect();
            let _ = write!(
                line,
                " group flag={} signature={} members=[{}]",
                word(0),
                sym_desc(shdr.sh_info(e) as usize),
                members.join(" ")
            );
        } else if t != elf::SHT_NOBITS && !opts.omit_contents {
            let mut bytes = shdr.data(e, data).expect("section contents").to_vec();
            if opts.mask_build_id && name == ".note.gnu.build-id" && bytes.len() >= 16 {
                bytes.truncate(16);
                bytes.extend_from_slice(b"<build-id>");
            }
            let _ = write!(line, " contents={}", contents_digest(&bytes));
        }
        lines.push(line);
    }

    // Symbols in symbol-table order: section symbols, locals, globals.
    let mut globals = Vec::new();
    for (index, sym) in symtab.enumerate().skip(1) {
        let section = match sym.st_shndx(e) {
            elf::SHN_UNDEF => "UND".to_owned(),
            elf::SHN_ABS => "ABS".to_owned(),
            elf::SHN_COMMON => "COM".to_owned(),
            _ => {
                let s = symtab
                    .symbol_section(e, sym, index)
                    .ok()
                    .flatten()
                    .map_or(0, |s| s.0);
                name_of(s)
            }
        };
        let bind = sym.st_bind().0;
        let line = if sym.st_type() == elf::STT_SECTION {
            format!("section-symbol {section}")
        } else {
            format!(
                "{} {} type={} vis={} other={:#x} in={section} value={:#x} size={:#x}",
                if bind == elf::STB_LOCAL.0 {
                    "local"
                } else {
                    "global"
                },
                String::from_utf8_lossy(symtab.symbol_name(e, sym).unwrap_or(b"?")),
                sym.st_type().0,
                sym.st_other().0 & 3,
                sym.st_other().0 & !3,
                Into::<u64>::into(sym.st_value(e)),
                Into::<u64>::into(sym.st_size(e)),
            ) + &format!(" bind={bind}")
        };
        if bind == elf::STB_LOCAL.0 {
            lines.push(line);
        } else {
            globals.push(line);
        }
    }
    lines.extend(globals);

    // Relocations, by target section.
    for (_, shdr) in sections.enumerate() {
        let target = shdr.sh_info(e) as usize;
        let t = shdr.sh_type(e);
        if t != elf::SHT_REL && t != elf::SHT_RELA {
            continue;
        }
        let target_name = name_of(target);
        let target_data = sections
            .section(SectionIndex(target))
            .ok()
            .and_then(|s| s.data(e, data).ok())
            .unwrap_or(&[]);
        if let Some((relas, _)) = shdr.rela(e, data).expect("rela") {
            for r in relas {
                let offset: u64 = r.r_offset(e).into();
                lines.push(format!(
                    "reloc {target_name}+{offset:#x} type={} sym={} addend={:#x}",
                    r.r_type(e, false).0,
                    sym_desc(r.r_sym(e, false) as usize),
                    Into::<i64>::into(r.r_addend(e)),
                ));
            }
        }
        if let Some((rels, _)) = shdr.rel(e, data).expect("rel") {
            for r in rels {
                let offset: u64 = r.r_offset(e).into();
                let field = target_data
                    .get(offset as usize..offset as usize + 4)
                    .map_or(String::new(), hex);
                lines.push(format!(
                    "reloc {target_name}+{offset:#x} type={} sym={} implicit={field}",
                    r.r_type(e).0,
                    sym_desc(r.r_sym(e) as usize),
                ));
            }
        }
    }
    lines
}

/// The build-id descriptor stored in `.note.gnu.build-id`, if any.
pub fn stored_build_id(data: &[u8]) -> Option<Vec<u8>> {
    let file = object::read::File::parse(data).ok()?;
    use object::{Object, ObjectSection};
    let note = file
        .section_by_name(".note.gnu.build-id")?
        .data()
        .ok()?
        .to_vec();
    note.get(16..36).map(<[u8]>::to_vec)
}

/// Recomputes a relocatable file's build-id the way GNU ld hashes it:
/// the ELF header with e_phoff/e_shoff zeroed, then every section header
/// with sh_offset zeroed followed by its contents, except NOBITS and the
/// symbol and string tables, with the build-id note's bytes as zeros.
pub fn recompute_build_id(data: &[u8]) -> [u8; 20] {
    let is_64 = data[4] == 2;
    let u16_at = |at: usize| u16::from_le_bytes([data[at], data[at + 1]]) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().expect("4")) as u64;
    let u64_at = |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().expect("8"));
    let word = |at: usize| if is_64 { u64_at(at) } else { u32_at(at) };
    let (ehsize, phoff_at, shoff_at, shentsize_at) = if is_64 {
        (64, 32, 40, 58)
    } else {
        (52, 28, 32, 46)
    };
    let shoff = word(shoff_at) as usize;
    let shentsize = u16_at(shentsize_at);
    let mut shnum = u16_at(shentsize_at + 2);
    let mut shstrndx = u16_at(shentsize_at + 4);
    let field =
        |h: usize, f64: usize, f32: usize| if is_64 { word(h + f64) } else { word(h + f32) };
    if shnum == 0 {
        shnum = field(shoff, 32, 20) as usize;
    }
    if shstrndx == 0xffff {
        shstrndx = u32_at(shoff + if is_64 { 40 } else { 24 }) as usize;
    }
    let (type_at, off_f64, off_f32, size_f64, size_f32) = (4, 24, 16, 32, 20);
    let shstr_off = field(shoff + shstrndx * shentsize, off_f64, off_f32) as usize;
    let mut hasher = Sha1::new();
    let mut ehdr = data[..ehsize].to_vec();
    let len = if is_64 { 8 } else { 4 };
    ehdr[phoff_at..phoff_at + len].fill(0);
    ehdr[shoff_at..shoff_at + len].fill(0);
    hasher.update(&ehdr);
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        let mut raw = data[h..h + shentsize].to_vec();
        let off_at = if is_64 { off_f64 } else { off_f32 };
        raw[off_at..off_at + len].fill(0);
        hasher.update(&raw);
        let sh_type = u32_at(h + type_at) as u32;
        if i == 0
            || [
                elf::SHT_NOBITS.0,
                elf::SHT_SYMTAB.0,
                elf::SHT_STRTAB.0,
                elf::SHT_SYMTAB_SHNDX.0,
            ]
            .contains(&sh_type)
        {
            continue;
        }
        let off = field(h, off_f64, off_f32) as usize;
        let size = field(h, size_f64, size_f32) as usize;
        let name_off = u32_at(h) as usize;
        let name_end = data[shstr_off + name_off..]
            .iter()
            .position(|&b| b == 0)
            .expect("NUL");
        if &data[shstr_off + name_off..shstr_off + name_off + name_end] == b".note.gnu.build-id" {
            hasher.update(vec![0u8; size]);
        } else {
            hasher.update(&data[off..off + size]);
        }
    }
    hasher.finalize().into()
}
