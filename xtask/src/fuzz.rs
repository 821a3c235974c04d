//! `cargo xtask fuzz`: runs the fuzz targets in `fuzz/` for a bounded time.
//!
//! The targets use `cargo fuzz` (libFuzzer), which needs a nightly toolchain
//! and `cargo-fuzz`; both missing are reported with how to get them. The
//! corpus is seeded with every payload and stand-in hypervisor already built
//! under `target/xsplice/`, so the fuzzer starts from valid inputs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::workspace_root;

/// The fuzz targets, as named in `fuzz/Cargo.toml`.
const TARGETS: &[&str] = &["validate"];

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// How long to fuzz each target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Fuzz only this target (default: all).
    #[arg(long)]
    pub target: Option<String>,
}

pub fn run(args: FuzzArgs) -> anyhow::Result<()> {
    let root = workspace_root();
    let fuzz_dir = root.join("fuzz");
    let probe = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        _ => bail!(
            "`cargo +nightly fuzz` is not available: install a nightly toolchain \
             (`rustup toolchain install nightly`) and `cargo install cargo-fuzz`"
        ),
    }
    let targets: Vec<&str> = match &args.target {
        Some(t) if TARGETS.contains(&t.as_str()) => vec![t.as_str()],
        Some(t) => bail!("no fuzz target `{t}` (known: {})", TARGETS.join(", ")),
        None => TARGETS.to_vec(),
    };
    for target in targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("cannot create `{}`", corpus.display()))?;
        let seeded = seed(&root.join("target").join("xsplice"), &corpus)?;
        println!(
            "fuzzing `{target}` for {} s ({seeded} seed files)",
            args.seconds
        );
        let status = Command::new("cargo")
            .current_dir(&fuzz_dir)
            .args(["+nightly", "fuzz", "run", target])
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={}", args.seconds))
            .arg("-max_len=262144")
            .arg("-print_final_stats=1")
            .status()
            .context("cannot run `cargo +nightly fuzz run`")?;
        if !status.success() {
            bail!(
                "fuzz target `{target}` failed ({status}); the crashing input is in `fuzz/artifacts/{target}/`"
            );
        }
    }
    Ok(())
}

/// Copies built payloads and images from `from` into the corpus; returns how
/// many files the corpus got.
fn seed(from: &Path, corpus: &Path) -> anyhow::Result<usize> {
    let mut count = 0;
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let wanted =
                name.ends_with(".livepatch") || name.ends_with(".xsplice") || name == "xen-syms";
            let small = entry.metadata().is_ok_and(|m| m.len() <= 256 << 10);
            if wanted && small {
                // Distinct names per source directory keep seeds apart.
                let rel = path.strip_prefix(from).unwrap_or(&path);
                let flat = rel.to_string_lossy().replace(['/', '\\'], "_");
                std::fs::copy(&path, corpus.join(flat))
                    .with_context(|| format!("cannot copy `{}` into the corpus", path.display()))?;
                count += 1;
            }
        }
    }
    Ok(count)
}
