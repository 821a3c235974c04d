//! The one error type of this crate.
//!
//! Every variant names the concrete thing that went wrong (a section, a
//! symbol, an offset) so that a caller can print it as is. File paths are
//! not known here (the library reads bytes); callers add them.

/// Everything that can go wrong while reading a symbol table or looking a
/// symbol up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes do not start with the ELF magic, or the identification
    /// bytes name a class or data encoding we do not know.
    #[error("file format not recognized")]
    NotElf,
    /// The file is shorter than its own ELF header.
    #[error("file truncated: {len} bytes, the elf header needs {need}")]
    TruncatedHeader { len: usize, need: usize },
    /// The section header table lies (partly) past the end of the file.
    #[error(
        "section header table at offset {offset:#x} ({count} entries of {entsize} bytes) lies past the end of the file ({len} bytes)"
    )]
    SectionHeadersPastEnd {
        offset: u64,
        count: u64,
        entsize: u64,
        len: usize,
    },
    /// `e_shentsize` is not the size of a section header for this class.
    #[error("section header entry size {entsize} is not {expected}")]
    BadSectionHeaderSize { entsize: u16, expected: u16 },
    /// A section's contents lie past the end of the file.
    #[error(
        "section [{index}] `{name}` at offset {offset:#x} size {size:#x} lies past the end of the file ({len} bytes)"
    )]
    SectionPastEnd {
        index: u32,
        name: String,
        offset: u64,
        size: u64,
        len: usize,
    },
    /// The symbol table's `sh_link` does not name a string table.
    #[error("symbol table [{index}] links to section {link}, which is not a string table")]
    BadStringTableLink { index: u32, link: u32 },
    /// `sh_entsize` of the symbol table is not the size of a symbol.
    #[error("symbol table [{index}] has entry size {entsize}, expected {expected}")]
    BadSymbolEntrySize {
        index: u32,
        entsize: u64,
        expected: u64,
    },
    /// No defined symbol has this name.
    #[error("symbol `{name}` not found")]
    NotFound { name: String },
    /// The name exists, but only as an undefined reference.
    #[error("symbol `{name}` is undefined")]
    Undefined { name: String },
    /// More than one defined symbol has this name; each candidate is given
    /// as `file#name` (statics) or `name` (others).
    #[error("symbol `{name}` is ambiguous: {}", candidates.join(", "))]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    /// The symbol's section has no bytes in the file (SHT_NOBITS, or the
    /// symbol is absolute, common or undefined).
    #[error("symbol `{name}` has no bytes in the file ({why})")]
    NoBytes { name: String, why: &'static str },
    /// More bytes were asked for than the symbol or its section holds.
    #[error("symbol `{name}`: {want} bytes asked for, but only {have} available ({limit})")]
    BytesOutOfRange {
        name: String,
        want: u64,
        have: u64,
        limit: &'static str,
    },
    /// An archive could not be read.
    #[error("malformed archive: {0}")]
    Archive(&'static str),
    /// Not a COFF object or PE image GNU BFD reads (or one it refuses).
    /// `notes` are the messages BFD prints on the way, each to follow the
    /// file's name.
    #[error("file format not recognized")]
    CoffFormat { notes: Vec<String> },
    /// The COFF symbol table cannot be read: GNU nm stops with `no
    /// symbols`, after the messages in `notes`.
    #[error("no symbols")]
    CoffSymbols { notes: Vec<String> },
}
