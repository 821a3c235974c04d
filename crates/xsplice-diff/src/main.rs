//! `xsplice-diff ORIG.o PATCHED.o --target XEN_SYMS -o OUT.o`: the changed
//! part of an object as a live-patch object. Exit 0 written, 1 internal
//! error, 2 refused, 3 no functional change (create-diff-object's codes).

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use xsplice_abi::Abi;
use xsplice_diff::{Input, Options, Verdict, diff};

/// Compare an object built from the original source with the same object
/// built from the patched source, and write what changed as a live-patch
/// object whose `.livepatch.funcs` names are resolved in the target.
#[derive(Parser)]
#[command(name = "xsplice-diff", version)]
struct Args {
    /// The object built from the original source.
    orig: PathBuf,
    /// The same object built from the patched source.
    patched: PathBuf,
    /// The hypervisor the payload is for (`xen-syms`).
    #[arg(long)]
    target: PathBuf,
    /// Where to write the output object (only when something changed).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// The payload ABI of the `.funcs` entries.
    #[arg(long, default_value = "livepatch-v2")]
    abi: String,
    /// The Xen release the payload is for (e.g. `4.17.5`): whether
    /// `.livepatch.funcs` must be writable, and the element sizes of Xen's
    /// tables (without it, every release of the ABI must agree on them).
    #[arg(long)]
    xen: Option<String>,
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("xsplice-diff: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> anyhow::Result<u8> {
    let args = Args::parse();
    let abi: Abi = args.abi.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let xen = match &args.xen {
        Some(v) => Some(v.parse().map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    let read = |p: &PathBuf| {
        xsplice_symbols::map_file(p).with_context(|| format!("cannot read `{}`", p.display()))
    };
    let orig = read(&args.orig)?;
    let patched = read(&args.patched)?;
    let target = read(&args.target)?;
    let name = |p: &PathBuf| p.display().to_string();
    let (on, pn, tn) = (name(&args.orig), name(&args.patched), name(&args.target));
    let outcome = diff(
        Input {
            path: &on,
            data: &orig,
        },
        Input {
            path: &pn,
            data: &patched,
        },
        Some(Input {
            path: &tn,
            data: &target,
        }),
        &Options { abi, xen },
    )?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Text => outcome.report.write_text(&mut stdout)?,
        Format::Json => outcome.report.write_json(&mut stdout)?,
    }
    stdout.flush()?;
    if let (Some(object), Some(out)) = (&outcome.object, &args.output) {
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
        tmp.write_all(object)?;
        tmp.persist(out)
            .with_context(|| format!("cannot write `{}`", out.display()))?;
    } else if outcome.verdict == Verdict::Written && args.output.is_none() {
        eprintln!("xsplice-diff: something changed; pass -o to write the object");
    }
    Ok(outcome.verdict.exit_code() as u8)
}
