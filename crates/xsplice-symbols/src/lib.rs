//! Symbol tables of ELF files: exact lookup, symbol bytes, build-id, and a
//! renderer that prints exactly what GNU nm 2.40 prints.
//!
//! The seed's build reads addresses and sizes out of `nm --defined [-S]`
//! output with `grep`; every later step (config generation, validation,
//! the simulator) needs the same facts without nm's quirks. This crate
//! reads them straight from the bytes, zero-copy, for ELF32 and ELF64,
//! little and big endian, ET_REL, ET_EXEC and ET_DYN, with SHN_XINDEX.
//!
//! # Lookup API
//!
//! ```no_run
//! # fn demo(bytes: &[u8]) -> Result<(), xsplice_symbols::Error> {
//! use xsplice_symbols::ElfFile;
//! let elf = ElfFile::parse(bytes)?;                 // any ELF, borrowed
//! let sym = elf.lookup("xen_extra_version")?;       // exact, defined only
//! let stat = elf.lookup("version.c#do_thing")?;      // a static, by file
//! let code = elf.symbol_bytes(&sym, 5)?;            // first 5 bytes of it
//! let id: Option<&[u8]> = elf.build_id();           // NT_GNU_BUILD_ID
//! let width = elf.class().hex_width();              // 8 or 16 hex digits
//! # let _ = (stat, code, id, width); Ok(()) }
//! ```
//!
//! * [`ElfFile::symbols`] iterates `.symtab` (entry 0 excluded) and yields
//!   [`Symbol`]s: name bytes, nm value and raw st_value, size, binding,
//!   type, st_other, raw st_shndx, resolved [`SymbolSection`] and section
//!   name, the STT_FILE file hint of a local symbol, and the GNU nm letter.
//! * [`ElfFile::lookup`] returns the one defined symbol (STT_FILE and
//!   STT_SECTION ignored) with exactly that name, or `file#name` for a
//!   static, else [`Error::NotFound`], [`Error::Undefined`] (only an
//!   undefined reference exists) or [`Error::Ambiguous`] listing every
//!   candidate as `file#name`/`name`.
//! * [`ElfFile::symbol_bytes`] maps a symbol to its section's file bytes.
//! * [`ElfFile::build_id`] returns the GNU build-id descriptor.
//!
//! # Xen's runtime symbol table
//!
//! [`RuntimeTable`] models the table the hypervisor builds into itself from
//! `nm` of its image (statics as `file#name`, absolute and debugging symbols
//! left out) and looks names up as `symbols_lookup_by_name` does: the
//! validator and the simulator resolve payload symbols through it.
//!
//! # Inputs
//!
//! [`map_file`] maps an input file read-only: every binary reads its large
//! inputs through it, so that only the pages a tool looks at are read.
//! [`write_file`] is its counterpart for outputs: written whole or not at
//! all, through a temporary file renamed into place.
//!
//! # COFF objects and PE images
//!
//! [`coff::CoffFile`] reads the x86 COFF objects and PE images (Xen's
//! `xen.efi` and its link intermediates) as GNU BFD does for nm: sections,
//! symbols, their values, names and letters.
//!
//! # nm rendering
//!
//! [`nm::render`] prints one or more files (archives member by member) in
//! GNU nm's bsd, sysv or posix layout, or as JSON, with GNU's messages
//! and exit status; see that module. [`nm_command`] reads an `xsplice-nm`
//! command line (GNU nm's option precedence, `--lookup`, the exit status)
//! for the binary.

pub mod coff;
mod elf;
mod error;
mod lookup;
mod map;
pub mod nm;
pub mod nm_command;
mod runtime;
mod write;

pub use elf::{Class, ElfFile, Endian, Section, Symbol, SymbolSection, Symbols, is_elf};
pub use error::Error;
pub use map::{MappedFile, map_file};
pub use runtime::{RuntimeOptions, RuntimeSymbol, RuntimeTable};
pub use write::{WriteMode, write_file};
