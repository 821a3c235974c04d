//! COFF objects and PE images of x86 (i386 and x86-64), read the way GNU
//! BFD 2.40 reads them for nm.
//!
//! Xen's x86 build links `xen.efi` through PE32+ intermediates and lists
//! their symbols with `nm -pa --format=sysv`, and every x86 tree holds a
//! COFF object (`arch/x86/efi/buildid.o`). So `xsplice-nm` must read what
//! the host's GNU nm reads besides ELF: BFD's `pe-x86-64`, `pe-i386`,
//! `pei-x86-64` and `pei-i386` targets. This module builds the sections and
//! symbols those targets build and classifies them with BFD's rules:
//! section flags from the PE characteristics, symbol flags from the storage
//! class, values relative to their section, names from the inline field,
//! the string table or a `.file` auxiliary entry.
//!
//! The raw structures come from the `object` crate. Every count and offset
//! read from the file is checked against the file's length before it is
//! used, so the memory used is bounded by the file's size, and malformed
//! input gives an [`Error`] (with the messages BFD prints on the way) or
//! odd output, never a panic.
//!
//! Not covered: `pe-bigobj-x86-64` objects and Microsoft import-library
//! members (ILF), which BFD reads with other targets.

use std::collections::HashMap;

use object::LittleEndian as LE;
use object::pe;
use object::pod;

use crate::Error;

const I386: u16 = pe::IMAGE_FILE_MACHINE_I386.0;
const AMD64: u16 = pe::IMAGE_FILE_MACHINE_AMD64.0;

/// Size of a symbol table entry (and of an auxiliary entry).
const SYMESZ: usize = 18;

/// Storage classes BFD distinguishes (`include/coff/internal.h`).
pub mod class {
    pub const C_EFCN: u8 = 0xff;
    pub const C_NULL: u8 = 0;
    pub const C_AUTO: u8 = 1;
    pub const C_EXT: u8 = 2;
    pub const C_STAT: u8 = 3;
    pub const C_REG: u8 = 4;
    pub const C_LABEL: u8 = 6;
    pub const C_MOS: u8 = 8;
    pub const C_ARG: u8 = 9;
    pub const C_STRTAG: u8 = 10;
    pub const C_MOU: u8 = 11;
    pub const C_UNTAG: u8 = 12;
    pub const C_TPDEF: u8 = 13;
    pub const C_ENTAG: u8 = 15;
    pub const C_MOE: u8 = 16;
    pub const C_REGPARM: u8 = 17;
    pub const C_FIELD: u8 = 18;
    pub const C_STATLAB: u8 = 20;
    pub const C_SYSTEM: u8 = 23;
    pub const C_BLOCK: u8 = 100;
    pub const C_FCN: u8 = 101;
    pub const C_EOS: u8 = 102;
    pub const C_FILE: u8 = 103;
    /// `C_LINE` in plain COFF; a section symbol in PE.
    pub const C_SECTION: u8 = 104;
    pub const C_NT_WEAK: u8 = 105;
    pub const C_HIDDEN: u8 = 106;
    pub const C_WEAKEXT: u8 = 127;
}
use class::*;

/// PE section characteristics BFD looks at.
mod scn {
    pub const STYP_DSECT: u32 = 0x0000_0001;
    pub const STYP_NOLOAD: u32 = 0x0000_0002;
    pub const STYP_GROUP: u32 = 0x0000_0004;
    pub const TYPE_NO_PAD: u32 = 0x0000_0008;
    pub const STYP_COPY: u32 = 0x0000_0010;
    pub const CNT_CODE: u32 = 0x0000_0020;
    pub const CNT_INITIALIZED_DATA: u32 = 0x0000_0040;
    pub const LNK_OTHER: u32 = 0x0000_0100;
    pub const LNK_INFO: u32 = 0x0000_0200;
    pub const LNK_COMDAT: u32 = 0x0000_1000;
    pub const STYP_OVER: u32 = 0x0000_0400;
    pub const MEM_NOT_CACHED: u32 = 0x0400_0000;
    pub const MEM_NOT_PAGED: u32 = 0x0800_0000;
    pub const MEM_DISCARDABLE: u32 = 0x0200_0000;
    pub const MEM_EXECUTE: u32 = 0x2000_0000;
    pub const MEM_WRITE: u32 = 0x8000_0000;
}

