//! A raw, bounds-checked reader for the ELF structures a payload is made of.
//!
//! The validator must see exactly the fields the hypervisor sees, including
//! values a general-purpose ELF library would reject or normalise (a zero
//! `sh_addralign`, a symbol table linked to section 0, a wrapping
//! `sh_offset + sh_size`). So this module decodes fixed-size records through
//! `object`'s raw structs (`object::elf::SectionHeader64` and the rest,
//! which check nothing and normalise nothing) at offsets the caller has
//! already checked, never interprets them, and never panics: a record past
//! the end, or at an offset no struct could sit at, is copied out first or
//! gives `None`. Payloads are read little-endian whatever `EI_DATA` says,
//! as Xen does. The constants are `object::elf`'s, in the widths the
//! validator's model uses.

use std::mem::size_of;

use object::LittleEndian as LE;
use object::elf;
use object::pod::{Pod, bytes_of_slice_mut, from_bytes};
use object::read::elf::{FileHeader, SectionHeader, Sym as ElfSym};

/// ELF file class: the word size of every structure in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// ELFCLASS32.
    Elf32,
    /// ELFCLASS64.
    Elf64,
}

impl Class {
    /// Size of `Elf_Ehdr`.
    pub fn ehdr_size(self) -> u64 {
        self.size::<elf::FileHeader32<LE>, elf::FileHeader64<LE>>()
    }
    /// Size of `Elf_Shdr`.
    pub fn shdr_size(self) -> u64 {
        self.size::<elf::SectionHeader32<LE>, elf::SectionHeader64<LE>>()
    }
    /// Size of `Elf_Sym`.
    pub fn sym_size(self) -> u64 {
        self.size::<elf::Sym32<LE>, elf::Sym64<LE>>()
    }
    /// Size of `Elf_Rel`.
    pub fn rel_size(self) -> u64 {
        self.size::<elf::Rel32<LE>, elf::Rel64<LE>>()
    }
    /// Size of `Elf_Rela`.
    pub fn rela_size(self) -> u64 {
        self.size::<elf::Rela32<LE>, elf::Rela64<LE>>()
    }
    fn size<T32, T64>(self) -> u64 {
        match self {
            Class::Elf32 => size_of::<T32>() as u64,
            Class::Elf64 => size_of::<T64>() as u64,
        }
    }
    /// Size of a pointer.
    pub fn ptr_size(self) -> u64 {
        match self {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }
}

/// Little-endian reads that fail instead of panicking.
#[derive(Clone, Copy)]
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    /// `len` bytes at `off`, if they are all inside.
    pub fn slice(self, off: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(off).ok()?;
        let len = usize::try_from(len).ok()?;
        let end = start.checked_add(len)?;
        self.0.get(start..end)
    }
    pub fn u8(self, off: u64) -> Option<u8> {
        self.slice(off, 1).map(|b| b[0])
    }
    pub fn u16(self, off: u64) -> Option<u16> {
        self.slice(off, 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    pub fn u32(self, off: u64) -> Option<u32> {
        self.slice(off, 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(self, off: u64) -> Option<u64> {
        self.slice(off, 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    }
    /// A word of the class's size, widened to 64 bits.
    pub fn word(self, class: Class, off: u64) -> Option<u64> {
        match class {
            Class::Elf32 => self.u32(off).map(u64::from),
            Class::Elf64 => self.u64(off),
        }
    }
    /// The NUL-terminated string starting at `off`, if a NUL is found before `end`.
    pub fn cstr(self, off: u64, end: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(off).ok()?;
        let end = usize::try_from(end).ok()?.min(self.0.len());
        let tail = self.0.get(start..end)?;
        let nul = tail.iter().position(|&b| b == 0)?;
        Some(&tail[..nul])
    }
}

/// The ELF header fields Xen looks at.
#[derive(Clone, Debug)]
pub struct Header {
    pub class: Class,
    pub data: u8,
    pub ident_version: u8,
    pub osabi: u8,
    pub abiversion: u8,
    pub e_type: u16,
    pub machine: u16,
    pub version: u32,
    pub flags: u32,
    pub phnum: u16,
    pub shoff: u64,
    pub shentsize: u16,
    pub shnum: u16,
    pub shstrndx: u16,
}

/// The record of type `T` at `off`, copied out of `data`: the bytes may
/// sit at any offset, aligned or not, and past the end there is none.
fn record<T: Pod + Copy>(data: &[u8], off: u64) -> Option<T> {
    let bytes = Bytes(data).slice(off, size_of::<T>() as u64)?;
    // Eight-byte aligned room for the largest record (`Elf64_Ehdr`).
    let mut room = [0u64; 8];
    let aligned = bytes_of_slice_mut(&mut room).get_mut(..bytes.len())?;
    aligned.copy_from_slice(bytes);
    from_bytes::<T>(aligned).ok().map(|(r, _)| *r)
}

/// `Elf_Ehdr` decoded for `class`; `None` if the file is shorter than the header.
pub fn header(data: &[u8], class: Class) -> Option<Header> {
    match class {
        Class::Elf32 => Some(header_of(&record::<elf::FileHeader32<LE>>(data, 0)?, class)),
        Class::Elf64 => Some(header_of(&record::<elf::FileHeader64<LE>>(data, 0)?, class)),
    }
}

fn header_of<H: FileHeader<Endian = LE>>(h: &H, class: Class) -> Header {
    let ident = h.e_ident();
    Header {
        class,
        data: ident.data.0,
        ident_version: ident.version.0,
        osabi: ident.os_abi.0,
        abiversion: ident.abi_version,
        e_type: h.e_type(LE).0,
        machine: h.e_machine(LE).0,
        version: h.e_version(LE),
        flags: h.e_flags(LE).0,
        phnum: h.e_phnum(LE),
        shoff: h.e_shoff(LE).into(),
        shentsize: h.e_shentsize(LE),
        shnum: h.e_shnum(LE),
        shstrndx: h.e_shstrndx(LE).0,
    }
}

/// One `Elf_Shdr`, with its index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shdr {
    pub index: usize,
    pub name: u32,
    pub sh_type: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub addralign: u64,
    pub entsize: u64,
}

/// Decodes the section header at `off`.
pub fn shdr(data: &[u8], class: Class, off: u64, index: usize) -> Option<Shdr> {
    match class {
        Class::Elf32 => Some(shdr_of(
            &record::<elf::SectionHeader32<LE>>(data, off)?,
            index,
        )),
        Class::Elf64 => Some(shdr_of(
            &record::<elf::SectionHeader64<LE>>(data, off)?,
            index,
        )),
    }
}

fn shdr_of<S: SectionHeader<Endian = LE>>(h: &S, index: usize) -> Shdr {
    Shdr {
        index,
        name: h.sh_name(LE),
        sh_type: h.sh_type(LE).0,
        flags: h.sh_flags(LE).0,
        addr: h.sh_addr(LE).into(),
        offset: h.sh_offset(LE).into(),
        size: h.sh_size(LE).into(),
        link: h.sh_link(LE),
        info: h.sh_info(LE),
        addralign: h.sh_addralign(LE).into(),
        entsize: h.sh_entsize(LE).into(),
    }
}

/// One `Elf_Sym`, undecoded apart from splitting `st_info`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sym {
    pub name: u32,
    pub value: u64,
    pub size: u64,
    pub bind: u8,
    pub kind: u8,
    pub other: u8,
    pub shndx: u16,
}

/// Decodes the symbol at `off`.
pub fn sym(data: &[u8], class: Class, off: u64) -> Option<Sym> {
    match class {
        Class::Elf32 => Some(sym_of(&record::<elf::Sym32<LE>>(data, off)?)),
        Class::Elf64 => Some(sym_of(&record::<elf::Sym64<LE>>(data, off)?)),
    }
}

fn sym_of<S: ElfSym<Endian = LE>>(s: &S) -> Sym {
    let info = s.st_info().0;
    Sym {
        name: s.st_name(LE),
        value: s.st_value(LE).into(),
        size: s.st_size(LE).into(),
        bind: info >> 4,
        kind: info & 0xf,
        other: s.st_other().0,
        shndx: s.st_shndx(LE).0,
    }
}

/// One relocation entry; `addend` is `None` for SHT_REL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    pub offset: u64,
    pub sym: u32,
    pub kind: u32,
    pub addend: Option<i64>,
}

/// Decodes the relocation at `off`; `rela` selects `Elf_Rela`. `r_info`
/// is split by hand: `object`'s helpers would read the MIPS64 layout for
/// some machines, and Xen splits it the plain way on every architecture.
pub fn reloc(data: &[u8], class: Class, off: u64, rela: bool) -> Option<Reloc> {
    Some(match (class, rela) {
        (Class::Elf32, false) => {
            let r: elf::Rel32<LE> = record(data, off)?;
            reloc32(r.r_offset.get(LE), r.r_info.get(LE), None)
        }
        (Class::Elf32, true) => {
            let r: elf::Rela32<LE> = record(data, off)?;
            let addend = i64::from(r.r_addend.get(LE));
            reloc32(r.r_offset.get(LE), r.r_info.get(LE), Some(addend))
        }
        (Class::Elf64, false) => {
            let r: elf::Rel64<LE> = record(data, off)?;
            reloc64(r.r_offset.get(LE), r.r_info.get(LE), None)
        }
        (Class::Elf64, true) => {
            let r: elf::Rela64<LE> = record(data, off)?;
            let addend = r.r_addend.get(LE);
            reloc64(r.r_offset.get(LE), r.r_info.get(LE), Some(addend))
        }
    })
}

fn reloc32(offset: u32, info: u32, addend: Option<i64>) -> Reloc {
    Reloc {
        offset: offset.into(),
        sym: info >> 8,
        kind: info & 0xff,
        addend,
    }
}

fn reloc64(offset: u64, info: u64, addend: Option<i64>) -> Reloc {
    Reloc {
        offset,
        sym: (info >> 32) as u32,
        kind: info as u32,
        addend,
    }
}

// The constants the checks use, from `object::elf`, in the model's widths.
pub const SHT_NULL: u32 = elf::SHT_NULL.0;
pub const SHT_PROGBITS: u32 = elf::SHT_PROGBITS.0;
pub const SHT_SYMTAB: u32 = elf::SHT_SYMTAB.0;
pub const SHT_STRTAB: u32 = elf::SHT_STRTAB.0;
pub const SHT_RELA: u32 = elf::SHT_RELA.0;
pub const SHT_NOTE: u32 = elf::SHT_NOTE.0;
pub const SHT_NOBITS: u32 = elf::SHT_NOBITS.0;
pub const SHT_REL: u32 = elf::SHT_REL.0;

pub const SHF_WRITE: u64 = elf::SHF_WRITE.0;
pub const SHF_ALLOC: u64 = elf::SHF_ALLOC.0;
pub const SHF_EXECINSTR: u64 = elf::SHF_EXECINSTR.0;
pub const SHF_MERGE: u64 = elf::SHF_MERGE.0;

pub const SHN_UNDEF: u16 = elf::SHN_UNDEF.0;
pub const SHN_LORESERVE: u16 = elf::SHN_LORESERVE;
pub const SHN_ABS: u16 = elf::SHN_ABS.0;
pub const SHN_COMMON: u16 = elf::SHN_COMMON.0;

pub const STT_FUNC: u8 = elf::STT_FUNC.0;
pub const STT_SECTION: u8 = elf::STT_SECTION.0;
pub const STT_FILE: u8 = elf::STT_FILE.0;
pub const STB_LOCAL: u8 = elf::STB_LOCAL.0;
pub const STB_WEAK: u8 = elf::STB_WEAK.0;

pub const ET_REL: u16 = elf::ET_REL.0;
pub const EM_ARM: u16 = elf::EM_ARM.0;
pub const EM_X86_64: u16 = elf::EM_X86_64.0;
pub const EM_AARCH64: u16 = elf::EM_AARCH64.0;
