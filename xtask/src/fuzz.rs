//! `cargo xtask fuzz`: runs the fuzz targets in `fuzz/` for a bounded time
//! each, and records every run in `fuzz/README.md`.
//!
//! The targets use `cargo fuzz` (libFuzzer), which needs a nightly toolchain
//! and `cargo-fuzz`; both missing are reported with how to get them. Each
//! target's corpus is seeded from what the payload suite already built
//! under `target/xsplice/` (objects, payloads, the stand-in `xen-syms`),
//! never a large image: archives of those objects, big-endian copies and
//! COFF conversions are made here, so that every reader starts from valid
//! inputs of every kind it reads.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::workspace_root;

/// The fuzz targets, as named in `fuzz/Cargo.toml`.
const TARGETS: &[&str] = &["symbols", "link", "validate", "sim", "diff"];

/// The largest seed and input (`xsplice_fuzz::MAX_INPUT`).
const MAX_LEN: u64 = 64 << 10;

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// How long to fuzz each target (the most, with `--runs`).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Stop each target after this many executions.
    #[arg(long, value_name = "N")]
    pub runs: Option<u64>,
    /// Run every target in turn (the default when no --target is given).
    #[arg(long, conflicts_with = "target")]
    pub all: bool,
    /// Fuzz only this target (repeatable).
    #[arg(long)]
    pub target: Vec<String>,
    /// Instead of fuzzing, replay each target's corpus in a coverage build
    /// (`cargo fuzz coverage`) and print the lines of our crates it runs.
    #[arg(long, conflicts_with = "runs")]
    pub coverage: bool,
}

/// What one run of one target did, from libFuzzer's output.
#[derive(Default)]
struct RunStats {
    executions: u64,
    rate: u64,
    cov_start: Option<u64>,
    cov_end: Option<u64>,
    new_units: u64,
    result: String,
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
    let targets: Vec<&str> = if args.target.is_empty() {
        TARGETS.to_vec()
    } else {
        let mut t = Vec::new();
        for name in &args.target {
            match TARGETS.iter().find(|k| *k == name) {
                Some(k) => t.push(*k),
                None => bail!("no fuzz target `{name}` (known: {})", TARGETS.join(", ")),
            }
        }
        t
    };
    if args.coverage {
        return coverage(&fuzz_dir, &targets);
    }
    // Without sanitizers (the readers are safe Rust; overflow checks and
    // debug assertions stay on), which more than doubles the rate. Only the
    // targets asked for are built.
    for target in &targets {
        let build = Command::new("cargo")
            .current_dir(&fuzz_dir)
            .args([
                "+nightly",
                "fuzz",
                "build",
                "--sanitizer",
                "none",
                "--debug-assertions",
            ])
            .arg(target)
            .status()
            .context("cannot run `cargo +nightly fuzz build`")?;
        if !build.success() {
            bail!("`cargo +nightly fuzz build {target}` failed ({build})");
        }
    }
    let commit = Command::new("git")
        .current_dir(&root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    // Uncommitted changes to the code a target runs make the commit a lie.
    let dirty = Command::new("git")
        .current_dir(&root)
        .args([
            "status",
            "--porcelain",
            "--",
            "crates",
            "fuzz/src",
            "fuzz/fuzz_targets",
            "Cargo.lock",
        ])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    let commit = if dirty {
        format!("{commit}+dirty")
    } else {
        commit
    };
    let built = root.join("target").join("xsplice");
    let mut failed = Vec::new();
    for target in targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("cannot create `{}`", corpus.display()))?;
        // The images the sim and diff targets read at start.
        match target {
            "sim" => {
                xsplice_build::build_stand_in(&root, &built, xsplice_build::Arch::X86_64, false)
                    .context("cannot build the stand-in hypervisor the sim target boots")?;
            }
            "diff" => {
                let xen = built.join("stand-in-tree").join("x86_64").join("xen-syms");
                if !xen.is_file() {
                    bail!(
                        "the diff target needs the stand-in tree's `{}`: run `cargo xtask livepatch-build` once",
                        xen.display()
                    );
                }
            }
            _ => {}
        }
        let seeded = seed(target, &built, &corpus)?;
        let artifacts = fuzz_dir.join("artifacts").join(target);
        std::fs::create_dir_all(&artifacts)?;
        let log = fuzz_dir.join("logs").join(format!("{target}.log"));
        std::fs::create_dir_all(log.parent().unwrap())?;
        println!(
            "fuzzing `{target}` for {} s{} ({seeded} seed files); libFuzzer's output is in `{}`",
            args.seconds,
            args.runs
                .map(|n| format!(" or {} executions", thousands(n)))
                .unwrap_or_default(),
            log.display()
        );
        let cpu_before = children_cpu_seconds();
        let started = std::time::Instant::now();
        let status = Command::new("cargo")
            .current_dir(&fuzz_dir)
            .args([
                "+nightly",
                "fuzz",
                "run",
                "--sanitizer",
                "none",
                "--debug-assertions",
            ])
            .arg(target)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={}", args.seconds))
            .args(args.runs.map(|n| format!("-runs={n}")))
            .arg(format!("-max_len={MAX_LEN}"))
            .arg("-timeout=10")
            .arg("-rss_limit_mb=2048")
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg("-print_final_stats=1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .status()
            .context("cannot run `cargo +nightly fuzz run`")?;
        let cpu = children_cpu_seconds() - cpu_before;
        let wall = started.elapsed().as_secs();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut stats = parse(&text);
        if status.success() {
            stats.result = "clean".into();
        } else {
            stats.result = failure(&text, &root);
            failed.push(target);
        }
        let line = format!(
            "| `{target}` | {commit} | {wall} s | {} | {}/s | {}/s | {} | {} |",
            thousands(stats.executions),
            thousands(stats.rate),
            thousands((stats.executions as f64 / cpu.max(1.0)) as u64),
            match (stats.cov_start, stats.cov_end) {
                (Some(a), Some(b)) => format!("{a} → {b} edges, {} new inputs", stats.new_units),
                _ => format!("{} new inputs", stats.new_units),
            },
            stats.result
        );
        println!("{line}");
        append_run(&fuzz_dir.join("README.md"), &line)?;
    }
    if !failed.is_empty() {
        bail!(
            "fuzz targets failed: {}; the crashing inputs are in `fuzz/artifacts/<target>/`",
            failed.join(", ")
        );
    }
    Ok(())
}

