//! A raw, bounds-checked reader for the ELF structures a payload is made of.
//!
//! The validator must see exactly the fields the hypervisor sees, including
//! values a general-purpose ELF library would reject or normalise (a zero
//! `sh_addralign`, a symbol table linked to section 0, a wrapping
//! `sh_offset + sh_size`). So this module only decodes fixed-size records at
//! offsets the caller has already checked, never interprets them, and never
//! panics: every read goes through [`Bytes`], which returns `None` past the end.
//! Payloads are read little-endian whatever `EI_DATA` says, as Xen does.

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
        match self {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        }
    }
    /// Size of `Elf_Shdr`.
    pub fn shdr_size(self) -> u64 {
        match self {
            Class::Elf32 => 40,
            Class::Elf64 => 64,
        }
    }
    /// Size of `Elf_Sym`.
    pub fn sym_size(self) -> u64 {
        match self {
            Class::Elf32 => 16,
            Class::Elf64 => 24,
        }
    }
    /// Size of `Elf_Rel`.
    pub fn rel_size(self) -> u64 {
        match self {
            Class::Elf32 => 8,
            Class::Elf64 => 16,
        }
    }
    /// Size of `Elf_Rela`.
    pub fn rela_size(self) -> u64 {
        match self {
            Class::Elf32 => 12,
            Class::Elf64 => 24,
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

/// `Elf_Ehdr` decoded for `class`; `None` if the file is shorter than the header.
pub fn header(data: &[u8], class: Class) -> Option<Header> {
    let b = Bytes(data);
    if (data.len() as u64) < class.ehdr_size() {
        return None;
    }
    let (shoff, rest) = match class {
        Class::Elf32 => (u64::from(b.u32(32)?), 36),
        Class::Elf64 => (b.u64(40)?, 48),
    };
    Some(Header {
        class,
        data: b.u8(5)?,
        ident_version: b.u8(6)?,
        osabi: b.u8(7)?,
        abiversion: b.u8(8)?,
        e_type: b.u16(16)?,
        machine: b.u16(18)?,
        version: b.u32(20)?,
        flags: b.u32(rest)?,
        phnum: b.u16(rest + 8)?,
        shentsize: b.u16(rest + 10)?,
        shnum: b.u16(rest + 12)?,
        shstrndx: b.u16(rest + 14)?,
        shoff,
    })
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
    let b = Bytes(data);
    Some(match class {
        Class::Elf32 => Shdr {
            index,
            name: b.u32(off)?,
            sh_type: b.u32(off + 4)?,
            flags: b.u32(off + 8)?.into(),
            addr: b.u32(off + 12)?.into(),
            offset: b.u32(off + 16)?.into(),
            size: b.u32(off + 20)?.into(),
            link: b.u32(off + 24)?,
            info: b.u32(off + 28)?,
            addralign: b.u32(off + 32)?.into(),
            entsize: b.u32(off + 36)?.into(),
        },
        Class::Elf64 => Shdr {
            index,
            name: b.u32(off)?,
            sh_type: b.u32(off + 4)?,
            flags: b.u64(off + 8)?,
            addr: b.u64(off + 16)?,
            offset: b.u64(off + 24)?,
            size: b.u64(off + 32)?,
            link: b.u32(off + 40)?,
            info: b.u32(off + 44)?,
            addralign: b.u64(off + 48)?,
            entsize: b.u64(off + 56)?,
        },
    })
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
    let b = Bytes(data);
    let (name, value, size, info, other, shndx) = match class {
        Class::Elf32 => (
            b.u32(off)?,
            u64::from(b.u32(off + 4)?),
            u64::from(b.u32(off + 8)?),
            b.u8(off + 12)?,
            b.u8(off + 13)?,
            b.u16(off + 14)?,
        ),
        Class::Elf64 => (
            b.u32(off)?,
            b.u64(off + 8)?,
            b.u64(off + 16)?,
            b.u8(off + 4)?,
            b.u8(off + 5)?,
            b.u16(off + 6)?,
        ),
    };
    Some(Sym {
        name,
        value,
        size,
        bind: info >> 4,
        kind: info & 0xf,
        other,
        shndx,
    })
}

/// One relocation entry; `addend` is `None` for SHT_REL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    pub offset: u64,
    pub sym: u32,
    pub kind: u32,
    pub addend: Option<i64>,
}

/// Decodes the relocation at `off`; `rela` selects `Elf_Rela`.
pub fn reloc(data: &[u8], class: Class, off: u64, rela: bool) -> Option<Reloc> {
    let b = Bytes(data);
    Some(match class {
        Class::Elf32 => {
            let info = b.u32(off + 4)?;
            Reloc {
                offset: b.u32(off)?.into(),
                sym: info >> 8,
                kind: info & 0xff,
                addend: if rela {
                    Some(i64::from(b.u32(off + 8)? as i32))
                } else {
                    None
                },
            }
        }
        Class::Elf64 => {
            let info = b.u64(off + 8)?;
            Reloc {
                offset: b.u64(off)?,
                sym: (info >> 32) as u32,
                kind: info as u32,
                addend: if rela {
                    Some(b.u64(off + 16)? as i64)
                } else {
                    None
                },
            }
        }
    })
}

pub const SHT_NULL: u32 = 0;
pub const SHT_PROGBITS: u32 = 1;
pub const SHT_SYMTAB: u32 = 2;
pub const SHT_STRTAB: u32 = 3;
pub const SHT_RELA: u32 = 4;
pub const SHT_NOTE: u32 = 7;
pub const SHT_NOBITS: u32 = 8;
pub const SHT_REL: u32 = 9;

pub const SHF_WRITE: u64 = 0x1;
pub const SHF_ALLOC: u64 = 0x2;
pub const SHF_EXECINSTR: u64 = 0x4;
pub const SHF_MERGE: u64 = 0x10;

pub const SHN_UNDEF: u16 = 0;
pub const SHN_LORESERVE: u16 = 0xff00;
pub const SHN_ABS: u16 = 0xfff1;
pub const SHN_COMMON: u16 = 0xfff2;

pub const STT_FUNC: u8 = 2;
pub const STT_SECTION: u8 = 3;
pub const STT_FILE: u8 = 4;
pub const STB_LOCAL: u8 = 0;
pub const STB_WEAK: u8 = 2;

pub const ET_REL: u16 = 1;
pub const EM_ARM: u16 = 40;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
