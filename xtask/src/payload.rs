//! `cargo xtask payload` and `cargo xtask install`: the payload pipeline.
//!
//! The pipeline itself (steps, content hashes, manifests) is in
//! `xsplice-build`, shared with the tests; this module builds the tool
//! binaries through `$CARGO`, picks the target image, prints, and installs.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xsplice_abi::Abi;
use xsplice_build::{
    Arch, OutLock, Outcome, Payload, Request, Tools, build_payload, build_stand_in, find_payload,
    parse_abi, suite,
};

#[derive(clap::Args)]
pub struct PayloadArgs {
    /// Payload name under test-payloads/, or a path to a payload directory.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub name: Option<String>,
    /// Payload ABI: livepatch-v2 (Xen 4.14+, the default), livepatch-v1
    /// (4.7-4.13), xsplice (4.7.0-rc1..rc4) or xsplice-v4 (the seed's
    /// series). With --all: only this ABI (default: every ABI).
    #[arg(long)]
    pub abi: Option<String>,
    /// Target architecture: x86_64, aarch64 or arm32. Default: that of
    /// --target, else x86_64. With --all: only this architecture
    /// (default: every architecture with a compiler).
    #[arg(long)]
    pub arch: Option<String>,
    /// Build against this hypervisor image (`xen-syms`) instead of the
    /// stand-in.
    // `--xen-syms` is the old spelling, still taken.
    #[arg(long = "target", alias = "xen-syms", value_name = "XEN_SYMS")]
    pub xen_syms: Option<PathBuf>,
    /// Output root: payloads go to DIR/<abi>/<arch>/<name>/ (default target/xsplice).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run every step even when its inputs did not change.
    #[arg(long)]
    pub force: bool,
    /// Build every payload for every ABI and architecture it supports and
    /// that has a compiler here, then print a summary table.
    #[arg(long)]
    pub all: bool,
}

#[derive(clap::Args)]
pub struct InstallArgs {
    /// Staging root, like `make install DESTDIR=...`.
    #[arg(long)]
    pub destdir: Option<PathBuf>,
    /// Directory for payloads under the staging root, like Xen's `DEBUG_DIR`.
    #[arg(long, default_value = "/usr/lib/debug")]
    pub debug_dir: PathBuf,
    /// Payload ABI of the payloads to install.
    #[arg(long, default_value = "livepatch-v2")]
    pub abi: String,
    /// Architecture of the payloads to install.
    #[arg(long, default_value = "x86_64")]
    pub arch: String,
    /// Output root the payloads are built in (default target/xsplice).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Builds xsplice-config, -link and -validate with the cargo running us and
/// returns their paths, taken from cargo's own JSON messages.
///
/// `release` builds them in the `tools` profile (release settings with
/// LTO), and on Linux with glibc links them statically: a static binary
/// starts in about half the time of a dynamic one (no loader, no shared
/// libraries to map), and start-up is most of what a step on a small payload
/// costs. `cargo rustc` gives those flags to the binaries only: proc-macro
/// dependencies cannot be built with them.
pub fn build_tools(release: bool) -> anyhow::Result<Tools> {
    // Each binary has the name of its package.
    const BINS: [&str; 3] = ["xsplice-config", "xsplice-link", "xsplice-validate"];
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut runs = Vec::new();
    if release {
        for bin in BINS {
            let mut cmd = std::process::Command::new(&cargo);
            cmd.args([
                "rustc",
                "--message-format=json-render-diagnostics",
                "--profile",
                "tools",
                "-p",
                bin,
                "--bin",
                bin,
            ]);
            if cfg!(all(target_os = "linux", target_env = "gnu")) {
                // Static and position-dependent: nothing to load or relocate.
                cmd.args([
                    "--",
                    "-C",
                    "target-feature=+crt-static",
                    "-C",
                    "relocation-model=static",
                ]);
            }
            runs.push(cmd);
        }
    } else {
        let mut cmd = std::process::Command::new(&cargo);
        cmd.arg("build")
            .arg("--message-format=json-render-diagnostics");
        for bin in BINS {
            cmd.args(["--bin", bin]);
        }
        runs.push(cmd);
    }
    let mut stdout = Vec::new();
    for mut cmd in runs {
        let out = cmd
            .current_dir(crate::workspace_root())
            .stderr(std::process::Stdio::inherit())
            .output()
            .context("cannot run cargo to build the tools")?;
        if !out.status.success() {
            bail!("building the tools failed ({})", out.status);
        }
        stdout.extend(out.stdout);
    }
    let mut found = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let (Some(name), Some(exe)) = (
            msg.pointer("/target/name").and_then(|v| v.as_str()),
            msg.get("executable").and_then(|v| v.as_str()),
        ) {
            found.insert(name.to_owned(), PathBuf::from(exe));
        }
    }
    let mut take = |name: &str| {
        found
            .remove(name)
            .with_context(|| format!("cargo did not report a `{name}` binary"))
    };
    Ok(Tools {
        config: take("xsplice-config")?,
        link: take("xsplice-link")?,
        validate: take("xsplice-validate")?,
    })
}

