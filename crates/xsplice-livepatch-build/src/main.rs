//! `xsplice-build -s SRCDIR -p PATCH`: a source patch and a built Xen tree
//! to a validated payload. Exit 0 built, 1 refused or invalid, 2 usage or
//! I/O error, 3 no functional change.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use xsplice_livepatch_build::{Depends, Error, Options, build};

/// Build a live-patch payload from a source patch against an already built
/// Xen tree (livepatch-build's options where they exist). The tree is never
/// written: the patch is applied in a shadow under the output directory,
/// the objects that read a patched file are recompiled there with the
/// commands Kbuild recorded, diffed with xsplice-diff, linked with
/// xsplice-link and validated with xsplice-validate. Each step is printed
/// as a command; the last line is the payload's path.
#[derive(Parser)]
#[command(name = "xsplice-build", version)]
struct Args {
    /// The top of the built source tree (patch paths start here).
    #[arg(short = 's', long = "srcdir")]
    srcdir: PathBuf,
    /// The source patch, applied with `patch -p1`.
    #[arg(short = 'p', long = "patch")]
    patch: PathBuf,
    /// Output directory (shadow tree, diffed objects, payload).
    #[arg(short = 'o', long = "output", default_value = "xsplice-build-out")]
    output: PathBuf,
    /// The hypervisor the payload is for (default: the tree's xen-syms).
    #[arg(long = "xen-syms")]
    xen_syms: Option<PathBuf>,
    /// The payload this one stacks on (default: the hypervisor): its file,
    /// or its build-id in hex as livepatch-build takes it.
    #[arg(long, value_name = "PAYLOAD|ID")]
    depends: Option<String>,
    /// Payload ABI.
    #[arg(long, default_value = "livepatch-v2")]
    abi: String,
    /// Parallel jobs.
    #[arg(short = 'j', long, default_value_t = 2)]
    jobs: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let abi = match args.abi.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("xsplice-build: {e}");
            return ExitCode::from(2);
        }
    };
    let depends = match args.depends.as_deref().map(Depends::parse).transpose() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("xsplice-build: {e}");
            return ExitCode::from(2);
        }
    };
    let beside = |name: &str| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join(name)))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from(name))
    };
    let opts = Options {
        srcdir: args.srcdir,
        patch: args.patch,
        outdir: args.output,
        xen_syms: args.xen_syms,
        depends,
        abi,
        jobs: args.jobs,
        link: beside("xsplice-link"),
        validate: beside("xsplice-validate"),
    };
    match build(&opts, &mut std::io::stdout()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xsplice-build: {e}");
            ExitCode::from(match e {
                Error::NoChange(_) => 3,
                Error::Refused(_) | Error::Step { .. } | Error::Diff(_) => 1,
                Error::Io { .. } | Error::Usage(_) | Error::Patch { .. } => 2,
            })
        }
    }
}
