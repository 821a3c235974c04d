//! Zero-copy reading of ELF headers, sections and the `.symtab` symbol table.
//!
//! nm needs a handful of fields per symbol, read hundreds of thousands of
//! times, and it must classify every symbol exactly the way GNU BFD does
//! (see [`Symbol::letter`]), including files a general-purpose ELF library
//! would reject or normalise. So the records are decoded through `object`'s
//! raw structs (`object::elf::FileHeader64`, `SectionHeader64`, `Sym64` and
//! their 32-bit twins, whose fields are byte arrays that may sit at any
//! offset), which check nothing and normalise nothing, and BFD's tolerance
//! rules are applied on top here. The section table and the symbol table
//! are borrowed from the file as typed slices, nothing is copied. Every
//! offset read from the file is checked against the file's length, so
//! malformed input gives an [`Error`] and never a panic.

use std::mem::size_of;

use object::elf;
use object::pod::{Pod, from_bytes, slice_from_bytes};
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::{Endianness, U32};

use crate::Error;

/// The section index of x86-64's large common symbols, which `object::elf`
/// does not name.
pub(crate) const SHN_X86_64_LCOMMON: u16 = 0xff02;

/// ELF class: decides the width of addresses in nm's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Elf32,
    Elf64,
}

impl Class {
    /// Hex digits nm uses for a value: 8 for ELF32, 16 for ELF64.
    pub fn hex_width(self) -> usize {
        match self {
            Class::Elf32 => 8,
            Class::Elf64 => 16,
        }
    }
}

/// Byte order of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

/// One section header, with its name resolved through `.shstrtab`.
#[derive(Debug, Clone, Copy)]
pub struct Section<'data> {
    pub index: u32,
    /// Name bytes (empty when the name cannot be resolved).
    pub name: &'data [u8],
    /// Offset of the name in the section-name string table.
    pub sh_name: u32,
    pub sh_type: u32,
    pub sh_flags: u64,
    pub sh_addr: u64,
    pub sh_offset: u64,
    pub sh_size: u64,
    pub sh_link: u32,
    pub sh_info: u32,
    pub sh_entsize: u64,
}

/// Where a symbol lives, after SHN_XINDEX resolution and GNU BFD's rules
/// (reserved or dangling indexes count as absolute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolSection {
    Undefined,
    Absolute,
    Common,
    /// Index into the section header table.
    Section(u32),
}

/// One symbol of `.symtab`, with everything nm and lookups need.
#[derive(Debug, Clone, Copy)]
pub struct Symbol<'data> {
    /// Index in the symbol table (entry 0 is never produced).
    pub index: u32,
    /// Name bytes as stored (STT_SECTION symbols without a name take their
    /// section's name, as BFD does).
    pub name: &'data [u8],
    /// The value nm prints: st_value, plus the section's sh_addr in ET_REL
    /// files, st_size for common symbols, Thumb bit cleared on ARM code.
    pub value: u64,
    /// The raw st_value.
    pub st_value: u64,
    /// st_size.
    pub size: u64,
    /// st_info >> 4.
    pub binding: u8,
    /// st_info & 0xf.
    pub kind: u8,
    /// st_other (visibility in the low two bits).
    pub st_other: u8,
    /// The raw st_shndx.
    pub st_shndx: u16,
    pub section: SymbolSection,
    /// Name of the symbol's section (empty unless `section` is a section).
    pub section_name: &'data [u8],
    /// For local symbols, the name of the STT_FILE symbol before them.
    pub file_hint: Option<&'data [u8]>,
    /// The GNU nm type letter (`T`, `t`, `U`, `W`, ...).
    pub letter: u8,
    /// True when the name is missing from the string table (nm prints
    /// `(null)`).
    pub bad_name: bool,
    /// The raw st_name offset.
    pub st_name: u32,
}

