//! `cargo xtask livepatch-build PATCH`: a source patch to a validated
//! payload with `xsplice-build`, on the stand-in hypervisor by default.
//!
//! The stand-in is built the way Kbuild builds Xen (objects beside their
//! sources, each with its `.<obj>.cmd` record) into
//! `target/xsplice/stand-in-tree/<arch>/`, every command printed; then the
//! `xsplice-build` binary runs on it, and its output (each step as a
//! command, the payload's path last) is passed through. `--srcdir` points
//! it at a built Xen tree instead, such as the one `cargo xtask real-xen`
//! caches.

use std::path::PathBuf;

use anyhow::{Context, bail};
use xsplice_build::{Arch, build_stand_in_tree};

use crate::bench::release_binary;

#[derive(clap::Args)]
pub struct LivepatchArgs {
    /// The source patch (paths relative to the tree's top, `-p1`).
    pub patch: PathBuf,
    /// A built Xen tree to patch instead of the stand-in (its top, the
    /// directory holding `xen/`).
    #[arg(long, value_name = "DIR")]
    pub srcdir: Option<PathBuf>,
    /// The stand-in's architecture.
    #[arg(long, default_value = "x86_64")]
    pub arch: String,
    /// The payload this one stacks on (`xsplice-build --depends`).
    #[arg(long, value_name = "PAYLOAD")]
    pub depends: Option<PathBuf>,
    /// Output directory (default `target/xsplice/livepatch-build/<name>`).
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: LivepatchArgs) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    let patch = std::fs::canonicalize(&args.patch)
        .with_context(|| format!("cannot read `{}`", args.patch.display()))?;
    let srcdir = match args.srcdir {
        Some(dir) => dir,
        None => {
            let arch = Arch::parse(&args.arch)?;
            let tree = root.join("target/xsplice/stand-in-tree").join(arch.name());
            let commands = build_stand_in_tree(&root, &tree, arch)
                .with_context(|| format!("building the stand-in tree for {arch}"))?;
            for cmd in &commands {
                println!("{cmd}");
            }
            tree
        }
    };
    // Built with the release profile; it finds xsplice-link and
    // xsplice-validate beside itself.
    let build = release_binary("xsplice-livepatch-build", "xsplice-build")?;
    release_binary("xsplice-link", "xsplice-link")?;
    release_binary("xsplice-validate", "xsplice-validate")?;
    // One directory per patch: each holds its own shadow tree.
    let stem = patch.file_stem().unwrap_or_default();
    let out = args
        .out
        .unwrap_or_else(|| root.join("target/xsplice/livepatch-build").join(stem));
    let mut cmd = std::process::Command::new(&build);
    cmd.arg("-s")
        .arg(&srcdir)
        .arg("-p")
        .arg(&patch)
        .arg("-o")
        .arg(&out);
    if let Some(d) = &args.depends {
        cmd.arg("--depends").arg(d);
    }
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{}`", build.display()))?;
    if !status.success() {
        bail!("xsplice-build failed ({status})");
    }
    Ok(())
}