/// The architecture of an ELF file, from `e_machine`.
fn elf_arch(path: &Path) -> anyhow::Result<Arch> {
    let data = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if data.len() < 20 || &data[..4] != b"\x7fELF" {
        bail!("`{}` is not an ELF file", path.display());
    }
    let machine = if data[5] == 2 {
        u16::from_be_bytes([data[18], data[19]])
    } else {
        u16::from_le_bytes([data[18], data[19]])
    };
    match xsplice_abi::Arch::from_e_machine(machine) {
        Some(arch) => Ok(Arch::from(arch)),
        None => bail!(
            "`{}` is for machine {machine}, not x86_64, aarch64 or arm32",
            path.display()
        ),
    }
}

/// The stand-in hypervisor for `arch` under `out_root`, built on demand.
fn stand_in(out_root: &Path, arch: Arch) -> anyhow::Result<PathBuf> {
    let built = build_stand_in(&crate::workspace_root(), out_root, arch, false)
        .with_context(|| format!("building the stand-in hypervisor for {arch}"))?;
    Ok(built.path)
}

/// `path` made absolute against the directory xtask was started in: the
/// steps run in the payload's source directory, where a relative path given
/// on the command line would name something else.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving `{}`", path.display()))
}

pub fn run(mut args: PayloadArgs) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    if let Some(x) = &args.xen_syms {
        args.xen_syms = Some(absolute(x)?);
    }
    let out_root = match &args.out {
        Some(out) => absolute(out)?,
        None => root.join("target").join("xsplice"),
    };
    if args.all {
        return run_all(&args, &out_root);
    }
    let name = args
        .name
        .as_deref()
        .expect("clap requires NAME without --all");
    let abi = parse_abi(args.abi.as_deref().unwrap_or("livepatch-v2"))?;
    let payload = find_payload(&root, name)?;
    let arch = match (&args.arch, &args.xen_syms) {
        (Some(a), Some(x)) => {
            let a = Arch::parse(a)?;
            let e = elf_arch(x)?;
            if a != e {
                bail!("--arch {a} but `{}` is for {e}", x.display());
            }
            a
        }
        (Some(a), None) => Arch::parse(a)?,
        (None, Some(x)) => elf_arch(x)?,
        (None, None) => Arch::X86_64,
    };
    let tools = build_tools(false)?;
    let _lock = OutLock::acquire(&out_root)?;
    let xen = match &args.xen_syms {
        Some(x) => x.clone(),
        None => stand_in(&out_root, arch)?,
    };
    let req = Request {
        workspace: &root,
        abi,
        arch,
        xen_syms: &xen,
        out_root: &out_root,
        force: args.force,
        tools: &tools,
    };
    let mut stdout = std::io::stdout().lock();
    let built = build_payload(&payload, &req, &mut stdout).with_context(|| {
        format!(
            "building payload `{}` ({abi}, {arch})",
            payload.name,
            abi = abi.name()
        )
    })?;
    if let Outcome::FailedAsExpected(id) = &built.outcome {
        writeln!(
            stdout,
            "# {}: validation failed with {id}, as its manifest expects",
            built.name
        )?;
    }
    writeln!(stdout, "{}", built.payload.display())?;
    Ok(())
}

/// hello_world (livepatch-v2, x86_64) built against `xen_syms` into
/// `out_root`, quietly; for benchmarks that need a payload of an image.
pub fn build_against(xen_syms: &Path, out_root: &Path) -> anyhow::Result<PathBuf> {
    let root = crate::workspace_root();
    let tools = build_tools(false)?;
    let req = Request {
        workspace: &root,
        abi: Abi::LivepatchV2,
        arch: Arch::X86_64,
        xen_syms,
        out_root,
        force: false,
        tools: &tools,
    };
    let payload = find_payload(&root, "hello_world")?;
    Ok(build_payload(&payload, &req, &mut std::io::sink())?.payload)
}

/// One row of the `--all` summary.
struct Row {
    payload: String,
    abi: Abi,
    arch: Arch,
    result: Result<String, String>,
}