/// Replays each target's corpus in a coverage build and prints
/// `llvm-cov report` for the workspace's own source files, also written to
/// `fuzz/coverage/<target>.txt`. The corpus is whatever earlier runs left in
/// `fuzz/corpus/<target>/`.
fn coverage(fuzz_dir: &Path, targets: &[&str]) -> anyhow::Result<()> {
    let sysroot = Command::new("rustc")
        .args(["+nightly", "--print", "sysroot"])
        .output()
        .context("cannot run `rustc +nightly`")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let host = "x86_64-unknown-linux-gnu";
    let llvm_cov = sysroot.join(format!("lib/rustlib/{host}/bin/llvm-cov"));
    if !llvm_cov.is_file() {
        bail!(
            "`{}` is missing: `rustup +nightly component add llvm-tools-preview`",
            llvm_cov.display()
        );
    }
    for target in targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        if !corpus.is_dir() {
            bail!("no corpus for `{target}`: fuzz it first");
        }
        let status = Command::new("cargo")
            .current_dir(fuzz_dir)
            .args([
                "+nightly",
                "fuzz",
                "coverage",
                "--sanitizer",
                "none",
                "--debug-assertions",
            ])
            .arg(target)
            .arg(&corpus)
            .stdout(Stdio::null())
            .status()
            .context("cannot run `cargo +nightly fuzz coverage`")?;
        if !status.success() {
            bail!("`cargo +nightly fuzz coverage {target}` failed ({status})");
        }
        let binary = fuzz_dir
            .join("target")
            .join(host)
            .join("coverage")
            .join(host)
            .join("release")
            .join(target);
        let profile = fuzz_dir
            .join("coverage")
            .join(target)
            .join("coverage.profdata");
        let report = crate::checked_output(
            Command::new(&llvm_cov)
                .arg("report")
                .arg(&binary)
                .arg(format!("-instr-profile={}", profile.display()))
                // Our crates only: dependencies, the standard library and the
                // fuzz harness itself are not what is measured.
                .arg("-ignore-filename-regex=(/\\.cargo/|/rustc/|/rustlib/|/fuzz/)"),
        )?;
        let root = format!("{}/", workspace_root().display());
        let text = String::from_utf8_lossy(&report).replace(&root, "");
        println!(
            "coverage of `{target}` over {} inputs:\n{text}",
            count_files(&corpus)
        );
        std::fs::write(
            fuzz_dir.join("coverage").join(format!("{target}.txt")),
            &text,
        )?;
    }
    Ok(())
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.flatten().count())
}

