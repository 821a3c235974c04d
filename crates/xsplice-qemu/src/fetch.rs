//! Obtaining the machine's files: Debian's packages through apt's ordinary
//! clients (`apt-cache`, `apt-get download`, `dpkg-deb -x`: no root needed),
//! and the two images the machine boots unpacked from their compressed form
//! (`gzip`, `xz`). This module and `machine` are the only ones that run
//! programs.
//!
//! Everything lands in the cache directory the caller names (the binary
//! uses `$XDG_CACHE_HOME/xsplice`, else `~/.cache/xsplice`), under `qemu/`:
//! one directory per package and version (`qemu/amd64/<package>_<version>/`,
//! the package's files as `dpkg-deb -x` unpacks them) and one per unpacked
//! image, named by the SHA-1 of the compressed file (`qemu/images/<sha1>/`).
//! Each is made in a staging directory and renamed into place, so a failed
//! or concurrent run never leaves half a directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha1::{Digest, Sha1};

use crate::debian::{self, PackageSet};
use crate::error::QemuError;

/// A package unpacked in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpacked {
    pub name: String,
    pub version: String,
    /// The package's files, as `dpkg-deb -x` unpacked them.
    pub root: PathBuf,
}

/// The machine's packages, unpacked.
#[derive(Clone, Debug)]
pub struct Packages {
    pub set: PackageSet,
    /// In the order of [`PackageSet::packages`].
    pub unpacked: Vec<Unpacked>,
}

impl Packages {
    /// The unpacked package `name`.
    pub fn get(&self, name: &str) -> Result<&Unpacked, QemuError> {
        self.unpacked
            .iter()
            .find(|u| u.name == name)
            .ok_or_else(|| QemuError::Package(format!("package `{name}` was not fetched")))
    }
}

