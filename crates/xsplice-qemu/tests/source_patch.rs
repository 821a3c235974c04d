//! A payload made from a source patch, applied for real: `xsplice-build`
//! turns the seed's hello world, written as a patch of `xen/common/version.c`
//! in the 4.17 source tree, into a payload, and that tree's own `xen`,
//! booted under QEMU, applies it (`xen_extra` reads `Hello World`), reverts
//! and unloads it (`xen_extra` is the build's own again).

mod common;

use xsplice_sim::Status;
use xsplice_testkit::source_patch::xsplice_build;
use xsplice_testkit::workspace_root;

#[test]
fn hello_world_from_a_source_patch_on_the_trees_own_xen() {
    let Some(real) = common::real() else { return };
    let source = real.xen.tree.parent().expect("the tree's top");
    let patch = workspace_root().join("test-payloads/patches/xen-4.17/hello_world.patch");
    let out = tempfile::tempdir().unwrap();
    let build = xsplice_build(source, &patch, out.path(), &[]);
    assert_eq!(build.code, 0, "{build}");
    let payload = build.payload();

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
