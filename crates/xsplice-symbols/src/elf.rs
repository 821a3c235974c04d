//! Zero-copy reading of ELF headers, sections and the `.symtab` symbol table.
//!
//! This is deliberately a small hand-written reader rather than a general
//! ELF library: nm needs a handful of fields per symbol, read hundreds of
//! thousands of times, and it must classify every symbol exactly the way
//! GNU BFD does (see `docs` of [`Symbol::letter`]). Every offset read from
//! the file is checked against the file's length, so malformed input gives
//! an [`Error`] and never a panic.

use crate::Error;

/// Section header types and flags, and symbol fields, that the classifier
/// needs: `object::elf`'s values, in the widths this reader uses (and the
/// one x86-64 index `object` lacks).
pub mod consts {
    use object::elf;

    pub const SHT_NULL: u32 = elf::SHT_NULL.0;
    pub const SHT_SYMTAB: u32 = elf::SHT_SYMTAB.0;
    pub const SHT_STRTAB: u32 = elf::SHT_STRTAB.0;
    pub const SHT_RELA: u32 = elf::SHT_RELA.0;
    pub const SHT_NOTE: u32 = elf::SHT_NOTE.0;
    pub const SHT_NOBITS: u32 = elf::SHT_NOBITS.0;
    pub const SHT_REL: u32 = elf::SHT_REL.0;
    pub const SHT_SYMTAB_SHNDX: u32 = elf::SHT_SYMTAB_SHNDX.0;

    pub const SHF_WRITE: u64 = elf::SHF_WRITE.0;
    pub const SHF_ALLOC: u64 = elf::SHF_ALLOC.0;
    pub const SHF_EXECINSTR: u64 = elf::SHF_EXECINSTR.0;

    pub const SHN_UNDEF: u32 = elf::SHN_UNDEF.0 as u32;
    pub const SHN_LORESERVE: u32 = elf::SHN_LORESERVE as u32;
    pub const SHN_X86_64_LCOMMON: u32 = 0xff02;
    pub const SHN_ABS: u32 = elf::SHN_ABS.0 as u32;
    pub const SHN_COMMON: u32 = elf::SHN_COMMON.0 as u32;
    pub const SHN_XINDEX: u32 = elf::SHN_XINDEX.0 as u32;

    pub const STB_LOCAL: u8 = elf::STB_LOCAL.0;
    pub const STB_GLOBAL: u8 = elf::STB_GLOBAL.0;
    pub const STB_WEAK: u8 = elf::STB_WEAK.0;
    pub const STB_GNU_UNIQUE: u8 = elf::STB_GNU_UNIQUE.0;

    pub const STT_NOTYPE: u8 = elf::STT_NOTYPE.0;
    pub const STT_OBJECT: u8 = elf::STT_OBJECT.0;
    pub const STT_FUNC: u8 = elf::STT_FUNC.0;
    pub const STT_SECTION: u8 = elf::STT_SECTION.0;
    pub const STT_FILE: u8 = elf::STT_FILE.0;
    pub const STT_COMMON: u8 = elf::STT_COMMON.0;
    pub const STT_TLS: u8 = elf::STT_TLS.0;
    pub const STT_GNU_IFUNC: u8 = elf::STT_GNU_IFUNC.0;
    pub const STT_ARM_TFUNC: u8 = elf::STT_ARM_TFUNC.0;

    pub const ET_REL: u16 = elf::ET_REL.0;
    pub const ET_EXEC: u16 = elf::ET_EXEC.0;
    pub const ET_DYN: u16 = elf::ET_DYN.0;

