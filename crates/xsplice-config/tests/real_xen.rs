//! The presets against the real Xen tree that `cargo xtask real-xen` builds:
//! `--preset xen-test` and `--preset xen-test-expect`, run on the tree's
//! `xen-syms` and `xen_hello_world_func.o`, write byte for byte the
//! `config.h` and `expect_config.h` that Xen's test Makefile wrote there
//! with its `nm | grep | awk` and `objdump | sed | awk` recipes.

use std::path::Path;
use std::process::Command;

use xsplice_testkit::{RealXen, real_xen, run, tool_binary};

/// Runs `xsplice-config --preset PRESET -o OUT ...` and compares OUT with
/// Xen's `header`.
fn check(xen: &RealXen, preset: &str, header: &str) {
    let out = tempfile::tempdir().expect("temp dir");
    let written = out.path().join(header);
    let mut cmd = Command::new(tool_binary("xsplice-config"));
    cmd.arg("--preset")
        .arg(preset)
        .arg("--target")
        .arg(&xen.xen_syms)
        .arg("--new-obj")
        .arg(xen.test_payloads.join("xen_hello_world_func.o"))
        .arg("-o")
        .arg(&written);
    let line = format!("{cmd:?}");
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 0, "{line}: {}", String::from_utf8_lossy(&err));
    let want = read(&xen.test_payloads.join(header));
    let got = read(&written);
    assert_eq!(
        got,
        want,
        "{line} differs from Xen's `{}`",
        xen.test_payloads.join(header).display()
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()))
}

#[test]
fn xen_test_presets_write_xens_headers() {
    let Some(xen) = real_xen("x86_64") else {
        return;
    };
    check(&xen, "xen-test", "config.h");
    check(&xen, "xen-test-expect", "expect_config.h");
}
