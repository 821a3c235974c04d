//! Which Debian packages make the machine, and how to read apt's answers
//! about them. Pure: the commands that ask apt live in `fetch`.
//!
//! The machine is Debian's own Xen host, cut down to what live patching
//! needs: the hypervisor (`xen-hypervisor-<series>-amd64`), Debian's kernel
//! as the PV dom0 (`linux-image-<abi>-amd64`, the package that
//! `linux-image-amd64` points at), and in the dom0's initramfs
//! `busybox-static`, `xen-livepatch` from `xen-utils-<series>` with the
//! libraries it loads, and the C library. The series (`4.17` on Debian 12)
//! is the one `xen-system-amd64` points at, so the tool and the hypervisor
//! speak the same sysctl interface version.

/// The metapackage whose dependency names the Xen series.
pub const XEN_META: &str = "xen-system-amd64";
/// The metapackage whose dependency names the current kernel.
pub const KERNEL_META: &str = "linux-image-amd64";

/// The packages of one machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSet {
    /// `4.17`.
    pub xen_series: String,
    /// `linux-image-6.1.0-57-amd64`.
    pub kernel: String,
}

impl PackageSet {
    /// `xen-hypervisor-4.17-amd64`.
    pub fn hypervisor(&self) -> String {
        format!("xen-hypervisor-{}-amd64", self.xen_series)
    }

    /// Every package to download, the hypervisor first.
    pub fn packages(&self) -> Vec<String> {
        let s = &self.xen_series;
        let mut names = vec![
            self.hypervisor(),
            format!("xen-utils-{s}"),
            format!("libxenmisc{s}"),
        ];
        names.extend(
            [
                "libxencall1",
                "libxentoollog1",
                "libxenforeignmemory1",
                "libxendevicemodel1",
                "libxengnttab1",
                "libxenevtchn1",
                "libxentoolcore1",
                "busybox-static",
                "libc6",
            ]
            .map(str::to_string),
        );
        names.push(self.kernel.clone());
        names
    }
}

/// The Xen series out of `apt-cache depends xen-system-amd64`.
pub fn xen_series(depends: &str) -> Option<String> {
    depends_matching(depends, |name| {
        let series = name
            .strip_prefix("xen-hypervisor-")?
            .strip_suffix("-amd64")?;
        let mut parts = series.split('.');
        let ok = parts.next().is_some_and(is_number)
            && parts.next().is_some_and(is_number)
            && parts.next().is_none();
        ok.then(|| series.to_string())
    })
}

/// The versioned kernel package out of `apt-cache depends linux-image-amd64`.
pub fn kernel_package(depends: &str) -> Option<String> {
    depends_matching(depends, |name| {
        let abi = name.strip_prefix("linux-image-")?.strip_suffix("-amd64")?;
        abi.starts_with(|c: char| c.is_ascii_digit())
            .then(|| name.to_string())
    })
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The first `Depends:` line whose package `pick` accepts.
fn depends_matching(text: &str, pick: impl Fn(&str) -> Option<String>) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find_map(pick)
}

/// The candidate version of each package out of `apt-cache policy P...`,
/// in the order apt printed them; `None` for a package apt knows no
/// installable version of.
pub fn candidates(policy: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for line in policy.lines() {
        if !line.starts_with(' ') {
            if let Some(name) = line.strip_suffix(':') {
                out.push((name.to_string(), None));
            }
            continue;
        }
        if let Some(v) = line.trim().strip_prefix("Candidate:")
            && let Some(last) = out.last_mut()
        {
            let v = v.trim();
            last.1 = (v != "(none)" && !v.is_empty()).then(|| v.to_string());
        }
    }
    out
}

/// A version as a file name: `:` (an epoch) is the one character Debian
/// allows that is awkward in paths.
pub fn version_in_path(version: &str) -> String {
    version.replace(':', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_and_kernel_from_apt() {
        let xen = "xen-system-amd64\n  Depends: xen-hypervisor-4.17-amd64\n  Depends: xen-hypervisor-common\n  Depends: xen-utils-4.17\n";
        assert_eq!(xen_series(xen).as_deref(), Some("4.17"));
        assert_eq!(xen_series("xen-system-amd64\n"), None);
        let kernel = "linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n";
        assert_eq!(
            kernel_package(kernel).as_deref(),
            Some("linux-image-6.1.0-57-amd64")
        );
        assert_eq!(
            kernel_package("x\n  Depends: linux-image-cloud-amd64\n"),
            None
        );
    }

    #[test]
    fn candidate_versions() {
        let policy = "busybox-static:\n  Installed: (none)\n  Candidate: 1:1.35.0-4+deb12u1+b1\n  Version table:\n     1:1.35.0-4+deb12u1+b1 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\nnothing-here:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n";
        assert_eq!(
            candidates(policy),
            [
                (
                    "busybox-static".to_string(),
                    Some("1:1.35.0-4+deb12u1+b1".to_string())
                ),
                ("nothing-here".to_string(), None),
            ]
        );
        assert_eq!(
            version_in_path("1:1.35.0-4+deb12u1+b1"),
            "1_1.35.0-4+deb12u1+b1"
        );
    }

    #[test]
    fn the_package_list() {
        let set = PackageSet {
            xen_series: "4.17".into(),
            kernel: "linux-image-6.1.0-57-amd64".into(),
        };
        let p = set.packages();
        assert_eq!(p[0], "xen-hypervisor-4.17-amd64");
        assert!(p.contains(&"xen-utils-4.17".to_string()));
        assert!(p.contains(&"libxenmisc4.17".to_string()));
        assert_eq!(
            p.last().map(String::as_str),
            Some("linux-image-6.1.0-57-amd64")
        );
    }
}
