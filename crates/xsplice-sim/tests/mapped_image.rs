//! `xsplice-sim` maps the hypervisor image rather than read it: it copies
//! only the loadable segments into the hypervisor process. The stand-in
//! image is made 4 GiB long (a sparse file, whose tail nothing in the ELF
//! refers to) and the simulator runs with its data size limited to 256 MiB
//! (`ulimit -d`, RLIMIT_DATA, which does not count a read-only file map):
//! reading the file into memory fails there, mapping it does not.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::process::Command;

#[test]
fn a_huge_image_is_mapped_not_read() {
    let Some(stand_in) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let xen = dir.path().join("xen-syms");
    std::fs::copy(&stand_in, &xen).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&xen).unwrap();
    file.set_len(4 << 30).unwrap();

    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -d 262144 && exec \"$@\"", "sh"])
        .arg(xsplice_testkit::tool_binary("xsplice-sim"))
        .arg("--target")
        .arg(&xen)
        .arg("info");
    let (code, out, err) = xsplice_testkit::run(&mut cmd);
    let (out, err) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
    assert!(
        code == 0 && out.contains("xen_extra              : -unstable"),
        "{cmd:?}: exit {code}\n{out}{err}"
    );
}
