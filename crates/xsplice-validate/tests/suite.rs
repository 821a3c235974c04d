//! Every payload of the test suite (`test-payloads/`, each ABI and arch it
//! is built for) validates against the stand-in hypervisor with exactly the
//! outcome its manifest declares, and its canonical inspect dump is an insta
//! snapshot, one file per ABI and arch.
//!
//! Payloads come from `xsplice_testkit::test_payload`, which builds them with
//! the project's pipeline on demand; stacked payloads are validated after the
//! payload they depend on, as the hypervisor would load them.

mod common;

use common::redact;
use std::collections::BTreeSet;
use std::path::Path;

use xsplice_validate::{CheckId, Environment, Options, TargetImage, XenImage, inspect, validate};

const ABIS: &[&str] = &["xsplice-v4", "xsplice", "livepatch-v1", "livepatch-v2"];
const ARCHES: &[&str] = &["x86_64", "aarch64", "arm32"];

struct Manifest {
    name: String,
    abis: Vec<String>,
    arches: Vec<String>,
    depends: String,
    expect_failure: Option<String>,
}

fn manifests() -> Vec<Manifest> {
    let dir = xsplice_testkit::workspace_root().join("test-payloads");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("test-payloads/")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let json = path.join("payload.json");
        let Ok(text) = std::fs::read_to_string(&json) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).expect("payload.json");
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        out.push(Manifest {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            abis: list("abis"),
            arches: list("arches"),
            depends: v["depends"].as_str().unwrap_or("xen").to_string(),
            expect_failure: v["expect_failure"].as_str().map(String::from),
        });
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_test_payload() {
    let manifests = manifests();
    assert!(!manifests.is_empty(), "no test payloads found");
    let mut failures = Vec::new();
    for &arch in ARCHES {
        let Some(xen_path) = xsplice_testkit::stand_in_xen(arch) else {
            continue;
        };
        let xen = std::fs::read(&xen_path).unwrap();
        let image = XenImage::parse("xen-syms", &xen).unwrap();
        for &abi in ABIS {
            let abi_value: xsplice_abi::Abi = abi.parse().unwrap();
            if !abi_value.arches().iter().any(|a| a.name() == arch) {
                continue;
            }
            let mut dumps = String::new();
            for m in &manifests {
                if !m.abis.iter().any(|a| a == abi) || !m.arches.iter().any(|a| a == arch) {
                    continue;
                }
                let Some(path) = xsplice_testkit::test_payload(&m.name, abi, arch) else {
                    continue;
                };
                let bytes = std::fs::read(&path).unwrap();
                let mut env = Environment {
                    target: Some(&image as &dyn TargetImage),
                    ..Default::default()
                };
                if m.depends != "xen" {
                    let parent = xsplice_testkit::test_payload(&m.depends, abi, arch)
                        .expect("the payload it stacks on");
                    let parent_bytes = std::fs::read(&parent).unwrap();
                    env.load_after(&file_name(&parent), &parent_bytes, &Options::default());
                    assert_eq!(env.loaded.len(), 1, "{} models", m.depends);
                }
                let report = validate(&bytes, &Options::default(), &env);
                let errors: BTreeSet<CheckId> = report.error_ids().into_iter().collect();
                let expected: BTreeSet<CheckId> = match &m.expect_failure {
                    Some(id) => [CheckId::parse(id).expect("a check id")].into(),
                    None => BTreeSet::new(),
                };
                // The seed's layout is checked against its own era, the
                // xSplice v4 series, and carries its one warning: no
                // released Xen loads it.
                let v07 = report
                    .findings
                    .iter()
                    .filter(|f| f.check == CheckId::V07)
                    .count();
                let v07_ok = v07 == usize::from(abi == "xsplice-v4");
                if errors != expected || !v07_ok {
                    let mut text = Vec::new();
                    report.write_text(&mut text, &file_name(&path)).unwrap();
                    failures.push(format!(
                        "{} ({abi}, {arch}) expected errors {expected:?} and {} V-07:\n{}",
                        m.name,
                        usize::from(abi == "xsplice-v4"),
                        String::from_utf8_lossy(&text)
                    ));
                }
                let mut dump = Vec::new();
                match inspect(&mut dump, &file_name(&path), &bytes, &env) {
                    Ok(()) => {
                        dumps += &format!("=== {}\n{}\n", m.name, String::from_utf8(dump).unwrap());
                    }
                    Err(e) => failures.push(format!("{} ({abi}, {arch}): {e}", m.name)),
                }
            }
            if !dumps.is_empty() {
                insta::assert_snapshot!(format!("inspect_{abi}_{arch}"), redact(&dumps));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
