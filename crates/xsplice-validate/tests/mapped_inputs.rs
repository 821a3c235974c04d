//! The binaries map the target image rather than read it: a `xen-syms`
//! with gigabytes of debug information costs them only the pages they look
//! at. The test makes the stand-in image 4 GiB long (a sparse file: the
//! tail is a hole that nothing in the ELF refers to) and runs each binary
//! with its data size limited to 256 MiB (`ulimit -d`, RLIMIT_DATA, which
//! counts the heap and private writable memory but not a read-only file
//! map): reading the file into memory fails there, mapping it does not.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A copy of `xen` that is 4 GiB long.
fn huge_copy(dir: &Path, xen: &[u8]) -> PathBuf {
    let path = dir.join("xen-syms");
    std::fs::write(&path, xen).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(4 << 30).unwrap();
    path
}

/// Runs `bin args` with 256 MiB of data at most; (exit code, stdout, stderr).
fn limited(bin: &str, args: &[&Path]) -> (i32, String, String) {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -d 262144 && exec \"$@\"", "sh"])
        .arg(xsplice_testkit::tool_binary(bin))
        .args(args);
    let (code, out, err) = xsplice_testkit::run(&mut cmd);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

#[test]
fn a_huge_target_is_mapped_not_read() {
    let Some(f) = fixture("x86_64") else { return };
    let dir = tempfile::tempdir().unwrap();
    let xen = huge_copy(dir.path(), &f.xen);
    let payload = write(dir.path(), "hello.livepatch", &f.payload);
    let target = Path::new("--target");

    let (code, out, err) = limited("xsplice-validate", &[&payload, target, &xen]);
    assert!(
        code == 0 && out.contains("hello.livepatch: 0 errors"),
        "xsplice-validate: exit {code}\n{out}{err}"
    );
    let (code, out, err) = limited("xsplice-inspect", &[&payload, target, &xen]);
    assert!(
        code == 0 && out.contains("old_addr: xen_extra_version"),
        "xsplice-inspect: exit {code}\n{out}{err}"
    );
}
