//! A real Xen as a second target: Debian's Xen source package built with
//! live patching and Xen's own test payloads, and Debian's binary packages of
//! the hypervisor, its debug image and `xen-livepatch`.
//!
//! The stand-in hypervisor is ours; a real Xen build is the truth. Both come
//! from Debian's package registry with the ordinary clients (`apt-get source`
//! through a private apt configuration, `apt-get download`, `dpkg-deb -x`), so
//! nothing but the registry is needed and no root either. Everything lands in
//! a cache outside the checkout (`$XDG_CACHE_HOME/xsplice/real-xen/`, else
//! `~/.cache/xsplice/real-xen/`), one directory per package version and arch,
//! built in a staging directory and renamed into place: a failed build leaves
//! no half cache, and a later clone or CI run reuses what is there.
//!
//! A small JSON manifest per arch (`real-xen/<arch>.json`) says where the
//! newest complete tree is; tests read it through the testkit.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xsplice_symbols::WriteMode;

use crate::{Arch, BuildError, CommandLine};

/// Xen reads these from the environment instead of the clock, the host and
/// the user, so two builds of one tree give the same bytes.
pub const REPRODUCIBLE_ENV: [(&str, &str); 5] = [
    ("XEN_BUILD_DATE", "Thu Jan  1 00:00:00 UTC 2026"),
    ("XEN_BUILD_TIME", "00:00:00"),
    ("XEN_BUILD_HOST", "xsplice"),
    ("XEN_WHOAMI", "xsplice"),
    ("XEN_DOMAIN", "example.org"),
];

/// A built Xen source tree and, on x86_64, Debian's binary Xen of the same
/// major release.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RealXen {
    /// The source package's version (`4.17.5+72-g01140da4e8-1`).
    pub version: String,
    /// Our name of the architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// The built `xen/` directory of the source tree.
    pub tree: PathBuf,
    /// `tree/xen-syms`: livepatch on, with debug information.
    pub xen_syms: PathBuf,
    /// `tree/test/livepatch`: Xen's test payloads and the objects they were
    /// linked from.
    pub test_payloads: PathBuf,
    /// Debian's binary packages (x86_64 only).
    pub debian: Option<DebianXen>,
}

impl RealXen {
    /// The source tree the build ran in: the directory that holds `tree`.
    pub fn source(&self) -> &Path {
        self.tree
            .parent()
            .expect("the tree is the xen/ of a source tree")
    }
}

/// Debian's binary Xen, unpacked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DebianXen {
    /// The binary packages' version (`4.17.7+13-g2445b30a44-0+deb12u1`).
    pub version: String,
    /// Every package unpacked with `dpkg-deb -x` into this one root.
    pub root: PathBuf,
    /// The debug image of `xen-hypervisor-*-dbg` (`usr/lib/debug/boot/xen-syms-*`).
    pub xen_syms: PathBuf,
    /// The bootable, gzipped hypervisor (`boot/xen-*.gz`).
    pub xen_gz: PathBuf,
    /// The `.deb` files themselves.
    pub debs: PathBuf,
}

/// What `build_real_xen` should do.
#[derive(Clone, Debug)]
pub struct RealXenRequest {
    /// The cache root (`xsplice/` under the user's cache directory).
    pub cache: PathBuf,
    pub arch: Arch,
    /// `make -j`.
    pub jobs: usize,
    /// Rebuild even when a complete tree of the current version is cached.
    pub force: bool,
}

/// `$XDG_CACHE_HOME/xsplice`, else `$HOME/.cache/xsplice`.
pub fn cache_root() -> Result<PathBuf, BuildError> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".cache"),
            None => {
                return Err(BuildError::RealXen(
                    "neither XDG_CACHE_HOME nor HOME is set: no cache directory".into(),
                ));
            }
        },
    };
    Ok(base.join("xsplice"))
}

