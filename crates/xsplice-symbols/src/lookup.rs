//! Exact symbol lookup, the bytes at a symbol, and the GNU build-id.
//!
//! The seed's build finds addresses with `nm | grep NAME`, a substring match
//! that silently picks the wrong symbol when one name contains another or a
//! static name appears in two files. These functions are the exact
//! replacement used by `xsplice-config`, `xsplice-validate` and the
//! simulator: one defined symbol or an error that says why not.

use std::mem::size_of;

use object::Endianness;
use object::elf;
use object::pod::from_bytes;

use crate::Error;
use crate::elf::{ElfFile, Symbol, SymbolSection};

impl<'data> ElfFile<'data> {
    /// Finds the one defined symbol called `name`.
    ///
    /// Only defined symbols count (common ones included); STT_FILE and
    /// STT_SECTION symbols never match. A static can be named `file#name`,
    /// where `file` is the STT_FILE symbol that precedes it in the symbol
    /// table, which is how Xen spells statics in its own symbol table.
    /// The exact name is tried first, so a symbol whose name contains `#`
    /// is still found.
    ///
    /// Errors: [`Error::NotFound`]; [`Error::Undefined`] when the name is
    /// only referenced, never defined; [`Error::Ambiguous`] with every
    /// candidate (as `file#name` or `name`) when several definitions share
    /// the name, for example two statics in different files. When exactly
    /// one of the definitions is global (or weak), the bare name means that
    /// one, as in Xen's symbol table where statics are only `file#name`.
    pub fn lookup(&self, name: &str) -> Result<Symbol<'data>, Error> {
        let wanted = name.as_bytes();
        let mut found: Vec<Symbol<'data>> = Vec::new();
        let mut undefined = false;
        for sym in self.symbols() {
            if sym.is_debugging() || sym.bad_name || sym.name != wanted {
                continue;
            }
            if sym.is_defined() {
                found.push(sym);
            } else {
                undefined = true;
            }
        }
        if found.is_empty() {
            if let Some((file, bare)) = name.split_once('#') {
                found = self
                    .symbols()
                    .filter(|s| {
                        s.is_defined()
                            && !s.is_debugging()
                            && !s.bad_name
                            && s.binding == elf::STB_LOCAL.0
                            && s.name == bare.as_bytes()
                            && s.file_hint == Some(file.as_bytes())
                    })
                    .collect();
            }
        }
        if let Some(err) = self.symtab_error() {
            return Err(err.clone());
        }
        if found.len() > 1 {
            let mut globals = found.iter().filter(|s| s.binding != elf::STB_LOCAL.0);
            if let (Some(global), None) = (globals.next(), globals.next()) {
                return Ok(*global);
            }
        }
        match found.len() {
            1 => Ok(found[0]),
            0 if undefined => Err(Error::Undefined {
                name: name.to_owned(),
            }),
            0 => Err(Error::NotFound {
                name: name.to_owned(),
            }),
            _ => Err(Error::Ambiguous {
                name: name.to_owned(),
                candidates: found.iter().map(Symbol::qualified_name).collect(),
            }),
        }
    }

    /// The first `n` bytes of the symbol's contents in the file.
    ///
    /// The symbol's address is mapped to its section's file offset: in
    /// ET_REL files st_value is an offset into the section, elsewhere it is
    /// an address and the section's sh_addr is subtracted. Fails when `n`
    /// exceeds st_size, when the bytes run past the section or the file,
    /// and for symbols without bytes (SHT_NOBITS, absolute, common,
    /// undefined).
    pub fn symbol_bytes(&self, sym: &Symbol<'data>, n: u64) -> Result<&'data [u8], Error> {
        let name = || sym.qualified_name();
        let index = match sym.section {
            SymbolSection::Section(i) => i,
            SymbolSection::Undefined => {
                return Err(Error::NoBytes {
                    name: name(),
                    why: "undefined",
                });
            }
            SymbolSection::Absolute => {
                return Err(Error::NoBytes {
                    name: name(),
                    why: "absolute",
                });
            }
            SymbolSection::Common => {
                return Err(Error::NoBytes {
                    name: name(),
                    why: "common",
                });
            }
        };
        let section = &self.sections()[index as usize];
        if section.sh_type == elf::SHT_NOBITS.0 {
            return Err(Error::NoBytes {
                name: name(),
                why: "its section has no file contents",
            });
        }
        if n > sym.size {
            return Err(Error::BytesOutOfRange {
                name: name(),
                want: n,
                have: sym.size,
                limit: "symbol size",
            });
        }
        // ARM Thumb functions: the nm value has the Thumb bit cleared,
        // which is where the code starts.
        let addr = if self.e_machine() == elf::EM_ARM.0 {
            sym.value.wrapping_sub(if self.e_type() == elf::ET_REL.0 {
                section.sh_addr
            } else {
                0
            })
        } else {
            sym.st_value
        };
        let start = if self.e_type() == elf::ET_REL.0 {
            addr
        } else {
            addr.wrapping_sub(section.sh_addr)
        };
        let have = section.sh_size.saturating_sub(start);
        if start > section.sh_size || n > have {
            return Err(Error::BytesOutOfRange {
                name: name(),
                want: n,
                have: if start > section.sh_size { 0 } else { have },
                limit: "section size",
            });
        }
        let data = self
            .section_data(section)
            .ok_or_else(|| Error::SectionPastEnd {
                index,
                name: String::from_utf8_lossy(section.name).into_owned(),
                offset: section.sh_offset,
                size: section.sh_size,
                len: self.data().len(),
            })?;
        // Both bounds were checked against sh_size, which `data` spans.
        Ok(&data[start as usize..(start + n) as usize])
    }

    /// The GNU build-id: the descriptor of the first note named `GNU` with
    /// type NT_GNU_BUILD_ID (3), looked for in `.note.gnu.build-id` first
    /// and then in every other SHT_NOTE section.
    pub fn build_id(&self) -> Option<&'data [u8]> {
        let notes = self
            .sections()
            .iter()
            .filter(|s| s.sh_type == elf::SHT_NOTE.0);
        let named = notes
            .clone()
            .filter(|s| s.name == b".note.gnu.build-id")
            .chain(notes.filter(|s| s.name != b".note.gnu.build-id"));
        for section in named {
            let Some(data) = self.section_data(section) else {
                continue;
            };
            if let Some(id) = find_gnu_note(data, self, elf::NT_GNU_BUILD_ID) {
                return Some(id);
            }
        }
        None
    }
}

