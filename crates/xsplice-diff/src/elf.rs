//! Reading one relocatable object into the model the diff works on.
//!
//! The `object` crate's raw ELF structures do the parsing; this module only
//! copies out what the comparison needs (sections with their relocations,
//! symbols, the file symbol) and links them together: a relocation section
//! to its base, a section to its section symbol and to the one symbol it is
//! dedicated to (the "bundled" symbol of `-ffunction-sections` and
//! `-fdata-sections`).
//!
//! arm32 objects use SHT_REL: each addend is read out of its field here
//! ([`crate::arm32`]), so that the rest of the diff sees one kind of
//! relocation, and Thumb functions have the Thumb bit of their value
//! cleared (kept in [`Symbol::thumb`]) so that values are offsets.

use object::elf;
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, Sym};
use object::{Endianness, SectionIndex};
use xsplice_abi::Arch;

use crate::{DiffError, arm32};

/// One object file, as the diff sees it.
pub(crate) struct Object<'d> {
    pub path: String,
    pub arch: Arch,
    pub is_64: bool,
    /// `e_ident` bytes 4..16, `e_type`, `e_machine`, `e_version`, `e_flags`:
    /// what must be equal between the two objects.
    pub header_key: (Vec<u8>, u16, u16, u32, u32),
    pub osabi: u8,
    pub abi_version: u8,
    pub e_flags: u32,
    pub sections: Vec<Section<'d>>,
    pub symbols: Vec<Symbol<'d>>,
    /// The name of the first `STT_FILE` symbol: Xen's `file#` prefix.
    pub file: Option<&'d [u8]>,
    /// Its relocations are SHT_REL (arm32): addends live in the fields.
    pub rel: bool,
}

pub(crate) struct Section<'d> {
    pub name: &'d [u8],
    pub sh_type: u32,
    pub flags: u64,
    pub addralign: u64,
    pub entsize: u64,
    pub size: u64,
    pub data: &'d [u8],
    /// For a relocation section: the section it applies to.
    pub base: Option<usize>,
    /// For a section with relocations: its relocation section.
    pub rela: Option<usize>,
    /// The relocations of a relocation section.
    pub relocs: Vec<Reloc>,
    /// The section's `STT_SECTION` symbol, if the compiler wrote one.
    pub secsym: Option<usize>,
    /// The function or object the section is dedicated to.
    pub bundled: Option<usize>,
    /// Member of a `SHT_GROUP` (COMDAT).
    pub grouped: bool,
}

impl Section<'_> {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }
    pub fn is_alloc(&self) -> bool {
        self.flags & elf::SHF_ALLOC.0 != 0
    }
    pub fn is_exec(&self) -> bool {
        self.flags & elf::SHF_EXECINSTR.0 != 0
    }
    pub fn is_strings(&self) -> bool {
        self.flags & elf::SHF_STRINGS.0 != 0
    }
    pub fn is_merge(&self) -> bool {
        self.flags & elf::SHF_MERGE.0 != 0
    }
    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS.0
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Symbol<'d> {
    pub name: &'d [u8],
    pub bind: u8,
    pub kind: u8,
    pub other: u8,
    /// Section index, when the symbol is defined in a section.
    pub section: Option<usize>,
    /// The raw `st_shndx` (for SHN_ABS, SHN_COMMON, SHN_UNDEF).
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
    /// An arm32 Thumb function: bit 0 of the value in the file, cleared
    /// in `value`.
    pub thumb: bool,
}