/// Where the manifest of `arch`'s newest complete tree is.
pub fn manifest_path(cache: &Path, arch: Arch) -> PathBuf {
    cache.join("real-xen").join(format!("{arch}.json"))
}

/// The cached real Xen for `arch`, if a complete one is there.
///
/// `Ok(None)` when nothing was built yet; an error when the manifest names
/// files that are gone (a cache cleaned by hand), so that is never mistaken
/// for "not built".
pub fn load_real_xen(cache: &Path, arch: Arch) -> Result<Option<RealXen>, BuildError> {
    let path = manifest_path(cache, arch);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BuildError::io("cannot read", &path, e)),
    };
    let real: RealXen = serde_json::from_str(&text).map_err(|e| BuildError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut needed = vec![&real.xen_syms, &real.test_payloads];
    if let Some(deb) = &real.debian {
        needed.extend([&deb.xen_syms, &deb.xen_gz, &deb.debs]);
    }
    if let Some(gone) = needed.into_iter().find(|p| !p.exists()) {
        return Err(BuildError::RealXen(format!(
            "`{}` names `{}`, which is gone: run `cargo xtask real-xen` again",
            path.display(),
            gone.display()
        )));
    }
    Ok(Some(real))
}

/// Obtains and builds the real Xen for `req.arch`, reusing the cache when it
/// holds the current versions, and writes the manifest. Each command is
/// printed to `log` before it runs; make's own output goes to `build.log`
/// in the tree's directory.
pub fn build_real_xen(req: &RealXenRequest, log: &mut dyn Write) -> Result<RealXen, BuildError> {
    let root = req.cache.join("real-xen");
    std::fs::create_dir_all(&root).map_err(|e| BuildError::io("cannot create", &root, e))?;
    let _lock = crate::OutLock::acquire_for(&root, std::time::Duration::from_secs(3600))?;
    let apt = PrivateApt::new(&req.cache.join("apt"))?;
    say(log, &apt.update_command())?;
    let versions = match apt.update().and_then(|()| apt.source_versions("xen")) {
        Ok(v) => v,
        Err(e) => {
            // Offline, or the registry is down: a cached tree still serves.
            if let Some(cached) = load_real_xen(&req.cache, req.arch)? {
                writeln!(
                    log,
                    "# cannot look up the current source version ({e}); using the cache"
                )
                .map_err(|e| BuildError::io("cannot write", "log", e))?;
                return Ok(cached);
            }
            return Err(e);
        }
    };
    let (version, tree_dir) = source_tree(req, &apt, &root, &versions, log)?;
    let tree = tree_dir.join("source").join("xen");
    let debian = match req.arch {
        Arch::X86_64 => Some(debian_binaries(&root, &major_minor(&version)?, log)?),
        _ => None,
    };
    let real = RealXen {
        version,
        arch: req.arch.to_string(),
        xen_syms: tree.join("xen-syms"),
        test_payloads: tree.join("test").join("livepatch"),
        tree,
        debian,
    };
    let json = serde_json::to_string_pretty(&real).expect("manifest serialises");
    let manifest = manifest_path(&req.cache, req.arch);
    // Replaced in one rename, so a reader never finds it missing.
    xsplice_symbols::write_file(&manifest, json.as_bytes(), WriteMode::KeepUnchanged)
        .map_err(|e| BuildError::io("cannot write", &manifest, e))?;
    Ok(real)
}

