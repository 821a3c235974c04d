//! The real backend of the simulator's command language: boots a real Xen
//! under QEMU with Debian's kernel as its dom0, runs `upload`, `load`,
//! `apply`, `revert`, `replace`, `unload`, `list`, `info` and `hooks` there
//! through the real `xen-livepatch`, and prints the transcript in the
//! simulator's form, so that one script runs on both.
//!
//! The machine is made of Debian packages only, fetched with apt's
//! ordinary clients and cached by version ([`prepare`]): the hypervisor
//! (Debian's by default, or any `xen` image given by path, such as a source
//! build's), the kernel, and a dom0 initramfs of busybox, `xen-livepatch`
//! with its libraries, and the privcmd modules ([`Dom0`]). Each boot adds
//! the session's payloads at their host paths and an init script that runs
//! the commands ([`run_boot`], [`run_session`]). Many payloads share one
//! boot; `restart` boots again.
//!
//! A hypervisor crash ends the boot and is reported with Xen's own text
//! from the serial console; a hang ends at a timeout. Neither is an error of
//! this crate: they are outcomes, like a refused upload.
//!
//! Map, pure parts first: `debian` (which packages, apt's answers), `elf`
//! (libraries and module dependencies), `kernel` (the bzImage's payload),
//! `cpio` (the initramfs), `guest` (dom0's init script and payload paths),
//! `serial` (the console, crashes), `session` (boots, transcripts). Programs
//! run only in `fetch` (apt, dpkg-deb, gzip, xz) and `machine` (QEMU).
#![forbid(unsafe_code)]

mod cpio;
mod debian;
mod dom0;
mod elf;
mod error;
mod fetch;
mod guest;
mod kernel;
mod machine;
mod serial;
mod session;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use cpio::Archive;
pub use debian::PackageSet;
pub use dom0::Dom0;
pub use error::QemuError;
pub use fetch::{Packages, Unpacked};
pub use guest::{Op, guest_path};
pub use machine::{Ending, KERNEL_ARGS, Machine, Timeouts, XEN_ARGS};
pub use serial::{Crash, Crashed, Ran};
pub use session::{
    Boot, HOOK_PREFIX, Options, Outcome, Platform, hook_log, run_boot, run_session, status_of,
};

/// What [`prepare`] builds the machine from.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The cache root (`$XDG_CACHE_HOME/xsplice`, else `~/.cache/xsplice`).
    pub cache: PathBuf,
    /// `qemu-system-x86_64`, by path or name.
    pub qemu: PathBuf,
    /// The hypervisor to boot instead of Debian's: a multiboot ELF `xen`
    /// (a source build's `xen/xen`) or Debian's gzipped `xen-*.gz`.
    pub xen: Option<PathBuf>,
    /// Added to Xen's command line ([`XEN_ARGS`]).
    pub xen_args: Vec<String>,
}

/// A prepared machine and where its parts came from.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub platform: Platform,
    pub packages: Packages,
}

impl Prepared {
    /// One line per part: the hypervisor and the packages with their versions.
    pub fn describe(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "# xen: {}", self.platform.machine.xen.display())?;
        for u in &self.packages.unpacked {
            writeln!(out, "# {} {}", u.name, u.version)?;
        }
        Ok(())
    }
}

/// Fetches the packages not yet cached and assembles the machine, printing
/// each command that downloads or unpacks to `log`.
pub fn prepare(setup: &Setup, log: &mut dyn Write) -> Result<Prepared, QemuError> {
    let packages = fetch::fetch(&setup.cache, log)?;
    let xen = match &setup.xen {
        Some(x) => x.clone(),
        None => {
            let hypervisor = packages.get(&packages.set.hypervisor())?;
            let gz = hypervisor
                .root
                .join("boot")
                .join(format!("xen-{}-amd64.gz", packages.set.xen_series));
            if !gz.is_file() {
                return Err(QemuError::Package(format!(
                    "`{}` {} has no `/boot/{}`",
                    hypervisor.name,
                    hypervisor.version,
                    gz.file_name()
                        .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
                )));
            }
            gz
        }
    };
    let xen = fetch::xen_image(&setup.cache, &xen)?;
    let kernel = packages.get(&packages.set.kernel)?;
    let bzimage = find_vmlinuz(&kernel.root)?;
    let kernel_image = fetch::vmlinux(&setup.cache, &bzimage)?;
    let dom0 = dom0::dom0(&packages)?;
    let mut xen_args = XEN_ARGS.to_string();
    for a in &setup.xen_args {
        xen_args.push(' ');
        xen_args.push_str(a);
    }
    let machine = Machine {
        qemu: setup.qemu.clone(),
        xen,
        xen_args,
        kernel: kernel_image,
        kernel_args: KERNEL_ARGS.to_string(),
        memory_mib: 2048,
        cpus: 2,
    };
    Ok(Prepared {
        platform: Platform { machine, dom0 },
        packages,
    })
}

/// The kernel package's `boot/vmlinuz-*`.
fn find_vmlinuz(root: &Path) -> Result<PathBuf, QemuError> {
    let boot = root.join("boot");
    let entries = std::fs::read_dir(&boot).map_err(|e| QemuError::io("read", &boot, e))?;
    for e in entries {
        let path = e.map_err(|e| QemuError::io("read", &boot, e))?.path();
        if path
            .file_name()
            .is_some_and(|f| f.to_string_lossy().starts_with("vmlinuz-"))
        {
            return Ok(path);
        }
    }
    Err(QemuError::Package(format!(
        "the kernel package unpacked in `{}` has no /boot/vmlinuz-*",
        root.display()
    )))
}

/// `$XDG_CACHE_HOME/xsplice`, else `$HOME/.cache/xsplice`, from the two
/// variables' values (the binary reads the environment).
pub fn cache_root(xdg_cache_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    fn nonempty(p: Option<&Path>) -> Option<&Path> {
        p.filter(|p| !p.as_os_str().is_empty())
    }
    nonempty(xdg_cache_home)
        .map(Path::to_path_buf)
        .or_else(|| nonempty(home).map(|h| h.join(".cache")))
        .map(|base| base.join("xsplice"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_directory() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            cache_root(Some(Path::new("/c")), Some(Path::new("/h"))),
            p("/c/xsplice")
        );
        assert_eq!(
            cache_root(Some(Path::new("")), Some(Path::new("/h"))),
            p("/h/.cache/xsplice")
        );
        assert_eq!(cache_root(None, None), None);
    }
}
