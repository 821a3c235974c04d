//! The `build` benchmark: the hello_world build with our tools against the
//! same build done the seed's way, in one run.
//!
//! Both ways compile the same two C files with the same compiler (timed on
//! its own, since it is the same cost for both), then differ only in the
//! tool steps: ours run `xsplice-config` and `xsplice-link` (with the
//! build-id, both depends notes and modinfo); the seed's way runs the
//! Makefile's `nm --defined | grep | awk` pipelines through `sh`, then
//! today's Xen test Makefile's `objcopy` recipe for the two notes and
//! `.modinfo`, `ld -r --build-id=sha1`, and `objcopy --set-section-flags`.
//! Our `xsplice-validate` has no GNU counterpart; it is timed and counted
//! in our share of the build. Repetitions alternate between the two ways
//! after one warm-up of each; medians are reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Runs a command, failing with its stderr if it fails; returns its wall time.
fn timed(cmd: &mut Command) -> anyhow::Result<Duration> {
    let start = Instant::now();
    crate::checked_output(cmd)?;
    Ok(start.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Timings of one build, split by kind of step.
#[derive(Default, Clone, Copy)]
struct Split {
    compiler: Duration,
    config: Duration,
    link: Duration,
    validate: Duration,
}

impl Split {
    fn tools(&self) -> Duration {
        self.config + self.link + self.validate
    }
    fn whole(&self) -> Duration {
        self.compiler + self.tools()
    }
}

/// One column of the table: a duration taken from a build's timings.
type Metric = fn(&Split) -> Duration;

struct Inputs {
    cc: PathBuf,
    xen: PathBuf,
    src: PathBuf,
    include: PathBuf,
    tools: xsplice_build::Tools,
}

/// The pipeline's own compile command (steps 1 and 3), so both ways
/// compile exactly as `cargo xtask payload` does.
fn compile(inp: &Inputs, file: &str, obj: &Path, iquote: Option<&Path>) -> Command {
    let line = xsplice_build::compile_command(
        &inp.cc,
        xsplice_abi::Abi::LivepatchV2,
        xsplice_build::Arch::X86_64,
        &inp.include,
        &inp.src.join(file),
        obj,
        iquote,
    );
    let mut c = Command::new(&line.program);
    c.args(&line.args);
    if let Some(d) = &line.dir {
        c.current_dir(d);
    }
    c
}

/// What one build writes in its directory; both ways write the same files.
struct Files {
    /// The replacement function's object.
    func: PathBuf,
    /// The `.funcs` object, compiled against `cfg`.
    funcs: PathBuf,
    /// `config.h`.
    cfg: PathBuf,
    /// The payload.
    out: PathBuf,
}

impl Files {
    fn in_dir(dir: &Path) -> Files {
        Files {
            func: dir.join("hello_world_func.o"),
            funcs: dir.join("hello_world.o"),
            cfg: dir.join("config.h"),
            out: dir.join("xen_hello_world.livepatch"),
        }
    }
}

fn ours(inp: &Inputs, dir: &Path) -> anyhow::Result<Split> {
    let mut s = Split::default();
    let f = Files::in_dir(dir);
    s.compiler += timed(&mut compile(inp, "hello_world_func.c", &f.func, None))?;
    s.config = timed(
        Command::new(&inp.tools.config)
            .arg("-o")
            .arg(&f.cfg)
            .arg("--define")
            .arg(format!(
                "NEW_CODE_SZ=size:{}:xen_hello_world",
                f.func.display()
            ))
            .arg("--define")
            .arg(format!(
                "OLD_CODE_SZ=size:{}:xen_extra_version",
                inp.xen.display()
            ))
            .arg("--define")
            .arg(format!(
                "OLD_CODE=addr:{}:xen_extra_version",
                inp.xen.display()
            )),
    )?;
    s.compiler += timed(&mut compile(inp, "hello_world.c", &f.funcs, Some(dir)))?;
    s.link = timed(
        Command::new(&inp.tools.link)
            .arg("-o")
            .arg(&f.out)
            .arg("--build-id")
            .arg("--xen-depends")
            .arg(&inp.xen)
            .arg("--depends")
            .arg(&inp.xen)
            .args([
                "--modinfo",
                "LIVEPATCH_RULEZ=hello_world",
                "--abi",
                "livepatch-v2",
            ])
            .arg(&f.func)
            .arg(&f.funcs),
    )?;
    let start = Instant::now();
    let v = Command::new(&inp.tools.validate)
        .arg(&f.out)
        .arg("--target")
        .arg(&inp.xen)
        .output()
        .context("cannot run xsplice-validate")?;
    s.validate = start.elapsed();
    if v.status.code() != Some(0) {
        bail!("validation failed: {}", String::from_utf8_lossy(&v.stdout));
    }
    Ok(s)
}

/// The seed's Makefile recipe for config.h, run by `sh` as make's `$(shell)` does.
pub(super) const SEED_CONFIG: &str = r##"set -e
NEW_CODE_SZ=$(nm --defined -S "$1" | grep xen_hello_world | awk '{ print "0x"$2}')
OLD_CODE_SZ=$(nm --defined -S "$2" | grep xen_extra_version | awk '{ print "0x"$2}')
OLD_CODE=$(nm --defined "$2" | grep xen_extra_version | awk '{print "0x"$1}')
(echo "#define NEW_CODE_SZ $NEW_CODE_SZ"; echo "#define OLD_CODE_SZ $OLD_CODE_SZ"; echo "#define OLD_CODE $OLD_CODE") > "$3"
"##;

fn gnu(inp: &Inputs, dir: &Path) -> anyhow::Result<Split> {
    let mut s = Split::default();
    let f = Files::in_dir(dir);
    s.compiler += timed(&mut compile(inp, "hello_world_func.c", &f.func, None))?;
    s.config = timed(
        Command::new("sh")
            .arg("-c")
            .arg(SEED_CONFIG)
            .arg("sh")
            .arg(&f.func)
            .arg(&inp.xen)
            .arg(&f.cfg),
    )?;
    s.compiler += timed(&mut compile(inp, "hello_world.c", &f.funcs, Some(dir)))?;
    let magic = ["-I", "binary", "-O", "elf64-x86-64", "-B", "i386:x86-64"];
    let note_bin = dir.join("note.bin");
    let mut link = Duration::ZERO;
    link += timed(
        Command::new("objcopy")
            .args(["-O", "binary", "--only-section=.note.gnu.build-id"])
            .arg(&inp.xen)
            .arg(&note_bin),
    )?;
    for (section, obj) in [
        (".livepatch.depends", "note.o"),
        (".livepatch.xen_depends", "xen_note.o"),
    ] {
        link += timed(
            Command::new("objcopy")
                .args(magic)
                .arg(format!(
                    "--rename-section=.data={section},alloc,load,readonly,data,contents"
                ))
                .arg("-S")
                .arg(&note_bin)
                .arg(dir.join(obj)),
        )?;
    }
    let modinfo_bin = dir.join("modinfo.bin");
    std::fs::write(&modinfo_bin, b"LIVEPATCH_RULEZ=hello_world\0")?;
    link += timed(
        Command::new("objcopy")
            .args(magic)
            .arg("--rename-section=.data=.modinfo,alloc,load,readonly,data,contents")
            .arg("-S")
            .arg(&modinfo_bin)
            .arg(dir.join("modinfo.o")),
    )?;
    link += timed(
        Command::new("ld")
            .args(["-melf_x86_64", "--build-id=sha1", "-r", "-o"])
            .arg(&f.out)
            .arg(&f.func)
            .arg(&f.funcs)
            .arg(dir.join("note.o"))
            .arg(dir.join("xen_note.o"))
            .arg(dir.join("modinfo.o")),
    )?;
    link += timed(
        Command::new("objcopy")
            .args(["--set-section-flags", ".livepatch.funcs=alloc,readonly"])
            .arg(&f.out),
    )?;
    s.link = link;
    Ok(s)
}

pub fn run(runs: usize) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    for tool in ["nm", "ld", "objcopy", "sh", "awk", "grep"] {
        which::which(tool)
            .with_context(|| format!("`{tool}` not found (Debian package binutils)"))?;
    }
    let arch = xsplice_build::Arch::X86_64;
    let out_root = root.join("target").join("xsplice");
    let xen = xsplice_build::build_stand_in(&root, &out_root, arch, false)?.path;
    let inp = Inputs {
        cc: arch.find_compiler()?,
        xen,
        src: root.join("test-payloads").join("hello_world"),
        include: root.join("test-payloads").join("include"),
        tools: crate::payload::build_tools(true)?,
    };
    let work = tempfile::tempdir()?;
    let (a, b) = (work.path().join("ours"), work.path().join("gnu"));
    std::fs::create_dir_all(&a)?;
    std::fs::create_dir_all(&b)?;
    ours(&inp, &a)?;
    gnu(&inp, &b)?;
    let (mut o, mut g) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        o.push(ours(&inp, &a)?);
        g.push(gnu(&inp, &b)?);
    }
    let med = |v: &[Split], f: Metric| median(v.iter().map(f).collect());
    let rows: [(&str, Metric); 7] = [
        ("C compiler (2 files)", |s| s.compiler),
        ("config.h", |s| s.config),
        ("link, notes, modinfo", |s| s.link),
        ("tool steps (config.h + link)", |s| s.config + s.link),
        ("validate", |s| s.validate),
        ("tool steps with validate", |s| s.tools()),
        ("whole build", |s| s.whole()),
    ];
    println!(
        "hello_world, x86_64, livepatch-v2: median of {} runs",
        runs.max(1)
    );
    println!();
    println!("| step | xsplice | seed's GNU recipe |");
    println!("|---|---:|---:|");
    for (name, f) in rows {
        let gnu = if name == "validate" || name == "tool steps with validate" {
            "(none)".to_owned()
        } else {
            ms(med(&g, f))
        };
        println!("| {name} | {} | {gnu} |", ms(med(&o, f)));
    }
    let pct = |v: &[Split], f: Metric| {
        100.0 * med(v, f).as_secs_f64() / med(v, Split::whole).as_secs_f64()
    };
    let link_cfg: Metric = |s| s.config + s.link;
    let (ours_share, ours_share_all, gnu_share) =
        (pct(&o, link_cfg), pct(&o, Split::tools), pct(&g, link_cfg));
    println!(
        "| tool share of the whole build | {ours_share:.1}% ({ours_share_all:.1}% with validate) | {gnu_share:.1}% |"
    );
    println!();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "target: our tool steps under 5% of the whole build: {} ({ours_share:.1}%; {} with validate, {ours_share_all:.1}%)",
        verdict(ours_share < 5.0),
        verdict(ours_share_all < 5.0),
    );
    let (ours_tools, gnu_tools) = (med(&o, link_cfg), med(&g, link_cfg));
    println!(
        "target: our tool steps faster than the GNU tool steps: {} ({} vs {}, {:.1}x)",
        verdict(ours_tools < gnu_tools),
        ms(ours_tools),
        ms(gnu_tools),
        gnu_tools.as_secs_f64() / ours_tools.as_secs_f64()
    );
    Ok(())
}
