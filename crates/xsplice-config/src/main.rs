//! `xsplice-config`: writes a payload's `config.h` from exact symbol
//! lookups. Glue only: arguments, mapping the inputs, the library, writing
//! the output (see `output.rs`), exit codes 0 / 1 (a lookup failed) / 2
//! (usage or I/O).

#![forbid(unsafe_code)]

mod output;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use xsplice_config::{ConfigError, Define, Files, Format, Item, Preset, PresetInputs};

/// Write C macros computed from exact symbol lookups in ELF files.
///
/// Each macro is `#define NAME VALUE`, byte for byte what the nm/objdump
/// recipes of the seed's and Xen's test Makefiles write when the symbol is
/// found. A missing, undefined or ambiguous symbol is an error that leaves
/// the output file untouched; an unchanged result does not rewrite it.
#[derive(Parser)]
#[command(name = "xsplice-config", version)]
struct Cli {
    /// Output file (default: standard output). Written through a temporary
    /// file in the same directory and left alone when the content is
    /// unchanged.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// A macro: NAME=KIND:FILE:SYMBOL with KIND addr, size or expect:N (the
    /// first N ≤ 31 bytes at the symbol), or NAME=build-id:FILE. SYMBOL is
    /// exact; `file#name` names a static. Repeatable; written in order,
    /// after the preset's lines.
    #[arg(long = "define", value_name = "NAME=KIND:FILE:SYMBOL")]
    defines: Vec<String>,
    /// A known recipe: `seed` (NEW_CODE_SZ, OLD_CODE_SZ, OLD_CODE),
    /// `xen-test` (Xen's test config.h) or `xen-test-expect` (its
    /// expect_config.h).
    #[arg(long, value_name = "PRESET", value_parser = preset_parser())]
    preset: Option<Preset>,
    /// The hypervisor image the preset reads (`xen-syms`).
    // `--xen-syms` is the old spelling, still taken.
    #[arg(long, alias = "xen-syms", value_name = "XEN_SYMS")]
    target: Option<PathBuf>,
    /// The object holding `xen_hello_world`, for the presets that need it.
    #[arg(long, value_name = "FILE")]
    new_obj: Option<PathBuf>,
    /// Output format: `header` (C macros) or `json` (the same values).
    #[arg(long, value_name = "FORMAT", default_value = "header", value_parser = ["header", "json"])]
    format: String,
}

/// `--preset`: the library's presets, listed by `--help`.
fn preset_parser() -> impl clap::builder::TypedValueParser<Value = Preset> {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(Preset::ALL.map(Preset::name)).try_map(|s| s.parse::<Preset>())
}

fn items(cli: &Cli) -> Result<Vec<Item>, ConfigError> {
    let mut items = match cli.preset {
        Some(p) => {
            let inputs = PresetInputs {
                xen_syms: cli.target.clone(),
                new_obj: cli.new_obj.clone(),
            };
            p.items(&inputs)?
        }
        None => Vec::new(),
    };
    for d in &cli.defines {
        items.push(Item::Lookup(d.parse::<Define>()?));
    }
    if items.is_empty() {
        Err(ConfigError::NothingToDo)
    } else {
        Ok(items)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let fail = |code: u8, msg: &dyn std::fmt::Display| {
        eprintln!("xsplice-config: {msg}");
        ExitCode::from(code)
    };
    let items = match items(&cli) {
        Ok(items) => items,
        Err(e) => return fail(2, &e),
    };
    // Mapped, not read: of a 24 MB xen-syms only the headers, the symbol
    // table and a few code bytes are looked at.
    let mut maps = BTreeMap::new();
    for path in items.iter().filter_map(Item::file) {
        if !maps.contains_key(path) {
            match xsplice_symbols::map_file(path) {
                Ok(map) => maps.insert(path.to_path_buf(), map),
                Err(e) => return fail(2, &format!("cannot read `{}`: {e}", path.display())),
            };
        }
    }
    let files: Files<'_> = maps.iter().map(|(p, m)| (p.clone(), &m[..])).collect();
    let values = match xsplice_config::evaluate(&items, &files) {
        Ok(values) => values,
        Err(e) => return fail(if e.is_usage() { 2 } else { 1 }, &e),
    };
    let format = if cli.format == "json" {
        Format::Json
    } else {
        Format::Header
    };
    match output::write(
        cli.output.as_deref(),
        &xsplice_config::render(&values, format),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(2, &e),
    }
}
