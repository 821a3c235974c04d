//! Alternatives, proven by behaviour: the `alternative` payload's
//! `.altinstructions` entry is applied at upload against the simulated
//! CPU's features (minor 26 with feature 100, 25 without), and an entry
//! whose original instructions are not payload text is refused at upload
//! with the validator's C-106; the `altcall` payload's `.alt_call_sites` site
//! becomes a direct call from Xen 4.21 on, and a site that is no call is
//! refused with C-107; the `alternative_call` payload's Xen 4.17
//! `alternative_call()` site (an alternative on X86_FEATURE_ALWAYS whose
//! replacement is `call .`) becomes a direct call at upload.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::time::Duration;

use xsplice_sim::{Errno, Fail, Hypervisor};

fn minor_with(image: &[u8], payload: &[u8], features: &[u16]) -> String {
    let mut hv = Hypervisor::boot("xen-syms", image, None, Duration::from_secs(5)).unwrap();
    hv.set_cpu_features(features).unwrap();
    hv.upload("alternative", payload).unwrap();
    hv.apply("alternative", false).unwrap();
    let info = hv.info().unwrap();
    let line = info.lines().find(|l| l.starts_with("xen_minor")).unwrap();
    line.to_string()
}

#[test]
fn the_alternative_follows_the_cpu_features() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let payload = xsplice_testkit::test_payload("alternative", "livepatch-v2", "x86_64").unwrap();
    let (image, payload) = (
        std::fs::read(&xen).unwrap(),
        std::fs::read(&payload).unwrap(),
    );
    assert_eq!(
        minor_with(&image, &payload, &[]),
        "xen_minor              : 25"
    );
    assert_eq!(
        minor_with(&image, &payload, &[3]),
        "xen_minor              : 25"
    );
    assert_eq!(
        minor_with(&image, &payload, &[3, 100]),
        "xen_minor              : 26"
    );
}

#[test]
fn features_beyond_xen_4_17s_words_are_refused() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let image = std::fs::read(&xen).unwrap();
    let mut hv = Hypervisor::boot("xen-syms", &image, None, Duration::from_secs(5)).unwrap();
    assert!(hv.set_cpu_features(&[671]).is_ok());
    assert!(hv.set_cpu_features(&[672]).is_err());
}

#[test]
fn an_entry_outside_payload_text_is_refused_at_upload() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let payload =
        xsplice_testkit::test_payload("alternative_outside", "livepatch-v2", "x86_64").unwrap();
    let image = std::fs::read(&xen).unwrap();
    let mut hv = Hypervisor::boot("xen-syms", &image, None, Duration::from_secs(5)).unwrap();
    let got = hv.upload("bad", &std::fs::read(&payload).unwrap());
    assert!(matches!(got, Err(Fail::Xen(Errno::Einval))), "{got:?}");
    let console = hv.take_console().join("\n");
    assert!(
        console.contains(".altinstructions") && console.contains("[C-106]"),
        "{console}"
    );
    assert!(hv.list().is_empty());
}

/// The `altcall` payload's minor version on release `xen`: 4 when its
/// `.alt_call_sites` site became a direct call to the pointer's value at
/// upload, 77 when the call still reads the pointer its load hook re-aimed.
fn altcall_minor(image: &[u8], payload: &[u8], xen: &str) -> String {
    let xen = Some(xen.parse().unwrap());
    let mut hv = Hypervisor::boot("xen-syms", image, xen, Duration::from_secs(5)).unwrap();
    hv.upload("altcall", payload).unwrap();
    hv.apply("altcall", false).unwrap();
    let info = hv.info().unwrap();
    info.lines()
        .find(|l| l.starts_with("xen_minor"))
        .unwrap()
        .to_string()
}

#[test]
fn alt_call_sites_are_direct_calls_from_4_21() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let payload = xsplice_testkit::test_payload("altcall", "livepatch-v2", "x86_64").unwrap();
    let (image, payload) = (
        std::fs::read(&xen).unwrap(),
        std::fs::read(&payload).unwrap(),
    );
    assert_eq!(
        altcall_minor(&image, &payload, "4.21"),
        "xen_minor              : 4"
    );
    assert_eq!(
        altcall_minor(&image, &payload, "4.20"),
        "xen_minor              : 77"
    );
}