/// CPU time (user and system) of every child process that has ended: on a
/// shared machine the fuzzer gets a fraction of a core, and executions per
/// CPU second measure the target where executions per second measure the
/// machine's load.
fn children_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills one rusage struct, which we own.
    let usage = unsafe {
        let mut u = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Executions, rate, coverage and new inputs from libFuzzer's output.
fn parse(text: &str) -> RunStats {
    let mut s = RunStats::default();
    let stat = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    s.executions = stat("stat::number_of_executed_units:").unwrap_or(0);
    s.rate = stat("stat::average_exec_per_sec:").unwrap_or(0);
    s.new_units = stat("stat::new_units_added:").unwrap_or(0);
    let cov = |l: &str| {
        l.split_once("cov: ")
            .and_then(|(_, r)| r.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    s.cov_start = text.lines().find(|l| l.contains("INITED")).and_then(cov);
    s.cov_end = text
        .lines()
        .rev()
        .filter(|l| l.starts_with('#'))
        .find_map(cov);
    s
}

/// The one-line reason a run failed, with the input libFuzzer kept.
fn failure(text: &str, root: &Path) -> String {
    let what = if text.contains("ERROR: libFuzzer: timeout") {
        "timeout".to_owned()
    } else if text.contains("out-of-memory") {
        "out of memory".to_owned()
    } else if let Some(p) = text.lines().find(|l| l.contains("panicked at")) {
        let at = p
            .split("panicked at ")
            .nth(1)
            .unwrap_or("")
            .trim_end_matches(':');
        // A location in the workspace, named from its root.
        let prefix = format!("{}/", root.display());
        let at = at.strip_prefix(&prefix).unwrap_or(at);
        // A location in a dependency, named from its crate's directory.
        let at = at
            .split_once("/registry/src/")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map_or(at, |(_, krate)| krate);
        let msg = text
            .lines()
            .skip_while(|l| !l.contains("panicked at"))
            .nth(1)
            .unwrap_or("");
        format!("panic at `{at}`: {msg}")
    } else {
        "crash".to_owned()
    };
    let input = text
        .lines()
        .find_map(|l| {
            l.split_once("Test unit written to ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .and_then(|p| {
            Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    format!("**{what}** (`{input}`)")
}

/// Appends a line to the runs table, the last section of `fuzz/README.md`.
fn append_run(readme: &Path, line: &str) -> anyhow::Result<()> {
    let mut text = std::fs::read_to_string(readme)
        .with_context(|| format!("cannot read `{}`", readme.display()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    let tmp = readme.with_extension("md.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, readme).with_context(|| format!("cannot write `{}`", readme.display()))
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Every small file under `from` whose name `wanted` accepts.
fn files(from: &Path, wanted: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // Real Xen trees and images are far too large to be seeds.
                if path.file_name().is_some_and(|n| n != "real") {
                    stack.push(path);
                }
                continue;
            }
            let small = entry.metadata().is_ok_and(|m| m.len() <= MAX_LEN);
            if small && wanted(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.contains(&e))
}

/// Writes the seeds of `target` into its corpus; returns how many.
fn seed(target: &str, built: &Path, corpus: &Path) -> anyhow::Result<usize> {
    let name_of = |p: &Path| {
        p.strip_prefix(built)
            .unwrap_or(p)
            .to_string_lossy()
            .replace(['/', '\\'], "_")
    };
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let payloads = |p: &Path| has_ext(p, &["livepatch", "xsplice"]);
    match target {
        "symbols" => {
            let objects = files(built, &|p| {
                has_ext(p, &["o", "livepatch", "xsplice"]) || p.ends_with("xen-syms")
            });
            for p in &objects {
                let data = std::fs::read(p)?;
                if let Some(be) = big_endian(&data) {
                    seeds.push((format!("{}.be", name_of(p)), be));
                }
                seeds.push((name_of(p), data));
            }
            // One archive per directory of objects, as `ar rc` makes them.
            let mut dirs: Vec<&Path> = objects.iter().filter_map(|p| p.parent()).collect();
            dirs.dedup();
            for dir in dirs {
                let members: Vec<&PathBuf> = objects
                    .iter()
                    .filter(|p| p.parent() == Some(dir) && has_ext(p, &["o"]))
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let ar = archive(&members)?;
                if ar.len() as u64 <= MAX_LEN {
                    seeds.push((format!("{}.a", name_of(dir)), ar));
                }
            }
            seeds.extend(coff(&objects, corpus, &name_of));
        }
        "link" => {
            // Each payload's objects, alone, as the payload link takes them,
            // and three at a time; with and without the payload options.
            for p in files(built, &payloads) {
                let dir = p.parent().unwrap();
                let objs = files(dir, &|o| has_ext(o, &["o"]));
                let data: Vec<Vec<u8>> =
                    objs.iter().map(std::fs::read).collect::<Result<_, _>>()?;
                let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
                if refs.is_empty() || refs.len() > 3 {
                    continue;
                }
                let name = name_of(dir);
                seeds.push((format!("{name}.plain"), frame(0, &refs)));
                seeds.push((format!("{name}.payload"), frame(0x21, &refs)));
                seeds.push((format!("{name}.first"), frame(0x03, &refs[..1])));
                if refs.len() == 2 {
                    seeds.push((
                        format!("{name}.three"),
                        frame(0x01, &[refs[0], refs[1], refs[0]]),
                    ));
                }
            }
        }
        "validate" => {
            for p in files(built, &payloads) {
                seeds.push((name_of(&p), std::fs::read(&p)?));
            }
        }
        "sim" => {
            // The simulator places each payload against the stand-in of
            // its machine (x86_64, aarch64, arm32), which it was built
            // against (their build-id dependency must hold).
            for p in files(built, &payloads) {
                seeds.push((name_of(&p), std::fs::read(&p)?));
            }
        }
        "diff" => {
            // Each object of the stand-in tree against itself (no change),
            // and each object a source patch rebuilt (in
            // `livepatch-build/<patch>/shadow/`, where unchanged ones are
            // links) against the tree's, with and without the target image.
            let tree = built.join("stand-in-tree").join("x86_64");
            for p in files(&tree, &|p| has_ext(p, &["o"])) {
                let data = std::fs::read(&p)?;
                seeds.push((format!("{}.same", name_of(&p)), frame(1, &[&data, &data])));
            }
            // The stand-in's arm64 objects against themselves, and the
            // committed arm32 pairs (`fuzz/seeds/diff/`: REL relocations
            // with implicit addends, ARM and Thumb), so that the ARM paths
            // are fuzzed too.
            let obj = built.join("xen").join("aarch64").join("obj");
            for p in files(&obj, &|p| has_ext(p, &["o"])) {
                let data = std::fs::read(&p)?;
                seeds.push((format!("{}.same", name_of(&p)), frame(0, &[&data, &data])));
            }
            let committed = workspace_root().join("fuzz").join("seeds").join("diff");
            for p in files(&committed, &|_| true) {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                seeds.push((name.into_owned(), std::fs::read(&p)?));
            }
            let patched = files(&built.join("livepatch-build"), &|p| {
                has_ext(p, &["o"])
                    && !p.is_symlink()
                    && p.parent().is_some_and(|d| d.ends_with("shadow"))
            });
            for p in patched {
                let Some(orig) = p.file_name().map(|n| tree.join(n)).filter(|o| o.is_file()) else {
                    continue;
                };
                let (a, b) = (std::fs::read(&orig)?, std::fs::read(&p)?);
                seeds.push((format!("{}.target", name_of(&p)), frame(1, &[&a, &b])));
                seeds.push((format!("{}.alone", name_of(&p)), frame(0x10, &[&a, &b])));
            }
        }
        _ => unreachable!("every target has seeds"),
    }
    for (name, data) in &seeds {
        std::fs::write(corpus.join(format!("seed-{name}")), data)
            .with_context(|| format!("cannot write seed `{name}`"))?;
    }
    Ok(seeds.len())
}

/// The framed input of the multi-file targets (`xsplice_fuzz::join`).
fn frame(flags: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![flags, parts.len() as u8];
    for p in parts {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// A GNU `ar` archive of `members`, with a long-name table when a name
/// does not fit the 16-byte field.
fn archive(members: &[&PathBuf]) -> anyhow::Result<Vec<u8>> {
    let mut out = b"!<arch>\n".to_vec();
    let header = |out: &mut Vec<u8>, name: &str, size: usize| {
        let h = format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n", 0, 0, 0, 644);
        out.extend_from_slice(h.as_bytes());
    };
    let names: Vec<String> = members
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut longnames = String::new();
    let mut fields = Vec::new();
    for n in &names {
        if n.len() < 16 {
            fields.push(format!("{n}/"));
        } else {
            fields.push(format!("/{}", longnames.len()));
            longnames.push_str(n);
            longnames.push_str("/\n");
        }
    }
    if !longnames.is_empty() {
        header(&mut out, "//", longnames.len());
        out.extend_from_slice(longnames.as_bytes());
        if out.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    for (p, field) in members.iter().zip(&fields) {
        let data = std::fs::read(p)?;
        header(&mut out, field, data.len());
        out.extend_from_slice(&data);
        if out.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// COFF conversions of the x86_64 objects by `objcopy`, when the host's
/// objcopy writes `pe-x86-64`; none otherwise.
fn coff(
    objects: &[PathBuf],
    tmp: &Path,
    name_of: &dyn Fn(&Path) -> String,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for p in objects.iter().filter(|p| has_ext(p, &["o"])) {
        if !p.components().any(|c| c.as_os_str() == "x86_64") {
            continue;
        }
        let dst = tmp.join(".coff.tmp");
        let ok = Command::new("objcopy")
            .args(["-O", "pe-x86-64"])
            .arg(p)
            .arg(&dst)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if let Some(data) = ok.then(|| std::fs::read(&dst).ok()).flatten() {
            out.push((format!("{}.obj", name_of(p)), data));
        }
        let _ = std::fs::remove_file(&dst);
    }
    out
}

/// A big-endian copy of a little-endian relocatable ELF file: every field
/// of the file header, section headers, symbols, relocations, group and
/// index sections and note headers byte-swapped, and the machine made one
/// that is big-endian (PowerPC), so that the readers' big-endian paths
/// start from a valid file. `None` for anything else.
fn big_endian(data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 52 || &data[..4] != b"\x7fELF" || data[5] != 1 {
        return None;
    }
    let is64 = match data[4] {
        1 => false,
        2 => true,
        _ => return None,
    };
    let w = if is64 { 8 } else { 4 };
    let mut out = data.to_vec();
    let swap = |out: &mut Vec<u8>, at: usize, len: usize| -> Option<()> {
        out.get_mut(at..at.checked_add(len)?)?.reverse();
        Some(())
    };
    let le = |at: usize, len: usize| -> Option<u64> {
        let b = data.get(at..at.checked_add(len)?)?;
        Some(b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)))
    };
    // e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, then
    // six halves.
    let mut at = 16;
    for len in [2, 2, 4, w, w, w, 4, 2, 2, 2, 2, 2, 2] {
        swap(&mut out, at, len)?;
        at += len;
    }
    let (shoff, shentsize, shnum) = if is64 {
        (le(40, 8)?, le(58, 2)?, le(60, 2)?)
    } else {
        (le(32, 4)?, le(46, 2)?, le(48, 2)?)
    };
    let shdr_fields: &[usize] = if is64 {
        &[4, 4, 8, 8, 8, 8, 4, 4, 8, 8]
    } else {
        &[4; 10]
    };
    for i in 0..shnum as usize {
        let h = usize::try_from(shoff).ok()? + i * shentsize as usize;
        let sh_type = le(h + 4, 4)? as u32;
        let (off, size) = if is64 {
            (le(h + 24, 8)? as usize, le(h + 32, 8)? as usize)
        } else {
            (le(h + 16, 4)? as usize, le(h + 20, 4)? as usize)
        };
        let mut at = h;
        for &len in shdr_fields {
            swap(&mut out, at, len)?;
            at += len;
        }
        let entry: &[usize] = match (sh_type, is64) {
            (2 | 11, true) => &[4, 1, 1, 2, 8, 8],
            (2 | 11, false) => &[4, 4, 4, 1, 1, 2],
            (4, _) => &[w, w, w],
            (9, _) => &[w, w],
            (17 | 18, _) => &[4],
            (7, _) => {
                // Notes: swap each header, leave names and descriptors.
                let mut n = off;
                while n + 12 <= off + size {
                    let (namesz, descsz) = (le(n, 4)? as usize, le(n + 4, 4)? as usize);
                    for k in 0..3 {
                        swap(&mut out, n + 4 * k, 4)?;
                    }
                    n += 12 + namesz.div_ceil(4) * 4 + descsz.div_ceil(4) * 4;
                }
                continue;
            }
            _ => continue,
        };
        let step: usize = entry.iter().sum();
        let mut e = off;
        while e + step <= off + size {
            for &len in entry {
                swap(&mut out, e, len)?;
                e += len;
            }
        }
    }
    out[5] = 2;
    // e_machine: EM_PPC64 or EM_PPC, big-endian machines nm knows.
    let machine: u16 = if is64 { 21 } else { 20 };
    out[18..20].copy_from_slice(&machine.to_be_bytes());
    Some(out)
}