impl Symbol<'_> {
    /// Defined means: not in SHN_UNDEF (common symbols are defined).
    pub fn is_defined(&self) -> bool {
        self.section != SymbolSection::Undefined
    }

    /// STT_FILE and STT_SECTION symbols: BFD marks them as debugging, so nm
    /// shows them only with `-a`, and lookups ignore them.
    pub fn is_debugging(&self) -> bool {
        self.kind == elf::STT_FILE.0 || self.kind == elf::STT_SECTION.0
    }

    /// The name as text, lossy for non-UTF-8 bytes.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }

    /// `file#name` for statics with a file hint, `name` otherwise: the
    /// spelling lookups accept and errors use.
    pub fn qualified_name(&self) -> String {
        match self.file_hint {
            Some(file) if self.binding == elf::STB_LOCAL.0 => format!(
                "{}#{}",
                String::from_utf8_lossy(file),
                String::from_utf8_lossy(self.name)
            ),
            _ => self.name_lossy(),
        }
    }
}

/// How a section classifies the symbols in it (pre-computed per section).
#[derive(Debug, Clone, Copy)]
struct SectionClass {
    /// BFD makes no section for it: its symbols count as absolute.
    no_bfd_section: bool,
    /// Lower-case nm letter for a symbol in it.
    letter: u8,
}

/// A parsed ELF file: header, section table and symbol table, borrowing
/// the file's bytes.
#[derive(Debug)]
pub struct ElfFile<'data> {
    data: &'data [u8],
    class: Class,
    endian: Endianness,
    e_type: u16,
    e_machine: u16,
    sections: Vec<Section<'data>>,
    classes: Vec<SectionClass>,
    symtab: Option<SymbolTable<'data>>,
    /// Why `.symtab` exists but cannot be read (its bytes lie past the
    /// end of the file, a bad entry size or string-table link).
    symtab_error: Option<Error>,
}

/// The `.symtab` entries, borrowed from the file as `object`'s raw records.
#[derive(Debug, Clone, Copy)]
enum Entries<'data> {
    Elf32(&'data [elf::Sym32<Endianness>]),
    Elf64(&'data [elf::Sym64<Endianness>]),
}

#[derive(Debug, Clone, Copy)]
struct SymbolTable<'data> {
    entries: Entries<'data>,
    /// `None` when the string table lies past the end of the file: BFD
    /// then names every symbol `(null)`.
    strtab: Option<&'data [u8]>,
    strtab_index: u32,
    /// The SHT_SYMTAB_SHNDX words, one per symbol (fewer when the section
    /// is short: a missing word reads as 0, as in BFD).
    shndx: &'data [U32<Endianness>],
    count: usize,
}

/// The header fields the reader uses, whatever the class.
struct Header {
    e_type: u16,
    e_machine: u16,
    shoff: u64,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
}

/// The fields of one `Elf_Sym`, widened, whatever the class.
#[derive(Clone, Copy)]
struct RawSym {
    st_name: u32,
    st_value: u64,
    st_size: u64,
    st_info: elf::SymbolInfo,
    st_other: u8,
    st_shndx: u16,
}

impl RawSym {
    #[inline]
    fn of<S: Sym<Endian = Endianness>>(s: &S, endian: Endianness) -> Self {
        RawSym {
            st_name: s.st_name(endian),
            st_value: s.st_value(endian).into(),
            st_size: s.st_size(endian).into(),
            st_info: s.st_info(),
            st_other: s.st_other().0,
            st_shndx: s.st_shndx(endian).0,
        }
    }
}

/// True when `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(&elf::ELFMAG)
}

fn slice(data: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    data.get(start..start.checked_add(len)?)
}

/// The whole records of type `T` at the start of `bytes` (a trailing
/// partial record is left out). `object`'s raw ELF records are byte arrays,
/// so they sit at any offset and the cast cannot fail.
fn records<T: Pod>(bytes: &[u8]) -> &[T] {
    slice_from_bytes(bytes, bytes.len() / size_of::<T>()).map_or(&[], |(records, _)| records)
}