    pub const EM_ARM: u16 = elf::EM_ARM.0;
    pub const EM_X86_64: u16 = elf::EM_X86_64.0;
    pub const EM_AARCH64: u16 = elf::EM_AARCH64.0;
}
use consts::*;

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
        self.kind == STT_FILE || self.kind == STT_SECTION
    }

    /// The name as text, lossy for non-UTF-8 bytes.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }

    /// `file#name` for statics with a file hint, `name` otherwise: the
    /// spelling lookups accept and errors use.
    pub fn qualified_name(&self) -> String {
        match self.file_hint {
            Some(file) if self.binding == STB_LOCAL => format!(
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
    endian: Endian,
    e_type: u16,
    e_machine: u16,
    sections: Vec<Section<'data>>,
    classes: Vec<SectionClass>,
    symtab: Option<SymbolTable<'data>>,
    /// Why `.symtab` exists but cannot be read (its bytes lie past the
    /// end of the file, a bad entry size or string-table link).
    symtab_error: Option<Error>,
}

#[derive(Debug, Clone, Copy)]
struct SymbolTable<'data> {
    entries: &'data [u8],
    /// `None` when the string table lies past the end of the file: BFD
    /// then names every symbol `(null)`.
    strtab: Option<&'data [u8]>,
    strtab_index: u32,
    shndx: &'data [u8],
    count: usize,
}

/// True when `data` starts with the ELF magic.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

fn slice(data: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    data.get(start..start.checked_add(len)?)
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

#[derive(Clone, Copy)]
struct Reader<'data> {
    data: &'data [u8],
    endian: Endian,
}

impl Reader<'_> {
    fn u16(self, off: usize) -> u16 {
        let b = [self.data[off], self.data[off + 1]];
        match self.endian {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    fn u32(self, off: usize) -> u32 {
        let b: [u8; 4] = self.data[off..off + 4].try_into().unwrap_or([0; 4]);
        match self.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
    fn u64(self, off: usize) -> u64 {
        let b: [u8; 8] = self.data[off..off + 8].try_into().unwrap_or([0; 8]);
        match self.endian {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
}

impl<'data> ElfFile<'data> {
    /// Parses the ELF header, the section table and (if present) the
    /// `.symtab` symbol table. Nothing is copied.
    pub fn parse(data: &'data [u8]) -> Result<Self, Error> {
        if data.len() < 6 || !is_elf(data) {
            return Err(Error::NotElf);
        }
        let class = match data[4] {
            1 => Class::Elf32,
            2 => Class::Elf64,
            _ => return Err(Error::NotElf),
        };
        let endian = match data[5] {
            1 => Endian::Little,
            2 => Endian::Big,
            _ => return Err(Error::NotElf),
        };
        let need = match class {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        };
        if data.len() < need {
            return Err(Error::TruncatedHeader {
                len: data.len(),
                need,
            });
        }
        let r = Reader { data, endian };
        let e_type = r.u16(16);
        let e_machine = r.u16(18);
        let (shoff, shentsize, shnum, shstrndx) = match class {
            Class::Elf32 => (u64::from(r.u32(32)), r.u16(46), r.u16(48), r.u16(50)),
            Class::Elf64 => (r.u64(40), r.u16(58), r.u16(60), r.u16(62)),
        };
        let mut file = ElfFile {
            data,
            class,
            endian,
            e_type,
            e_machine,
            sections: Vec::new(),
            classes: Vec::new(),
            symtab: None,
            symtab_error: None,
        };
        if shoff == 0 {
            return Ok(file);
        }
        let expected: u16 = match class {
            Class::Elf32 => 40,
            Class::Elf64 => 64,
        };
        if shentsize != expected {
            return Err(Error::BadSectionHeaderSize {
                entsize: shentsize,
                expected,
            });
        }
        let headers_past_end = |count: u64| Error::SectionHeadersPastEnd {
            offset: shoff,
            count,
            entsize: u64::from(shentsize),
            len: data.len(),
        };
        // Section 0 holds the real count and string-table index when they
        // do not fit the header fields.
        let first = slice(data, shoff, u64::from(shentsize)).ok_or_else(|| headers_past_end(1))?;
        let first = file.read_section(first, 0);
        let count = if shnum == 0 {
            first.sh_size
        } else {
            u64::from(shnum)
        };
        let shstrndx = if u32::from(shstrndx) == SHN_XINDEX {
            first.sh_link
        } else {
            u32::from(shstrndx)
        };
        let table = count
            .checked_mul(u64::from(shentsize))
            .and_then(|size| slice(data, shoff, size))
            .ok_or_else(|| headers_past_end(count))?;
        file.sections = table
            .chunks_exact(usize::from(shentsize))
            .enumerate()
            .map(|(i, raw)| file.read_section(raw, i as u32))
            .collect();
        // Names through .shstrtab; an unusable table leaves names empty.
        let names = file
            .sections
            .get(shstrndx as usize)
            .filter(|s| s.sh_type != SHT_NOBITS)
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

    fn read_section(&self, raw: &'data [u8], index: u32) -> Section<'data> {
        let r = Reader {
            data: raw,
            endian: self.endian,
        };
        let (sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_entsize) =
            match self.class {
                Class::Elf32 => (
                    r.u32(0),
                    r.u32(4),
                    u64::from(r.u32(8)),
                    u64::from(r.u32(12)),
                    u64::from(r.u32(16)),
                    u64::from(r.u32(20)),
                    r.u32(24),
                    r.u32(28),
                    u64::from(r.u32(36)),
                ),
                Class::Elf64 => (
                    r.u32(0),
                    r.u32(4),
                    r.u64(8),
                    r.u64(16),
                    r.u64(24),
                    r.u64(32),
                    r.u32(40),
                    r.u32(44),
                    r.u64(56),
                ),
            };
        Section {
            index,
            name: b"",
            sh_name,
            sh_type,
            sh_flags,
            sh_addr,
            sh_offset,
            sh_size,
            sh_link,
            sh_info,
            sh_entsize,
        }
    }

    fn find_symtab(&self) -> Result<Option<SymbolTable<'data>>, Error> {
        let Some(sym) = self.sections.iter().find(|s| s.sh_type == SHT_SYMTAB) else {
            return Ok(None);
        };
        let expected = match self.class {
            Class::Elf32 => 16,
            Class::Elf64 => 24,
        };
        if sym.sh_entsize != expected {
            return Err(Error::BadSymbolEntrySize {
                index: sym.index,
                entsize: sym.sh_entsize,
                expected,
            });
        }
        let entries = self.section_data_checked(sym)?;
        let strsec = self
            .sections
            .get(sym.sh_link as usize)
            .filter(|s| s.sh_type == SHT_STRTAB)
            .ok_or(Error::BadStringTableLink {
                index: sym.index,
                link: sym.sh_link,
            })?;
        let strtab = self.section_data(strsec);
        let shndx = match self
            .sections
            .iter()
            .find(|s| s.sh_type == SHT_SYMTAB_SHNDX && s.sh_link == sym.index)
        {
            Some(s) => self.section_data_checked(s)?,
            None => &[],
        };
        Ok(Some(SymbolTable {
            entries,
            strtab,
            strtab_index: strsec.index,
            shndx,
            count: entries.len() / expected as usize,
        }))
    }

    fn section_data_checked(&self, s: &Section<'data>) -> Result<&'data [u8], Error> {
        if s.sh_type == SHT_NOBITS {
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
            .find(|s| s.sh_type == SHT_SYMTAB)
            .map(|s| s.index);
        let strtab_index = symtab_index.map(|i| self.sections[i as usize].sh_link);
        self.sections
            .iter()
            .map(|s| {
                let no_bfd_section = s.index == 0
                    || match s.sh_type {
                        SHT_SYMTAB | SHT_SYMTAB_SHNDX => true,
                        SHT_STRTAB => s.index == shstrndx || Some(s.index) == strtab_index,
                        SHT_REL | SHT_RELA => {
                            Some(s.sh_link) == symtab_index && s.sh_flags & SHF_ALLOC == 0
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
        Some((&self.sections[t.strtab_index as usize], t.strtab))
    }

    /// True when some section other than SHT_NOBITS claims bytes past the
    /// end of the file (GNU nm warns about it and carries on).
    pub fn has_section_past_end(&self) -> bool {
        self.sections
            .iter()
            .any(|s| s.sh_type != SHT_NOBITS && slice(self.data, s.sh_offset, s.sh_size).is_none())
    }

    /// The symbol at `index` in `.symtab` (without its file hint, which
    /// needs the symbols before it: use [`ElfFile::symbols`] for that).
    pub fn symbol(&self, index: usize) -> Option<Symbol<'data>> {
        let t = self.symtab.as_ref()?;
        (index < t.count).then(|| self.symbol_at(t, index))
    }

    /// The section's bytes in the file (empty for SHT_NOBITS); `None` when
    /// they lie past the end of the file.
    pub fn section_data(&self, s: &Section<'data>) -> Option<&'data [u8]> {
        if s.sh_type == SHT_NOBITS {
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
        let name = sym.name;
        if name.len() < 2 || name[0] != b'$' {
            return false;
        }
        let tail_ok = name.len() == 2 || name[2] == b'.';
        match self.e_machine {
            EM_ARM => tail_ok && name[1].is_ascii_lowercase(),
            EM_AARCH64 => tail_ok && matches!(name[1], b'x' | b'd' | b'm' | b'f' | b'p'),
            _ => false,
        }
    }

    fn symbol_at(&self, t: &SymbolTable<'data>, index: usize) -> Symbol<'data> {
        let r = Reader {
            data: t.entries,
            endian: self.endian,
        };
        let (st_name, st_value, st_size, st_info, st_other, st_shndx) = match self.class {
            Class::Elf32 => {
                let o = index * 16;
                (
                    r.u32(o),
                    u64::from(r.u32(o + 4)),
                    u64::from(r.u32(o + 8)),
                    t.entries[o + 12],
                    t.entries[o + 13],
                    r.u16(o + 14),
                )
            }
            Class::Elf64 => {
                let o = index * 24;
                (
                    r.u32(o),
                    r.u64(o + 8),
                    r.u64(o + 16),
                    t.entries[o + 4],
                    t.entries[o + 5],
                    r.u16(o + 6),
                )
            }
        };
        let binding = st_info >> 4;
        let mut kind = st_info & 0xf;
        let mut shndx = u32::from(st_shndx);
        if shndx == SHN_XINDEX {
            let o = index * 4;
            shndx = if o + 4 <= t.shndx.len() {
                Reader {
                    data: t.shndx,
                    endian: self.endian,
                }
                .u32(o)
            } else {
                0
            };
        }
        // Reserved values only mean something in st_shndx itself: an index
        // that came through SHN_XINDEX is a real section index, whatever
        // its value (checked against GNU nm with 66,000 sections).
        let extended = u32::from(st_shndx) == SHN_XINDEX;
        let (section, class) = match shndx {
            SHN_UNDEF => (SymbolSection::Undefined, None),
            SHN_ABS if !extended => (SymbolSection::Absolute, None),
            SHN_COMMON if !extended => (SymbolSection::Common, None),
            SHN_X86_64_LCOMMON if !extended && self.e_machine == EM_X86_64 => {
                (SymbolSection::Common, None)
            }
            i => match self.classes.get(i as usize) {
                Some(c) if !c.no_bfd_section => (SymbolSection::Section(i), Some(*c)),
                _ => (SymbolSection::Absolute, None),
            },
        };
        let (mut name, mut bad_name) = match t.strtab.and_then(|s| cstr(s, st_name as usize)) {
            Some(n) => (n, false),
            None => (&b"(null)"[..], true),
        };
        let mut section_name: &[u8] = b"";
        let mut value = st_value;
        if let SymbolSection::Section(i) = section {
            let s = &self.sections[i as usize];
            section_name = s.name;
            if kind == STT_SECTION && st_name == 0 {
                name = s.name;
                bad_name = false;
            }
            if self.e_type == ET_REL {
                value = value.wrapping_add(s.sh_addr);
            }
        }
        if section == SymbolSection::Common {
            value = st_size;
        }
        if self.e_machine == EM_ARM {
            if kind == STT_ARM_TFUNC {
                kind = STT_FUNC;
            }
            if kind == STT_FUNC || kind == STT_GNU_IFUNC {
                value &= !1;
            }
        }
        let is_object = kind == STT_OBJECT || kind == STT_COMMON;
        let letter = match section {
            SymbolSection::Common => b'C',
            SymbolSection::Undefined => match (binding, is_object) {
                (STB_WEAK, true) => b'v',
                (STB_WEAK, false) => b'w',
                _ => b'U',
            },
            _ if kind == STT_GNU_IFUNC => b'i',
            _ if binding == STB_WEAK => {
                if is_object {
                    b'V'
                } else {
                    b'W'
                }
            }
            _ if binding == STB_GNU_UNIQUE => b'u',
            _ if binding != STB_LOCAL && binding != STB_GLOBAL => b'?',
            _ => {
                let l = match class {
                    Some(c) => c.letter,
                    None => b'a',
                };
                if binding == STB_GLOBAL {
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
            st_value,
            size: st_size,
            binding,
            kind,
            st_other,
            st_shndx,
            section,
            section_name,
            file_hint: None,
            letter,
            bad_name,
            st_name,
        }
    }
}

/// Lower-case nm letter of a symbol defined in section `s` (BFD's
/// `coff_section_type` name table, then its section-flag rules).
fn section_letter(s: &Section<'_>) -> u8 {
    if let Some(letter) = crate::coff::bfd_name_letter(s.name) {
        return letter;
    }
    let alloc = s.sh_flags & SHF_ALLOC != 0;
    let nobits = s.sh_type == SHT_NOBITS;
    let load = alloc && !nobits;
    let readonly = s.sh_flags & SHF_WRITE == 0;
    if s.sh_flags & SHF_EXECINSTR != 0 {
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
        let mut sym = self.file.symbol_at(t, self.next);
        self.next += 1;
        if sym.kind == STT_FILE {
            self.file_hint = Some(sym.name);
        } else if sym.binding == STB_LOCAL {
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
