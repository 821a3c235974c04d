//! The `xsplice-validate` and `xsplice-inspect` binaries, driven for real in
//! a temp dir: exit codes 0/1/2, text and JSON output, `--target`,
//! `--after`, `--xen`, and what happens with missing or broken inputs.
//! Every failure prints the command, its stdout and its stderr.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    cmd: String,
}

fn run(bin: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Out {
    let mut cmd = Command::new(xsplice_testkit::tool_binary(bin));
    for a in args {
        cmd.arg(a);
    }
    let (code, stdout, stderr) = xsplice_testkit::run(&mut cmd);
    Out {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        cmd: format!("{cmd:?}"),
    }
}

fn check(out: &Out, code: i32, stdout_has: &str, stderr_has: &str) {
    let ok = out.code == code && out.stdout.contains(stdout_has) && out.stderr.contains(stderr_has);
    assert!(
        ok,
        "command: {}\nexpected exit {code}, stdout containing {stdout_has:?}, stderr containing {stderr_has:?}\n\
         got exit {}\n--- stdout\n{}--- stderr\n{}",
        out.cmd, out.code, out.stdout, out.stderr
    );
}

fn setup() -> Option<(tempfile::TempDir, &'static Fixture)> {
    let fx = fixture("x86_64")?;
    Some((tempfile::tempdir().unwrap(), fx))
}

fn p(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(name)
}

#[test]
fn validate_exit_codes_and_formats() {
    let Some((dir, fx)) = setup() else { return };
    let d = dir.path();
    let good = write(d, "hello.livepatch", &fx.payload);
    let xen = &fx.xen_path;

    let out = run("xsplice-validate", &[&good]);
    check(
        &out,
        0,
        "hello.livepatch: 0 errors, 0 warnings; accepted by Xen 4.14-4.22",
        "",
    );
    let out = run("xsplice-validate", &[&good, &"--target", xen]);
    check(
        &out,
        0,
        "0 errors, 0 warnings; accepted by Xen 4.14-4.22",
        "",
    );

    let out = run("xsplice-validate", &[&good, &"--format", &"json"]);
    check(&out, 0, "\"findings\": []", "");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["abi"], "livepatch-v2");
    assert_eq!(v["summary"]["accepted_by"][0], "4.14");

    // Narrowing to one release.
    let out = run("xsplice-validate", &[&good, &"--xen", &"4.19"]);
    check(&out, 0, "accepted by Xen 4.19\n", "");
    if let Some(arm) = fixture("arm32") {
        let arm = write(d, "arm.livepatch", &arm.payload);
        let out = run("xsplice-validate", &[&arm, &"--xen", &"4.7"]);
        check(&out, 1, "", "");
        let out = run("xsplice-validate", &[&arm, &"--xen", &"4.22"]);
        check(&out, 0, "accepted by Xen 4.22\n", "");
    }
    let out = run("xsplice-validate", &[&good, &"--xen", &"4.13"]);
    check(
        &out,
        1,
        "error[C-92]: payload is livepatch-v2, but Xen 4.13 loads livepatch-v1",
        "",
    );
    // The finding is about the release asked for, so no note narrows it.
    assert!(!out.stdout.contains("= note"), "{}", out.stdout);

    // A broken payload: exit 1, compiler-style diagnostic, JSON finding.
    let mut bad = fx.payload.clone();
    bad[1] = b'X';
    let bad = write(d, "bad.livepatch", &bad);
    let out = run("xsplice-validate", &[&bad]);
    check(
        &out,
        1,
        "error[C-11]: not an ELF file (bad magic)\n  --> bad.livepatch: file offset 0x0",
        "",
    );
    let out = run("xsplice-validate", &[&bad, &"--format", &"json"]);
    check(&out, 1, "\"check\": \"C-11\"", "");

    // Truncated and empty files are findings, not crashes.
    let out = run("xsplice-validate", &[&write(d, "empty.livepatch", b"")]);
    check(&out, 1, "error[C-05]", "");
    let out = run(
        "xsplice-validate",
        &[&write(d, "short.livepatch", &fx.payload[..100])],
    );
    check(&out, 1, "error[C-17]: e_shoff", "");

    // Stacking on a copy of itself: same build-id and clashing new symbols.
    let twin = write(d, "twin.livepatch", &fx.payload);
    let out = run(
        "xsplice-validate",
        &[&good, &"--target", xen, &"--after", &twin],
    );
    check(&out, 1, "error[C-101]", "");

    // Usage and I/O errors: exit 2 with a message naming the thing.
    let out = run("xsplice-validate", &[&p(d, "missing.livepatch")]);
    check(&out, 2, "", "cannot read `");
    let out = run("xsplice-validate", &[&good, &"--xen", &"4.99"]);
    check(
        &out,
        2,
        "",
        "Xen 4.99 is not a release this validator knows",
    );
    let out = run("xsplice-validate", &[&good, &"--xen", &"four"]);
    check(&out, 2, "", "is not a xen version");
    let out = run("xsplice-validate", &[&good, &"--target", &p(d, "nope")]);
    check(&out, 2, "", "cannot read `");
    let out = run(
        "xsplice-validate",
        &[&good, &"--target", &write(d, "junk", b"junk")],
    );
    check(&out, 2, "", "is not a readable hypervisor image");
}

#[test]
fn inspect_outputs() {
    let Some((dir, fx)) = setup() else { return };
    let d = dir.path();
    let good = write(d, "hello.livepatch", &fx.payload);

    let out = run("xsplice-inspect", &[&good]);
    check(&out, 0, "abi: livepatch-v2\narch: x86_64\n", "");
    check(
        &out,
        0,
        "  [0] \"xen_extra_version\"\n    new_addr: xen_hello_world (in .text.xen_hello_world)\n",
        "",
    );
    check(&out, 0, "old_addr: xen_extra_version (undefined)\n", "");
    let out = run("xsplice-inspect", &[&good, &"--target", &fx.xen_path]);
    check(
        &out,
        0,
        "old_addr: xen_extra_version (undefined, target 0x",
        "",
    );

    // Deterministic: the same bytes give the same dump.
    let again = run("xsplice-inspect", &[&good, &"--target", &fx.xen_path]);
    assert_eq!(out.stdout, again.stdout);

    let out = run("xsplice-inspect", &[&good, &"--format", &"json"]);
    check(&out, 0, "\"payload\"", "");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["payload"]["funcs"][0]["name_str"], "xen_extra_version");
    assert_eq!(
        v["payload"]["funcs"][0]["old_addr"]["symbol"],
        "xen_extra_version"
    );

    let out = run(
        "xsplice-inspect",
        &[&write(d, "junk.livepatch", &[b'j'; 100])],
    );
    check(
        &out,
        1,
        "",
        "`junk.livepatch` cannot be read as a payload: not an ELF file (bad magic) (C-11)",
    );
    let out = run("xsplice-inspect", &[&p(d, "missing.livepatch")]);
    check(&out, 2, "", "cannot read `");
}
