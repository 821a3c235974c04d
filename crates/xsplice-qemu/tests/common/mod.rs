//! What the real-hypervisor tests share: the machine (Debian's Xen, or the
//! source build's, under QEMU), payloads built against a real `xen-syms`,
//! and one lock so that the tests of a process boot one machine at a time
//! (two emulated machines on a two-core host would only slow each other).
//!
//! The machine needs QEMU, apt's package lists and the real Xen tree that
//! `cargo xtask real-xen` caches; without them a test skips with the
//! reason locally and fails under CI.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use xsplice_qemu::{Boot, Options, Outcome, Platform, Prepared, Setup, Timeouts, run_boot};
use xsplice_sim::{Command, Output, Status, parse_script};
use xsplice_testkit::RealXen;

/// The real Xen tree and Debian's machine, prepared once per process.
pub struct Real {
    pub xen: RealXen,
    /// Debian's machine, booting the hypervisor whose `-dbg` image is
    /// `xen.debian.xen_syms`.
    pub debian: Prepared,
    /// `4.17.7`: the release of Debian's hypervisor.
    pub debian_release: String,
}

/// The cache root the binary would use.
pub fn cache() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
    xsplice_qemu::cache_root(env("XDG_CACHE_HOME").as_deref(), env("HOME").as_deref())
        .expect("XDG_CACHE_HOME or HOME")
}

/// `4.17.7` of `4.17.7+13-g2445b30a44-0+deb12u1`.
pub fn release(version: &str) -> String {
    let end = version
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(version.len());
    version[..end].to_string()
}

pub fn real() -> Option<&'static Real> {
    static REAL: OnceLock<Option<Real>> = OnceLock::new();
    REAL.get_or_init(|| {
        let qemu = xsplice_testkit::require_tool(
            "qemu-system-x86_64",
            "booting the real Xen (Debian package qemu-system-x86)",
        )?;
        let xen = xsplice_testkit::real_xen("x86_64")?;
        let Some(deb) = xen.debian.clone() else {
            xsplice_testkit::skip("the real Xen cache has no Debian binaries for x86_64");
            return None;
        };
        let setup = Setup {
            cache: cache(),
            qemu,
            xen: Some(deb.xen_gz.clone()),
            xen_args: Vec::new(),
        };
        let mut log = Vec::new();
        let debian = match xsplice_qemu::prepare(&setup, &mut log) {
            Ok(p) => p,
            Err(e) => {
                xsplice_testkit::skip(&format!("cannot prepare the machine: {e}"));
                return None;
            }
        };
        Some(Real {
            debian_release: release(&deb.version),
            xen,
            debian,
        })
    })
    .as_ref()
}

/// The machine with the source build's own `xen` instead of Debian's.
pub fn source_platform(real: &Real) -> Platform {
    let setup = Setup {
        cache: cache(),
        qemu: real.debian.platform.machine.qemu.clone(),
        xen: Some(real.xen.tree.join("xen")),
        xen_args: Vec::new(),
    };
    xsplice_qemu::prepare(&setup, &mut Vec::new())
        .unwrap_or_else(|e| panic!("preparing the source build's machine: {e}"))
        .platform
}

/// Held while a machine runs.
pub fn one_machine() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A payload of the suite (a name under `test-payloads/`) or a payload
/// directory, built for livepatch-v2 against `xen_syms` into
/// `target/xsplice/real/<tag>/`, where `tag` names the image.
pub fn payload(source: &str, xen_syms: &Path, tag: &str) -> PathBuf {
    let root = xsplice_testkit::workspace_root();
    let out = xsplice_testkit::xsplice_out_dir().join("real").join(tag);
    let build = || -> Result<PathBuf, xsplice_build::BuildError> {
        let payload = xsplice_build::find_payload(&root, source)?;
        let tools = xsplice_build::Tools {
            config: xsplice_testkit::tool_binary("xsplice-config"),
            link: xsplice_testkit::tool_binary("xsplice-link"),
            validate: xsplice_testkit::tool_binary("xsplice-validate"),
        };
        let _lock = xsplice_build::OutLock::acquire(&out)?;
        let req = xsplice_build::Request {
            workspace: &root,
            abi: xsplice_build::parse_abi("livepatch-v2")?,
            arch: xsplice_build::Arch::parse("x86_64")?,
            xen_syms,
            out_root: &out,
            force: false,
            tools: &tools,
        };
        Ok(xsplice_build::build_payload(&payload, &req, &mut std::io::sink())?.payload)
    };
    build().unwrap_or_else(|e| panic!("building `{source}` against `{}`: {e}", xen_syms.display()))
}

