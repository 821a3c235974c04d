//! `xsplice-validate` on Xen's own test payloads (`xen/test/livepatch`),
//! against the `xen-syms` they were built with: every payload Xen loads is
//! accepted with 0 errors, and the two that Xen refuses are refused with the
//! check Xen refuses them on.
//!
//! Which payload stacks on which comes from Xen's test Makefile (spec §6):
//! only `xen_bye_world` depends on a payload, `xen_hello_world`, so it is
//! checked `--after` it; all the others depend on Xen's build-id.
//! Xen's refusals:
//! * `xen_no_xen_buildid` is linked without `.livepatch.xen_depends`; Xen
//!   4.17 refuses it at upload (`check_special_sections`: -EINVAL), C-35.
//! * `xen_expectations_fail` expects bytes that are not at `old_addr`; Xen
//!   refuses to apply it (`livepatch_check_expectations`: -EINVAL), C-123.
//! * `xen_prepost_hooks_fail` is loaded; its pre-apply hook vetoes the apply
//!   at run time, which no static check can know, so it is accepted.
//!
//! The payloads are the real build's, so the test needs the real Xen tree
//! (`cargo xtask real-xen`): it skips locally without it and fails in CI.

use std::path::Path;
use std::process::Command;

/// Every payload Xen 4.17 builds: (name, the one it is loaded after, the
/// error ids Xen's refusal maps to).
const PAYLOADS: &[(&str, Option<&str>, &[&str])] = &[
    ("xen_hello_world", None, &[]),
    ("xen_bye_world", Some("xen_hello_world"), &[]),
    ("xen_replace_world", None, &[]),
    ("xen_nop", None, &[]),
    ("xen_no_xen_buildid", None, &["C-35"]),
    ("xen_prepost_hooks", None, &[]),
    ("xen_prepost_hooks_fail", None, &[]),
    ("xen_action_hooks", None, &[]),
    ("xen_action_hooks_nofunc", None, &[]),
    ("xen_action_hooks_marker", None, &[]),
    ("xen_action_hooks_noapply", None, &[]),
    ("xen_action_hooks_norevert", None, &[]),
    ("xen_expectations", None, &[]),
    ("xen_expectations_fail", None, &["C-123"]),
];

/// The release the tree is: `4.17.5` of `4.17.5+72-g01140da4e8-1`.
fn release(version: &str) -> String {
    let end = version
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(version.len());
    version[..end].to_string()
}

fn validate(xen_syms: &Path, dir: &Path, name: &str, after: Option<&str>, xen: &str) -> Checked {
    let mut cmd = Command::new(xsplice_testkit::tool_binary("xsplice-validate"));
    cmd.arg(dir.join(format!("{name}.livepatch")))
        .arg("--target")
        .arg(xen_syms)
        .args(["--xen", xen, "--format", "json"]);
    if let Some(a) = after {
        cmd.arg("--after").arg(dir.join(format!("{a}.livepatch")));
    }
    let (code, stdout, stderr) = xsplice_testkit::run(&mut cmd);
    let report: serde_json::Value = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?}: exit {code}, not json ({e})\n--- stderr\n{}",
            String::from_utf8_lossy(&stderr)
        )
    });
    let mut errors: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["check"].as_str().expect("check id").to_string())
        .collect();
    errors.sort();
    errors.dedup();
    Checked {
        cmd: format!("{cmd:?}"),
        code,
        errors,
        text: serde_json::to_string_pretty(&report["findings"]).unwrap(),
    }
}

struct Checked {
    cmd: String,
    code: i32,
    errors: Vec<String>,
    text: String,
}

#[test]
fn xen_test_payloads_as_xen_judges_them() {
    let Some(real) = xsplice_testkit::real_xen("x86_64") else {
        return;
    };
    let dir = &real.test_payloads;
    let mut built: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".livepatch")?.to_string())
        })
        .collect();
    built.sort();
    let mut known: Vec<String> = PAYLOADS.iter().map(|p| p.0.to_string()).collect();
    known.sort();
    assert_eq!(built, known, "{dir:?}: the payloads Xen's tests build");

    let xen = release(&real.version);
    let mut accepted = 0;
    for &(name, after, refused_by) in PAYLOADS {
        let got = validate(&real.xen_syms, dir, name, after, &xen);
        let want_code = if refused_by.is_empty() { 0 } else { 1 };
        assert!(
            got.code == want_code && got.errors == refused_by,
            "{}\nexpected exit {want_code} with errors {refused_by:?}, got exit {} with {:?}\n{}",
            got.cmd,
            got.code,
            got.errors,
            got.text
        );
        accepted += usize::from(refused_by.is_empty());
    }
    assert_eq!(accepted, 12);
}

#[test]
fn release_of_a_debian_version() {
    assert_eq!(release("4.17.5+72-g01140da4e8-1"), "4.17.5");
    assert_eq!(release("4.19.1"), "4.19.1");
}
