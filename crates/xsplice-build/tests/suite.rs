//! End to end: every payload of the suite, for every ABI and architecture
//! its manifest lists, built through the real tool binaries against the
//! stand-in hypervisor, with a snapshot of what each step produced:
//! `config.h`, the `xsplice-inspect` dump and the validation report.
//!
//! x86_64 always runs; aarch64 and arm32 need the Debian cross compilers
//! and skip without them (a failure under CI).

mod common;

use std::process::Command;

use xsplice_abi::Abi;
use xsplice_build::{Arch, Outcome, find_payload};

fn check_payload(name: &str) {
    let root = common::root();
    let payload = find_payload(&root, name).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut built_any = false;
    for arch in Arch::ALL {
        if !Abi::ALL.iter().any(|&abi| payload.supports(abi, arch)) {
            continue;
        }
        let Some(xen) = xsplice_testkit::stand_in_xen(arch.name()) else {
            continue;
        };
        for abi in Abi::ALL {
            if !payload.supports(abi, arch) {
                continue;
            }
            let (result, log) = common::build(&root, name, abi, arch, &xen, out.path(), false);
            let built = result
                .unwrap_or_else(|e| panic!("{name} {} {arch}: {e}\ncommands:\n{log}", abi.name()));
            let must_fail = payload.manifest.expect_failure.is_some();
            assert_eq!(
                matches!(built.outcome, Outcome::FailedAsExpected(_)),
                must_fail,
                "{name} {} {arch}: outcome {:?}",
                abi.name(),
                built.outcome
            );
            let inspect = Command::new(xsplice_testkit::tool_binary("xsplice-inspect"))
                .current_dir(&built.dir)
                .arg(built.payload.file_name().unwrap())
                .output()
                .unwrap();
            assert!(
                inspect.status.success(),
                "xsplice-inspect {}: {}",
                built.payload.display(),
                String::from_utf8_lossy(&inspect.stderr)
            );
            let doc = format!(
                "# config.h\n{}\n# xsplice-inspect {file}\n{}\n# xsplice-validate {file} --target xen-syms\n{}",
                std::fs::read_to_string(&built.config_h).unwrap(),
                String::from_utf8_lossy(&inspect.stdout),
                std::fs::read_to_string(&built.report).unwrap(),
                file = built.payload.file_name().unwrap().to_string_lossy(),
            );
            insta::assert_snapshot!(format!("{name}-{}-{arch}", abi.name()), doc);
            built_any = true;
        }
    }
    if !built_any {
        xsplice_testkit::skip(&format!("{name}: no architecture could be built"));
    }
}

#[test]
fn hello_world() {
    check_payload("hello_world");
}

#[test]
fn bye_world() {
    check_payload("bye_world");
}

#[test]
fn replace_world() {
    check_payload("replace_world");
}

#[test]
fn nop() {
    check_payload("nop");
}

#[test]
fn hooks() {
    check_payload("hooks");
}

#[test]
fn expectations() {
    check_payload("expectations");
}

#[test]
fn no_xen_buildid() {
    check_payload("no_xen_buildid");
}

#[test]
fn expectations_fail() {
    check_payload("expectations_fail");
}

#[test]
fn extable() {
    check_payload("extable");
}

#[test]
fn warn() {
    check_payload("warn");
}

#[test]
fn extable_misaligned() {
    check_payload("extable_misaligned");
}

#[test]
fn bug() {
    check_payload("bug");
}

#[test]
fn warn_misaligned() {
    check_payload("warn_misaligned");
}

#[test]
fn alternative() {
    check_payload("alternative");
}

#[test]
fn alternative_outside() {
    check_payload("alternative_outside");
}

#[test]
fn alternative_call() {
    check_payload("alternative_call");
}

#[test]
fn run_fn() {
    check_payload("run_fn");
}

#[test]
fn altcall() {
    check_payload("altcall");
}

#[test]
fn altcall_bad_site() {
    check_payload("altcall_bad_site");
}

/// Every directory of the suite has a test above.
#[test]
fn every_payload_is_tested() {
    let names: Vec<String> = xsplice_build::suite(&common::root())
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        [
            "altcall",
            "altcall_bad_site",
            "alternative",
            "alternative_call",
            "alternative_outside",
            "bug",
            "bye_world",
            "expectations",
            "expectations_fail",
            "extable",
            "extable_misaligned",
            "hello_world",
            "hooks",
            "no_xen_buildid",
            "nop",
            "replace_world",
            "run_fn",
            "warn",
            "warn_misaligned"
        ]
    );
}