/// This crate's test payload directory `name` (`tests/fixtures/<name>`).
pub fn fixture_dir(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Files a script names, by the path it names them with.
pub type Files = BTreeMap<PathBuf, Vec<u8>>;

/// Reads every file of `files` from disk, keyed by the given names.
pub fn files(named: &[(&str, &Path)]) -> Files {
    named
        .iter()
        .map(|(name, path)| {
            let bytes =
                std::fs::read(path).unwrap_or_else(|e| panic!("reading `{}`: {e}", path.display()));
            (PathBuf::from(name), bytes)
        })
        .collect()
}

/// Where scripts run: a directory of the guest and of the host that holds
/// nothing, so every payload comes from [`Files`].
pub const CWD: &str = "/xsplice";

fn reader(files: &Files) -> impl FnMut(&Path) -> std::io::Result<Vec<u8>> + '_ {
    move |p: &Path| {
        files.get(p).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "not in the test's files")
        })
    }
}

/// Boots `platform` once and runs `script` (no `restart`).
pub fn boot(platform: &Platform, script: &str, files: &Files) -> Boot {
    let lines = parse_script(script).expect("a script");
    let commands: Vec<Command> = lines.iter().map(|l| l.command.clone()).collect();
    let _one = one_machine();
    let mut read = reader(files);
    run_boot(
        platform,
        &commands,
        Path::new(CWD),
        Timeouts::default(),
        &mut read,
        &mut std::io::sink(),
        &mut |_, _, _| {},
    )
    .unwrap_or_else(|e| panic!("booting the machine: {e}"))
}

/// Runs `script` as `xsplice-qemu --echo` would: (stdout, stderr, status).
pub fn transcript(platform: &Platform, script: &str, files: &Files) -> (String, String, Status) {
    let lines = parse_script(script).expect("a script");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut output = Output {
        out: &mut out,
        err: &mut err,
        echo: true,
    };
    let opts = Options {
        echo: true,
        cwd: PathBuf::from(CWD),
        timeouts: Timeouts::default(),
    };
    let _one = one_machine();
    let mut read = reader(files);
    let status = xsplice_qemu::run_session(
        platform,
        &lines,
        &opts,
        &mut read,
        &mut output,
        &mut std::io::sink(),
    )
    .unwrap_or_else(|e| panic!("running the session: {e}"));
    (
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
        status,
    )
}

/// The `Error <n>: ...` number a command printed, if any.
pub fn errno(o: &Outcome) -> Option<i32> {
    let Outcome::Ran { ran, .. } = o else {
        return None;
    };
    String::from_utf8_lossy(&ran.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("Error ")?.split(':').next()?.parse().ok())
}

/// One command's outcome in a few words, for messages.
pub fn show(o: &Outcome) -> String {
    match o {
        Outcome::Ran { ran, console } => {
            format!(
                "exit {}: {}{}{}",
                ran.rc,
                String::from_utf8_lossy(&ran.stdout).trim_end(),
                if ran.stderr.is_empty() { "" } else { " / " },
                String::from_utf8_lossy(&ran.stderr).trim_end()
            ) + &console
                .iter()
                .map(|l| format!("\n    {l}"))
                .collect::<String>()
        }
        Outcome::Crashed { crash, .. } => format!("crashed: {}", crash.summary()),
        Outcome::Hung { waited, .. } => format!("hung for {} s", waited.as_secs()),
        Outcome::Lost(why) => format!("lost: {why}"),
        Outcome::NotRun(why) => format!("not run: {why}"),
    }
}