/// Which BFD target reads the file: COFF object or PE image, i386 or
/// x86-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoffTarget {
    PeI386,
    PeX86_64,
    PeiI386,
    PeiX86_64,
}

impl CoffTarget {
    /// BFD's name of the target.
    pub fn name(self) -> &'static str {
        match self {
            CoffTarget::PeI386 => "pe-i386",
            CoffTarget::PeX86_64 => "pe-x86-64",
            CoffTarget::PeiI386 => "pei-i386",
            CoffTarget::PeiX86_64 => "pei-x86-64",
        }
    }

    /// Hex digits nm uses for a value: the architecture's address size.
    pub fn hex_width(self) -> usize {
        match self {
            CoffTarget::PeI386 | CoffTarget::PeiI386 => 8,
            CoffTarget::PeX86_64 | CoffTarget::PeiX86_64 => 16,
        }
    }

    /// True for PE images (`pei-*`), false for COFF objects.
    pub fn is_image(self) -> bool {
        matches!(self, CoffTarget::PeiI386 | CoffTarget::PeiX86_64)
    }

    fn is_64(self) -> bool {
        self.hex_width() == 16
    }

    /// Size of the optional header BFD reads (`AOUTSZ`): larger headers
    /// make BFD reject the file.
    fn aout_size(self) -> u16 {
        if self.is_64() { 240 } else { 224 }
    }
}

/// One section, as BFD makes it from a section header (or, for an empty
/// PE section symbol, out of nothing).
#[derive(Debug, Clone, Copy)]
pub struct CoffSection<'data> {
    /// BFD's target index: 1 for the first section header.
    pub index: u32,
    /// The name: inline (up to 8 bytes) or from the string table.
    pub name: &'data [u8],
    /// The address: `VirtualAddress`, plus `ImageBase` in images.
    pub vma: u64,
    /// The raw characteristics.
    pub characteristics: u32,
    /// Lower-case nm letter of a symbol defined in it.
    pub letter: u8,
}

/// Where a symbol lives, in BFD's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoffSymbolSection {
    Undefined,
    Absolute,
    Common,
    /// A section, by target index (see [`CoffSection::index`]).
    Section(u32),
}

/// BFD's symbol flags that nm looks at.
pub mod flags {
    pub const LOCAL: u8 = 1;
    pub const GLOBAL: u8 = 2;
    pub const WEAK: u8 = 4;
    pub const DEBUGGING: u8 = 8;
    pub const FILE: u8 = 16;
}

/// One symbol (auxiliary entries are not symbols).
#[derive(Debug, Clone, Copy)]
pub struct CoffSymbol<'data> {
    /// Index of the entry in the raw table (auxiliary entries count).
    pub index: u32,
    pub name: &'data [u8],
    /// The value nm prints: the symbol's value plus its section's address
    /// (0 for undefined symbols).
    pub value: u64,
    pub section: CoffSymbolSection,
    /// The storage class, after BFD turned PE section symbols into statics.
    pub storage_class: u8,
    pub typ: u16,
    pub aux_count: u8,
    /// [`flags`] bits.
    pub flags: u8,
    /// The GNU nm type letter.
    pub letter: u8,
}

impl CoffSymbol<'_> {
    pub fn is_debugging(&self) -> bool {
        self.flags & flags::DEBUGGING != 0
    }

    /// nm's `Type` column of the sysv format for this symbol.
    pub fn type_name(&self) -> std::borrow::Cow<'static, str> {
        match self.storage_class {
            C_BLOCK => return "Block".into(),
            C_FILE => return "File".into(),
            // Never seen in PE, where BFD rewrites class 104 as C_STAT.
            C_SECTION => return "Line".into(),
            _ => {}
        }
        if self.typ == 0 {
            return "None".into();
        }
        match (self.typ & 0x30) >> 4 {
            1 => "Pointer".into(),
            2 => "Function".into(),
            3 => "Array".into(),
            _ => format!("<unknown>: {}/{}", self.storage_class, self.typ).into(),
        }
    }
}

/// A symbol table read by [`CoffFile::symbols`], with the sections BFD
/// made up on the way.
#[derive(Debug, Default)]
pub struct CoffSymbols<'data> {
    pub symbols: Vec<CoffSymbol<'data>>,
    /// Sections made for PE section symbols that name no section.
    pub extra_sections: Vec<CoffSection<'data>>,
}