/// Finds or builds the tree of the newest source version that downloads.
/// The security archive's index can list a version whose files it does not
/// serve, so each version is tried, newest first.
fn source_tree(
    req: &RealXenRequest,
    apt: &PrivateApt,
    root: &Path,
    versions: &[String],
    log: &mut dyn Write,
) -> Result<(String, PathBuf), BuildError> {
    let mut tried = Vec::new();
    for version in versions {
        let dir = root.join(format!("xen-{}-{}", sanitize(version), req.arch));
        if dir.is_dir() && !req.force {
            writeln!(
                log,
                "# xen {version} for {}: cached in {}",
                req.arch,
                dir.display()
            )
            .map_err(|e| BuildError::io("cannot write", "log", e))?;
            return Ok((version.clone(), dir));
        }
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(root)
            .map_err(|e| BuildError::io("cannot create a staging directory in", root, e))?;
        let fetch = apt.source_command("xen", version, staging.path());
        say(log, &fetch)?;
        if let Err(e) = fetch.run("apt-get source") {
            tried.push(format!("{version}: {e}"));
            continue;
        }
        let unpacked = find_unpacked(staging.path())?;
        let source = staging.path().join("source");
        std::fs::rename(&unpacked, &source)
            .map_err(|e| BuildError::io("cannot rename", &unpacked, e))?;
        build_tree(
            &source.join("xen"),
            req,
            &staging.path().join("build.log"),
            log,
        )?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| BuildError::io("cannot remove", &dir, e))?;
        }
        let kept = staging.keep();
        std::fs::rename(&kept, &dir).map_err(|e| BuildError::io("cannot rename", &kept, e))?;
        return Ok((version.clone(), dir));
    }
    Err(BuildError::RealXen(format!(
        "no version of the `xen` source package could be downloaded:\n{}",
        tried.join("\n")
    )))
}

/// `make defconfig` with live patching and debug information (the image a
/// Xen developer patches: about 24 MB on x86_64), then Xen and its test
/// payloads.
fn build_tree(
    xen: &Path,
    req: &RealXenRequest,
    build_log: &Path,
    log: &mut dyn Write,
) -> Result<(), BuildError> {
    let make = |args: &[&str]| {
        let mut cmd = CommandLine::new("make");
        cmd.dir(xen).arg(format!("-j{}", req.jobs.max(1)));
        for (k, v) in REPRODUCIBLE_ENV {
            cmd.env(k, v);
        }
        if req.arch == Arch::Aarch64 {
            cmd.env("XEN_TARGET_ARCH", "arm64")
                .env("CROSS_COMPILE", "aarch64-linux-gnu-");
        }
        cmd.args(args.iter().copied());
        cmd
    };
    run_logged(&make(&["defconfig"]), build_log, log)?;
    // EXPERT makes DEBUG_INFO selectable; on Arm, live patching is off by default.
    let config = xen.join(".config");
    let mut text =
        std::fs::read_to_string(&config).map_err(|e| BuildError::io("cannot read", &config, e))?;
    text.push_str("CONFIG_EXPERT=y\nCONFIG_DEBUG_INFO=y\nCONFIG_LIVEPATCH=y\n");
    std::fs::write(&config, text).map_err(|e| BuildError::io("cannot write", &config, e))?;
    run_logged(&make(&["olddefconfig"]), build_log, log)?;
    let written =
        std::fs::read_to_string(&config).map_err(|e| BuildError::io("cannot read", &config, e))?;
    for want in ["CONFIG_LIVEPATCH=y", "CONFIG_DEBUG_INFO=y"] {
        if !written.lines().any(|l| l == want) {
            return Err(BuildError::RealXen(format!(
                "`{}` lacks `{want}` after olddefconfig",
                config.display()
            )));
        }
    }
    run_logged(&make(&[]), build_log, log)?;
    run_logged(&make(&["tests"]), build_log, log)?;
    for out in ["xen-syms", "test/livepatch/xen_hello_world.livepatch"] {
        if !xen.join(out).is_file() {
            return Err(BuildError::RealXen(format!(
                "the build finished without `{}`",
                xen.join(out).display()
            )));
        }
    }
    Ok(())
}

