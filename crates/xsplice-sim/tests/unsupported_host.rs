//! On hosts that cannot run x86-64 code natively the simulator refuses to
//! start, with a message that says so, before reading the image.
#![cfg(not(all(target_arch = "x86_64", target_os = "linux")))]

#[test]
fn booting_on_another_host_is_refused_clearly() {
    let err =
        xsplice_sim::Hypervisor::boot("xen-syms", &[], None, std::time::Duration::from_secs(1))
            .err()
            .expect("no hypervisor on this host");
    let message = err.to_string();
    assert!(
        message.starts_with("not supported on this host"),
        "{message}"
    );
}