/// NUL-terminated string at `offset` (to the end of the table when the
/// terminator is missing, as BFD terminates tables itself).
fn cstr(table: &[u8], offset: usize) -> Option<&[u8]> {
    let rest = table.get(offset..)?;
    if offset >= table.len() {
        return None;
    }
    // CStr's search is std's word-at-a-time memchr, much faster than a
    // byte loop on long mangled names.
    Some(match std::ffi::CStr::from_bytes_until_nul(rest) {
        Ok(c) => c.to_bytes(),
        Err(_) => rest,
    })
}

fn header<H: FileHeader<Endian = Endianness>>(
    data: &[u8],
    endian: Endianness,
) -> Result<Header, Error> {
    let (h, _) = from_bytes::<H>(data).map_err(|()| Error::TruncatedHeader {
        len: data.len(),
        need: size_of::<H>(),
    })?;
    Ok(Header {
        e_type: h.e_type(endian).0,
        e_machine: h.e_machine(endian).0,
        shoff: h.e_shoff(endian).into(),
        shentsize: h.e_shentsize(endian),
        shnum: h.e_shnum(endian),
        shstrndx: h.e_shstrndx(endian).0,
    })
}

fn section_of<'data, S: SectionHeader<Endian = Endianness>>(
    h: &S,
    endian: Endianness,
    index: u32,
) -> Section<'data> {
    Section {
        index,
        name: b"",
        sh_name: h.sh_name(endian),
        sh_type: h.sh_type(endian).0,
        sh_flags: h.sh_flags(endian).0,
        sh_addr: h.sh_addr(endian).into(),
        sh_offset: h.sh_offset(endian).into(),
        sh_size: h.sh_size(endian).into(),
        sh_link: h.sh_link(endian),
        sh_info: h.sh_info(endian),
        sh_entsize: h.sh_entsize(endian).into(),
    }
}

/// The section header table of a file of header type `H`, after the
/// checks BFD makes: the entry size must be the class's, and section 0
/// holds the real count and string-table index when they do not fit the
/// header fields. Returns the sections and the string-table index.
fn sections<'data, H: FileHeader<Endian = Endianness>>(
    data: &'data [u8],
    endian: Endianness,
    h: &Header,
) -> Result<(Vec<Section<'data>>, u32), Error> {
    let expected = size_of::<H::SectionHeader>() as u16;
    if h.shentsize != expected {
        return Err(Error::BadSectionHeaderSize {
            entsize: h.shentsize,
            expected,
        });
    }
    let headers_past_end = |count: u64| Error::SectionHeadersPastEnd {
        offset: h.shoff,
        count,
        entsize: u64::from(h.shentsize),
        len: data.len(),
    };
    let first = slice(data, h.shoff, u64::from(h.shentsize))
        .and_then(|raw| records::<H::SectionHeader>(raw).first())
        .ok_or_else(|| headers_past_end(1))?;
    let count = if h.shnum == 0 {
        first.sh_size(endian).into()
    } else {
        u64::from(h.shnum)
    };
    let shstrndx = if h.shstrndx == elf::SHN_XINDEX.0 {
        first.sh_link(endian)
    } else {
        u32::from(h.shstrndx)
    };
    let table = count
        .checked_mul(u64::from(h.shentsize))
        .and_then(|size| slice(data, h.shoff, size))
        .ok_or_else(|| headers_past_end(count))?;
    let sections = records::<H::SectionHeader>(table)
        .iter()
        .enumerate()
        .map(|(i, raw)| section_of(raw, endian, i as u32))
        .collect();
    Ok((sections, shstrndx))
}

