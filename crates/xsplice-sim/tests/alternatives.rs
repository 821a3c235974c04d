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

mod common;

use common::{assert_refused, load, minor_line, stand_in, stand_in_image, v2_payload};

/// The `xen_minor` line once `payload` is applied as `name` on the
/// stand-in booted as Xen `release`, with the simulated CPU's `features`.
fn minor_with(name: &str, payload: &[u8], release: Option<&str>, features: &[u16]) -> String {
    let mut hv = stand_in(release).expect("the stand-in");
    hv.set_cpu_features(features).unwrap();
    load(&mut hv, name, payload);
    minor_line(&mut hv)
}

#[test]
fn the_alternative_follows_the_cpu_features() {
    if stand_in_image().is_none() {
        return;
    }
    let payload = v2_payload("alternative");
    for (features, minor) in [
        (&[][..], "xen_minor              : 25"),
        (&[3], "xen_minor              : 25"),
        (&[3, 100], "xen_minor              : 26"),
    ] {
        let got = minor_with("alternative", &payload, None, features);
        assert_eq!(got, minor, "{features:?}");
    }
}

#[test]
fn features_beyond_xen_4_17s_words_are_refused() {
    let Some(mut hv) = stand_in(None) else {
        return;
    };
    assert!(hv.set_cpu_features(&[671]).is_ok());
    assert!(hv.set_cpu_features(&[672]).is_err());
}

#[test]
fn an_entry_outside_payload_text_is_refused_at_upload() {
    let Some(mut hv) = stand_in(None) else {
        return;
    };
    let payload = v2_payload("alternative_outside");
    assert_refused(&mut hv, "bad", &payload, ".altinstructions", "C-106");
    assert!(hv.list().is_empty());
}

/// The `altcall` payload's minor version on each release: 4 when its
/// `.alt_call_sites` site became a direct call to the pointer's value at
/// upload, 77 when the call still reads the pointer its load hook re-aimed.
#[test]
fn alt_call_sites_are_direct_calls_from_4_21() {
    if stand_in_image().is_none() {
        return;
    }
    let payload = v2_payload("altcall");
    for (release, minor) in [
        ("4.21", "xen_minor              : 4"),
        ("4.20", "xen_minor              : 77"),
    ] {
        let got = minor_with("altcall", &payload, Some(release), &[]);
        assert_eq!(got, minor, "{release}");
    }
}

#[test]
fn an_alt_call_site_that_is_no_call_is_refused_at_upload() {
    let Some(mut hv) = stand_in(None) else {
        return;
    };
    let payload = v2_payload("altcall_bad_site");
    assert_refused(&mut hv, "bad", &payload, ".alt_call_sites", "C-107");
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
    if stand_in_image().is_none() {
        return;
    }
    let payload = v2_payload("alternative_call");
    let minor = |payload: &[u8]| minor_with("alternative_call", payload, None, &[]);
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
