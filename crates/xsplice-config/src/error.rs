//! The one error type of `xsplice-config`.
//!
//! Every lookup failure names the macro being computed, the symbol and the
//! file as the user spelled it, because the whole point of the tool is that
//! a missing symbol is reported where it is asked for, not found later by
//! the C compiler or the hypervisor.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("bad --define `{text}`: {why}")]
    BadDefine { text: String, why: String },
    #[error("`{name}` is defined twice")]
    DuplicateName { name: String },
    #[error("unknown preset `{name}` (expected seed, xen-test or xen-test-expect)")]
    UnknownPreset { name: String },
    #[error("preset `{preset}` needs {flag}")]
    MissingPresetInput {
        preset: &'static str,
        flag: &'static str,
    },
    #[error("nothing to write: give --define or --preset")]
    NothingToDo,
    #[error("`{file}` was not read")]
    FileNotRead { file: String },
    #[error("`{file}` is not an elf file: {why}")]
    NotElf { file: String, why: String },
    #[error("{name}: symbol `{symbol}` not found in `{file}`")]
    NotFound {
        name: String,
        symbol: String,
        file: String,
    },
    #[error("{name}: symbol `{symbol}` is undefined in `{file}` (only referenced)")]
    Undefined {
        name: String,
        symbol: String,
        file: String,
    },
    #[error("{name}: symbol `{symbol}` is ambiguous in `{file}`: {}", candidates.join(", "))]
    Ambiguous {
        name: String,
        symbol: String,
        file: String,
        candidates: Vec<String>,
    },
    #[error("{name}: symbol `{symbol}` in `{file}` has size 0")]
    ZeroSize {
        name: String,
        symbol: String,
        file: String,
    },
    #[error(
        "{name}: expect:{n} reads past the end of symbol `{symbol}` in `{file}` ({size} bytes)"
    )]
    ExpectPastSymbol {
        name: String,
        symbol: String,
        file: String,
        n: u64,
        size: u64,
    },
    #[error(
        "{name}: expect:{n} reads past the end of the section holding `{symbol}` in `{file}` ({left} bytes left)"
    )]
    ExpectPastSection {
        name: String,
        symbol: String,
        file: String,
        n: u64,
        left: u64,
    },
    #[error("{name}: symbol `{symbol}` in `{file}` has no bytes in the file ({why})")]
    NoBytes {
        name: String,
        symbol: String,
        file: String,
        why: &'static str,
    },
    #[error("{name}: `{file}` has no gnu build-id note")]
    NoBuildId { name: String, file: String },
    #[error("{name}: cannot read the symbols of `{file}`: {why}")]
    SymbolTable {
        name: String,
        file: String,
        why: String,
    },
}

impl ConfigError {
    /// True for mistakes in the command line (exit 2), false for problems
    /// found in the inputs (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ConfigError::BadDefine { .. }
                | ConfigError::DuplicateName { .. }
                | ConfigError::UnknownPreset { .. }
                | ConfigError::MissingPresetInput { .. }
                | ConfigError::NothingToDo
                | ConfigError::FileNotRead { .. }
        )
    }
}