impl<'data> ElfFile<'data> {
    /// Parses the ELF header, the section table and (if present) the
    /// `.symtab` symbol table. Nothing is copied.
    pub fn parse(data: &'data [u8]) -> Result<Self, Error> {
        let [_, _, _, _, ei_class, ei_data, ..] = *data else {
            return Err(Error::NotElf);
        };
        if !is_elf(data) {
            return Err(Error::NotElf);
        }
        let class = match elf::FileClass(ei_class) {
            elf::ELFCLASS32 => Class::Elf32,
            elf::ELFCLASS64 => Class::Elf64,
            _ => return Err(Error::NotElf),
        };
        let endian = match elf::DataEncoding(ei_data) {
            elf::ELFDATA2LSB => Endianness::Little,
            elf::ELFDATA2MSB => Endianness::Big,
            _ => return Err(Error::NotElf),
        };
        let h = match class {
            Class::Elf32 => header::<elf::FileHeader32<Endianness>>(data, endian)?,
            Class::Elf64 => header::<elf::FileHeader64<Endianness>>(data, endian)?,
        };
        let mut file = ElfFile {
            data,
            class,
            endian,
            e_type: h.e_type,
            e_machine: h.e_machine,
            sections: Vec::new(),
            classes: Vec::new(),
            symtab: None,
            symtab_error: None,
        };
        if h.shoff == 0 {
            return Ok(file);
        }
        let (sections, shstrndx) = match class {
            Class::Elf32 => sections::<elf::FileHeader32<Endianness>>(data, endian, &h)?,
            Class::Elf64 => sections::<elf::FileHeader64<Endianness>>(data, endian, &h)?,
        };
        file.sections = sections;
        // Names through .shstrtab; an unusable table leaves names empty.
        let names = file
            .sections
            .get(shstrndx as usize)
            .filter(|s| s.sh_type != elf::SHT_NOBITS.0)
            .and_then(|s| slice(data, s.sh_offset, s.sh_size));
        if let Some(names) = names {
            for s in &mut file.sections {
                s.name = cstr(names, s.sh_name as usize).unwrap_or(b"");
            }
        }
        match file.find_symtab() {
            Ok(t) => file.symtab = t,
            Err(e) => file.symtab_error = Some(e),
        }
        file.classes = file.classify_sections(shstrndx);
        Ok(file)
    }

