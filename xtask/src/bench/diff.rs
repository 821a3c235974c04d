//! The `diff` benchmark: a one-file source patch (the seed's hello world,
//! `xen/common/version.c`) to a validated payload on the real Xen tree that
//! `cargo xtask real-xen` caches, with `xsplice-build`, against what the
//! same patch costs with make.
//!
//! Measured: `xsplice-build` end to end (shadow, the one recompile, diff,
//! link, validate); `xsplice-diff` alone on the object pair; the
//! incremental `make` the patch triggers in a copy of the tree (one
//! compile, then Xen's links of `xen-syms` and `xen.efi`); and, with
//! `--full-build`, one full build from clean, which livepatch-build runs
//! twice (original and patched).
//!
//! Targets (the source-patch issue): under 3 s for `xsplice-build` on two
//! cores, under 20 ms for `xsplice-diff` on one object.

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xsplice_build::{Arch, REPRODUCIBLE_ENV, cache_root, load_real_xen};

use super::common::{Cmd, machine_description, measure, release_binary, table};

pub fn run(runs: usize, full_build: bool) -> anyhow::Result<()> {
    let cache = cache_root()?;
    let Some(real) = load_real_xen(&cache, Arch::X86_64)? else {
        bail!("no real Xen tree in the cache: run `cargo xtask real-xen` first");
    };
    let top = real
        .tree
        .parent()
        .context("the real tree's xen/ has a parent")?;
    let patch = crate::workspace_root().join("test-payloads/patches/xen-4.17/hello_world.patch");
    println!("tree: Xen {} ({})", real.version, top.display());
    println!("patch: {}", patch.display());
    println!("machine: {}", machine_description());

    let build = release_binary("xsplice-livepatch-build", "xsplice-build")?;
    release_binary("xsplice-link", "xsplice-link")?;
    release_binary("xsplice-validate", "xsplice-validate")?;
    let diff = release_binary("xsplice-diff", "xsplice-diff")?;

    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let out = work.path().join("out");
    let build_cmd = Cmd::new("xsplice-build (patch to validated payload)", &build).args([
        OsStr::new("-s"),
        top.as_os_str(),
        OsStr::new("-p"),
        patch.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    // One run first, for the patched object the diff is timed on.
    build_cmd.output()?;
    let orig = real.tree.join("common/version.o");
    let patched = work.path().join("version.o");
    std::fs::copy(out.join("shadow/xen/common/version.o"), &patched)
        .context("xsplice-build left no patched common/version.o")?;
    let diff_out = work.path().join("diff.o");
    let diff_cmd = Cmd::new("xsplice-diff (common/version.o)", &diff).args([
        orig.as_os_str(),
        patched.as_os_str(),
        OsStr::new("--target"),
        real.xen_syms.as_os_str(),
        OsStr::new("-o"),
        diff_out.as_os_str(),
    ]);
    let stats = measure(&[build_cmd, diff_cmd], 1, runs)?;
    println!(
        "{}",
        table("A one-file patch on the real tree, with our tools", &stats)
    );

    // Make, in a copy of the tree: the real one is read-only.
    let copy = work.path().join("tree");
    run_quiet(
        std::process::Command::new("cp")
            .arg("-a")
            .arg(top)
            .arg(&copy),
        "copying the tree",
    )?;
    run_quiet(
        std::process::Command::new("patch")
            .args(["-p1", "--batch", "-s", "-d"])
            .arg(&copy)
            .arg("-i")
            .arg(&patch),
        "applying the patch to the copy",
    )?;
    let mut incremental = Vec::new();
    for k in 0..runs.clamp(1, 3) {
        if k > 0 {
            // The same change again: make sees a newer source.
            touch(&copy.join("xen/common/version.c"))?;
        }
        incremental.push(time_make(&copy, &[])?);
    }
    incremental.sort();
    let inc = incremental[incremental.len() / 2];
    println!(
        "incremental make after the patch (median of {}): {:.1} s",
        incremental.len(),
        inc.as_secs_f64()
    );
    let ours = stats[0].median;
    println!(
        "xsplice-build is {:.1}x faster than the incremental make",
        inc.as_secs_f64() / ours.as_secs_f64()
    );
    if full_build {
        run_quiet(
            make_command(&copy, &["clean"]).stdout(std::process::Stdio::null()),
            "make clean",
        )?;
        let full = time_make(&copy, &[])?;
        println!(
            "one full build: {:.1} s; livepatch-build's two: {:.1} s, {:.0}x xsplice-build",
            full.as_secs_f64(),
            2.0 * full.as_secs_f64(),
            2.0 * full.as_secs_f64() / ours.as_secs_f64()
        );
    }
    Ok(())
}

/// `make -C xen -jN` in `top` with the cached build's reproducible
/// environment.
fn make_command(top: &Path, args: &[&str]) -> std::process::Command {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cmd = std::process::Command::new("make");
    cmd.arg("-C")
        .arg(top.join("xen"))
        .arg(format!("-j{jobs}"))
        .args(args);
    for (k, v) in REPRODUCIBLE_ENV {
        cmd.env(k, v);
    }
    cmd
}

fn time_make(top: &Path, args: &[&str]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    run_quiet(
        make_command(top, args).stdout(std::process::Stdio::null()),
        "make",
    )?;
    Ok(start.elapsed())
}

fn run_quiet(cmd: &mut std::process::Command, what: &str) -> anyhow::Result<()> {
    crate::checked_output(cmd).with_context(|| what.to_owned())?;
    Ok(())
}

fn touch(path: &Path) -> anyhow::Result<()> {
    let f = std::fs::File::options()
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    f.set_modified(std::time::SystemTime::now())
        .with_context(|| format!("cannot touch `{}`", path.display()))
}