fn run_all(args: &PayloadArgs, out_root: &Path) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    if args.name.is_some() || args.xen_syms.is_some() {
        bail!("--all builds the whole suite against the stand-in; drop NAME and --target");
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    let abis = match &args.abi {
        Some(a) => vec![parse_abi(a)?],
        None => Abi::ALL.to_vec(),
    };
    let wanted = match &args.arch {
        Some(a) => vec![Arch::parse(a)?],
        None => Arch::ALL.to_vec(),
    };
    let mut arches = Vec::new();
    for arch in wanted {
        match arch.find_compiler() {
            Ok(_) => arches.push(arch),
            Err(e) if ci => bail!("{e}"),
            Err(e) => println!("skipped: {arch}: {e}"),
        }
    }
    let tools = build_tools(false)?;
    let _lock = OutLock::acquire(out_root)?;
    let payloads: Vec<Payload> = suite(&root)?;
    let mut jobs = Vec::new();
    for p in &payloads {
        for &abi in &abis {
            for &arch in &arches {
                if p.supports(abi, arch) {
                    jobs.push((p, abi, arch));
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (i, (p, abi, arch)) in jobs.iter().enumerate() {
        let xen = stand_in(out_root, *arch)?;
        let req = Request {
            workspace: &root,
            abi: *abi,
            arch: *arch,
            xen_syms: &xen,
            out_root,
            force: args.force,
            tools: &tools,
        };
        let result = match build_payload(p, &req, &mut std::io::sink()) {
            Ok(b) => Ok(match b.outcome {
                Outcome::Valid => match warning_ids(&b.report).as_slice() {
                    [] => "valid".to_owned(),
                    ids => format!("valid, warning {}", ids.join(", ")),
                },
                Outcome::FailedAsExpected(id) => format!("fails with {id}, as expected"),
            }),
            Err(e) => Err(e.to_string()),
        };
        let status = match &result {
            Ok(s) => format!("ok ({s})"),
            Err(_) => "FAILED".to_owned(),
        };
        println!(
            "[{:>2}/{}] {} {} {}: {status}",
            i + 1,
            jobs.len(),
            p.name,
            abi.name(),
            arch
        );
        if let Err(e) = &result {
            for line in e.lines() {
                println!("    {line}");
            }
        }
        rows.push(Row {
            payload: p.name.clone(),
            abi: *abi,
            arch: *arch,
            result,
        });
    }
    println!();
    println!("{:<20} {:<14} {:<8} result", "payload", "abi", "arch");
    for r in &rows {
        let result = match &r.result {
            Ok(s) => s.clone(),
            Err(_) => "FAILED".to_owned(),
        };
        println!(
            "{:<20} {:<14} {:<8} {result}",
            r.payload,
            r.abi.name(),
            r.arch.name()
        );
    }
    let failed = rows.iter().filter(|r| r.result.is_err()).count();
    println!(
        "{} builds, {} passed, {failed} failed",
        rows.len(),
        rows.len() - failed
    );
    if failed > 0 {
        bail!("{failed} payload builds failed");
    }
    Ok(())
}

pub fn install(args: InstallArgs) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    let out_root = match &args.out {
        Some(out) => absolute(out)?,
        None => root.join("target").join("xsplice"),
    };
    let abi = parse_abi(&args.abi)?;
    let arch = Arch::parse(&args.arch)?;
    let tools = build_tools(false)?;
    let _lock = OutLock::acquire(&out_root)?;
    let xen = stand_in(&out_root, arch)?;
    let relative = args.debug_dir.strip_prefix("/").unwrap_or(&args.debug_dir);
    let dest = match &args.destdir {
        Some(d) => d.join(relative),
        None => args.debug_dir.clone(),
    };
    std::fs::create_dir_all(&dest)
        .with_context(|| format!("cannot create `{}`", dest.display()))?;
    for p in suite(&root)? {
        // Must-fail payloads exist to be refused; they are not installed.
        if !p.supports(abi, arch) || p.manifest.expect_failure.is_some() {
            continue;
        }
        let req = Request {
            workspace: &root,
            abi,
            arch,
            xen_syms: &xen,
            out_root: &out_root,
            force: false,
            tools: &tools,
        };
        let built = build_payload(&p, &req, &mut std::io::sink())
            .with_context(|| format!("building payload `{}`", p.name))?;
        let file = built.payload.file_name().expect("payload file name");
        let target = dest.join(file);
        std::fs::copy(&built.payload, &target)
            .with_context(|| format!("cannot install `{}`", target.display()))?;
        set_mode_0644(&target)?;
        println!("{}", target.display());
    }
    Ok(())
}

/// `install -m 0644`, as `$(INSTALL_DATA)` does.
fn set_mode_0644(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot set the mode of `{}`", path.display()))
}

/// The check ids of the warnings in a validation report (`warning[V-07]:`
/// lines), sorted, once each; none when the report cannot be read.
fn warning_ids(report: &Path) -> Vec<String> {
    xsplice_build::warning_ids(&std::fs::read_to_string(report).unwrap_or_default())
}