/// A COFF object or PE image, borrowing the file's bytes.
#[derive(Debug)]
pub struct CoffFile<'data> {
    data: &'data [u8],
    target: CoffTarget,
    sections: Vec<CoffSection<'data>>,
    symtab_offset: u32,
    symbol_count: u32,
    /// Messages BFD prints while recognising the file.
    notes: Vec<String>,
}

/// The string table as BFD sees it: `len` counts the four size bytes,
/// which read as zeros.
#[derive(Clone, Copy)]
struct Strings<'data> {
    bytes: &'data [u8],
    len: u64,
}

impl<'data> Strings<'data> {
    /// The NUL-terminated string at `offset` (which must be below `len`).
    fn at(self, offset: u64) -> &'data [u8] {
        if offset < 4 {
            return b"";
        }
        let rest = usize::try_from(offset - 4)
            .ok()
            .and_then(|o| self.bytes.get(o..))
            .unwrap_or(b"");
        until_nul(rest, rest.len())
    }
}

fn until_nul(bytes: &[u8], max: usize) -> &[u8] {
    let bytes = &bytes[..bytes.len().min(max)];
    match bytes.iter().position(|&b| b == 0) {
        Some(n) => &bytes[..n],
        None => bytes,
    }
}

fn u16_at(data: &[u8], off: usize) -> u16 {
    data.get(off..off + 2)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(data: &[u8], off: usize) -> u32 {
    data.get(off..off + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// True when the bytes look like a file this module might read (so that
/// callers need not try it on everything).
pub fn is_coff_candidate(data: &[u8]) -> bool {
    data.starts_with(b"MZ") || matches!(u16_at(data, 0), I386 | AMD64)
}

fn unrecognized(notes: Vec<String>) -> Error {
    Error::CoffFormat { notes }
}

impl<'data> CoffFile<'data> {
    /// Recognises the file as BFD's COFF or PE targets would, and reads its
    /// section headers. [`Error::CoffFormat`] means GNU nm says `file format
    /// not recognized` (after the messages it carries).
    pub fn parse(data: &'data [u8]) -> Result<Self, Error> {
        let (target, header_at) = if data.starts_with(b"MZ") {
            // BFD reads the whole DOS header first.
            let (dos, _) = pod::from_bytes::<pe::ImageDosHeader>(data)
                .map_err(|()| unrecognized(Vec::new()))?;
            let nt = dos.e_lfanew.get(LE) as usize;
            if data.get(nt..nt + 4) != Some(b"PE\0\0") {
                return Err(unrecognized(Vec::new()));
            }
            let target = match u16_at(data, nt + 4) {
                AMD64 => CoffTarget::PeiX86_64,
                I386 => CoffTarget::PeiI386,
                _ => return Err(unrecognized(Vec::new())),
            };
            (target, nt + 4)
        } else {
            let target = match u16_at(data, 0) {
                AMD64 => CoffTarget::PeX86_64,
                I386 => CoffTarget::PeI386,
                _ => return Err(unrecognized(Vec::new())),
            };
            (target, 0)
        };
        let (header, _) = data
            .get(header_at..)
            .and_then(|d| pod::from_bytes::<pe::ImageFileHeader>(d).ok())
            .ok_or_else(|| unrecognized(Vec::new()))?;
        let opt_size = header.size_of_optional_header.get(LE);
        if opt_size > target.aout_size() {
            return Err(unrecognized(Vec::new()));
        }
        let opt_at = header_at + pe::IMAGE_SIZEOF_FILE_HEADER;
        let opt = data
            .get(opt_at..opt_at + usize::from(opt_size))
            .ok_or_else(|| unrecognized(Vec::new()))?;
        // BFD pads a short optional header with zeros; objects keep no
        // image base.
        let image_base = match target {
            CoffTarget::PeiX86_64 => u64::from(u32_at(opt, 24)) | u64::from(u32_at(opt, 28)) << 32,
            CoffTarget::PeiI386 => u64::from(u32_at(opt, 28)),
            _ => 0,
        };
        let count = usize::from(header.number_of_sections.get(LE));
        let (headers, _) = data
            .get(opt_at + usize::from(opt_size)..)
            .and_then(|d| pod::slice_from_bytes::<pe::ImageSectionHeader>(d, count).ok())
            .ok_or_else(|| unrecognized(Vec::new()))?;
        let mut file = CoffFile {
            data,
            target,
            sections: Vec::with_capacity(count),
            symtab_offset: header.pointer_to_symbol_table.get(LE),
            symbol_count: header.number_of_symbols.get(LE),
            notes: Vec::new(),
        };
        let mut strings = None;
        for (i, h) in headers.iter().enumerate() {
            let name = match file.long_section_name(&h.name, &mut strings) {
                Ok(Some(name)) => name,
                Ok(None) => until_nul(&h.name, 8),
                Err(mut notes) => {
                    file.notes.append(&mut notes);
                    return Err(unrecognized(file.notes));
                }
            };
            let mut vma = u64::from(h.virtual_address.get(LE));
            if vma != 0 {
                vma = vma.wrapping_add(image_base);
                if !target.is_64() {
                    vma &= 0xffff_ffff;
                }
            }
            let characteristics = h.characteristics.get(LE).0;
            let contents = h.pointer_to_raw_data.get(LE) != 0;
            let comdat = if characteristics & scn::LNK_COMDAT != 0 {
                file.comdat_notes(i as u32 + 1, name, &mut strings)
            } else {
                Vec::new()
            };
            let letter =
                match section_letter(name, characteristics, contents, comdat, &mut file.notes) {
                    Some(l) => l,
                    None => return Err(unrecognized(file.notes)),
                };
            file.sections.push(CoffSection {
                index: i as u32 + 1,
                name,
                vma,
                characteristics,
                letter,
            });
        }
        Ok(file)
    }

    /// The name behind a `/NNN` section name (a decimal string-table
    /// offset), when the name has that form; errors carry BFD's messages.
    fn long_section_name(
        &self,
        raw: &'data [u8; 8],
        strings: &mut Option<Strings<'data>>,
    ) -> Result<Option<&'data [u8]>, Vec<String>> {
        if raw[0] != b'/' {
            return Ok(None);
        }
        // strtol over the seven bytes after the slash, which must be used
        // up entirely (a NUL ends them early). BFD 2.40 knows no other form
        // (LLVM's `//BASE64` stays a name).
        let text = until_nul(&raw[1..], 7);
        let index = match parse_strtol(text) {
            Some(v) if v >= 0 => v as u64,
            _ => return Ok(None),
        };
        let table = match strings {
            Some(t) => *t,
            None => {
                let t = self.string_table()?;
                *strings = Some(t);
                t
            }
        };
        if index.saturating_add(2) >= table.len {
            return Err(Vec::new());
        }
        Ok(Some(table.at(index)))
    }

    /// BFD's messages about COMDAT section `index` (`handle_COMDAT`, run
    /// while the sections are made): its first symbol must be a static or
    /// external of no type and value 0, and a static one is named after the
    /// section. Later symbols print nothing unless their names cannot be
    /// read; an unreadable table prints nothing at all. (A PE section symbol
    /// that names no section is skipped here: BFD would make up a section
    /// in the middle of the section table.)
    fn comdat_notes(
        &self,
        index: u32,
        name: &[u8],
        strings: &mut Option<Strings<'data>>,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        let start = self.symtab_offset as usize;
        let Some(table) = self
            .data
            .get(start..)
            .and_then(|d| d.get(..(self.symbol_count as usize).checked_mul(SYMESZ)?))
        else {
            return notes;
        };
        let Ok(raw) = pod::slice_from_all_bytes::<pe::ImageSymbol>(table) else {
            return notes;
        };
        let mut cache = |file: &Self| -> Result<Strings<'data>, Vec<String>> {
            if let Some(t) = strings {
                return Ok(*t);
            }
            let t = file.string_table()?;
            *strings = Some(t);
            Ok(t)
        };
        let mut i = 0;
        while i < raw.len() {
            let sym = &raw[i];
            let aux = usize::from(sym.number_of_aux_symbols);
            let here = i;
            i += 1 + aux;
            let mut sclass = sym.storage_class.0;
            let mut value = sym.value.get(LE);
            let scnum = i32::from(sym.section_number.get(LE) as i16);
            if sclass == C_SECTION {
                if scnum == 0 {
                    continue;
                }
                sclass = C_STAT;
                value = 0;
            }
            if scnum != index as i32 {
                continue;
            }
            let entry = &table[here * SYMESZ..(here + 1) * SYMESZ];
            let symname = match self.symbol_name(entry, C_STAT, 0, &mut cache) {
                Ok(n) => n,
                Err(mut errs) => {
                    notes.append(&mut errs);
                    notes.push(": unable to load COMDAT section name".to_owned());
                    break;
                }
            };
            let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            if !((sclass == C_STAT || sclass == C_EXT)
                && sym.typ.get(LE).0 & 0xf == 0
                && value == 0)
            {
                notes.push(format!(
                    ": error: unexpected symbol '{}' in COMDAT section",
                    lossy(symname)
                ));
                break;
            }
            if sclass == C_STAT && symname != name {
                notes.push(format!(
                    ": warning: COMDAT symbol '{}' does not match section name '{}'",
                    lossy(symname),
                    lossy(name)
                ));
            }
            if aux > 0 && here + 1 >= raw.len() {
                notes.push(format!(
                    ": warning: no symbol for section '{}' found",
                    lossy(symname)
                ));
            }
            break;
        }
        notes
    }

    /// Reads the string table as `_bfd_coff_read_string_table` does: after
    /// the symbols, its size first; missing size bytes mean an empty table.
    fn string_table(&self) -> Result<Strings<'data>, Vec<String>> {
        if self.symtab_offset == 0 {
            return Err(Vec::new());
        }
        let at = u64::from(self.symtab_offset) + u64::from(self.symbol_count) * SYMESZ as u64;
        let len = self.data.len() as u64;
        let size = match usize::try_from(at)
            .ok()
            .and_then(|a| self.data.get(a..a + 4))
        {
            Some(b) => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            // No size bytes: an empty table, and nothing more to read.
            None => {
                return Ok(Strings { bytes: b"", len: 4 });
            }
        };
        if size < 4 || size > len {
            return Err(vec![format!(": bad string table size {size}")]);
        }
        let start = at + 4;
        let end = at + size;
        if end > len {
            return Err(Vec::new());
        }
        Ok(Strings {
            bytes: &self.data[start as usize..end as usize],
            len: size,
        })
    }

    pub fn target(&self) -> CoffTarget {
        self.target
    }

    /// The sections made from the section headers, in header order.
    pub fn sections(&self) -> &[CoffSection<'data>] {
        &self.sections
    }

    /// `NumberOfSymbols`: table entries, auxiliary entries included. BFD
    /// says "no symbols" when it is 0.
    pub fn symbol_count(&self) -> u32 {
        self.symbol_count
    }

    /// Messages BFD printed while recognising the file.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Reads the symbol table as BFD's `coff_slurp_symbol_table` does.
    /// [`Error::CoffSymbols`] means GNU nm stops with `no symbols` and exit
    /// status 1 (after the messages it carries).
    pub fn symbols(&self) -> Result<CoffSymbols<'data>, Error> {
        let fail = |notes| Error::CoffSymbols { notes };
        let count = self.symbol_count as usize;
        let start = self.symtab_offset as usize;
        let table = self
            .data
            .get(start..)
            .and_then(|d| d.get(..count.checked_mul(SYMESZ)?))
            .ok_or_else(|| fail(Vec::new()))?;
        let raw =
            pod::slice_from_all_bytes::<pe::ImageSymbol>(table).map_err(|()| fail(Vec::new()))?;
        let mut out = CoffSymbols::default();
        let mut strings: Option<Result<Strings<'data>, Vec<String>>> = None;
        let mut string_table = |file: &Self| -> Result<Strings<'data>, Vec<String>> {
            strings.get_or_insert_with(|| file.string_table()).clone()
        };
        // The first section of each name, for section symbols that name
        // theirs (a map: fuzzed files may hold many).
        let mut by_name: HashMap<&'data [u8], u32> = HashMap::new();
        for s in self.sections.iter().rev() {
            by_name.insert(s.name, s.index);
        }
        // BFD reads every entry and its name before it classifies any
        // symbol: a table it cannot read prints no classification message.
        let mut class_notes = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let sym = &raw[i];
            let aux_count = sym.number_of_aux_symbols;
            let mut sclass = sym.storage_class.0;
            let mut value = u64::from(sym.value.get(LE));
            let mut scnum = i32::from(sym.section_number.get(LE) as i16);
            let typ = sym.typ.get(LE).0;
            // BFD's PE reader turns section symbols into statics as it reads
            // the entry, and makes a section for one that names none.
            if sclass == C_SECTION {
                value = 0;
                if scnum == 0 {
                    let first = &table[i * SYMESZ..(i + 1) * SYMESZ];
                    let name = self
                        .symbol_name(first, sclass, 0, &mut string_table)
                        .map_err(fail)?;
                    let next = self.sections.len() + out.extra_sections.len() + 1;
                    let index = *by_name.entry(name).or_insert_with(|| {
                        // BFD's made-up section: allocated data, empty.
                        out.extra_sections.push(CoffSection {
                            index: next as u32,
                            name,
                            vma: 0,
                            characteristics: 0,
                            letter: b'd',
                        });
                        next as u32
                    });
                    scnum = index as i32;
                }
                sclass = C_STAT;
            }
            if usize::from(aux_count) > raw.len() - i - 1 {
                return Err(fail(Vec::new()));
            }
            let entry = &table[i * SYMESZ..(i + 1 + usize::from(aux_count)) * SYMESZ];
            let name = self
                .symbol_name(entry, sclass, aux_count, &mut string_table)
                .map_err(fail)?;
            let mut section = match scnum {
                0 => CoffSymbolSection::Undefined,
                -1 | -2 => CoffSymbolSection::Absolute,
                n if n > 0 && (n as usize) <= self.sections.len() + out.extra_sections.len() => {
                    CoffSymbolSection::Section(n as u32)
                }
                _ => CoffSymbolSection::Undefined,
            };
            let mut sym_flags = 0;
            match sclass {
                C_EXT | C_WEAKEXT | C_SYSTEM | C_NT_WEAK => {
                    if scnum == 0 {
                        if value == 0 {
                            section = CoffSymbolSection::Undefined;
                        } else {
                            section = CoffSymbolSection::Common;
                        }
                    } else {
                        sym_flags = flags::GLOBAL;
                    }
                    if sclass == C_NT_WEAK || sclass == C_WEAKEXT {
                        sym_flags |= flags::WEAK;
                    }
                }
                C_STAT | C_LABEL => {
                    sym_flags = if scnum == -2 {
                        flags::DEBUGGING
                    } else {
                        flags::LOCAL
                    };
                }
                C_FILE => sym_flags = flags::FILE | flags::DEBUGGING,
                C_MOS | C_EOS | C_REGPARM | C_REG | C_TPDEF | C_ARG | C_AUTO | C_FIELD
                | C_ENTAG | C_MOE | C_MOU | C_UNTAG | C_STRTAG | C_BLOCK | C_FCN | C_EFCN
                | C_HIDDEN => sym_flags = flags::DEBUGGING,
                C_STATLAB => sym_flags = flags::GLOBAL,
                C_NULL if typ == 0 && value == 0 && scnum == 0 => {}
                _ => {
                    let section_name = self.section_name_in(section, &out.extra_sections);
                    class_notes.push(format!(
                        ": unrecognized storage class {sclass} for {} symbol `{}'",
                        String::from_utf8_lossy(section_name),
                        String::from_utf8_lossy(name)
                    ));
                    sym_flags = flags::DEBUGGING;
                }
            }
            let letter = self.letter(section, sym_flags, &out.extra_sections);
            let printed = if matches!(letter, b'U' | b'w' | b'v') {
                0
            } else {
                value.wrapping_add(self.vma_in(section, &out.extra_sections))
            };
            out.symbols.push(CoffSymbol {
                index: i as u32,
                name,
                value: printed,
                section,
                storage_class: sclass,
                typ,
                aux_count,
                flags: sym_flags,
                letter,
            });
            i += 1 + usize::from(aux_count);
        }
        if !class_notes.is_empty() {
            return Err(fail(class_notes));
        }
        Ok(out)
    }

    /// BFD's name of a symbol: a `.file` symbol's comes from its auxiliary
    /// entries, others' from the inline field or the string table.
    fn symbol_name(
        &self,
        entry: &'data [u8],
        sclass: u8,
        aux_count: u8,
        strings: &mut impl FnMut(&Self) -> Result<Strings<'data>, Vec<String>>,
    ) -> Result<&'data [u8], Vec<String>> {
        let field = if sclass == C_FILE && aux_count > 0 {
            &entry[SYMESZ..2 * SYMESZ]
        } else {
            &entry[..8]
        };
        // BFD tests the first byte only: zero means a string-table offset
        // in bytes 4..8.
        if field[0] == 0 {
            let offset = u64::from(u32_at(field, 4));
            if offset == 0 && !(sclass == C_FILE && aux_count > 0) {
                return Ok(b"");
            }
            let table = strings(self)?;
            if offset >= table.len {
                return Ok(b"<corrupt>");
            }
            return Ok(table.at(offset));
        }
        Ok(if sclass == C_FILE && aux_count > 0 {
            // The first auxiliary entry, up to 18 bytes (BFD means to read
            // a name spread over several entries, but its copy of the
            // first holds 18 bytes and zeros after).
            until_nul(field, SYMESZ)
        } else {
            until_nul(field, 8)
        })
    }

    fn section(&self, index: u32, extra: &[CoffSection<'data>]) -> Option<CoffSection<'data>> {
        let i = index.checked_sub(1)? as usize;
        match self.sections.get(i) {
            Some(s) => Some(*s),
            None => extra.get(i - self.sections.len()).copied(),
        }
    }

    fn vma_in(&self, section: CoffSymbolSection, extra: &[CoffSection<'data>]) -> u64 {
        match section {
            CoffSymbolSection::Section(i) => self.section(i, extra).map_or(0, |s| s.vma),
            _ => 0,
        }
    }

    /// BFD's name of a symbol's section (`*UND*`, `*ABS*`, `*COM*` or the
    /// section's own).
    pub fn section_name_in(
        &self,
        section: CoffSymbolSection,
        extra: &[CoffSection<'data>],
    ) -> &'data [u8] {
        match section {
            CoffSymbolSection::Undefined => b"*UND*",
            CoffSymbolSection::Absolute => b"*ABS*",
            CoffSymbolSection::Common => b"*COM*",
            CoffSymbolSection::Section(i) => self.section(i, extra).map_or(b"", |s| s.name),
        }
    }

    /// `bfd_decode_symclass` for a COFF symbol.
    fn letter(&self, section: CoffSymbolSection, f: u8, extra: &[CoffSection<'data>]) -> u8 {
        let lower = match section {
            CoffSymbolSection::Common => return b'C',
            CoffSymbolSection::Undefined => return if f & flags::WEAK != 0 { b'w' } else { b'U' },
            _ if f & flags::WEAK != 0 => return b'W',
            _ if f & (flags::GLOBAL | flags::LOCAL) == 0 => return b'?',
            CoffSymbolSection::Absolute => b'a',
            CoffSymbolSection::Section(i) => self.section(i, extra).map_or(b'?', |s| s.letter),
        };
        if f & flags::GLOBAL != 0 {
            lower.to_ascii_uppercase()
        } else {
            lower
        }
    }
}

/// `strtol(text, &end, 10)` that must consume all of `text`: leading
/// white space, an optional sign, digits. `None` when something is left.
fn parse_strtol(text: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = match text.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &text[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        // No digits leaves `end` at the start: consumed only if empty.
        return if text.is_empty() { Some(0) } else { None };
    }
    let v = digits
        .iter()
        .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
    Some(if negative { -v } else { v })
}

/// BFD's lower-case nm letter for a symbol defined in a PE section:
/// `coff_section_type` on the name, then `decode_section_type` on the
/// flags `styp_to_sec_flags` derives from the characteristics. `None` when
/// BFD refuses the section (and with it the file); `notes` gets BFD's
/// messages.
fn section_letter(
    name: &[u8],
    characteristics: u32,
    contents: bool,
    mut comdat_notes: Vec<String>,
    notes: &mut Vec<String>,
) -> Option<u8> {
    let is_debug = [
        &b".debug"[..],
        b".zdebug",
        b".gnu.linkonce.wi.",
        b".gnu.linkonce.wt.",
        b".stab",
    ]
    .iter()
    .any(|p| name.starts_with(p));
    let (mut code, mut data, mut readonly, mut debugging) = (false, false, true, false);
    let mut refused = false;
    let mut rest = characteristics;
    // BFD walks the bits from the lowest up; the order matters for
    // READONLY, which DISCARDABLE sets and WRITE clears.
    while rest != 0 {
        let bit = rest & rest.wrapping_neg();
        rest &= !bit;
        let unhandled = match bit {
            scn::STYP_DSECT => Some("STYP_DSECT"),
            scn::STYP_GROUP => Some("STYP_GROUP"),
            scn::STYP_COPY => Some("STYP_COPY"),
            scn::STYP_OVER => Some("STYP_OVER"),
            scn::LNK_OTHER => Some("IMAGE_SCN_LNK_OTHER"),
            scn::MEM_NOT_CACHED => Some("IMAGE_SCN_MEM_NOT_CACHED"),
            _ => None,
        };
        if let Some(flag) = unhandled {
            notes.push(format!(
                " ({}): section flag {flag} ({bit:#x}) ignored",
                String::from_utf8_lossy(name)
            ));
            refused = true;
            continue;
        }
        match bit {
            scn::STYP_NOLOAD | scn::TYPE_NO_PAD => {}
            scn::MEM_NOT_PAGED => notes.push(format!(
                ": warning: ignoring section flag IMAGE_SCN_MEM_NOT_PAGED in section {}",
                String::from_utf8_lossy(name)
            )),
            scn::MEM_EXECUTE => code = true,
            scn::MEM_WRITE => readonly = false,
            // Discardable alone says nothing of debugging information.
            scn::MEM_DISCARDABLE if is_debug || name == b".comment" => {
                debugging = true;
                readonly = true;
            }
            scn::CNT_CODE => code = true,
            scn::CNT_INITIALIZED_DATA => {
                if is_debug {
                    debugging = true;
                } else {
                    data = true;
                }
            }
            scn::LNK_INFO => debugging = true,
            // Only link flags, but BFD checks the section's symbols here.
            scn::LNK_COMDAT => notes.append(&mut comdat_notes),
            _ => {}
        }
    }
    if refused {
        return None;
    }
    if let Some(l) = bfd_name_letter(name) {
        return Some(l);
    }
    Some(if code {
        b't'
    } else if data {
        if readonly { b'r' } else { b'd' }
    } else if !contents {
        b'b'
    } else if debugging {
        b'N'
    } else if readonly {
        b'n'
    } else {
        b'?'
    })
}

/// BFD's `coff_section_type`: the letters of Microsoft's special sections,
/// used for every object format (ELF included).
pub(crate) fn bfd_name_letter(name: &[u8]) -> Option<u8> {
    for (prefix, letter) in [
        (&b".drectve"[..], b'i'),
        (b".edata", b'e'),
        (b".idata", b'i'),
        (b".pdata", b'p'),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            if rest.is_empty() || rest[0] == b'.' || rest[0] == b'$' || rest[0].is_ascii_digit() {
                return Some(letter);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_strtol(text: &[u8], expect: Option<i64>) {
        assert_eq!(
            parse_strtol(text),
            expect,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }

    #[test]
    fn strtol_as_bfd_uses_it() {
        check_strtol(b"4", Some(4));
        check_strtol(b"1234567", Some(1_234_567));
        check_strtol(b" +12", Some(12));
        check_strtol(b"-1", Some(-1));
        check_strtol(b"", Some(0));
        check_strtol(b"12a", None);
        check_strtol(b" ", None);
        check_strtol(b"-", None);
    }

    fn check_letter(name: &str, characteristics: u32, contents: bool, expect: u8) {
        let mut notes = Vec::new();
        let got = section_letter(
            name.as_bytes(),
            characteristics,
            contents,
            Vec::new(),
            &mut notes,
        );
        assert_eq!(got, Some(expect), "{name} {characteristics:#x}");
    }

    #[test]
    fn section_letters() {
        check_letter(".text", 0x6000_0020, true, b't');
        check_letter(".data", 0xc000_0040, true, b'd');
        check_letter(".rdata", 0x4000_0040, true, b'r');
        check_letter(".bss", 0xc000_0080, false, b'b');
        check_letter(".debug_info", 0x4200_0040, true, b'N');
        check_letter(".comment", 0x4000_0000, true, b'n');
        check_letter(".comment", 0x4200_0000, true, b'N');
        check_letter(".pdata", 0x4000_0040, true, b'p');
        check_letter(".idata$2", 0xc000_0040, true, b'i');
        check_letter(".weird", 0xc000_0000, true, b'?');
    }
}