    fn find_symtab(&self) -> Result<Option<SymbolTable<'data>>, Error> {
        let Some(sym) = self
            .sections
            .iter()
            .find(|s| s.sh_type == elf::SHT_SYMTAB.0)
        else {
            return Ok(None);
        };
        let expected = match self.class {
            Class::Elf32 => size_of::<elf::Sym32<Endianness>>(),
            Class::Elf64 => size_of::<elf::Sym64<Endianness>>(),
        } as u64;
        if sym.sh_entsize != expected {
            return Err(Error::BadSymbolEntrySize {
                index: sym.index,
                entsize: sym.sh_entsize,
                expected,
            });
        }
        let bytes = self.section_data_checked(sym)?;
        let (entries, count) = match self.class {
            Class::Elf32 => {
                let e = records(bytes);
                (Entries::Elf32(e), e.len())
            }
            Class::Elf64 => {
                let e = records(bytes);
                (Entries::Elf64(e), e.len())
            }
        };
        let strsec = self
            .sections
            .get(sym.sh_link as usize)
            .filter(|s| s.sh_type == elf::SHT_STRTAB.0)
            .ok_or(Error::BadStringTableLink {
                index: sym.index,
                link: sym.sh_link,
            })?;
        let strtab = self.section_data(strsec);
        let shndx = match self
            .sections
            .iter()
            .find(|s| s.sh_type == elf::SHT_SYMTAB_SHNDX.0 && s.sh_link == sym.index)
        {
            Some(s) => records(self.section_data_checked(s)?),
            None => &[],
        };
        Ok(Some(SymbolTable {
            entries,
            strtab,
            strtab_index: strsec.index,
            shndx,
            count,
        }))
    }

    fn section_data_checked(&self, s: &Section<'data>) -> Result<&'data [u8], Error> {
        if s.sh_type == elf::SHT_NOBITS.0 {
            return Ok(&[]);
        }
        slice(self.data, s.sh_offset, s.sh_size).ok_or_else(|| Error::SectionPastEnd {
            index: s.index,
            name: String::from_utf8_lossy(s.name).into_owned(),
            offset: s.sh_offset,
            size: s.sh_size,
            len: self.data.len(),
        })
    }

    /// GNU BFD's view of each section, as far as nm's letters go.
    fn classify_sections(&self, shstrndx: u32) -> Vec<SectionClass> {
        let symtab_index = self
            .sections
            .iter()
            .find(|s| s.sh_type == elf::SHT_SYMTAB.0)
            .map(|s| s.index);
        let strtab_index =
            symtab_index.and_then(|i| self.sections.get(i as usize).map(|s| s.sh_link));
        self.sections
            .iter()
            .map(|s| {
                let no_bfd_section = s.index == 0
                    || match elf::SectionType(s.sh_type) {
                        elf::SHT_SYMTAB | elf::SHT_SYMTAB_SHNDX => true,
                        elf::SHT_STRTAB => s.index == shstrndx || Some(s.index) == strtab_index,
                        elf::SHT_REL | elf::SHT_RELA => {
                            Some(s.sh_link) == symtab_index && s.sh_flags & elf::SHF_ALLOC.0 == 0
                        }
                        _ => false,
                    };
                SectionClass {
                    no_bfd_section,
                    letter: section_letter(s),
                }
            })
            .collect()
    }

    pub fn class(&self) -> Class {
        self.class
    }
    pub fn endian(&self) -> Endian {
        match self.endian {
            Endianness::Little => Endian::Little,
            Endianness::Big => Endian::Big,
        }
    }
    /// The byte order, as `object`'s readers take it.
    pub(crate) fn endianness(&self) -> Endianness {
        self.endian
    }
    /// e_type (ET_REL, ET_EXEC, ET_DYN, ...).
    pub fn e_type(&self) -> u16 {
        self.e_type
    }
    /// e_machine (EM_X86_64, EM_AARCH64, EM_ARM, ...).
    pub fn e_machine(&self) -> u16 {
        self.e_machine
    }
    /// The file's bytes.
    pub fn data(&self) -> &'data [u8] {
        self.data
    }
    /// All section headers, index 0 included.
    pub fn sections(&self) -> &[Section<'data>] {
        &self.sections
    }
    /// True when the file has a readable `.symtab` (SHT_SYMTAB) section.
    pub fn has_symtab(&self) -> bool {
        self.symtab.is_some()
    }

    /// Why the file's `.symtab` could not be read, if it could not; the
    /// symbol iterator is then empty.
    pub fn symtab_error(&self) -> Option<&Error> {
        self.symtab_error.as_ref()
    }
    /// Number of `.symtab` entries, the null entry included (0 without a
    /// symbol table).
    pub fn symbol_count(&self) -> usize {
        self.symtab.map_or(0, |t| t.count)
    }

    /// The string table of `.symtab` (its section, and its bytes unless
    /// they lie past the end of the file).
    pub fn symbol_strtab(&self) -> Option<(&Section<'data>, Option<&'data [u8]>)> {
        let t = self.symtab.as_ref()?;
        Some((self.sections.get(t.strtab_index as usize)?, t.strtab))
    }

    /// True when some section other than SHT_NOBITS claims bytes past the
    /// end of the file (GNU nm warns about it and carries on).
    pub fn has_section_past_end(&self) -> bool {
        self.sections.iter().any(|s| {
            s.sh_type != elf::SHT_NOBITS.0 && slice(self.data, s.sh_offset, s.sh_size).is_none()
        })
    }

    /// The symbol at `index` in `.symtab` (without its file hint, which
    /// needs the symbols before it: use [`ElfFile::symbols`] for that).
    pub fn symbol(&self, index: usize) -> Option<Symbol<'data>> {
        self.symbol_at(self.symtab.as_ref()?, index)
    }

    /// The section's bytes in the file (empty for SHT_NOBITS); `None` when
    /// they lie past the end of the file.
    pub fn section_data(&self, s: &Section<'data>) -> Option<&'data [u8]> {
        if s.sh_type == elf::SHT_NOBITS.0 {
            return Some(&[]);
        }
        slice(self.data, s.sh_offset, s.sh_size)
    }

    /// Every `.symtab` symbol except entry 0, in table order.
    pub fn symbols(&self) -> Symbols<'_, 'data> {
        Symbols {
            file: self,
            next: 1,
            file_hint: None,
        }
    }

    /// Hides the target's "special" symbols the way the target's GNU nm
    /// does without `--special-syms` (ARM and AArch64 mapping symbols).
    pub fn is_special(&self, sym: &Symbol<'_>) -> bool {
        let [b'$', kind, ref rest @ ..] = *sym.name else {
            return false;
        };
        let tail_ok = matches!(rest, [] | [b'.', ..]);
        match elf::Machine(self.e_machine) {
            elf::EM_ARM => tail_ok && kind.is_ascii_lowercase(),
            elf::EM_AARCH64 => tail_ok && matches!(kind, b'x' | b'd' | b'm' | b'f' | b'p'),
            _ => false,
        }
    }

    /// The section class of a symbol's section index: BFD counts a symbol
    /// in a section it makes no section for, or past the table, as absolute.
    fn in_section(&self, index: u32) -> (SymbolSection, Option<SectionClass>) {
        match self.classes.get(index as usize) {
            Some(c) if !c.no_bfd_section => (SymbolSection::Section(index), Some(*c)),
            _ => (SymbolSection::Absolute, None),
        }
    }

    #[inline]
    fn symbol_at(&self, t: &SymbolTable<'data>, index: usize) -> Option<Symbol<'data>> {
        let raw = match t.entries {
            Entries::Elf32(e) => RawSym::of(e.get(index)?, self.endian),
            Entries::Elf64(e) => RawSym::of(e.get(index)?, self.endian),
        };
        Some(self.classify_symbol(t, raw, index))
    }

    fn classify_symbol(&self, t: &SymbolTable<'data>, raw: RawSym, index: usize) -> Symbol<'data> {
        let binding = raw.st_info.st_bind();
        let mut kind = raw.st_info.st_type();
        // Reserved values only mean something in st_shndx itself: an index
        // that came through SHN_XINDEX is a real section index, whatever
        // its value (checked against GNU nm with 66,000 sections).
        let (section, class) = match elf::SymbolSection(raw.st_shndx) {
            elf::SHN_XINDEX => match t.shndx.get(index).map_or(0, |i| i.get(self.endian)) {
                0 => (SymbolSection::Undefined, None),
                i => self.in_section(i),
            },
            elf::SHN_UNDEF => (SymbolSection::Undefined, None),
            elf::SHN_ABS => (SymbolSection::Absolute, None),
            elf::SHN_COMMON => (SymbolSection::Common, None),
            elf::SymbolSection(SHN_X86_64_LCOMMON) if self.e_machine == elf::EM_X86_64.0 => {
                (SymbolSection::Common, None)
            }
            elf::SymbolSection(i) => self.in_section(u32::from(i)),
        };
        let (mut name, mut bad_name) = match t.strtab.and_then(|s| cstr(s, raw.st_name as usize)) {
            Some(n) => (n, false),
            None => (&b"(null)"[..], true),
        };
        let mut section_name: &[u8] = b"";
        let mut value = raw.st_value;
        if let SymbolSection::Section(i) = section {
            // `in_section` found a class for `i`, so the section exists.
            if let Some(s) = self.sections.get(i as usize) {
                section_name = s.name;
                if kind == elf::STT_SECTION && raw.st_name == 0 {
                    name = s.name;
                    bad_name = false;
                }
                if self.e_type == elf::ET_REL.0 {
                    value = value.wrapping_add(s.sh_addr);
                }
            }
        }
        if section == SymbolSection::Common {
            value = raw.st_size;
        }
        if self.e_machine == elf::EM_ARM.0 {
            if kind == elf::STT_ARM_TFUNC {
                kind = elf::STT_FUNC;
            }
            if kind == elf::STT_FUNC || kind == elf::STT_GNU_IFUNC {
                value &= !1;
            }
        }
        let is_object = kind == elf::STT_OBJECT || kind == elf::STT_COMMON;
        let letter = match section {
            SymbolSection::Common => b'C',
            SymbolSection::Undefined => match (binding, is_object) {
                (elf::STB_WEAK, true) => b'v',
                (elf::STB_WEAK, false) => b'w',
                _ => b'U',
            },
            _ if kind == elf::STT_GNU_IFUNC => b'i',
            _ if binding == elf::STB_WEAK => {
                if is_object {
                    b'V'
                } else {
                    b'W'
                }
            }
            _ if binding == elf::STB_GNU_UNIQUE => b'u',
            _ if binding != elf::STB_LOCAL && binding != elf::STB_GLOBAL => b'?',
            _ => {
                let l = match class {
                    Some(c) => c.letter,
                    None => b'a',
                };
                if binding == elf::STB_GLOBAL {
                    l.to_ascii_uppercase()
                } else {
                    l
                }
            }
        };
        Symbol {
            index: index as u32,
            name,
            value,
            st_value: raw.st_value,
            size: raw.st_size,
            binding: binding.0,
            kind: kind.0,
            st_other: raw.st_other,
            st_shndx: raw.st_shndx,
            section,
            section_name,
            file_hint: None,
            letter,
            bad_name,
            st_name: raw.st_name,
        }
    }
}

/// Lower-case nm letter of a symbol defined in section `s` (BFD's
/// `coff_section_type` name table, then its section-flag rules).
fn section_letter(s: &Section<'_>) -> u8 {
    if let Some(letter) = crate::coff::bfd_name_letter(s.name) {
        return letter;
    }
    let alloc = s.sh_flags & elf::SHF_ALLOC.0 != 0;
    let nobits = s.sh_type == elf::SHT_NOBITS.0;
    let load = alloc && !nobits;
    let readonly = s.sh_flags & elf::SHF_WRITE.0 == 0;
    if s.sh_flags & elf::SHF_EXECINSTR.0 != 0 {
        return b't';
    }
    if load {
        return if readonly { b'r' } else { b'd' };
    }
    if nobits {
        return b'b';
    }
    if !alloc && is_debug_name(s.name) {
        return b'N';
    }
    if readonly {
        return b'n';
    }
    b'?'
}

fn is_debug_name(name: &[u8]) -> bool {
    [
        &b".debug"[..],
        b".gnu.debuglto_.debug_",
        b".gnu.linkonce.wi.",
        b".zdebug",
        b".line",
        b".stab",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name == b".gdb_index"
}

/// Iterator over the symbols of an [`ElfFile`] (see [`ElfFile::symbols`]).
pub struct Symbols<'file, 'data> {
    file: &'file ElfFile<'data>,
    next: usize,
    file_hint: Option<&'data [u8]>,
}

impl<'data> Iterator for Symbols<'_, 'data> {
    type Item = Symbol<'data>;

    fn next(&mut self) -> Option<Symbol<'data>> {
        let t = self.file.symtab.as_ref()?;
        if self.next >= t.count {
            return None;
        }
        let mut sym = self.file.symbol_at(t, self.next)?;
        self.next += 1;
        if sym.kind == elf::STT_FILE.0 {
            self.file_hint = Some(sym.name);
        } else if sym.binding == elf::STB_LOCAL.0 {
            sym.file_hint = self.file_hint;
        }
        Some(sym)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self
            .file
            .symtab
            .map_or(0, |t| t.count.saturating_sub(self.next));
        (left, Some(left))
    }
}
