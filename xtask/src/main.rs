//! `cargo xtask`: the project's automation, written as an ordinary Rust program
//! so that it runs the same from any directory, locally and in CI.
//!
//! Each subcommand lives in its own module; this file only parses arguments.

mod bench;
mod fuzz;
mod livepatch;
mod payload;
mod realxen;
mod snapshots;
mod target;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "xsplice project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the stand-in hypervisor `xen-syms` for one or more architectures.
    Target(target::TargetArgs),
    /// Build a live-patch payload in the seed's strict four-step order, then validate it.
    Payload(payload::PayloadArgs),
    /// Install built payloads the way Xen's test Makefile does.
    Install(payload::InstallArgs),
    /// Obtain Debian's Xen source and binaries, build Xen with live patching
    /// and its test payloads, and cache them outside the checkout.
    RealXen(realxen::RealXenArgs),
    /// Build a payload from a source patch with xsplice-build, on the
    /// stand-in hypervisor built the Kbuild way (or on `--srcdir`).
    LivepatchBuild(livepatch::LivepatchArgs),
    /// Run a benchmark against the GNU and LLVM reference tools.
    Bench(bench::BenchArgs),
    /// Run the fuzz targets for a bounded time.
    Fuzz(fuzz::FuzzArgs),
    /// Check that a test run asserted every committed insta snapshot.
    Snapshots(snapshots::SnapshotArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Target(args) => target::run(args),
        Cmd::Payload(args) => payload::run(args),
        Cmd::Install(args) => payload::install(args),
        Cmd::RealXen(args) => realxen::run(args),
        Cmd::LivepatchBuild(args) => livepatch::run(args),
        Cmd::Bench(args) => bench::run(args),
        Cmd::Fuzz(args) => fuzz::run(args),
        Cmd::Snapshots(args) => snapshots::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs `cmd` to its end and returns its standard output; when it cannot
/// start or exits non-zero, an error naming the command, with its status and
/// standard error.
pub fn checked_output(cmd: &mut std::process::Command) -> anyhow::Result<Vec<u8>> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        anyhow::bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.stdout)
}

/// The workspace root, whatever directory xtask was started from.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root")
        .to_path_buf()
}
