//! Inputs on which the `sim` fuzz target (`fuzz/`) once panicked the
//! simulator's upload (`tests/regressions/`), replayed through the call
//! the target now makes, `place` against the stand-in image with no
//! process, and through the upload it made before: upload to the running
//! stand-in hypervisor, unload when it loaded. Each states the errno both
//! must now give, so that a change which stops an input from reaching the
//! code it once crashed is noticed.
//!
//! The inputs were built against the stand-in this test boots, so they get
//! past the build-id check to the loader.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;

use std::time::Duration;

use xsplice_sim::{Fail, Hypervisor, PlaceOptions, place};
use xsplice_validate::XenImage;

/// Each input and what its upload gives.
const CASES: &[(&str, &str)] = &[
    // A symbol value near 2^64 added to its section's load address.
    ("fuzz-symbol-value-wraps.bin", "loaded"),
    // A NOBITS section of nearly 2^64 bytes: no block that large exists.
    ("fuzz-huge-nobits-block.bin", "Enomem"),
];

#[test]
fn fuzz_regressions() {
    let Some(image) = common::stand_in_image() else {
        return;
    };
    let mut hv = Hypervisor::boot("xen-syms", image, None, Duration::from_secs(10)).unwrap();
    let target = XenImage::parse("xen-syms", image).unwrap();
    let dir = xsplice_testkit::workspace_root().join("crates/xsplice-sim/tests/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(&(_, expect)) = CASES.iter().find(|(n, _)| *n == name) else {
            panic!("{name}: add it to CASES with the outcome its upload must give");
        };
        let bytes = std::fs::read(&path).unwrap();
        let placed = match place(&bytes, &target, &PlaceOptions::default()) {
            Ok(_) => "loaded".to_owned(),
            Err(e) => format!("{:?}", e.errno),
        };
        assert_eq!(placed, expect, "{name}: place gave {placed}");
        let got = match hv.upload("fuzz", &bytes) {
            Ok(()) => {
                hv.unload("fuzz").unwrap();
                "loaded".to_owned()
            }
            Err(Fail::Xen(errno)) => format!("{errno:?}"),
            Err(e) => panic!("{name}: the hypervisor failed: {e:?}"),
        };
        let log = hv.take_console().join("\n");
        assert_eq!(got, expect, "{name}: upload gave {got}\n{log}");
        seen += 1;
    }
    assert_eq!(
        seen,
        CASES.len(),
        "an input of CASES is missing from {}",
        dir.display()
    );
}
