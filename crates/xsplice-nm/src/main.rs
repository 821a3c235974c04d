//! `xsplice-nm`: GNU nm's output for ELF files, archives, and the COFF
//! objects and PE images of x86, byte for byte, plus `--format json` and
//! exact `--lookup` (ELF). This file parses arguments and maps the files
//! into memory; what the options mean, the output and the exit status are
//! `xsplice_symbols::nm_command`'s.

use clap::{ArgAction, Parser, ValueEnum};
use xsplice_symbols::nm::{Field, Format, Input, InputError};
use xsplice_symbols::nm_command::{self, Flags};

/// List symbols from ELF files, archives, and x86 COFF objects and PE images,
/// exactly as GNU nm 2.40 does under LC_ALL=C.
#[derive(Parser)]
#[command(
    name = "xsplice-nm",
    version,
    infer_long_args = true,
    after_help = "Long options may be abbreviated while unambiguous (`--defined`).\n\
                  Exit status: the number of files that could not be read or were not \
                  recognised, as with GNU nm (0 when all were listed). With --lookup: 0 \
                  found, 1 not found, undefined or ambiguous, 2 unreadable file or usage error."
)]
struct Cli {
    /// Also list debugging symbols (STT_FILE and STT_SECTION).
    #[arg(short = 'a', long = "debug-syms", action = ArgAction::SetTrue)]
    debug_syms: bool,
    /// Only list defined symbols (`--defined` is accepted as an abbreviation).
    #[arg(long = "defined-only")]
    defined_only: bool,
    /// Only list undefined symbols.
    #[arg(short = 'u', long = "undefined-only")]
    undefined_only: bool,
    /// Only list external (global, weak, unique, undefined, common) symbols.
    #[arg(short = 'g', long = "extern-only")]
    extern_only: bool,
    /// Print the size of defined symbols with a non-zero size.
    #[arg(short = 'S', long = "print-size")]
    print_size: bool,
    /// Do not sort: symbol-table order.
    #[arg(short = 'p', long = "no-sort")]
    no_sort: bool,
    /// Sort by address (undefined symbols first).
    #[arg(short = 'n', long = "numeric-sort")]
    numeric_sort: bool,
    /// Reverse the sort order.
    #[arg(short = 'r', long = "reverse-sort")]
    reverse_sort: bool,
    /// Output format.
    #[arg(short = 'f', long = "format", value_enum, default_value = "bsd")]
    format: CliFormat,
    /// Same as --format=posix.
    #[arg(short = 'P', long = "portability")]
    portability: bool,
    /// Include target-special symbols (ARM/AArch64 mapping symbols).
    #[arg(long = "special-syms")]
    special_syms: bool,
    /// Print only the address (or --field) of the one defined symbol NAME; `file#name` names a static.
    #[arg(long, value_name = "NAME")]
    lookup: Option<String>,
    /// What --lookup prints.
    #[arg(long, value_enum, default_value = "addr", requires = "lookup")]
    field: CliField,
    /// Input files (default a.out).
    files: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum CliFormat {
    Bsd,
    Sysv,
    Posix,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum CliField {
    Addr,
    Size,
}

/// Maps one file into memory, or says why GNU nm could not read it.
fn map(path: &str) -> Result<Option<memmap2::Mmap>, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => InputError::Missing,
        _ => InputError::Io(e.to_string()),
    })?;
    if meta.is_dir() {
        return Err(InputError::Directory);
    }
    if !meta.is_file() {
        return Err(InputError::NotOrdinary);
    }
    if meta.len() == 0 {
        return Ok(None);
    }
    let file = std::fs::File::open(path).map_err(|e| InputError::Io(e.to_string()))?;
    // SAFETY: the map is read-only and private; a file truncated by another
    // process while we read it is the one hazard, as with every mmap reader.
    unsafe { memmap2::Mmap::map(&file) }
        .map(Some)
        .map_err(|e| InputError::Io(e.to_string()))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let flags = Flags {
        debug_syms: cli.debug_syms,
        defined_only: cli.defined_only,
        undefined_only: cli.undefined_only,
        extern_only: cli.extern_only,
        print_size: cli.print_size,
        no_sort: cli.no_sort,
        numeric_sort: cli.numeric_sort,
        reverse_sort: cli.reverse_sort,
        format: match cli.format {
            CliFormat::Bsd => Format::Bsd,
            CliFormat::Sysv => Format::Sysv,
            CliFormat::Posix => Format::Posix,
            CliFormat::Json => Format::Json,
        },
        portability: cli.portability,
        special_syms: cli.special_syms,
        lookup: cli.lookup,
        field: match cli.field {
            CliField::Addr => Field::Addr,
            CliField::Size => Field::Size,
        },
    };
    let files = nm_command::input_names(cli.files);
    let maps: Vec<_> = files.iter().map(|f| map(f)).collect();
    let inputs: Vec<Input<'_>> = files
        .iter()
        .zip(&maps)
        .map(|(name, m)| Input {
            name,
            data: match m {
                Ok(Some(m)) => Ok(&m[..]),
                Ok(None) => Ok(&[][..]),
                Err(e) => Err(e.clone()),
            },
        })
        .collect();
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    std::process::ExitCode::from(nm_command::run(&flags, &inputs, &mut out, &mut err))
}
