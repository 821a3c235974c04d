//! `xsplice-inspect`: prints what a live-patch payload means (ABI, build-ids,
//! `.funcs` entries with symbolic pointers, hooks, sections) in one
//! canonical, deterministic form that tests snapshot and people diff.
//!
//! Thin glue over `xsplice_validate::inspect`, which decodes the payload with
//! the same reader the validator uses.

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xsplice_symbols::map_file;
use xsplice_validate::{Environment, TargetImage, XenImage, file_name, inspect, inspect_json};

/// Dump a Xen live-patch payload canonically.
///
/// Exit status: 0 on success, 1 when the file cannot be read as a payload,
/// 2 on usage or I/O errors.
#[derive(Parser)]
#[command(name = "xsplice-inspect", version)]
struct Cli {
    /// The payload to dump.
    payload: PathBuf,
    /// The hypervisor image (`xen-syms`): constant addresses are shown with
    /// the target symbol they point at, undefined symbols with their address.
    #[arg(long, value_name = "XEN_SYMS")]
    target: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// The canonical text dump.
    Text,
    /// The decoded payload model as JSON.
    Json,
}

fn run(cli: &Cli) -> anyhow::Result<Result<(), xsplice_validate::InspectError>> {
    // Mapped: of a large `xen-syms` only the symbol table and a few code
    // bytes are read.
    let read = |p: &Path| map_file(p).with_context(|| format!("cannot read `{}`", p.display()));
    let bytes = read(&cli.payload)?;
    let target_bytes = cli.target.as_deref().map(read).transpose()?;
    let image = match (&cli.target, &target_bytes) {
        (Some(path), Some(data)) => Some(XenImage::parse(&file_name(path), data)?),
        _ => None,
    };
    let env = Environment {
        target: image.as_ref().map(|i| i as &dyn TargetImage),
        ..Default::default()
    };
    let mut out = Vec::new();
    let name = file_name(&cli.payload);
    let result = match cli.format {
        Format::Text => inspect(&mut out, &name, &bytes, &env),
        Format::Json => inspect_json(&mut out, &name, &bytes, &env),
    };
    std::io::stdout()
        .lock()
        .write_all(&out)
        .context("cannot write the dump")?;
    Ok(result)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("xsplice-inspect: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("xsplice-inspect: {e:#}");
            ExitCode::from(2)
        }
    }
}
