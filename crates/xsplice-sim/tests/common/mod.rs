//! What the simulator's behaviour tests do before and after the part they
//! are about: read the stand-in image and a payload of the suite, boot,
//! load, read the minor version back, and check that an upload is refused.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use xsplice_sim::{Errno, Fail, Hypervisor};

/// The x86_64 stand-in image, read once; `None` after reporting a skip
/// when it cannot be built here.
pub fn stand_in_image() -> Option<&'static [u8]> {
    static IMAGE: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let xen = xsplice_testkit::stand_in_xen("x86_64")?;
            Some(std::fs::read(&xen).unwrap())
        })
        .as_deref()
}

/// The livepatch-v2 build of the suite's payload `name` for x86_64, read.
pub fn v2_payload(name: &str) -> Vec<u8> {
    let path = xsplice_testkit::test_payload(name, "livepatch-v2", "x86_64").unwrap();
    std::fs::read(&path).unwrap()
}

/// Boots the stand-in, as Xen `release` when one is given; `None` when
/// there is no stand-in here.
pub fn stand_in(release: Option<&str>) -> Option<Hypervisor<'static>> {
    let xen = release.map(|r| r.parse().unwrap());
    let hv = Hypervisor::boot("xen-syms", stand_in_image()?, xen, Duration::from_secs(5));
    Some(hv.expect("boot"))
}

/// The stand-in with the suite's payload `name` (livepatch-v2) uploaded
/// and applied under that name.
pub fn stand_in_with(name: &str) -> Option<Hypervisor<'static>> {
    let mut hv = stand_in(None)?;
    load(&mut hv, name, &v2_payload(name));
    Some(hv)
}

/// Uploads `payload` as `name` and applies it.
pub fn load(hv: &mut Hypervisor<'_>, name: &str, payload: &[u8]) {
    hv.upload(name, payload).unwrap();
    hv.apply(name, false).unwrap();
}

/// The `xen_minor` line of `xl info`.
pub fn minor_line(hv: &mut Hypervisor<'_>) -> String {
    let info = hv.info().unwrap();
    let line = info.lines().find(|l| l.starts_with("xen_minor")).unwrap();
    line.to_string()
}

/// Checks that uploading `payload` as `name` is refused with EINVAL and a
/// console line that names `section` and check `check` (`C-106`).
pub fn assert_refused(
    hv: &mut Hypervisor<'_>,
    name: &str,
    payload: &[u8],
    section: &str,
    check: &str,
) {
    let got = hv.upload(name, payload);
    assert!(
        matches!(got, Err(Fail::Xen(Errno::Einval))),
        "{name}: {got:?}"
    );
    let console = hv.take_console().join("\n");
    assert!(
        console.contains(section) && console.contains(&format!("[{check}]")),
        "{name}: {console}"
    );
}
