//! The validator and the simulator agree, release by release: every x86-64
//! payload of the suite (each ABI) and every x86-64 mutant of the
//! validator's corpus goes through `xsplice-validate --xen V --target
//! xen-syms` and through the simulator behaving as V, for every release V
//! where a release rule of `xsplice-abi` changes (and each series' `.0`).
//!
//! Agreement means: the simulator refuses the upload exactly when the
//! validator reports a finding the hypervisor refuses the upload for, with
//! that finding's errno; an uploaded payload applies exactly when the
//! validator reports no apply-time refusal (C-123), else apply fails with
//! its errno; the hypervisor dies at apply exactly when the validator warns
//! that this release faults on a read-only `.funcs` (V-03 on 4.18.0); and
//! an applied payload reverts and unloads. The simulator's upload runs the
//! validator's checks, so the first clause holds the errnos together; the
//! others hold the simulator's own apply semantics (where it writes the
//! branch, whether it trusts `.funcs`, when it faults) to the validator's
//! release rules, both read from `xsplice-abi`.
//!
//! Only x86-64 Linux hosts run the simulator.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::time::Duration;

use xsplice_abi::{Abi, Arch, Errno, XenVersion};
use xsplice_mutants::{Env, fixture, x86_mutants};
use xsplice_sim::{Fail, Hypervisor, State};
use xsplice_validate::{CheckId, Environment, Options, Report, TargetImage, XenImage, validate};

/// The releases to compare on: each series' `.0`, the 4.7.0 release
/// candidates of both names, and both sides of every point release where
/// a rule changes (ENDBR64 backports, the fstate backports).
fn releases() -> Vec<XenVersion> {
    let mut out: Vec<XenVersion> = ["4.7.0-rc1", "4.7.0-rc4", "4.7.0-rc5"]
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    out.extend((7..=22).map(|m| XenVersion::new(4, m, 0)));
    for (m, p) in [
        (14, 4),
        (14, 5),
        (15, 2),
        (15, 3),
        (16, 1),
        (17, 2),
        (17, 3),
        (18, 1),
    ] {
        out.push(XenVersion::new(4, m, p));
    }
    out.sort();
    out
}