/// The Debian packages a real Xen host runs: the hypervisor, its debug
/// image, `xen-livepatch` and the libraries it loads.
fn debian_packages(mm: &str) -> Vec<String> {
    let mut names = vec![
        format!("xen-hypervisor-{mm}-amd64"),
        format!("xen-hypervisor-{mm}-amd64-dbg"),
        format!("xen-utils-{mm}"),
        format!("libxenmisc{mm}"),
    ];
    for lib in [
        "libxencall1",
        "libxentoollog1",
        "libxenforeignmemory1",
        "libxendevicemodel1",
        "libxengnttab1",
        "libxenevtchn1",
        "libxentoolcore1",
    ] {
        names.push(lib.to_owned());
    }
    names
}

fn debian_binaries(root: &Path, mm: &str, log: &mut dyn Write) -> Result<DebianXen, BuildError> {
    let hypervisor = format!("xen-hypervisor-{mm}-amd64");
    let version = candidate_version(&hypervisor)?;
    let dir = root.join(format!("debian-{}-amd64", sanitize(&version)));
    let describe = |dir: &Path| DebianXen {
        version: version.clone(),
        root: dir.join("root"),
        xen_syms: dir
            .join("root/usr/lib/debug/boot")
            .join(format!("xen-syms-{mm}-amd64")),
        xen_gz: dir.join("root/boot").join(format!("xen-{mm}-amd64.gz")),
        debs: dir.join("debs"),
    };
    if dir.is_dir() {
        writeln!(log, "# debian xen {version}: cached in {}", dir.display())
            .map_err(|e| BuildError::io("cannot write", "log", e))?;
        return Ok(describe(&dir));
    }
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(root)
        .map_err(|e| BuildError::io("cannot create a staging directory in", root, e))?;
    let debs = staging.path().join("debs");
    let unpacked = staging.path().join("root");
    for d in [&debs, &unpacked] {
        std::fs::create_dir_all(d).map_err(|e| BuildError::io("cannot create", d, e))?;
    }
    let mut download = CommandLine::new("apt-get");
    download.dir(&debs).arg("download");
    for name in debian_packages(mm) {
        // The hypervisor's own version, so the debug image matches the binary.
        if name.starts_with("xen-hypervisor-") {
            download.arg(format!("{name}={version}"));
        } else {
            download.arg(name);
        }
    }
    say(log, &download)?;
    download.run("apt-get download")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&debs)
        .map_err(|e| BuildError::io("cannot read", &debs, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    files.sort();
    for deb in &files {
        let mut x = CommandLine::new("dpkg-deb");
        x.arg("-x").arg(deb).arg(&unpacked);
        say(log, &x)?;
        x.run("dpkg-deb -x")?;
    }
    let described = describe(staging.path());
    for p in [&described.xen_syms, &described.xen_gz] {
        if !p.is_file() {
            return Err(BuildError::RealXen(format!(
                "the packages did not provide `{}`",
                p.display()
            )));
        }
    }
    let kept = staging.keep();
    std::fs::rename(&kept, &dir).map_err(|e| BuildError::io("cannot rename", &kept, e))?;
    Ok(describe(&dir))
}

/// The version apt would install of a binary package, from the system's lists.
fn candidate_version(package: &str) -> Result<String, BuildError> {
    let mut policy = CommandLine::new("apt-cache");
    policy.arg("policy").arg(package);
    let out = policy.run("apt-cache policy")?;
    let text = String::from_utf8_lossy(&out);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: "))
        .filter(|v| *v != "(none)")
        .map(str::to_owned)
        .ok_or_else(|| {
            BuildError::RealXen(format!(
                "apt knows no version of `{package}`: run `apt-get update` first"
            ))
        })
}

/// `4.17` of `4.17.5+72-g01140da4e8-1`: Debian's package names carry it.
fn major_minor(version: &str) -> Result<String, BuildError> {
    let mut parts = version.split(['.', '+', '-', '~']);
    match (parts.next(), parts.next()) {
        (Some(a), Some(b))
            if !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && !b.is_empty() =>
        {
            Ok(format!("{a}.{b}"))
        }
        _ => Err(BuildError::RealXen(format!(
            "cannot read a Xen release out of version `{version}`"
        ))),
    }
}

/// A version as a file name: `:` (an epoch) is the only character Debian
/// allows that is awkward in paths.
fn sanitize(version: &str) -> String {
    version.replace(':', "_")
}

/// The one directory `apt-get source` unpacked (`xen-4.17.5+72-g01140da4e8`).
fn find_unpacked(dir: &Path) -> Result<PathBuf, BuildError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| BuildError::io("cannot read", dir, e))? {
        let path = entry
            .map_err(|e| BuildError::io("cannot read", dir, e))?
            .path();
        if path.is_dir() && path.join("xen").join("Makefile").is_file() {
            found.push(path);
        }
    }
    match <[PathBuf; 1]>::try_from(found) {
        Ok([one]) => Ok(one),
        Err(found) => Err(BuildError::RealXen(format!(
            "expected one unpacked Xen source tree in `{}`, found {}",
            dir.display(),
            found.len()
        ))),
    }
}

