//! Reading relocatable inputs into one class-independent model.
//!
//! The linker works on `u64` fields whatever the ELF class, so this module is
//! the only place generic over `object`'s 32/64-bit header types. It borrows
//! names and contents from the input bytes (no copies) and checks everything
//! the later stages rely on, so that malformed input becomes an error here.

use object::elf;
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, Sym};
use object::{Endianness, SectionIndex};

use crate::LinkError;

/// One input object.
pub(crate) struct Object<'d> {
    pub path: String,
    pub is_64: bool,
    pub machine: u16,
    pub e_flags: u32,
    pub osabi: u8,
    pub sections: Vec<Section<'d>>,
    pub symbols: Vec<Symbol<'d>>,
}

/// One input section (index 0 is the null section).
pub(crate) struct Section<'d> {
    pub name: &'d [u8],
    pub sh_type: u32,
    pub flags: u64,
    pub addralign: u64,
    pub size: u64,
    pub entsize: u64,
    pub link: u32,
    pub info: u32,
    /// Contents; empty for SHT_NOBITS.
    pub data: &'d [u8],
    /// Relocations that apply to this section, if any.
    pub relocs: Vec<Reloc>,
    /// Whether those came from SHT_RELA (else SHT_REL).
    pub rela: bool,
    /// Index of the relocation section itself, for group membership.
    pub reloc_section: Option<usize>,
}

/// One input symbol (index 0 is the null symbol).
#[derive(Clone, Copy)]
pub(crate) struct Symbol<'d> {
    pub name: &'d [u8],
    pub info: u8,
    pub other: u8,
    /// Section index with SHN_XINDEX resolved; SHN_UNDEF/ABS/COMMON kept as is.
    pub shndx: u32,
    pub value: u64,
    pub size: u64,
}

impl Symbol<'_> {
    pub fn bind(&self) -> u8 {
        self.info >> 4
    }
    pub fn kind(&self) -> u8 {
        self.info & 0xf
    }
}

/// One relocation, RELA or REL (addend 0 for REL: it lives in the bytes).
#[derive(Clone, Copy)]
pub(crate) struct Reloc {
    pub offset: u64,
    pub sym: u32,
    pub r_type: u32,
    pub addend: i64,
}

/// Parses one input file.
pub(crate) fn parse<'d>(path: &str, data: &'d [u8]) -> Result<Object<'d>, LinkError> {
    let malformed = |detail: String| LinkError::Malformed {
        path: path.to_owned(),
        detail,
    };
    if data.len() < 16 || &data[..4] != b"\x7fELF" {
        if data.starts_with(b"!<arch>\n") {
            return Err(LinkError::Unsupported {
                path: path.to_owned(),
                feature: "an archive input (extract its members first)".into(),
            });
        }
        return Err(malformed("not an ELF file".into()));
    }
    match data[4] {
        2 => parse_class::<elf::FileHeader64<Endianness>>(path, data, true),
        1 => parse_class::<elf::FileHeader32<Endianness>>(path, data, false),
        c => Err(malformed(format!("unknown ELF class {c}"))),
    }
}

