//! `xsplice-validate`: checks a live-patch payload the way the hypervisor
//! will, before it gets the chance to refuse it (or crash on it).
//!
//! Thin glue over the library: read the files, build the environment
//! (`--target`, `--after`), call `validate`, print, map to an exit code.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xsplice_symbols::{MappedFile, map_file};
use xsplice_validate::{Environment, Options, TargetImage, XenImage, file_name, validate};

/// Check a Xen live-patch payload against every rule the hypervisor applies.
///
/// Exit status: 0 when no error is found, 1 when the hypervisor would refuse
/// (or crash on) the payload, 2 on usage or I/O errors.
#[derive(Parser)]
#[command(name = "xsplice-validate", version)]
struct Cli {
    /// The payload to check (`.livepatch` or `.xsplice` file).
    payload: PathBuf,
    /// The hypervisor image (`xen-syms`) the payload will be loaded into;
    /// enables symbol resolution, build-id, old_addr and expectation checks.
    #[arg(long, value_name = "XEN_SYMS")]
    target: Option<PathBuf>,
    /// A payload loaded before this one, in load order (repeatable); its new
    /// symbols resolve and its build-id is what this payload depends on.
    #[arg(long, value_name = "PAYLOAD")]
    after: Vec<PathBuf>,
    /// Apply only this Xen release's rules (e.g. 4.19 or 4.17.3).
    #[arg(long, value_name = "VERSION")]
    xen: Option<xsplice_abi::XenVersion>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// Compiler-style diagnostics and a summary line.
    Text,
    /// One JSON object.
    Json,
}

/// The file's bytes, mapped: a hypervisor image with debug information is
/// tens of megabytes, of which the checks read the headers, the symbol
/// table and a few code bytes.
fn read(path: &Path) -> anyhow::Result<MappedFile> {
    map_file(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn run(cli: &Cli) -> anyhow::Result<bool> {
    let bytes = read(&cli.payload)?;
    let target_bytes = cli.target.as_deref().map(read).transpose()?;
    let image = match (&cli.target, &target_bytes) {
        (Some(path), Some(data)) => Some(XenImage::parse(&file_name(path), data)?),
        _ => None,
    };
    if let Some(v) = &cli.xen
        && xsplice_validate::Release::of(v).is_none()
    {
        anyhow::bail!("Xen {v} is not a release this validator knows (4.7 to 4.22)");
    }
    let opts = Options { xen: cli.xen };
    let mut env = Environment {
        target: image.as_ref().map(|i| i as &dyn TargetImage),
        ..Default::default()
    };
    for path in &cli.after {
        let report = env.load_after(&file_name(path), &read(path)?, &opts);
        if report.payload.is_none() {
            anyhow::bail!("`{}` cannot be read as a payload", path.display());
        }
    }
    let report = validate(&bytes, &opts, &env);
    let mut out = std::io::stdout().lock();
    let name = file_name(&cli.payload);
    match cli.format {
        Format::Text => report.write_text(&mut out, &name),
        Format::Json => report.write_json(&mut out, &name),
    }
    .context("cannot write the report")?;
    Ok(report.is_clean())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("xsplice-validate: {e:#}");
            ExitCode::from(2)
        }
    }
}