/// apt with its own sources list and package lists, so source packages can
/// be fetched without touching the system's configuration.
struct PrivateApt {
    dir: PathBuf,
}

impl PrivateApt {
    /// Writes `deb-src` lines for every `deb` source the system uses.
    fn new(dir: &Path) -> Result<PrivateApt, BuildError> {
        let lists = dir.join("lists").join("partial");
        std::fs::create_dir_all(&lists).map_err(|e| BuildError::io("cannot create", &lists, e))?;
        let mut sources = String::new();
        for entry in system_sources()? {
            sources.push_str(&format!("deb-src {entry}\n"));
        }
        if sources.is_empty() {
            return Err(BuildError::RealXen(
                "the system's apt configuration names no `deb` source to take sources from".into(),
            ));
        }
        let list = dir.join("sources.list");
        xsplice_symbols::write_file(&list, sources.as_bytes(), WriteMode::KeepUnchanged)
            .map_err(|e| BuildError::io("cannot write", &list, e))?;
        Ok(PrivateApt {
            dir: dir.to_path_buf(),
        })
    }

    fn command(&self, program: &str) -> CommandLine {
        let mut cmd = CommandLine::new(program);
        cmd.arg("-o")
            .arg(format!(
                "Dir::Etc::sourcelist={}",
                self.dir.join("sources.list").display()
            ))
            .arg("-o")
            .arg("Dir::Etc::sourceparts=-")
            .arg("-o")
            .arg(format!(
                "Dir::State::Lists={}",
                self.dir.join("lists").display()
            ))
            .arg("-o")
            .arg("APT::Sandbox::User=root");
        cmd
    }

    fn update_command(&self) -> CommandLine {
        let mut cmd = self.command("apt-get");
        cmd.arg("-qq").arg("update");
        cmd
    }

    fn update(&self) -> Result<(), BuildError> {
        self.update_command()
            .run("apt-get update (private source lists)")?;
        Ok(())
    }

    /// Every version of a source package the lists know, newest first.
    fn source_versions(&self, package: &str) -> Result<Vec<String>, BuildError> {
        let mut cmd = self.command("apt-cache");
        cmd.arg("showsrc").arg(package);
        let out = cmd.run("apt-cache showsrc")?;
        let mut versions: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| l.strip_prefix("Version: "))
            .map(|v| v.trim().to_owned())
            .collect();
        versions.sort_by(|a, b| compare_versions(b, a));
        versions.dedup();
        if versions.is_empty() {
            return Err(BuildError::RealXen(format!(
                "no source package `{package}` in the system's apt sources"
            )));
        }
        Ok(versions)
    }

    fn source_command(&self, package: &str, version: &str, into: &Path) -> CommandLine {
        let mut cmd = self.command("apt-get");
        cmd.dir(into)
            .arg("-qq")
            .arg("source")
            .arg("--only-source")
            .arg(format!("{package}={version}"));
        cmd
    }
}

