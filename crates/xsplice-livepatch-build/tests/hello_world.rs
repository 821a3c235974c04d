//! The seed's hello world as a source patch: `xen_extra_version` returns
//! "Hello World". Against the stand-in the payload is applied in the
//! simulator; against the real Xen 4.17 tree it must validate against its
//! `xen-syms`. Both drive the real `xsplice-build` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use xsplice_testkit::source_patch::{stand_in_tree, xsplice_build};
use xsplice_testkit::{run, tool_binary, workspace_root};

fn patch(rel: &str) -> PathBuf {
    workspace_root().join("test-payloads/patches").join(rel)
}

/// Runs `xsplice-build`, prints everything on failure, returns stdout.
fn build_ok(srcdir: &Path, patch: &Path, out: &Path) -> String {
    let build = xsplice_build(srcdir, patch, out, &[]);
    assert_eq!(build.code, 0, "{build}");
    build.stdout
}

#[test]
fn hello_world_on_the_stand_in_applies_and_reverts_in_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tree) = stand_in_tree(dir.path()) else {
        return;
    };
    let before = std::fs::read(tree.join("version.o")).unwrap();
    let out = dir.path().join("out");
    let stdout = build_ok(&tree, &patch("stand-in/hello_world.patch"), &out);
    let payload = PathBuf::from(stdout.lines().last().unwrap());
    assert_eq!(payload, out.join("hello_world.livepatch"));
    assert!(
        stdout.contains("changed function `xen_extra_version`"),
        "{stdout}"
    );
    // The tree was not written.
    assert_eq!(std::fs::read(tree.join("version.o")).unwrap(), before);

    let mut sim = Command::new(tool_binary("xsplice-sim"));
    sim.arg("--target").arg(tree.join("xen-syms")).arg(format!(
        "info; load {}; info; revert hello_world; unload hello_world; info",
        payload.display()
    ));
    let (code, stdout, stderr) = run(&mut sim);
    let text = String::from_utf8_lossy(&stdout);
    assert_eq!(code, 0, "{text}\n{}", String::from_utf8_lossy(&stderr));
    assert_eq!(
        xsplice_testkit::lines_starting(&text, "xen_extra"),
        xsplice_testkit::SEED_XEN_EXTRA,
        "{text}"
    );
}

#[test]
fn hello_world_on_real_xen_validates() {
    let Some(real) = xsplice_testkit::real_xen("x86_64") else {
        return;
    };
    let top = real.tree.parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stdout = build_ok(top, &patch("xen-4.17/hello_world.patch"), dir.path());
    let payload = PathBuf::from(stdout.lines().last().unwrap());
    assert!(payload.is_file(), "{stdout}");
    assert!(
        stdout.contains("# hello_world.livepatch: 0 errors"),
        "{stdout}"
    );
    assert!(stdout.contains("patch `xen_extra_version`"), "{stdout}");
    // Every step is a command: the recompile is Kbuild's own.
    assert!(
        stdout.contains("-c common/version.c -o common/.version.o.tmp"),
        "{stdout}"
    );
    assert!(
        stdout.contains("--redefine-sym version.c=common/version.c"),
        "{stdout}"
    );
}
