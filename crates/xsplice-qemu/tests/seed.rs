//! The seed's session on the real hypervisor: our hello_world, built by the
//! xsplice pipeline against the `-dbg` image of Debian's Xen, loaded,
//! listed, seen in `xl info`, reverted and unloaded on that very Xen under
//! QEMU, through the real `xen-livepatch`, from the path the seed installs
//! it to. The transcript is the simulator's form of the seed's, with Xen's
//! own `xen_extra` before and after.

mod common;

use xsplice_sim::Status;

const SEED: &str = "\
$xen-livepatch load /usr/lib/debug/xen_hello_world.livepatch
$xen-livepatch list
$xl info | grep extra
$xen-livepatch revert xen_hello_world
$xen-livepatch unload xen_hello_world
$xl info | grep extra
";

#[test]
fn the_seeds_session_on_debians_xen() {
    let Some(real) = common::real() else { return };
    let deb = real.xen.debian.as_ref().expect("debian");
    let hello = common::payload(
        "hello_world",
        &deb.xen_syms,
        &format!("debian-{}", deb.version),
    );
    let files = common::files(&[("/usr/lib/debug/xen_hello_world.livepatch", &hello)]);
    let (out, err, status) = common::transcript(&real.debian.platform, SEED, &files);
    // Xen's own extra version: `.7` of 4.17.7.
    let extra = real
        .debian_release
        .strip_prefix("4.17")
        .expect("a 4.17 release");
    let want = format!(
        "\
$xen-livepatch load /usr/lib/debug/xen_hello_world.livepatch
Uploading /usr/lib/debug/xen_hello_world.livepatch... completed
Applying xen_hello_world... completed
$xen-livepatch list
 ID                                     | status     | metadata
----------------------------------------+------------+---------------
xen_hello_world                         | APPLIED    | LIVEPATCH_RULEZ=hello_world
$xl info | grep extra
xen_extra              : Hello World
$xen-livepatch revert xen_hello_world
Reverting xen_hello_world... completed
$xen-livepatch unload xen_hello_world
Unloading xen_hello_world... completed
$xl info | grep extra
xen_extra              : {extra}
"
    );
    assert_eq!(out, want, "stderr:\n{err}");
    assert_eq!(err, "");
    assert_eq!(status, Status::Ok);
}