/// What became of a payload, in either tool's terms.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The upload is refused with this errno.
    Refused(&'static str),
    /// Uploaded; the apply fails with this errno.
    ApplyFails(&'static str),
    /// Uploaded, and the hypervisor dies at apply.
    Dies,
    /// Uploaded, applied, reverted and unloaded.
    Applied,
}

/// What the validator predicts for a payload on release `xen`.
fn predicted(report: &Report, xen: &XenVersion) -> Outcome {
    if let Some(errno) = report.findings.iter().find_map(|f| f.refuses_upload()) {
        return Outcome::Refused(errno.name());
    }
    if let Some(errno) = report.findings.iter().find_map(|f| f.refuses_apply()) {
        return Outcome::ApplyFails(errno.name());
    }
    let read_only_funcs = report.findings.iter().any(|f| f.check == CheckId::V03);
    if read_only_funcs && xen.faults_on_read_only_funcs(Arch::X86_64) {
        return Outcome::Dies;
    }
    Outcome::Applied
}

/// What the simulator does with `bytes` uploaded as `name`; on success the
/// payload is left applied (for a payload stacked on it) unless `unload`.
fn simulated(hv: &mut Hypervisor<'_>, name: &str, bytes: &[u8], unload: bool) -> Outcome {
    match hv.upload(name, bytes) {
        Err(Fail::Xen(e)) => return Outcome::Refused(e.name()),
        Err(Fail::Crash(e)) => panic!("upload of {name} crashed the hypervisor: {e}"),
        Ok(()) => {}
    }
    let applied = match hv.apply(name, false) {
        Err(Fail::Xen(e)) => Err(e),
        Err(Fail::Crash(_)) => return Outcome::Dies,
        // An apply that fails in its asynchronous phase returns 0 and
        // leaves the errno in the payload's rc, as Xen does.
        Ok(()) => match hv.get(name) {
            Ok((State::Applied, None)) => Ok(()),
            Ok((_, rc)) => Err(rc.unwrap_or(Errno::Einval)),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = applied {
        hv.unload(name)
            .expect("unload a payload that did not apply");
        return Outcome::ApplyFails(e.name());
    }
    if unload {
        finish(hv, name);
    }
    Outcome::Applied
}

/// Reverts and unloads an applied payload.
fn finish(hv: &mut Hypervisor<'_>, name: &str) {
    hv.revert(name)
        .unwrap_or_else(|e| panic!("revert {name}: {e:?}"));
    hv.unload(name)
        .unwrap_or_else(|e| panic!("unload {name}: {e:?}"));
}

/// One payload to compare: its bytes, and the payload it stacks on.
struct Case {
    label: String,
    bytes: Vec<u8>,
    parent: Option<Vec<u8>>,
}

#[test]
fn validator_and_simulator_agree_on_every_release() {
    let Some(xen_path) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let xen = std::fs::read(&xen_path).expect("read the stand-in hypervisor");
    let image = XenImage::parse("xen-syms", &xen).expect("parse the stand-in");

    let mut cases = Vec::new();
    let root = xsplice_testkit::workspace_root();
    for p in xsplice_build::suite(&root).expect("the payload suite") {
        for abi in Abi::ALL {
            if !p.supports(abi, xsplice_build::Arch::X86_64) {
                continue;
            }
            let Some(path) = xsplice_testkit::test_payload(&p.name, abi.name(), "x86_64") else {
                return;
            };
            let parent = (p.manifest.depends != "xen").then(|| {
                let path = xsplice_testkit::test_payload(&p.manifest.depends, abi.name(), "x86_64")
                    .expect("the payload it stacks on");
                std::fs::read(path).unwrap()
            });
            cases.push(Case {
                label: format!("{} ({abi})", p.name),
                bytes: std::fs::read(path).unwrap(),
                parent,
            });
        }
    }
    let Some(fx) = fixture("x86_64") else { return };
    assert_eq!(fx.xen, xen, "the corpus is built against the stand-in");
    for m in x86_mutants() {
        // The simulator cannot hide its image's build-id nor load a
        // payload 3 GiB away: those mutants are of the environment.
        if matches!(m.env, Env::NoBuildId | Env::FarAway) {
            continue;
        }
        cases.push(Case {
            label: format!("mutant `{}` ({})", m.name, m.check),
            bytes: m.apply(&fx.payload),
            parent: (m.env == Env::SameBuildId).then(|| fx.payload.clone()),
        });
    }

    let mut disagreements = Vec::new();
    let mut compared = 0;
    for xen_version in releases() {
        let opts = Options {
            xen: Some(xen_version),
        };
        let boot = || {
            Hypervisor::boot("xen-syms", &xen, Some(xen_version), Duration::from_secs(5))
                .expect("boot the stand-in")
        };
        let mut hv = boot();
        for case in &cases {
            let mut env = Environment {
                target: Some(&image as &dyn TargetImage),
                ..Default::default()
            };
            if let Some(parent) = &case.parent {
                let report = env.load_after("parent", parent, &opts);
                // A parent this release refuses leaves nothing to stack on.
                if predicted(&report, &xen_version) != Outcome::Applied {
                    continue;
                }
                let sim = simulated(&mut hv, "parent", parent, false);
                assert_eq!(
                    sim,
                    Outcome::Applied,
                    "{} parent on {xen_version}",
                    case.label
                );
            }
            let want = predicted(&validate(&case.bytes, &opts, &env), &xen_version);
            let got = simulated(&mut hv, "payload", &case.bytes, true);
            compared += 1;
            if got != want {
                disagreements.push(format!(
                    "{} on Xen {xen_version}: validator {want:?}, simulator {got:?}",
                    case.label
                ));
            }
            if got == Outcome::Dies || hv.death().is_some() {
                hv = boot();
            } else if case.parent.is_some() {
                finish(&mut hv, "parent");
            }
        }
    }
    println!(
        "{compared} payload and release pairs compared ({} payloads, {} releases)",
        cases.len(),
        releases().len()
    );
    assert!(
        disagreements.is_empty(),
        "the validator and the simulator disagree:\n{}",
        disagreements.join("\n")
    );
}