impl Symbol<'_> {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }
    pub fn is_local(&self) -> bool {
        self.bind == elf::STB_LOCAL.0
    }
    pub fn is_func(&self) -> bool {
        self.kind == elf::STT_FUNC.0
    }
    pub fn is_object(&self) -> bool {
        self.kind == elf::STT_OBJECT.0
    }
    pub fn is_section(&self) -> bool {
        self.kind == elf::STT_SECTION.0
    }
    pub fn is_file(&self) -> bool {
        self.kind == elf::STT_FILE.0
    }
    /// A compiler label (`.LC0`, `.L.str`): never correlated by name.
    pub fn is_label(&self) -> bool {
        self.name.starts_with(b".L")
    }
    /// An ARM mapping symbol (`$a`, `$t`, `$d`, `$x`, or one of those
    /// followed by `.` and anything): it marks where code of one kind or
    /// data starts, and is never correlated or referenced.
    pub fn is_mapping(&self) -> bool {
        match self.name {
            [b'$', k, rest @ ..] => {
                matches!(k, b'a' | b't' | b'd' | b'x') && (rest.is_empty() || rest[0] == b'.')
            }
            _ => false,
        }
    }
    /// A function-scope static (`count.1`, `__func__.0`): a local object
    /// whose name carries the compiler's number.
    pub fn is_static_local(&self) -> bool {
        self.is_local() && self.is_object() && self.name.contains(&b'.')
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reloc {
    pub offset: u64,
    pub r_type: u32,
    pub sym: usize,
    pub addend: i64,
}

/// Parses `data` (named `path` in messages).
pub(crate) fn parse<'d>(path: &str, data: &'d [u8]) -> Result<Object<'d>, DiffError> {
    if data.len() < 16 || &data[..4] != b"\x7fELF" {
        return Err(DiffError::malformed(path, "not an ELF file"));
    }
    match data[4] {
        2 => parse_class::<elf::FileHeader64<Endianness>>(path, data),
        1 => parse_class::<elf::FileHeader32<Endianness>>(path, data),
        c => Err(DiffError::malformed(path, format!("unknown ELF class {c}"))),
    }
}