/// Walks the notes in `data` (`object`'s `Elf32_Nhdr` records with 4-byte
/// aligned name and descriptor, as both ELF classes use for GNU notes) and
/// returns the descriptor of the first `GNU` note of type `wanted`.
fn find_gnu_note<'data>(
    data: &'data [u8],
    file: &ElfFile<'_>,
    wanted: elf::NoteType,
) -> Option<&'data [u8]> {
    let endian = file.endianness();
    let align4 = |x: usize| x.checked_add(3).map(|v| v & !3);
    let mut off = 0usize;
    while let Some((note, _)) = data
        .get(off..)
        .and_then(|rest| from_bytes::<elf::NoteHeader32<Endianness>>(rest).ok())
    {
        let namesz = note.n_namesz.get(endian) as usize;
        let descsz = note.n_descsz.get(endian) as usize;
        let name_start = off.checked_add(size_of::<elf::NoteHeader32<Endianness>>())?;
        let desc_start = name_start.checked_add(align4(namesz)?)?;
        let desc_end = desc_start.checked_add(descsz)?;
        let name = data.get(name_start..name_start.checked_add(namesz)?)?;
        let desc = data.get(desc_start..desc_end)?;
        if note.n_type.get(endian) == wanted && name.strip_suffix(b"\0") == Some(elf::ELF_NOTE_GNU)
        {
            return Some(desc);
        }
        off = align4(desc_end)?;
    }
    None
}
