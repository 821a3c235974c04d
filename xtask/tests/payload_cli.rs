//! `cargo xtask payload` and `cargo xtask install` as a person runs them:
//! the printed steps, the last line naming the payload, a second run that
//! does no work, a must-fail payload, installing, and a clear error for an
//! unknown payload. Each run prints its command, stdout and stderr on failure.

use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args);
    run(&mut cmd)
}

/// Runs `cmd` and shows it with its status and output, for failures.
fn run(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("run xtask");
    let shown = format!(
        "{cmd:?}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, shown)
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A temporary directory for a run that builds payloads, or `None` once
/// the skip is reported because there is no C compiler for x86_64.
fn scratch() -> Option<tempfile::TempDir> {
    if xsplice_build::Arch::X86_64.find_compiler().is_err() {
        xsplice_testkit::skip("no C compiler for x86_64");
        return None;
    }
    Some(tempfile::tempdir().unwrap())
}

/// Runs xtask with `args`, checks that it succeeded, and returns the run
/// and how to show it.
fn xtask_ok(args: &[&str]) -> (Output, String) {
    let (out, shown) = xtask(args);
    assert!(out.status.success(), "{shown}");
    (out, shown)
}

/// Checks that the last line of a run's stdout names `path`.
fn assert_last_line(out: &Output, shown: &str, path: &Path) {
    assert_eq!(
        stdout_lines(out).last().map(Path::new),
        Some(path),
        "{shown}"
    );
}

#[test]
fn payload_prints_steps_then_the_payload_and_rebuilds_nothing() {
    let Some(tmp) = scratch() else {
        return;
    };
    let out_dir = tmp.path().to_str().unwrap();
    let (out, shown) = xtask_ok(&["payload", "hello_world", "--out", out_dir]);
    let lines = stdout_lines(&out);
    let expected = tmp
        .path()
        .join("livepatch-v2/x86_64/hello_world/xen_hello_world.livepatch");
    assert_eq!(
        lines.last().map(Path::new),
        Some(expected.as_path()),
        "{shown}"
    );
    assert!(expected.is_file());
    // The five steps, in the seed's order, one command line each.
    let steps: Vec<&str> = lines
        .iter()
        .filter_map(|l| {
            if l.contains("-c hello_world_func.c") {
                Some("compile new")
            } else if l.contains("xsplice-config ") {
                Some("config")
            } else if l.contains("-c hello_world.c") {
                Some("compile funcs")
            } else if l.contains("xsplice-link ") {
                Some("link")
            } else if l.contains("xsplice-validate ") {
                Some("validate")
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        steps,
        ["compile new", "config", "compile funcs", "link", "validate"],
        "{shown}"
    );

    let (again, shown) = xtask_ok(&["payload", "hello_world", "--out", out_dir]);
    let lines = stdout_lines(&again);
    let (last, rest) = lines.split_last().unwrap();
    assert_eq!(Path::new(last), expected);
    assert!(
        rest.iter().all(|l| l.starts_with("# ")),
        "second run did work:\n{shown}"
    );
}

#[test]
fn must_fail_payload_succeeds_when_it_fails_as_expected() {
    let Some(tmp) = scratch() else {
        return;
    };
    let (_, shown) = xtask_ok(&[
        "payload",
        "no_xen_buildid",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(shown.contains("validation failed with C-35"), "{shown}");
}

#[test]
fn install_copies_valid_payloads_into_debug_dir() {
    let Some(tmp) = scratch() else {
        return;
    };
    let dest = tmp.path().join("dest");
    let out_root = tmp.path().join("out");
    let (_, shown) = xtask_ok(&[
        "install",
        "--destdir",
        dest.to_str().unwrap(),
        "--out",
        out_root.to_str().unwrap(),
    ]);
    let debug = dest.join("usr/lib/debug");
    let hello = debug.join("xen_hello_world.livepatch");
    assert_eq!(
        std::fs::read(&hello).unwrap(),
        std::fs::read(out_root.join("livepatch-v2/x86_64/hello_world/xen_hello_world.livepatch"))
            .unwrap()
    );
    let mut installed: Vec<String> = std::fs::read_dir(&debug)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    installed.sort();
    assert_eq!(
        installed,
        [
            "xen_altcall.livepatch",
            "xen_alternative.livepatch",
            "xen_alternative_call.livepatch",
            "xen_bug.livepatch",
            "xen_bye_world.livepatch",
            "xen_expectations.livepatch",
            "xen_extable.livepatch",
            "xen_hello_world.livepatch",
            "xen_hooks.livepatch",
            "xen_nop.livepatch",
            "xen_replace_world.livepatch",
            "xen_run_fn.livepatch",
            "xen_warn.livepatch"
        ],
        "{shown}"
    );
}

#[test]
fn unknown_payload_is_a_clear_error() {
    let (out, shown) = xtask(&["payload", "no_such_payload"]);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("no payload `no_such_payload`"), "{shown}");
}

#[test]
fn missing_cross_compiler_names_the_debian_package() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(["target", "--arch", "arm32"]).env("PATH", "");
    let out = cmd.output().expect("run xtask");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{cmd:?}: {stderr}");
    assert!(
        stderr.contains("install the Debian package `gcc-arm-linux-gnueabihf`"),
        "{cmd:?}: {stderr}"
    );
}

#[test]
fn payload_outside_the_repo_and_an_explicit_xen_syms() {
    let Some(tmp) = scratch() else {
        return;
    };
    let root = xsplice_testkit::workspace_root();
    let mine = tmp.path().join("my_patch");
    std::fs::create_dir(&mine).unwrap();
    for f in ["payload.json", "hello_world.c", "hello_world_func.c"] {
        std::fs::copy(root.join("test-payloads/hello_world").join(f), mine.join(f)).unwrap();
    }
    let out_root = tmp.path().join("out");
    let (out, shown) = xtask_ok(&[
        "payload",
        mine.to_str().unwrap(),
        "--out",
        out_root.to_str().unwrap(),
    ]);
    let built = out_root.join("livepatch-v2/x86_64/my_patch/xen_my_patch.livepatch");
    assert_last_line(&out, &shown, &built);

    // Against an explicit image: the architecture comes from its ELF header.
    let Some(xen) = xsplice_testkit::stand_in_xen("aarch64") else {
        return;
    };
    let (out, shown) = xtask_ok(&[
        "payload",
        "hello_world",
        "--target",
        xen.to_str().unwrap(),
        "--out",
        out_root.to_str().unwrap(),
    ]);
    assert!(
        shown.contains(&format!("--target {}", xen.display())),
        "{shown}"
    );
    let built = out_root.join("livepatch-v2/aarch64/hello_world/xen_hello_world.livepatch");
    assert_last_line(&out, &shown, &built);
    let (out, shown) = xtask(&[
        "payload",
        "hello_world",
        "--xen-syms",
        xen.to_str().unwrap(),
        "--arch",
        "x86_64",
    ]);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("is for aarch64"), "{shown}");
}

/// `--out` relative to the directory xtask starts in, not to the payload's
/// source directory where the steps run.
#[test]
fn a_relative_out_is_taken_from_the_current_directory() {
    let Some(tmp) = scratch() else {
        return;
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.current_dir(tmp.path())
        .args(["payload", "hello_world", "--out", "rel/out"]);
    let (out, shown) = run(&mut cmd);
    assert!(out.status.success(), "{shown}");
    let expected = tmp
        .path()
        .join("rel/out/livepatch-v2/x86_64/hello_world/xen_hello_world.livepatch");
    assert!(expected.is_file(), "{shown}");
    assert_last_line(&out, &shown, &expected);
}
