//! `cargo xtask target`: builds the stand-in hypervisor `xen-syms` for one or
//! more architectures into `target/xsplice/xen/<arch>/xen-syms`.
//!
//! The recipe lives in `xsplice-build` so that tests build the same image.

use anyhow::Context;
use xsplice_build::{Arch, build_stand_in};

#[derive(clap::Args)]
pub struct TargetArgs {
    /// Architectures to build (x86_64, aarch64, arm32); repeat or separate
    /// with commas. Default: x86_64.
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<String>,
    /// Rebuild even when the sources have not changed.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: TargetArgs) -> anyhow::Result<()> {
    let arches = parse_arches(&args.arch)?;
    let root = crate::workspace_root();
    let out = root.join("target").join("xsplice");
    for arch in arches {
        let built = build_stand_in(&root, &out, arch, args.force)
            .with_context(|| format!("building the stand-in hypervisor for {arch}"))?;
        for cmd in &built.commands {
            println!("{cmd}");
        }
        if !built.rebuilt {
            println!("# {arch}: up to date");
        }
        println!("{}", built.path.display());
    }
    Ok(())
}

/// Parses `--arch` values; none means x86_64.
pub fn parse_arches(names: &[String]) -> anyhow::Result<Vec<Arch>> {
    if names.is_empty() {
        return Ok(vec![Arch::X86_64]);
    }
    let mut arches = Vec::new();
    for n in names {
        let a = Arch::parse(n)?;
        if !arches.contains(&a) {
            arches.push(a);
        }
    }
    Ok(arches)
}