#[test]
fn an_alt_call_site_that_is_no_call_is_refused_at_upload() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let payload =
        xsplice_testkit::test_payload("altcall_bad_site", "livepatch-v2", "x86_64").unwrap();
    let image = std::fs::read(&xen).unwrap();
    let mut hv = Hypervisor::boot("xen-syms", &image, None, Duration::from_secs(5)).unwrap();
    let got = hv.upload("bad", &std::fs::read(&payload).unwrap());
    assert!(matches!(got, Err(Fail::Xen(Errno::Einval))), "{got:?}");
    let console = hv.take_console().join("\n");
    assert!(
        console.contains(".alt_call_sites") && console.contains("[C-107]"),
        "{console}"
    );
}

#[test]
fn the_binary_takes_the_cpu_features() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let payload = xsplice_testkit::test_payload("alternative", "livepatch-v2", "x86_64").unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(xsplice_testkit::tool_binary("xsplice-sim"));
        cmd.arg("--target")
            .arg(&xen)
            .args(extra)
            .arg(format!("load {}; info", payload.display()));
        let (code, out, err) = xsplice_testkit::run(&mut cmd);
        let out = String::from_utf8_lossy(&out).into_owned();
        (code, out, String::from_utf8_lossy(&err).into_owned())
    };
    let (code, out, err) = run(&["--cpu-features", "3,100"]);
    assert!(
        code == 0 && out.contains("xen_minor              : 26\n"),
        "exit {code}\n{out}{err}"
    );
    let (code, out, err) = run(&[]);
    assert!(
        code == 0 && out.contains("xen_minor              : 25\n"),
        "exit {code}\n{out}{err}"
    );
    let (code, _, err) = run(&["--cpu-features", "672"]);
    assert!(
        code == 2 && err.contains("672 is not in 0..672"),
        "exit {code}\n{err}"
    );
}

/// The `alternative_call` payload's minor version: its `.altinstructions`
/// entry on X86_FEATURE_ALWAYS over `call *slot(%rip)`, with `call .` as
/// the replacement, is Xen 4.17's `alternative_call()`: the loader makes
/// the site a direct call to the pointer's value at upload
/// (`xen_major_version`, 4), before the load hook re-aims the pointer at a
/// function returning 77.
#[test]
fn an_alternative_call_becomes_a_direct_call_at_upload() {
    use object::{Object, ObjectSection};
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let payload =
        xsplice_testkit::test_payload("alternative_call", "livepatch-v2", "x86_64").unwrap();
    let (image, payload) = (
        std::fs::read(&xen).unwrap(),
        std::fs::read(&payload).unwrap(),
    );
    let minor = |payload: &[u8]| {
        let mut hv = Hypervisor::boot("xen-syms", &image, None, Duration::from_secs(5)).unwrap();
        hv.upload("alternative_call", payload).unwrap();
        hv.apply("alternative_call", false).unwrap();
        let info = hv.info().unwrap();
        let line = info.lines().find(|l| l.starts_with("xen_minor")).unwrap();
        line.to_string()
    };
    assert_eq!(minor(&payload), "xen_minor              : 4");

    // The same entry on a feature the simulated CPU lacks (100): the site
    // keeps its indirect call, which reads the re-aimed pointer.
    let obj = object::File::parse(&*payload).unwrap();
    let (table, _) = obj
        .section_by_name(".altinstructions")
        .unwrap()
        .file_range()
        .unwrap();
    let at = table as usize + 8;
    assert_eq!(payload[at..at + 2], 93u16.to_le_bytes());
    let mut off = payload.clone();
    off[at..at + 2].copy_from_slice(&100u16.to_le_bytes());
    assert_eq!(minor(&off), "xen_minor              : 77");
}