/// Runs `cmd` and returns its standard output, or the failure with its
/// standard error.
pub(crate) fn run(cmd: &mut Command) -> Result<Vec<u8>, QemuError> {
    let shown = show(cmd);
    let out = cmd.output().map_err(|source| QemuError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    if !out.status.success() {
        return Err(QemuError::Failed {
            command: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(out.stdout)
}

/// A command as a person would type it.
pub(crate) fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn apt_cache(args: &[&str]) -> Result<String, QemuError> {
    let out = run(Command::new("apt-cache").args(args))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Finds the current packages of the machine with `apt-cache` and unpacks
/// those not yet in `cache`, printing each download and unpack command to
/// `log`.
pub fn fetch(cache: &Path, log: &mut dyn Write) -> Result<Packages, QemuError> {
    let stale =
        || "apt knows no version of it: update apt's package lists (`apt-get update`)".to_string();
    let xen = apt_cache(&["depends", debian::XEN_META])?;
    let xen_series = debian::xen_series(&xen).ok_or_else(|| {
        QemuError::Package(format!(
            "`{}` names no xen-hypervisor-<series>-amd64: {}",
            debian::XEN_META,
            stale()
        ))
    })?;
    let kernel = apt_cache(&["depends", debian::KERNEL_META])?;
    let kernel = debian::kernel_package(&kernel).ok_or_else(|| {
        QemuError::Package(format!(
            "`{}` names no versioned kernel package: {}",
            debian::KERNEL_META,
            stale()
        ))
    })?;
    let set = PackageSet { xen_series, kernel };
    let names = set.packages();
    let mut args = vec!["policy"];
    args.extend(names.iter().map(String::as_str));
    let versions = debian::candidates(&apt_cache(&args)?);

    let dir = cache.join("qemu").join("amd64");
    std::fs::create_dir_all(&dir).map_err(|e| QemuError::io("create", &dir, e))?;
    let mut unpacked = Vec::new();
    let mut missing = Vec::new();
    for name in &names {
        let version = versions
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
            .ok_or_else(|| QemuError::Package(format!("package `{name}`: {}", stale())))?;
        let root = dir.join(format!("{name}_{}", debian::version_in_path(&version)));
        if !root.is_dir() {
            missing.push(format!("{name}={version}"));
        }
        unpacked.push(Unpacked {
            name: name.clone(),
            version,
            root,
        });
    }
    if !missing.is_empty() {
        download(&dir, &missing, &unpacked, log)?;
    }
    Ok(Packages { set, unpacked })
}

/// Downloads `wanted` (`name=version`) into a staging directory of `dir`,
/// unpacks each and renames it to its place in `unpacked`.
fn download(
    dir: &Path,
    wanted: &[String],
    unpacked: &[Unpacked],
    log: &mut dyn Write,
) -> Result<(), QemuError> {
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(dir)
        .map_err(|e| QemuError::io("create a staging directory in", dir, e))?;
    let mut get = Command::new("apt-get");
    get.current_dir(staging.path())
        .arg("-qq")
        // Downloading as root into a directory apt's sandbox user cannot
        // write would only warn; say who downloads.
        .args(["-o", "APT::Sandbox::User=root"])
        .arg("download")
        .args(wanted);
    let _ = writeln!(log, "{}", show(&get));
    run(&mut get)?;
    for u in unpacked {
        if u.root.is_dir() || !wanted.contains(&format!("{}={}", u.name, u.version)) {
            continue;
        }
        let deb = find_deb(staging.path(), &u.name)?;
        let into = staging.path().join(&u.name);
        let mut x = Command::new("dpkg-deb");
        x.arg("-x").arg(&deb).arg(&into);
        let _ = writeln!(log, "{}", show(&x));
        run(&mut x)?;
        if let Err(e) = std::fs::rename(&into, &u.root) {
            // Another run unpacked the same version meanwhile: keep theirs.
            if !u.root.is_dir() {
                return Err(QemuError::io("rename into place", &u.root, e));
            }
        }
    }
    Ok(())
}

/// The `.deb` apt-get downloaded for `name` (`name_<version>_<arch>.deb`,
/// the version's `:` written `%3a`).
fn find_deb(dir: &Path, name: &str) -> Result<PathBuf, QemuError> {
    let prefix = format!("{name}_");
    let entries = std::fs::read_dir(dir).map_err(|e| QemuError::io("read", dir, e))?;
    for e in entries {
        let path = e.map_err(|e| QemuError::io("read", dir, e))?.path();
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
        if file.is_some_and(|f| f.starts_with(&prefix) && f.ends_with(".deb")) {
            return Ok(path);
        }
    }
    Err(QemuError::Package(format!(
        "apt-get download left no `.deb` of `{name}` in `{}`",
        dir.display()
    )))
}

/// The uncompressed form of a compressed image: `compressed` itself when it
/// is not compressed, else the cached result of `unpack`, which writes the
/// image given the compressed file's bytes. Keyed by the compressed file's
/// SHA-1, so an image is unpacked once however many runs use it.
fn cached_image(
    cache: &Path,
    compressed: &Path,
    file_name: &str,
    unpack: impl FnOnce(&[u8], &Path) -> Result<bool, QemuError>,
) -> Result<PathBuf, QemuError> {
    let bytes = std::fs::read(compressed).map_err(|e| QemuError::io("read", compressed, e))?;
    let key: String = Sha1::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = cache.join("qemu").join("images").join(key);
    let image = dir.join(file_name);
    if image.is_file() {
        return Ok(image);
    }
    let parent = cache.join("qemu").join("images");
    std::fs::create_dir_all(&parent).map_err(|e| QemuError::io("create", &parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(&parent)
        .map_err(|e| QemuError::io("create a staging directory in", &parent, e))?;
    if !unpack(&bytes, &staging.path().join(file_name))? {
        return Ok(compressed.to_path_buf());
    }
    let kept = staging.keep();
    if let Err(e) = std::fs::rename(&kept, &dir) {
        let _ = std::fs::remove_dir_all(&kept);
        if !image.is_file() {
            return Err(QemuError::io("rename into place", &dir, e));
        }
    }
    Ok(image)
}

/// The hypervisor as QEMU's multiboot loader takes it: an ELF file.
/// Debian ships it gzipped (`boot/xen-4.17-amd64.gz`); a source build's
/// `xen/xen` is already one and is used as it is.
pub fn xen_image(cache: &Path, xen: &Path) -> Result<PathBuf, QemuError> {
    cached_image(cache, xen, "xen", |bytes, out| {
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            return Ok(false);
        }
        decompress("gzip", &["-dc"], xen, out)?;
        Ok(true)
    })
}

/// The dom0 kernel as an ELF `vmlinux`, taken out of Debian's bzImage.
///
/// Xen loads either, but under emulation it takes seconds to decompress
/// the bzImage's payload at every boot; unpacked once here, the boot is
/// that much shorter.
pub fn vmlinux(cache: &Path, bzimage: &Path) -> Result<PathBuf, QemuError> {
    cached_image(cache, bzimage, "vmlinux", |bytes, out| {
        let payload = crate::kernel::payload(bytes).map_err(|reason| QemuError::BadFile {
            file: bzimage.display().to_string(),
            reason,
        })?;
        let (program, args): (&str, &[&str]) = match crate::kernel::compression(payload) {
            Some("xz") => ("xz", &["-dc", "--single-stream"]),
            Some("gzip") => ("gzip", &["-dc"]),
            Some("zstd") => ("zstd", &["-dcq"]),
            _ => {
                return Err(QemuError::BadFile {
                    file: bzimage.display().to_string(),
                    reason: "the kernel's payload is compressed in a way we do not unpack (xz, gzip and zstd are known)".into(),
                });
            }
        };
        let packed = out.with_extension("packed");
        std::fs::write(&packed, payload).map_err(|e| QemuError::io("write", &packed, e))?;
        decompress(program, args, &packed, out)?;
        std::fs::remove_file(&packed).map_err(|e| QemuError::io("remove", &packed, e))?;
        Ok(true)
    })
}

/// `program args input > out`.
fn decompress(program: &str, args: &[&str], input: &Path, out: &Path) -> Result<(), QemuError> {
    let file = std::fs::File::create(out).map_err(|e| QemuError::io("create", out, e))?;
    let mut cmd = Command::new(program);
    cmd.args(args).arg(input).stdout(file);
    let shown = show(&cmd);
    // stdout goes to the file; `output` still captures stderr.
    let done = cmd.output().map_err(|source| QemuError::Spawn {
        program: program.into(),
        source,
    })?;
    if !done.status.success() {
        return Err(QemuError::Failed {
            command: format!("{shown} > {}", out.display()),
            status: done.status.to_string(),
            stderr: String::from_utf8_lossy(&done.stderr).into_owned(),
        });
    }
    Ok(())
}
