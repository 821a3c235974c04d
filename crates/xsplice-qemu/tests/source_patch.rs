//! A payload made from a source patch, applied for real: `xsplice-build`
//! turns the seed's hello world, written as a patch of `xen/common/version.c`
//! in the 4.17 source tree, into a payload, and that tree's own `xen`,
//! booted under QEMU, applies it (`xen_extra` reads `Hello World`), reverts
//! and unloads it (`xen_extra` is the build's own again).

mod common;

use std::path::PathBuf;
use std::process::Command;

use xsplice_sim::Status;
use xsplice_testkit::{run, tool_binary, workspace_root};

#[test]
fn hello_world_from_a_source_patch_on_the_trees_own_xen() {
    let Some(real) = common::real() else { return };
    let source = real.xen.tree.parent().expect("the tree's top");
    let patch = workspace_root().join("test-payloads/patches/xen-4.17/hello_world.patch");
    let out = tempfile::tempdir().unwrap();
    for t in ["xsplice-link", "xsplice-validate"] {
        tool_binary(t);
    }
    let mut build = Command::new(tool_binary("xsplice-build"));
    build
        .arg("-s")
        .arg(source)
        .arg("-p")
        .arg(&patch)
        .arg("-o")
        .arg(out.path());
    let (code, stdout, stderr) = run(&mut build);
    let stdout = String::from_utf8_lossy(&stdout);
    assert_eq!(
        code,
        0,
        "{build:?}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&stderr)
    );
    let payload = PathBuf::from(stdout.lines().last().expect("the payload's path"));

    let script = "\
$xl info | grep extra
$xen-livepatch load /root/hello_world.livepatch
$xl info | grep extra
$xen-livepatch revert hello_world
$xen-livepatch unload hello_world
$xl info | grep extra
";
    let files = common::files(&[("/root/hello_world.livepatch", &payload)]);
    let platform = common::source_platform(real);
    let (out, err, status) = common::transcript(&platform, script, &files);
    assert_eq!(status, Status::Ok, "{out}\nstderr:\n{err}");
    println!("{out}");
    let extra: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("xen_extra              : "))
        .collect();
    assert_eq!(extra.len(), 3, "{out}");
    assert_eq!(extra[1], "Hello World", "{out}");
    assert_ne!(extra[0], "Hello World", "{out}");
    assert_eq!(extra[0], extra[2], "{out}");
    for step in [
        "Applying hello_world... completed",
        "Reverting hello_world... completed",
        "Unloading hello_world... completed",
    ] {
        assert!(out.contains(step), "{out}");
    }
}
