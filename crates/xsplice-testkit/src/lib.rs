//! Helpers shared by the tests of every xsplice crate.
//!
//! Tests compare our tools with GNU binutils and run the binaries of other
//! workspace crates. This crate is the one place that knows where those live
//! and what happens when one is missing: locally the test prints why it
//! skipped, and under CI (`CI` set) a missing reference tool is a failure,
//! because a skipped comparison must never count as a pass there.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod fixture;
pub mod source_patch;

/// True when running under continuous integration.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .expect("testkit lives in crates/xsplice-testkit")
        .to_path_buf()
}

/// Where xtask and tests put generated artefacts (stand-in hypervisors, payloads).
pub fn xsplice_out_dir() -> PathBuf {
    workspace_root().join("target").join("xsplice")
}

/// Finds a reference tool (GNU nm, ld, a cross compiler, ...) on `PATH`.
///
/// Returns `None` after printing why the caller skips, or panics under CI,
/// where a missing reference tool means the environment is broken.
pub fn require_tool(name: &str, why: &str) -> Option<PathBuf> {
    match which::which(name) {
        Ok(path) => Some(path),
        Err(_) => {
            skip(&format!("`{name}` not found on PATH ({why})"));
            None
        }
    }
}

/// Reports a skipped check: printed locally, a panic under CI.
#[track_caller]
pub fn skip(reason: &str) {
    if in_ci() {
        panic!("CI must not skip: {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// Path of a binary built from this workspace (`xsplice-nm`, `xsplice-link`, ...).
///
/// Test executables live in `<target>/<profile>/deps/`; binaries one level up.
/// `cargo test -p one-crate` does not rebuild other packages' binaries, so a
/// binary found there may be stale: the first call for each name in a test
/// process runs `cargo build --bin NAME` with the cargo that runs the tests
/// (a no-op when it is fresh), so tests never run yesterday's linker.
pub fn tool_binary(name: &str) -> PathBuf {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};

    static FRESH: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let exe = std::env::current_exe().expect("current test executable");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable in <target>/<profile>/deps");
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut fresh = FRESH
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !fresh.contains(name) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root())
            .args(["build", "--quiet", "--bin", name]);
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            cmd.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            cmd.arg("--target-dir").arg(target_dir);
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
        fresh.insert(name.to_owned());
    }
    path
}

/// Runs a command and returns (exit code, stdout, stderr), failing the test
/// with the command line if it cannot be started.
pub fn run(cmd: &mut Command) -> (i32, Vec<u8>, Vec<u8>) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

/// Runs a command that must succeed and returns its stdout; fails the test
/// with the command line, the exit code and both outputs otherwise.
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let (code, out, err) = run(cmd);
    assert!(
        code == 0,
        "{cmd:?} failed ({code})\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    out
}

/// The entries of `dir` sorted by name, each as its path and its file name;
/// fails the test naming `dir` if it cannot be read.
pub fn dir_entries(dir: &Path) -> Vec<(PathBuf, String)> {
    let read =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()));
    let mut entries: Vec<(PathBuf, String)> = read
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()));
            (
                entry.path(),
                entry.file_name().to_string_lossy().into_owned(),
            )
        })
        .collect();
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    entries
}

/// Replays the inputs of `crates/<krate>/tests/regressions/`, on which a
/// fuzz target once panicked the crate, through `replay` (the calls the
/// target makes), in name order; fails naming the first input that panics
/// it, and when there is none.
pub fn replay_fuzz_regressions(krate: &str, replay: impl Fn(&[u8])) {
    let dir = workspace_root()
        .join("crates")
        .join(krate)
        .join("tests")
        .join("regressions");
    let inputs = dir_entries(&dir);
    assert!(
        !inputs.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    for (path, _) in inputs {
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| replay(&bytes)));
        assert!(result.is_ok(), "{} panicked", path.display());
    }
}

/// Removes the files of `dir` whose name `remove` picks (subdirectories
/// are left alone); fails the test naming a file it cannot remove.
pub fn remove_files(dir: &Path, remove: impl Fn(&str) -> bool) {
    for (path, name) in dir_entries(dir) {
        if remove(&name) && !path.is_dir() {
            std::fs::remove_file(&path)
                .unwrap_or_else(|e| panic!("cannot remove `{}`: {e}", path.display()));
        }
    }
}