/// Debian's version order, by `dpkg --compare-versions` (the definition).
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let test = |op: &str| {
        std::process::Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .is_ok_and(|s| s.success())
    };
    if test("lt") {
        std::cmp::Ordering::Less
    } else if test("gt") {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// `URI SUITE COMPONENTS...` for each binary source of the system, from
/// both the one-line `sources.list` format and deb822 `.sources` files.
fn system_sources() -> Result<Vec<String>, BuildError> {
    let mut out = Vec::new();
    let etc = Path::new("/etc/apt");
    if let Ok(text) = std::fs::read_to_string(etc.join("sources.list")) {
        out.extend(one_line_sources(&text));
    }
    if let Ok(dir) = std::fs::read_dir(etc.join("sources.list.d")) {
        let mut paths: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            match p.extension().and_then(|x| x.to_str()) {
                Some("list") => out.extend(one_line_sources(&text)),
                Some("sources") => out.extend(deb822_sources(&text)),
                _ => {}
            }
        }
    }
    out.dedup();
    Ok(out)
}

fn one_line_sources(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("deb "))
        .map(|rest| {
            // Drop `[options]`: the private list has no keyring options to honour.
            let rest = match rest.trim_start().strip_prefix('[') {
                Some(r) => r.split_once(']').map_or("", |(_, after)| after),
                None => rest,
            };
            rest.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect()
}

fn deb822_sources(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
                .unwrap_or("")
        };
        if !field("Types").split_whitespace().any(|t| t == "deb")
            || field("Enabled").eq_ignore_ascii_case("no")
        {
            continue;
        }
        for uri in field("URIs").split_whitespace() {
            for suite in field("Suites").split_whitespace() {
                out.push(format!("{uri} {suite} {}", field("Components")));
            }
        }
    }
    out
}

fn run_logged(cmd: &CommandLine, build_log: &Path, log: &mut dyn Write) -> Result<(), BuildError> {
    say(log, cmd)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(build_log)
        .map_err(|e| BuildError::io("cannot open", build_log, e))?;
    let err = file
        .try_clone()
        .map_err(|e| BuildError::io("cannot open", build_log, e))?;
    let status = cmd
        .command()
        .stdout(file)
        .stderr(err)
        .status()
        .map_err(|source| BuildError::Spawn {
            command: cmd.to_string(),
            source,
        })?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(build_log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(30).collect();
    Err(BuildError::Failed {
        step: "building Xen".into(),
        command: cmd.to_string(),
        status: status.to_string(),
        stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

fn say(log: &mut dyn Write, cmd: &CommandLine) -> Result<(), BuildError> {
    writeln!(log, "{cmd}").map_err(|e| BuildError::io("cannot write", "log", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_of_a_version() {
        assert_eq!(major_minor("4.17.5+72-g01140da4e8-1").unwrap(), "4.17");
        assert_eq!(major_minor("4.20.0-1").unwrap(), "4.20");
        assert!(major_minor("banana").is_err());
    }

    #[test]
    fn sources_in_both_formats() {
        let one = "# comment\ndeb [signed-by=/k.gpg] http://m/debian bookworm main contrib\ndeb-src http://m/debian bookworm main\ndeb http://m/sec bookworm-security main\n";
        assert_eq!(
            one_line_sources(one),
            [
                "http://m/debian bookworm main contrib",
                "http://m/sec bookworm-security main"
            ]
        );
        let deb822 = "Types: deb\n# note\nURIs: http://m/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg\n\nTypes: deb-src\nURIs: http://m/x\nSuites: y\nComponents: main\n\nTypes: deb\nURIs: http://m/z\nSuites: z\nComponents: main\nEnabled: no\n";
        assert_eq!(
            deb822_sources(deb822),
            [
                "http://m/debian bookworm main",
                "http://m/debian bookworm-updates main"
            ]
        );
    }
}