fn parse_class<'d, Elf>(path: &str, data: &'d [u8]) -> Result<Object<'d>, DiffError>
where
    Elf: FileHeader<Endian = Endianness>,
{
    let bad = |e: object::read::Error| DiffError::malformed(path, e.to_string().to_lowercase());
    let header = Elf::parse(data).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    if endian != Endianness::Little {
        return Err(DiffError::unsupported(path, "big-endian ELF"));
    }
    if header.e_type(endian).0 != elf::ET_REL.0 {
        return Err(DiffError::unsupported(
            path,
            "not a relocatable object (ET_REL)",
        ));
    }
    let machine = header.e_machine(endian).0;
    let arch = Arch::from_e_machine(machine)
        .ok_or_else(|| DiffError::unsupported(path, format!("ELF machine {machine}")))?;
    let is_64 = header.is_type_64();
    if is_64 != (arch.pointer_size() == 8) {
        return Err(DiffError::malformed(
            path,
            "ELF class does not match machine",
        ));
    }
    let ident = header.e_ident();
    let header_key = (
        data[4..16].to_vec(),
        header.e_type(endian).0,
        machine,
        header.e_version(endian),
        header.e_flags(endian).0,
    );

    let table = header.sections(endian, data).map_err(bad)?;
    let mut sections = Vec::with_capacity(table.len());
    let mut symtab = None;
    for (index, shdr) in table.enumerate() {
        let name = if index.0 == 0 {
            &[][..]
        } else {
            table.section_name(endian, shdr).map_err(bad)?
        };
        let sh_type = shdr.sh_type(endian).0;
        let contents = if sh_type == elf::SHT_NOBITS.0 || index.0 == 0 {
            &[][..]
        } else {
            shdr.data(endian, data).map_err(bad)?
        };
        if sh_type == elf::SHT_SYMTAB.0 {
            symtab = Some(index);
        }
        if sh_type == elf::SHT_REL.0 && arch != Arch::Arm32 {
            return Err(DiffError::unsupported(
                path,
                format!("SHT_REL relocations on {arch} (only arm32 uses them)"),
            ));
        }
        // The output keeps each section's alignment and pads its file
        // offset to it: that needs a power of two (as ELF requires), and
        // no more than a payload may weigh (Xen's 2 MiB, C-05), since the
        // padding alone would make a payload Xen refuses.
        let addralign: u64 = shdr.sh_addralign(endian).into();
        let most = xsplice_abi::limits::MAX_PAYLOAD_SIZE as u64;
        if addralign > 1 && (!addralign.is_power_of_two() || addralign > most) {
            return Err(DiffError::malformed(
                path,
                format!(
                    "section {} has alignment {addralign:#x}, not a power of two up to 2 MiB (Xen's payload limit)",
                    String::from_utf8_lossy(name)
                ),
            ));
        }
        sections.push(Section {
            name,
            sh_type,
            flags: shdr.sh_flags(endian).0,
            addralign,
            entsize: shdr.sh_entsize(endian).into(),
            size: shdr.sh_size(endian).into(),
            data: contents,
            base: None,
            rela: None,
            relocs: Vec::new(),
            secsym: None,
            bundled: None,
            grouped: false,
        });
    }
    let Some(symtab) = symtab else {
        return Err(DiffError::malformed(path, "no symbol table"));
    };
    let syms = table
        .symbol_table_by_index(endian, data, symtab)
        .map_err(bad)?;
    let mut symbols = Vec::with_capacity(syms.len());
    let mut file = None;
    for (i, s) in syms.enumerate() {
        let name = syms.symbol_name(endian, s).map_err(bad)?;
        let section = syms
            .symbol_section(endian, s, i)
            .map_err(bad)?
            .map(|SectionIndex(n)| n);
        if let Some(n) = section
            && n >= sections.len()
        {
            return Err(DiffError::malformed(
                path,
                format!("symbol {} has section index {n} out of range", i.0),
            ));
        }
        let sym = Symbol {
            name,
            bind: s.st_bind().0,
            kind: s.st_type().0,
            other: s.st_other().0,
            section,
            shndx: s.st_shndx(endian).0,
            value: s.st_value(endian).into(),
            size: s.st_size(endian).into(),
            thumb: false,
        };
        let mut sym = sym;
        if arch == Arch::Arm32 && sym.is_func() && sym.value & 1 == 1 {
            sym.value &= !1;
            sym.thumb = true;
        }
        if sym.is_file() && file.is_none() && !name.is_empty() {
            file = Some(name);
        }
        symbols.push(sym);
    }

    let mut rel = false;
    for (index, shdr) in table.enumerate() {
        let i = index.0;
        if let Some((relas, link)) = shdr.rela(endian, data).map_err(bad)? {
            // `rela` returns the link (the symbol table); the base is sh_info.
            let base = reloc_base(path, &sections, i, link.0 == symtab.0, shdr.sh_info(endian))?;
            let mut relocs = Vec::with_capacity(relas.len());
            for r in relas {
                let sym = r.r_sym(endian, false) as usize;
                check_reloc_symbol(path, &sections[i], sym, symbols.len())?;
                relocs.push(Reloc {
                    offset: r.r_offset(endian).into(),
                    r_type: r.r_type(endian, false).0,
                    sym,
                    addend: r.r_addend(endian).into(),
                });
            }
            sections[i].relocs = relocs;
            sections[i].base = Some(base);
            sections[base].rela = Some(i);
        }
        if let Some((rels, link)) = shdr.rel(endian, data).map_err(bad)? {
            let base = reloc_base(path, &sections, i, link.0 == symtab.0, shdr.sh_info(endian))?;
            let mut relocs = Vec::with_capacity(rels.len());
            for r in rels {
                let sym = r.r_sym(endian) as usize;
                check_reloc_symbol(path, &sections[i], sym, symbols.len())?;
                let offset: u64 = r.r_offset(endian).into();
                let r_type = r.r_type(endian).0;
                let target = &sections[base];
                // A type whose field the diff cannot decode keeps its bytes
                // as they are: compared as bytes, written unchanged.
                let addend = if arm32::knows(r_type) && !target.is_nobits() {
                    let field = usize::try_from(offset)
                        .ok()
                        .and_then(|o| target.data.get(o..));
                    match field.and_then(|f| arm32::read(r_type, f)) {
                        Some(a) => a,
                        None => {
                            return Err(DiffError::malformed(
                                path,
                                format!(
                                    "relocation at {offset:#x} of `{}` lies outside `{}`",
                                    sections[i].name(),
                                    target.name()
                                ),
                            ));
                        }
                    }
                } else {
                    0
                };
                relocs.push(Reloc {
                    offset,
                    r_type,
                    sym,
                    addend,
                });
            }
            rel = true;
            sections[i].relocs = relocs;
            sections[i].base = Some(base);
            sections[base].rela = Some(i);
        }
        if shdr.sh_type(endian).0 == elf::SHT_GROUP.0 {
            let words = sections[i].data;
            // The first word is the group flags; the rest are member indices.
            for w in words.chunks_exact(4).skip(1) {
                let m = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize;
                if let Some(s) = sections.get_mut(m) {
                    s.grouped = true;
                }
            }
        }
    }

    for (i, s) in symbols.iter().enumerate() {
        let Some(sec) = s.section else { continue };
        if s.is_section() {
            sections[sec].secsym.get_or_insert(i);
        } else if (s.is_func() || s.is_object())
            && s.value == 0
            && sections[sec].bundled.is_none()
            && is_bundle_name(sections[sec].name, s.name)
        {
            sections[sec].bundled = Some(i);
        }
    }

    Ok(Object {
        path: path.to_owned(),
        arch,
        is_64,
        header_key,
        osabi: ident.os_abi.0,
        abi_version: ident.abi_version,
        e_flags: header.e_flags(endian).0,
        sections,
        symbols,
        file,
        rel,
    })
}

