//! `xsplice-nm`: GNU nm's output for ELF files, archives, and the COFF
//! objects and PE images of x86, byte for byte, plus `--format json` and
//! exact `--lookup` (ELF). All logic is in
//! `xsplice_symbols::nm`; this file maps files into memory and exits with
//! GNU nm's status (the number of unreadable files), or for `--lookup` 0
//! found, 1 not found or ambiguous, 2 unreadable.

use std::io::Write;

use clap::{ArgAction, Parser, ValueEnum};
use xsplice_symbols::nm::{self, Field, Format, Input, InputError, Options, Sort};

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
    let files = if cli.files.is_empty() {
        vec!["a.out".to_owned()]
    } else {
        cli.files.clone()
    };
    let maps: Vec<_> = files.iter().map(|f| map(f)).collect();
    if let Some(name) = &cli.lookup {
        return lookup(&files, &maps, name, cli.field);
    }
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
    let opts = Options {
        format: match (cli.portability, cli.format) {
            (true, _) | (_, CliFormat::Posix) => Format::Posix,
            (_, CliFormat::Bsd) => Format::Bsd,
            (_, CliFormat::Sysv) => Format::Sysv,
            (_, CliFormat::Json) => Format::Json,
        },
        sort: if cli.no_sort {
            Sort::None
        } else if cli.numeric_sort {
            Sort::Numeric
        } else {
            Sort::Name
        },
        reverse: cli.reverse_sort,
        defined_only: cli.defined_only,
        undefined_only: cli.undefined_only,
        extern_only: cli.extern_only,
        debug_syms: cli.debug_syms,
        print_size: cli.print_size,
        special_syms: cli.special_syms,
    };
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    match nm::render(&inputs, &opts, &mut out, &mut err).and_then(|rc| out.flush().map(|()| rc)) {
        Ok(rc) => std::process::ExitCode::from(rc.clamp(0, 255) as u8),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xsplice-nm: write error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// `--lookup`: exactly one file; 1 when the symbol is not there, 2 when the
/// file cannot be read.
fn lookup(
    files: &[String],
    maps: &[Result<Option<memmap2::Mmap>, InputError>],
    name: &str,
    field: CliField,
) -> std::process::ExitCode {
    let result = (|| -> anyhow::Result<Result<String, xsplice_symbols::Error>> {
        anyhow::ensure!(files.len() == 1, "--lookup takes exactly one file");
        let data = match &maps[0] {
            Ok(Some(m)) => &m[..],
            Ok(None) => &[][..],
            Err(e) => anyhow::bail!("{}: {e}", files[0]),
        };
        let elf = xsplice_symbols::ElfFile::parse(data)
            .map_err(|e| anyhow::anyhow!("{}: {e}", files[0]))?;
        let field = match field {
            CliField::Addr => Field::Addr,
            CliField::Size => Field::Size,
        };
        Ok(nm::lookup_line(&elf, name, field))
    })();
    match result {
        Ok(Ok(line)) => {
            print!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("xsplice-nm: {}: {e}", files[0]);
            std::process::ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("xsplice-nm: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
