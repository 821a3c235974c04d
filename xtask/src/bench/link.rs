//! The `link` benchmark: `xsplice-link` against GNU `ld -r`, in one run.
//!
//! Two input sets: a generated payload of 5,000 functions over 50 objects
//! (compiled once with `-ffunction-sections -fdata-sections`, each function
//! in its own section with a relocation, plus a `.livepatch.funcs`-style
//! table of pointers), and every member of the host's `libc.a`. Each tool
//! links each set `runs` times after one warm-up, alternating between the
//! tools; the median wall time is reported. CPU time (user + system, median)
//! and peak memory (maximum resident set size, the largest seen) come from
//! `runs` further runs under GNU `time`. CPU time is the steadier figure on
//! a busy machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{checked_output, workspace_root};

const OBJECTS: usize = 50;
const FUNCTIONS_PER_OBJECT: usize = 100;

fn timed(cmd: &mut Command) -> anyhow::Result<Duration> {
    let start = Instant::now();
    checked_output(cmd)?;
    Ok(start.elapsed())
}

/// CPU time (user + system) and peak resident set size in KiB, measured by GNU time.
fn cpu_and_peak(
    time: &Path,
    dir: &Path,
    program: &Path,
    args: &[String],
) -> anyhow::Result<(Duration, u64)> {
    let out = Command::new(time)
        .current_dir(dir)
        .args(["-f", "%U %S %M"])
        .arg(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", time.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let last = text.lines().last().unwrap_or_default().trim();
    let fields: Vec<&str> = last.split_whitespace().collect();
    let parse = || -> Option<(Duration, u64)> {
        let user: f64 = fields.first()?.parse().ok()?;
        let sys: f64 = fields.get(1)?.parse().ok()?;
        Some((
            Duration::from_secs_f64(user + sys),
            fields.get(2)?.parse().ok()?,
        ))
    };
    parse().with_context(|| format!("unexpected GNU time output `{last}`"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Builds the release `xsplice-link` and returns its path.
fn build_linker() -> anyhow::Result<PathBuf> {
    let root = workspace_root();
    checked_output(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(&root)
            .args(["build", "--quiet", "--release", "-p", "xsplice-link"]),
    )?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let bin = target.join("release").join("xsplice-link");
    if !bin.exists() {
        bail!("`{}` was not built", bin.display());
    }
    Ok(bin)
}

/// Writes and compiles the generated payload; returns its objects.
fn generated_payload(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut objects = Vec::new();
    for o in 0..OBJECTS {
        let mut src =
            String::from("struct entry { void *fn; const char *name; unsigned long size; };\n");
        for f in 0..FUNCTIONS_PER_OBJECT {
            let callee = if f == 0 {
                format!("f{}_{}", (o + 1) % OBJECTS, FUNCTIONS_PER_OBJECT - 1)
            } else {
                format!("f{o}_{}", f - 1)
            };
            src.push_str(&format!("extern int {callee}(int);\n"));
            src.push_str(&format!(
                "__attribute__((noinline)) int f{o}_{f}(int x) {{ return x > {f} ? {callee}(x - 1) * {m} + {o} : x; }}\n",
                m = f % 7 + 1
            ));
        }
        src.push_str(
            "static __attribute__((section(\".livepatch.funcs\"), used)) struct entry table[] = {\n",
        );
        for f in 0..FUNCTIONS_PER_OBJECT {
            src.push_str(&format!("  {{ (void *)f{o}_{f}, \"f{o}_{f}\", {f} }},\n"));
        }
        src.push_str("};\n");
        let name = format!("p{o:02}.c");
        std::fs::write(dir.join(&name), src)?;
        let obj = format!("p{o:02}.o");
        checked_output(Command::new("gcc").current_dir(dir).args([
            "-O2",
            "-g",
            "-ffunction-sections",
            "-fdata-sections",
            "-c",
            &name,
            "-o",
            &obj,
        ]))?;
        objects.push(obj);
    }
    Ok(objects)
}

/// Extracts the host's libc.a; returns its members in order.
fn libc_members(dir: &Path) -> anyhow::Result<Vec<String>> {
    let out = checked_output(Command::new("gcc").arg("-print-file-name=libc.a"))?;
    let libc = PathBuf::from(String::from_utf8_lossy(&out).trim());
    if !libc.is_absolute() {
        bail!("gcc does not know where libc.a is");
    }
    checked_output(Command::new("ar").current_dir(dir).arg("x").arg(&libc))?;
    let mut members: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".o"))
        .collect();
    members.sort();
    Ok(members)
}

struct Row {
    name: String,
    inputs: usize,
    input_bytes: u64,
    gnu: Duration,
    ours: Duration,
    gnu_cpu: Duration,
    ours_cpu: Duration,
    gnu_kib: u64,
    ours_kib: u64,
}

fn measure(
    name: &str,
    dir: &Path,
    inputs: &[String],
    ld: &Path,
    ours: &Path,
    time: &Path,
    runs: usize,
) -> anyhow::Result<Row> {
    let gnu_args = |out: &str| -> Vec<String> {
        let mut a = vec!["-r".to_owned(), "-o".to_owned(), out.to_owned()];
        a.extend(inputs.iter().cloned());
        a
    };
    let our_args = |out: &str| -> Vec<String> {
        let mut a = vec!["-o".to_owned(), out.to_owned()];
        a.extend(inputs.iter().cloned());
        a
    };
    let (mut g, mut o) = (Vec::new(), Vec::new());
    for i in 0..=runs {
        let tg = timed(Command::new(ld).current_dir(dir).args(gnu_args("gnu.o")))?;
        let to = timed(Command::new(ours).current_dir(dir).args(our_args("ours.o")))?;
        if i > 0 {
            g.push(tg);
            o.push(to);
        }
    }
    let input_bytes = inputs
        .iter()
        .map(|i| std::fs::metadata(dir.join(i)).map_or(0, |m| m.len()))
        .sum();
    let (mut gc, mut oc, mut gk, mut ok) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (c, k) = cpu_and_peak(time, dir, ld, &gnu_args("gnu.o"))?;
        gc.push(c);
        gk.push(k);
        let (c, k) = cpu_and_peak(time, dir, ours, &our_args("ours.o"))?;
        oc.push(c);
        ok.push(k);
    }
    let gnu_kib = gk.into_iter().max().unwrap_or(0);
    let ours_kib = ok.into_iter().max().unwrap_or(0);
    Ok(Row {
        name: name.to_owned(),
        inputs: inputs.len(),
        input_bytes,
        gnu: median(g),
        ours: median(o),
        gnu_cpu: median(gc),
        ours_cpu: median(oc),
        gnu_kib,
        ours_kib,
    })
}

pub fn run(runs: usize) -> anyhow::Result<()> {
    let runs = runs.max(1);
    let ld = which::which("ld").context("GNU ld not found")?;
    let time = PathBuf::from("/usr/bin/time");
    if !time.exists() {
        bail!("GNU time (/usr/bin/time, Debian package `time`) is needed to measure peak memory");
    }
    let ours = build_linker()?;
    let tmp = tempfile::tempdir()?;
    let payload_dir = tmp.path().join("payload");
    let libc_dir = tmp.path().join("libc");
    std::fs::create_dir_all(&payload_dir)?;
    std::fs::create_dir_all(&libc_dir)?;
    eprintln!(
        "compiling the generated payload ({OBJECTS} objects, {} functions)",
        OBJECTS * FUNCTIONS_PER_OBJECT
    );
    let payload = generated_payload(&payload_dir)?;
    let libc = libc_members(&libc_dir)?;
    let rows = [
        measure(
            "generated payload",
            &payload_dir,
            &payload,
            &ld,
            &ours,
            &time,
            runs,
        )?,
        measure("libc.a members", &libc_dir, &libc, &ld, &ours, &time, runs)?,
    ];
    let ld_version = checked_output(Command::new(&ld).arg("--version"))?;
    println!(
        "`{}`, median of {runs} runs after one warm-up, alternating",
        String::from_utf8_lossy(&ld_version)
            .lines()
            .next()
            .unwrap_or("ld")
    );
    println!();
    println!(
        "| input | objects | input size | wall: GNU ld -r | wall: xsplice-link | speed-up | CPU: GNU ld -r | CPU: xsplice-link | CPU ratio | peak RSS: GNU | peak RSS: ours |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mib = |k: u64| k as f64 / 1024.0;
    for r in &rows {
        println!(
            "| {} | {} | {:.1} MiB | {:.1} ms | {:.1} ms | {:.1}× | {:.0} ms | {:.0} ms | {:.1}× | {:.1} MiB | {:.1} MiB |",
            r.name,
            r.inputs,
            r.input_bytes as f64 / (1024.0 * 1024.0),
            ms(r.gnu),
            ms(r.ours),
            ms(r.gnu) / ms(r.ours),
            ms(r.gnu_cpu),
            ms(r.ours_cpu),
            ms(r.gnu_cpu) / ms(r.ours_cpu).max(1e-3),
            mib(r.gnu_kib),
            mib(r.ours_kib),
        );
    }
    Ok(())
}