/// The section prefixes that dedicate a section to one symbol (§4).
const BUNDLE_PREFIXES: [&[u8]; 10] = [
    b".text.",
    b".text.unlikely.",
    b".text.hot.",
    b".data.",
    b".data.rel.",
    b".data.rel.local.",
    b".data.rel.ro.",
    b".data.rel.ro.local.",
    b".rodata.",
    b".bss.",
];

/// The section relocation section `i` applies to (its `sh_info`), once its
/// link is known to be the symbol table (`links_symtab`).
fn reloc_base(
    path: &str,
    sections: &[Section<'_>],
    i: usize,
    links_symtab: bool,
    info: u32,
) -> Result<usize, DiffError> {
    if !links_symtab {
        return Err(DiffError::malformed(
            path,
            format!("`{}` does not use the symbol table", sections[i].name()),
        ));
    }
    let base = info as usize;
    if base == 0 || base >= sections.len() {
        return Err(DiffError::malformed(
            path,
            format!("`{}` applies to no section", sections[i].name()),
        ));
    }
    Ok(base)
}

/// Refuses a relocation of `section` that names symbol `sym` of a table of
/// `count`.
fn check_reloc_symbol(
    path: &str,
    section: &Section<'_>,
    sym: usize,
    count: usize,
) -> Result<(), DiffError> {
    if sym >= count {
        return Err(DiffError::malformed(
            path,
            format!(
                "relocation in `{}` names symbol {sym} out of range",
                section.name()
            ),
        ));
    }
    Ok(())
}

fn is_bundle_name(section: &[u8], symbol: &[u8]) -> bool {
    BUNDLE_PREFIXES.iter().any(|p| {
        section.len() == p.len() + symbol.len()
            && section.starts_with(p)
            && section.ends_with(symbol)
    })
}

/// A name with every `.<digits>` component removed: GCC renumbers clones
/// and statics (`foo.isra.0`, `count.3`) from one build to the next.
pub(crate) fn normalized(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    for (i, part) in name.split(|&c| c == b'.').enumerate() {
        if i > 0 && !part.is_empty() && part.iter().all(u8::is_ascii_digit) {
            continue;
        }
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(part);
    }
    out
}

/// The parent of a compiler-split sub-function (`foo.cold`, `foo.part.0`,
/// `foo.isra.0`, `foo.constprop.0`), by name (§5).
pub(crate) fn parent_name(name: &[u8]) -> Option<&[u8]> {
    const SUFFIXES: [&[u8]; 4] = [b".cold", b".part.", b".isra.", b".constprop."];
    SUFFIXES
        .iter()
        .filter_map(|s| name.windows(s.len()).position(|w| w == *s))
        .min()
        .filter(|&p| p > 0)
        .map(|p| &name[..p])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_numbered_names() {
        let check = |name: &str, expect: &str| {
            assert_eq!(
                String::from_utf8(normalized(name.as_bytes())).unwrap(),
                expect
            );
        };
        check("foo", "foo");
        check("foo.isra.0", "foo.isra");
        check("__func__.12", "__func__");
        check(".rodata.str1.1", ".rodata.str1");
        check("a.b.c", "a.b.c");
    }

    #[test]
    fn finds_parents_of_split_functions() {
        let check = |name: &str, expect: Option<&str>| {
            assert_eq!(parent_name(name.as_bytes()), expect.map(str::as_bytes));
        };
        check("foo.cold", Some("foo"));
        check("foo.part.0", Some("foo"));
        check("foo.isra.0.cold", Some("foo"));
        check("foo", None);
        check(".cold", None);
    }

    #[test]
    fn knows_mapping_symbols() {
        let check = |name: &str| {
            Symbol {
                name: name.as_bytes(),
                bind: 0,
                kind: 0,
                other: 0,
                section: None,
                shndx: 0,
                value: 0,
                size: 0,
                thumb: false,
            }
            .is_mapping()
        };
        assert!(check("$a") && check("$t") && check("$d") && check("$x") && check("$d.12"));
        assert!(!check("$") && !check("$ab") && !check("$v") && !check("a$d"));
    }

    #[test]
    fn bundles_only_dedicated_sections() {
        assert!(is_bundle_name(b".text.foo", b"foo"));
        assert!(is_bundle_name(b".text.unlikely.foo", b"foo"));
        assert!(is_bundle_name(b".bss.count.1", b"count.1"));
        assert!(!is_bundle_name(b".text", b""));
        assert!(!is_bundle_name(b".text.foobar", b"foo"));
    }
}
