//! The `xsplice-validate` and `xsplice-inspect` binaries, driven for real in
//! a temp dir: exit codes 0/1/2, text and JSON output, `--target`,
//! `--after`, `--xen`, and what happens with missing or broken inputs.
//! Every failure prints the command, its stdout and its stderr.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use common::*;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    cmd: String,
}

fn run(bin: &str, args: Args<'_>) -> Out {
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

/// The arguments of one run, as `run` takes them.
type Args<'a> = &'a [&'a dyn AsRef<OsStr>];

#[test]
fn validate_exit_codes_and_formats() {
    let Some((dir, fx)) = setup() else { return };
    let d = dir.path();
    let good = write(d, "hello.livepatch", &fx.payload);
    let xen = &fx.xen_path;
    let mut bad = fx.payload.clone();
    bad[1] = b'X';
    let bad = write(d, "bad.livepatch", &bad);
    let empty = write(d, "empty.livepatch", b"");
    let short = write(d, "short.livepatch", &fx.payload[..100]);
    // Stacking on a copy of itself: same build-id and clashing new symbols.
    let twin = write(d, "twin.livepatch", &fx.payload);

    // Exit 0 when accepted; a broken payload, truncated and empty files
    // included, is exit 1 with a compiler-style diagnostic (a JSON
    // finding with `--format json`), not a crash.
    let findings: [(Args<'_>, i32, &str); 8] = [
        (
            &[&good],
            0,
            "hello.livepatch: 0 errors, 0 warnings; accepted by Xen 4.14-4.22",
        ),
        (
            &[&good, &"--target", xen],
            0,
            "0 errors, 0 warnings; accepted by Xen 4.14-4.22",
        ),
        // Narrowing to one release.
        (&[&good, &"--xen", &"4.19"], 0, "accepted by Xen 4.19\n"),
        (
            &[&bad],
            1,
            "error[C-11]: not an ELF file (bad magic)\n  --> bad.livepatch: file offset 0x0",
        ),
        (&[&bad, &"--format", &"json"], 1, "\"check\": \"C-11\""),
        (&[&empty], 1, "error[C-05]"),
        (&[&short], 1, "error[C-17]: e_shoff"),
        (
            &[&good, &"--target", xen, &"--after", &twin],
            1,
            "error[C-101]",
        ),
    ];
    for (args, code, stdout_has) in findings {
        check(&run("xsplice-validate", args), code, stdout_has, "");
    }

    let out = run("xsplice-validate", &[&good, &"--format", &"json"]);
    check(&out, 0, "\"findings\": []", "");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["abi"], "livepatch-v2");
    assert_eq!(v["summary"]["accepted_by"][0], "4.14");

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

    // Usage and I/O errors: exit 2 with a message naming the thing.
    let usage: [(Args<'_>, &str); 5] = [
        (&[&p(d, "missing.livepatch")], "cannot read `"),
        (
            &[&good, &"--xen", &"4.99"],
            "Xen 4.99 is not a release this validator knows",
        ),
        (&[&good, &"--xen", &"four"], "is not a xen version"),
        (&[&good, &"--target", &p(d, "nope")], "cannot read `"),
        (
            &[&good, &"--target", &write(d, "junk", b"junk")],
            "is not a readable hypervisor image",
        ),
    ];
    for (args, stderr_has) in usage {
        check(&run("xsplice-validate", args), 2, "", stderr_has);
    }
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
