//! The one error type of the linker library.
//!
//! Every variant names the input file (or output part) concerned, so that a
//! failed payload build says which object to look at and why.

/// Why a link failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No input objects were given.
    #[error("no input files")]
    NoInputs,
    /// An input is not an ELF file we can parse.
    #[error("`{path}`: malformed ELF: {detail}")]
    Malformed {
        /// The input file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// An input is a valid ELF file that we do not link.
    #[error("`{path}`: {feature} is not supported")]
    Unsupported {
        /// The input file.
        path: String,
        /// The unsupported feature, in words.
        feature: String,
    },
    /// Inputs disagree on ELF class or machine.
    #[error("`{path}`: {found} does not match {expected} of `{first}`")]
    Mismatch {
        /// The offending input file.
        path: String,
        /// The first input file, which set the expectation.
        first: String,
        /// What the offending file is (`EM_ARM ELF32`).
        found: String,
        /// What the first file is.
        expected: String,
    },
    /// An input whose machine or class is not the one `-m` asked for.
    #[error("`{path}`: {found} does not match emulation {emulation} ({expected})")]
    EmulationMismatch {
        /// The offending input file.
        path: String,
        /// What the file is (`EM_AARCH64 ELF64`).
        found: String,
        /// The emulation asked for (`elf_x86_64`).
        emulation: &'static str,
        /// What the emulation writes (`EM_X86_64 ELF64`).
        expected: String,
    },
    /// `-m` names an emulation we do not write.
    #[error("unsupported emulation `{name}` (xsplice-link writes {supported})")]
    UnknownEmulation {
        /// The name given.
        name: String,
        /// The accepted names, comma-separated.
        supported: String,
    },
    /// Two strong definitions of one global symbol.
    #[error("`{path}`: multiple definition of `{symbol}`; first defined in `{first}`")]
    MultipleDefinition {
        /// The file with the second definition.
        path: String,
        /// The symbol.
        symbol: String,
        /// The file with the first definition.
        first: String,
    },
    /// arm32 build attributes that cannot be merged (GNU ld refuses them too).
    #[error("cannot merge build attributes of `{path}`: {detail}")]
    Attributes {
        /// The input being merged.
        path: String,
        /// The conflict, naming the other input concerned.
        detail: String,
    },
    /// A REL relocation whose implicit addend must change, of a type we cannot encode.
    #[error(
        "`{path}`: cannot adjust the implicit addend of relocation type {r_type} at {section}+{offset:#x}"
    )]
    RelAddend {
        /// The input file.
        path: String,
        /// The section holding the relocated field.
        section: String,
        /// Offset of the field in the input section.
        offset: u64,
        /// The relocation type number.
        r_type: u32,
    },
    /// The adjusted implicit addend does not fit the instruction field.
    #[error(
        "`{path}`: adjusted addend of relocation type {r_type} at {section}+{offset:#x} overflows its field"
    )]
    RelAddendOverflow {
        /// The input file.
        path: String,
        /// The section holding the relocated field.
        section: String,
        /// Offset of the field in the input section.
        offset: u64,
        /// The relocation type number.
        r_type: u32,
    },
    /// A payload option could not be honoured (bad `--depends` file, bad modinfo).
    #[error("{0}")]
    Payload(String),
    /// The output would exceed what the ELF class can describe.
    #[error("output too large for ELF{bits}: {what}")]
    TooLarge {
        /// 32 or 64.
        bits: u32,
        /// What overflowed.
        what: String,
    },
}