/// `make` run in `dir` on its own: the variables through which an outer
/// make (of a `cargo test` run started by make) hands down its jobserver
/// and flags are removed, since that make is not ours to join.
pub fn make_in(dir: &Path) -> Command {
    let mut cmd = Command::new("make");
    cmd.current_dir(dir);
    for var in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "MAKE_TERMOUT",
        "MAKE_TERMERR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The stand-in hypervisor `xen-syms` for `arch` (`x86_64`, `aarch64`, `arm32`),
/// built on demand into `target/xsplice/xen/<arch>/` (see `test-payloads/xen/README.md`).
///
/// Returns `None` after reporting a skip when the architecture's C compiler is
/// missing (a failure under CI); a compiler that is present but fails to
/// build the image fails the test.
pub fn stand_in_xen(arch: &str) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    let arch = xsplice_build::Arch::parse(arch).unwrap_or_else(|e| panic!("{e}"));
    static BUILT: OnceLock<Mutex<HashMap<xsplice_build::Arch, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(&arch) {
        return Some(path.clone());
    }
    if let Err(e) = arch.find_compiler() {
        skip(&format!("cannot build the stand-in hypervisor: {e}"));
        return None;
    }
    match xsplice_build::build_stand_in(&workspace_root(), &xsplice_out_dir(), arch, false) {
        Ok(s) => {
            built.insert(arch, s.path.clone());
            Some(s.path)
        }
        Err(e) => panic!("building the stand-in hypervisor for {arch}: {e}"),
    }
}

/// A payload of the suite (`test-payloads/<name>/`) built for `abi`
/// (`livepatch-v2`, ...) on `arch` against the stand-in hypervisor, with
/// the workspace's own tool binaries, into `target/xsplice/<abi>/<arch>/<name>/`
/// (incremental: unchanged inputs are not rebuilt). A payload that stacks on
/// another gets it built too, at its own place in the same tree.
///
/// Must-fail payloads (`no_xen_buildid`, `expectations_fail`) are returned
/// like the others once validation has failed with their expected check.
/// Returns `None` after reporting a skip when the architecture's compiler is
/// missing (a failure under CI); any other build failure fails the test.
pub fn test_payload(name: &str, abi: &str, arch: &str) -> Option<PathBuf> {
    let xen = stand_in_xen(arch)?;
    let root = workspace_root();
    let build = || -> Result<PathBuf, xsplice_build::BuildError> {
        let abi = xsplice_build::parse_abi(abi)?;
        let arch = xsplice_build::Arch::parse(arch)?;
        let payload = xsplice_build::find_payload(&root, name)?;
        let tools = xsplice_build::Tools {
            config: tool_binary("xsplice-config"),
            link: tool_binary("xsplice-link"),
            validate: tool_binary("xsplice-validate"),
        };
        let out = xsplice_out_dir();
        let _lock = xsplice_build::OutLock::acquire(&out)?;
        let req = xsplice_build::Request {
            workspace: &root,
            abi,
            arch,
            xen_syms: &xen,
            out_root: &out,
            force: false,
            tools: &tools,
        };
        Ok(xsplice_build::build_payload(&payload, &req, &mut std::io::sink())?.payload)
    };
    match build() {
        Ok(path) => Some(path),
        Err(e) => panic!("building payload `{name}` ({abi}, {arch}): {e}"),
    }
}

pub use xsplice_build::{DebianXen, RealXen};

