//! `cargo xtask real-xen`: obtains Debian's Xen source and binary packages,
//! builds Xen with live patching and Xen's own test payloads, and caches
//! both outside the checkout, keyed by package version and arch.
//!
//! The recipe lives in `xsplice-build` so that tests find the same cache.

use anyhow::Context;
use xsplice_build::{Arch, RealXenRequest, build_real_xen, cache_root};

#[derive(clap::Args)]
pub struct RealXenArgs {
    /// Architectures to build (x86_64, arm64); repeat or separate with
    /// commas. Default: x86_64.
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<String>,
    /// Rebuild even when the current version is cached.
    #[arg(long)]
    pub force: bool,
    /// Parallel make jobs. Default: the number of CPUs.
    #[arg(long)]
    pub jobs: Option<usize>,
}

pub fn run(args: RealXenArgs) -> anyhow::Result<()> {
    let arches = crate::target::parse_arches(&args.arch)?;
    if arches.contains(&Arch::Arm32) {
        anyhow::bail!("a real Xen is built for x86_64 and arm64 only");
    }
    let cache = cache_root()?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    for arch in arches {
        let req = RealXenRequest {
            cache: cache.clone(),
            arch,
            jobs,
            force: args.force,
        };
        let real = build_real_xen(&req, &mut std::io::stdout())
            .with_context(|| format!("obtaining the real Xen for {arch}"))?;
        println!("# xen {} ({arch}): {}", real.version, real.tree.display());
        println!("#   xen-syms: {}", real.xen_syms.display());
        println!("#   test payloads: {}", real.test_payloads.display());
        if let Some(deb) = &real.debian {
            println!("# debian xen {}: {}", deb.version, deb.root.display());
            println!("#   xen-syms: {}", deb.xen_syms.display());
            println!("#   xen: {}", deb.xen_gz.display());
        }
        println!("{}", xsplice_build::manifest_path(&cache, arch).display());
    }
    Ok(())
}
