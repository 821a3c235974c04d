//! The on-demand builders other crates' tests rely on: the stand-in
//! hypervisor and the suite's payloads, built into `target/xsplice/`.

#[test]
fn stand_in_and_stacked_payload_are_built_on_demand() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    assert!(xen.ends_with("xen/x86_64/xen-syms") && xen.is_file());
    let Some(bye) = xsplice_testkit::test_payload("bye_world", "livepatch-v2", "x86_64") else {
        return;
    };
    assert!(bye.ends_with("livepatch-v2/x86_64/bye_world/xen_bye_world.livepatch"));
    assert!(bye.is_file());
    // Its dependency is built next to it.
    let hello = bye
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("hello_world/xen_hello_world.livepatch");
    assert!(hello.is_file());
    // Must-fail payloads are returned too, once they failed as expected.
    let bad = xsplice_testkit::test_payload("no_xen_buildid", "livepatch-v2", "x86_64").unwrap();
    assert!(bad.is_file());
}
