//! The `xsplice-qemu` binary as a person runs it: usage errors before any
//! machine starts; a session in which a payload crashes the real Xen, the
//! next command finds the hypervisor gone, and `restart` boots a fresh
//! machine; and one that hangs Xen until the timeout stops the machine.
//! Each run prints its command line, stdout and stderr.

mod common;

use std::path::Path;
use std::process::Command;

fn run(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let _one = common::one_machine();
    let mut cmd = Command::new(xsplice_testkit::tool_binary("xsplice-qemu"));
    cmd.current_dir(cwd).args(args);
    let (code, out, err) = xsplice_testkit::run(&mut cmd);
    let (out, err) = (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    );
    println!(
        "$ xsplice-qemu {}\n--- exit {code}\n{out}--- stderr\n{err}",
        args.join(" ")
    );
    (code, out, err)
}

/// `run` against Debian's hypervisor: `--target` its `xen.gz`, then `args`.
fn run_debian(
    deb: &xsplice_testkit::DebianXen,
    cwd: &Path,
    args: &[&str],
) -> (i32, String, String) {
    let xen = deb.xen_gz.display().to_string();
    let mut all = vec!["--target", xen.as_str()];
    all.extend_from_slice(args);
    run(cwd, &all)
}

#[test]
fn usage_errors_start_no_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(dir.path(), &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(err, "xsplice-qemu: no command given (try --help)\n");
    let (code, _, err) = run(dir.path(), &["apply"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("xsplice-qemu: line 1: unrecognised command `apply`"),
        "{err}"
    );
    let (code, _, err) = run(dir.path(), &["--script", "missing.txt"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("xsplice-qemu: reading `missing.txt`"),
        "{err}"
    );
}

#[test]
fn a_crash_then_a_fresh_machine() {
    let Some(real) = common::real() else { return };
    let deb = real.xen.debian.as_ref().expect("debian");
    let Some(fx) = xsplice_mutants::fixture_for("x86_64", &deb.xen_syms) else {
        return;
    };
    // Xen 4.17.7 dereferences NULL loading a payload whose symbol table
    // names no string table (see the validator test).
    let mutant = xsplice_mutants::x86_mutants()
        .into_iter()
        .find(|m| m.name == "symtab sh_link 0")
        .expect("the mutant");
    let dir = tempfile::tempdir().unwrap();
    xsplice_mutants::write(dir.path(), "crash.livepatch", &mutant.apply(&fx.payload));
    let (code, out, err) = run_debian(
        deb,
        dir.path(),
        &[
            "--echo",
            "upload crash crash.livepatch; list; restart; info | grep extra; list",
        ],
    );
    assert_eq!(code, 1);
    let extra = real.debian_release.strip_prefix("4.17").expect("4.17");
    assert_eq!(
        out,
        format!(
            "$ xen-livepatch upload crash crash.livepatch\n\
             $ xen-livepatch list\n\
             $ xsplice-qemu restart\n\
             booted a fresh hypervisor image\n\
             $ xl info | grep extra\n\
             xen_extra              : {extra}\n\
             $ xen-livepatch list\n\
             Nothing to list\n"
        )
    );
    // Xen's own report, then the command after it.
    for want in [
        "(XEN) ----[ Xen-4.17",
        "(XEN) Panic on CPU",
        "(XEN) FATAL PAGE FAULT",
        "(XEN) Manual reset required ('noreboot' specified)",
        "the hypervisor is not running: it died during `upload crash crash.livepatch` (FATAL PAGE FAULT); `restart` boots a fresh image",
    ] {
        assert!(err.contains(want), "stderr lacks {want:?}");
    }
}

#[test]
fn a_hang_ends_at_the_timeout() {
    let Some(real) = common::real() else { return };
    let deb = real.xen.debian.as_ref().expect("debian");
    let payload = common::payload(
        &common::fixture_dir("loop_world"),
        &deb.xen_syms,
        &format!("debian-{}", deb.version),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&payload, dir.path().join("xen_loop_world.livepatch")).unwrap();
    let (code, out, err) = run_debian(
        deb,
        dir.path(),
        &[
            "--timeout",
            "20",
            "load xen_loop_world.livepatch; info; list",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "Uploading xen_loop_world.livepatch... completed\nApplying xen_loop_world... completed\n"
    );
    // `info` asks Xen for its extra version, which never comes back.
    assert!(
        err.ends_with(
            "the hypervisor stopped answering for 20 s; the machine was stopped\n\
             the hypervisor is not running: it died during `info` (it stopped answering for 20 s); `restart` boots a fresh image\n"
        ),
        "{err}"
    );
}
