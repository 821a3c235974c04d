//! `xsplice-sim`: runs live-patch commands against the stand-in hypervisor.
//!
//! Parses the arguments, reads the image and the script, and hands them to
//! the library; exit 0 when every command succeeded, 1 when one failed or
//! the hypervisor crashed, 2 for usage and I/O errors.

#![forbid(unsafe_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use xsplice_abi::XenVersion;
use xsplice_sim::{Options, Output, Status, exit_code, parse_script, read_script};

/// Apply Xen live-patch payloads to a running stand-in hypervisor, in user space.
///
/// Commands mirror `xen-livepatch`: upload NAME FILE, load FILE [--nodeps],
/// apply NAME [--nodeps], revert NAME, replace NAME, unload NAME, list; and
/// `info` prints the `xl info` version lines of the running image, `hooks`
/// its hook log, `restart` boots a fresh image (ours, not Xen's: after a
/// crash every other command reports that the hypervisor is not running).
/// Output follows the tool of the emulated release: `xen-xsplice` for the
/// seed's era, `xen-livepatch` with two columns for 4.7 to 4.13, with the
/// metadata column from 4.14. Give one command as arguments, several
/// separated by `;`, or a script with one command per line (`--script FILE`,
/// or `-` for standard input).
///
/// Special sections: a fault in hypervisor or payload code at an
/// instruction with an `.ex_table` entry resumes at its fixup; a WARN frame
/// (`.bug_frames.1`) prints `(XEN) Xen WARN at FILE:LINE` and goes on; BUG
/// and ASSERT frames (`.bug_frames.2`, `.3`) panic the hypervisor; a
/// `run_fn` frame (`.bug_frames.0`) calls its function with the trap's
/// registers and goes on; `.altinstructions` are applied at upload against
/// `--cpu-features` and X86_FEATURE_ALWAYS (14-byte entries, Xen 4.11 and
/// later), an `alternative_call()` site becoming a direct call to the
/// pointer's value; `.alt_call_sites` become direct calls at upload (Xen
/// 4.21 and later).
///
/// ARM: with an aarch64 or arm32 `--target`, no code runs. `upload` makes
/// every check and places the payload (relocations as Xen's arm64 or arm32
/// loader applies them, arm64 alternatives against `--cpu-features` as
/// capability numbers, bug frames decoded); `apply` checks the dependency
/// and expectations and writes Xen's `B` (or NOPs) at each `old_addr` into
/// a copy of the image, printing the bytes written and saved; `revert`,
/// `replace` and `unload` restore them. Hooks are listed as not executed, a
/// payload whose apply or revert is a hook is refused (EOPNOTSUPP), and
/// `info` and `hooks` fail with "not executed on aarch64" (or arm32).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The hypervisor image (`target/xsplice/xen/x86_64/xen-syms`); an
    /// aarch64 or arm32 image is checked and patched without running code.
    #[arg(long, value_name = "XEN_SYMS")]
    target: Option<PathBuf>,
    /// Read commands from this file, one per line (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Behave as this Xen release (e.g. 4.13); default: each payload as the
    /// newest release that loads its ABI.
    // `--as-xen` is the old spelling, still taken.
    #[arg(long, alias = "as-xen", value_name = "VERSION")]
    xen: Option<String>,
    /// Echo each command before its output, like a terminal transcript.
    #[arg(long)]
    echo: bool,
    /// The simulated CPU's features, as Xen's feature numbers
    /// (`X86_FEATURE_*`: word * 32 + bit; on arm64 the capability numbers),
    /// comma-separated, e.g. `100,137`; payloads' alternatives are applied
    /// against them at upload. X86_FEATURE_ALWAYS (93) is always present.
    // Xen 4.17 has 21 feature words: numbers below 672.
    #[arg(long, value_name = "N,...", value_delimiter = ',',
          value_parser = clap::value_parser!(u16).range(0..672))]
    cpu_features: Vec<u16>,
    /// The command, e.g. `load xen_hello_world.livepatch`; `;` separates commands.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    exit_code("xsplice-sim", run())
}

/// The image and the release of the command line. `--xen` named the image
/// before it named the release, as in the other tools: a file given there is
/// refused with a message that names `--target`.
fn image_and_release(cli: &Cli) -> Result<(PathBuf, Option<XenVersion>)> {
    let release = match cli.xen.as_deref() {
        None => None,
        Some(text) => match text.parse::<XenVersion>() {
            Ok(v) => Some(v),
            Err(_) if Path::new(text).is_file() => bail!(
                "`--xen {text}` names a file: the image is `--target XEN_SYMS`, `--xen` takes a release (e.g. 4.13)"
            ),
            Err(e) => bail!("{e}; the image is given with `--target XEN_SYMS`"),
        },
    };
    let Some(target) = cli.target.clone() else {
        bail!("no hypervisor image: give `--target XEN_SYMS` (try --help)");
    };
    Ok((target, release))
}

fn run() -> Result<Status> {
    let cli = Cli::parse();
    let (target, release) = image_and_release(&cli)?;
    let text = read_script(cli.script.as_deref(), &cli.command)?;
    let lines = parse_script(&text)?;
    // Mapped: only the loaded segments and the symbol table are read.
    let xen = xsplice_symbols::map_file(&target)
        .with_context(|| format!("reading `{}`", target.display()))?;
    let opts = Options {
        xen: release,
        echo: cli.echo,
        cpu_features: cli.cpu_features.clone(),
        ..Options::default()
    };
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let mut output = Output {
        out: &mut out,
        err: &mut err,
        echo: opts.echo,
    };
    let mut files = |p: &std::path::Path| std::fs::read(p);
    Ok(xsplice_sim::run_session(
        &target.display().to_string(),
        &xen,
        &lines,
        &opts,
        &mut files,
        &mut output,
    )?)
}