fn parse_class<'d, Elf>(path: &str, data: &'d [u8], is_64: bool) -> Result<Object<'d>, LinkError>
where
    Elf: FileHeader<Endian = Endianness>,
{
    let malformed = |e: object::read::Error| LinkError::Malformed {
        path: path.to_owned(),
        detail: e.to_string().to_lowercase(),
    };
    let unsupported = |feature: String| LinkError::Unsupported {
        path: path.to_owned(),
        feature,
    };
    let header = Elf::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    if endian != Endianness::Little {
        return Err(unsupported("big-endian ELF".into()));
    }
    let e_type = header.e_type(endian).0;
    if e_type != elf::ET_REL.0 {
        let kind = match e_type {
            2 => "an executable (ET_EXEC)".to_owned(),
            3 => "a shared object (ET_DYN)".to_owned(),
            4 => "a core file (ET_CORE)".to_owned(),
            t => format!("ELF file type {t}"),
        };
        return Err(unsupported(format!(
            "{kind}: only relocatable objects can be linked"
        )));
    }
    let machine = header.e_machine(endian).0;
    if ![elf::EM_X86_64.0, elf::EM_AARCH64.0, elf::EM_ARM.0].contains(&machine) {
        return Err(unsupported(format!("machine {machine}")));
    }
    let expected_64 = machine != elf::EM_ARM.0;
    if expected_64 != is_64 {
        return Err(unsupported(format!(
            "ELF{} for machine {machine}",
            if is_64 { 64 } else { 32 }
        )));
    }
    let table = header.sections(endian, data).map_err(malformed)?;
    let mut sections = Vec::with_capacity(table.len());
    let mut symtab_index = None;
    for (index, shdr) in table.enumerate() {
        let name = if index.0 == 0 {
            &[][..]
        } else {
            table.section_name(endian, shdr).map_err(malformed)?
        };
        let sh_type = shdr.sh_type(endian).0;
        let contents = if sh_type == elf::SHT_NOBITS.0 || index.0 == 0 {
            &[][..]
        } else {
            shdr.data(endian, data).map_err(malformed)?
        };
        let flags = shdr.sh_flags(endian).0;
        if flags & elf::SHF_COMPRESSED.0 != 0 {
            return Err(unsupported(format!(
                "compressed section `{}`",
                String::from_utf8_lossy(name)
            )));
        }
        if sh_type == elf::SHT_SYMTAB.0 {
            if symtab_index.is_some() {
                return Err(unsupported("more than one symbol table".into()));
            }
            symtab_index = Some(index);
        }
        if sh_type == elf::SHT_CREL.0 {
            return Err(unsupported("CREL relocations".into()));
        }
        sections.push(Section {
            name,
            sh_type,
            flags,
            addralign: shdr.sh_addralign(endian).into(),
            size: shdr.sh_size(endian).into(),
            entsize: shdr.sh_entsize(endian).into(),
            link: shdr.sh_link(endian),
            info: shdr.sh_info(endian),
            data: contents,
            relocs: Vec::new(),
            rela: false,
            reloc_section: None,
        });
    }

    let mut symbols = Vec::new();
    if let Some(symtab_index) = symtab_index {
        let symtab = table
            .symbol_table_by_index(endian, data, symtab_index)
            .map_err(malformed)?;
        symbols.reserve(symtab.len());
        for (index, sym) in symtab.enumerate() {
            let name = sym.name(endian, symtab.strings()).map_err(malformed)?;
            let raw_shndx = sym.st_shndx(endian).0;
            let shndx = if raw_shndx == elf::SHN_XINDEX.0 {
                match symtab.shndx(endian, index) {
                    Some(i) => i,
                    None => {
                        return Err(LinkError::Malformed {
                            path: path.to_owned(),
                            detail: format!(
                                "symbol {} uses SHN_XINDEX without .symtab_shndx",
                                index.0
                            ),
                        });
                    }
                }
            } else {
                u32::from(raw_shndx)
            };
            let is_special = raw_shndx >= elf::SHN_LORESERVE && raw_shndx != elf::SHN_XINDEX.0;
            if !is_special && shndx as usize >= sections.len() {
                return Err(LinkError::Malformed {
                    path: path.to_owned(),
                    detail: format!("symbol {} has section index {shndx} out of range", index.0),
                });
            }
            if is_special && raw_shndx != elf::SHN_ABS.0 && raw_shndx != elf::SHN_COMMON.0 {
                return Err(unsupported(format!("symbol section index {raw_shndx:#x}")));
            }
            symbols.push(Symbol {
                name,
                info: sym.st_info().0,
                other: sym.st_other().0,
                shndx,
                value: sym.st_value(endian).into(),
                size: sym.st_size(endian).into(),
            });
        }
    }

    // Attach relocation sections to their targets.
    for (index, shdr) in table.enumerate() {
        let sh_type = shdr.sh_type(endian).0;
        let rela = sh_type == elf::SHT_RELA.0;
        if !rela && sh_type != elf::SHT_REL.0 {
            continue;
        }
        let target = shdr.sh_info(endian) as usize;
        if target == 0
            || target >= sections.len()
            || Some(SectionIndex(shdr.sh_link(endian) as usize)) != symtab_index
        {
            return Err(LinkError::Malformed {
                path: path.to_owned(),
                detail: format!(
                    "relocation section `{}` has a bad target or symbol table",
                    String::from_utf8_lossy(sections[index.0].name)
                ),
            });
        }
        if sections[target].reloc_section.is_some() {
            return Err(unsupported(format!(
                "two relocation sections for `{}`",
                String::from_utf8_lossy(sections[target].name)
            )));
        }
        let mut relocs = Vec::new();
        let check = |sym: u32| -> Result<u32, LinkError> {
            if sym as usize >= symbols.len().max(1) {
                Err(LinkError::Malformed {
                    path: path.to_owned(),
                    detail: format!("relocation against symbol {sym} out of range"),
                })
            } else {
                Ok(sym)
            }
        };
        if rela {
            let (entries, _) = shdr
                .rela(endian, data)
                .map_err(malformed)?
                .unwrap_or((&[], SectionIndex(0)));
            relocs.reserve(entries.len());
            for r in entries {
                relocs.push(Reloc {
                    offset: r.r_offset(endian).into(),
                    sym: check(r.r_sym(endian, false))?,
                    r_type: r.r_type(endian, false).0,
                    addend: r.r_addend(endian).into(),
                });
            }
        } else {
            let (entries, _) = shdr
                .rel(endian, data)
                .map_err(malformed)?
                .unwrap_or((&[], SectionIndex(0)));
            relocs.reserve(entries.len());
            for r in entries {
                relocs.push(Reloc {
                    offset: r.r_offset(endian).into(),
                    sym: check(r.r_sym(endian))?,
                    r_type: r.r_type(endian).0,
                    addend: 0,
                });
            }
        }
        let t = &mut sections[target];
        if let Some(r) = relocs.iter().find(|r| r.offset >= t.size) {
            return Err(LinkError::Malformed {
                path: path.to_owned(),
                detail: format!(
                    "relocation at {:#x} lies outside section `{}` ({:#x} bytes)",
                    r.offset,
                    String::from_utf8_lossy(t.name),
                    t.size
                ),
            });
        }
        t.relocs = relocs;
        t.rela = rela;
        t.reloc_section = Some(index.0);
    }

    Ok(Object {
        path: path.to_owned(),
        is_64,
        machine,
        e_flags: header.e_flags(endian).0,
        osabi: header.e_ident().os_abi.0,
        sections,
        symbols,
    })
}