/// The real Xen tree built by `cargo xtask real-xen` for `arch` (`x86_64`,
/// `aarch64`), read from the cache's manifest; never built from a test,
/// since it takes minutes. Returns `None` after printing why when it was
/// not built (a failure under CI, whose `.ci/run` builds it first).
/// A test must not write into the tree: one that runs `make` copies it.
pub fn real_xen(arch: &str) -> Option<RealXen> {
    let arch = xsplice_build::Arch::parse(arch).unwrap_or_else(|e| panic!("{e}"));
    let cache = xsplice_build::cache_root().unwrap_or_else(|e| panic!("{e}"));
    match xsplice_build::load_real_xen(&cache, arch) {
        Ok(Some(real)) => Some(real),
        Ok(None) => {
            skip(&format!(
                "no real Xen for {arch} in `{}`: run `cargo xtask real-xen --arch {arch}`",
                cache.display()
            ));
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// Copies the source tree `xen` was built in (`cp -a`, its build outputs
/// with it) into `dir`, for a test that runs `make` there, and returns the
/// copy's counterpart of `xen.tree`: the cached tree itself is never
/// written.
pub fn copy_real_source(xen: &RealXen, dir: &Path) -> PathBuf {
    let copy = dir.join("source");
    let mut cmd = Command::new("cp");
    cmd.arg("-a").arg(xen.source()).arg(&copy);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 0, "{cmd:?} failed: {}", String::from_utf8_lossy(&err));
    copy.join(xen.tree.file_name().expect("the tree has a name"))
}

/// The GNU toolchain of one architecture: the native tools on x86_64,
/// Debian's cross toolchains elsewhere, with BFD's names for the target.
/// The one table the tests share, so that a tool's name is written once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gnu {
    /// Our name for the architecture: `x86_64`, `aarch64` or `arm32`.
    pub arch: &'static str,
    /// The Debian triplet the cross tools are prefixed with.
    pub triplet: &'static str,
    pub gcc: &'static str,
    pub ld: &'static str,
    pub nm: &'static str,
    pub objcopy: &'static str,
    pub objdump: &'static str,
    pub readelf: &'static str,
    /// BFD's target and architecture (`objcopy -O/-B`, `objdump -m`).
    pub bfd_target: &'static str,
    pub bfd_arch: &'static str,
    /// The user-mode emulator that runs its programs on an x86_64 host
    /// (empty for native).
    pub runner: &'static str,
}

pub const GNU_X86_64: Gnu = Gnu {
    arch: "x86_64",
    triplet: "x86_64-linux-gnu",
    gcc: "gcc",
    ld: "ld",
    nm: "nm",
    objcopy: "objcopy",
    objdump: "objdump",
    readelf: "readelf",
    bfd_target: "elf64-x86-64",
    bfd_arch: "i386:x86-64",
    runner: "",
};

pub const GNU_AARCH64: Gnu = Gnu {
    arch: "aarch64",
    triplet: "aarch64-linux-gnu",
    gcc: "aarch64-linux-gnu-gcc",
    ld: "aarch64-linux-gnu-ld",
    nm: "aarch64-linux-gnu-nm",
    objcopy: "aarch64-linux-gnu-objcopy",
    objdump: "aarch64-linux-gnu-objdump",
    readelf: "aarch64-linux-gnu-readelf",
    bfd_target: "elf64-littleaarch64",
    bfd_arch: "aarch64",
    runner: "qemu-aarch64",
};

pub const GNU_ARM32: Gnu = Gnu {
    arch: "arm32",
    triplet: "arm-linux-gnueabihf",
    gcc: "arm-linux-gnueabihf-gcc",
    ld: "arm-linux-gnueabihf-ld",
    nm: "arm-linux-gnueabihf-nm",
    objcopy: "arm-linux-gnueabihf-objcopy",
    objdump: "arm-linux-gnueabihf-objdump",
    readelf: "arm-linux-gnueabihf-readelf",
    bfd_target: "elf32-littlearm",
    bfd_arch: "arm",
    runner: "qemu-arm",
};

/// Every architecture's toolchain, x86_64 first.
pub const GNU: [Gnu; 3] = [GNU_X86_64, GNU_AARCH64, GNU_ARM32];

/// The toolchain of `arch` (our name or an alias, as `xsplice-build`
/// takes them).
pub fn gnu(arch: &str) -> Gnu {
    let arch = xsplice_build::Arch::parse(arch).unwrap_or_else(|e| panic!("{e}"));
    GNU.into_iter()
        .find(|g| g.arch == arch.name())
        .expect("a toolchain for every architecture")
}

/// What [`redact`] replaces in a snapshot's text.
#[derive(Clone, Copy, Debug)]
pub struct Redact {
    /// A run of at least this many hex digits (build-ids, code bytes)
    /// becomes `<hex>`.
    pub hex: usize,
    /// A `0x` number of at least this many digits (an address that moves
    /// with the compiler) becomes `<addr>`; `None` keeps addresses.
    pub addresses: Option<usize>,
}

/// Replaces the compiler-dependent values of `text` (see [`Redact`]), so
/// that a snapshot of our own output holds across compiler versions. The
/// one redaction every crate's snapshots use.
pub fn redact(text: &str, what: Redact) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
        match word.strip_prefix("0x") {
            Some(digits) if hex(digits) && what.addresses.is_some_and(|n| digits.len() >= n) => {
                out.push_str("<addr>");
            }
            _ => {
                // Hex runs inside the word: hex digits are alphanumeric, so
                // a run never crosses a word's end.
                let mut run = String::new();
                for c in word.chars().chain(std::iter::once(' ')) {
                    if c.is_ascii_hexdigit() {
                        run.push(c);
                        continue;
                    }
                    if run.len() >= what.hex {
                        out.push_str("<hex>");
                    } else {
                        out.push_str(&run);
                    }
                    run.clear();
                    out.push(c);
                }
                out.pop();
            }
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The `xen_extra` lines of the seed's use case (`info`, load hello_world,
/// `info`, revert and unload, `info`): as built, patched, and restored.
pub const SEED_XEN_EXTRA: [&str; 3] = [
    "xen_extra              : -unstable",
    "xen_extra              : Hello World",
    "xen_extra              : -unstable",
];

/// The lines of `text` that start with `prefix`, such as the `xen_extra`
/// lines of a transcript of `xl info`.
pub fn lines_starting<'t>(text: &'t str, prefix: &str) -> Vec<&'t str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_architecture_has_its_toolchain() {
        for arch in xsplice_build::Arch::ALL {
            let g = gnu(arch.name());
            assert_eq!(g.arch, arch.name());
            if let Some(cc) = arch.cross_compiler() {
                assert_eq!(g.gcc, cc);
                assert!(g.gcc.starts_with(g.triplet));
            }
        }
        assert_eq!(gnu("arm64"), GNU_AARCH64);
    }

    #[test]
    fn redaction() {
        let hex = Redact {
            hex: 16,
            addresses: None,
        };
        let both = Redact {
            hex: 12,
            addresses: Some(8),
        };
        let text = "id f9d2c699cc0e145392215e9ad0baf1e9 at 0x0000200000000020, old 0x1234 abc";
        assert_eq!(redact(text, hex), "id <hex> at 0x<hex>, old 0x1234 abc");
        assert_eq!(redact(text, both), "id <hex> at <addr>, old 0x1234 abc");
        assert_eq!(redact("", both), "");
    }
}
