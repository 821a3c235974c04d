//! Properties of the pipeline rather than of one payload: reproducible
//! bytes across checkouts, a second run that does no work, printed commands
//! that rebuild the same payload from a shell script, and a failing step
//! that names itself and keeps the previous good outputs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use xsplice_abi::Abi;
use xsplice_build::{Arch, BuildError, Built, build_stand_in};

const ABI: Abi = Abi::LivepatchV2;
const ARCH: Arch = Arch::X86_64;

/// A second checkout in a temporary directory: a copy of the parts of the
/// tree the pipeline reads.
fn checkout() -> tempfile::TempDir {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let dest = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &dest);
            } else {
                std::fs::copy(entry.path(), dest).unwrap();
            }
        }
    }
    let tree = tempfile::tempdir().unwrap();
    copy_dir(
        &common::root().join("test-payloads"),
        &tree.path().join("test-payloads"),
    );
    tree
}

/// hello_world's manifest, relative to a checkout.
const HELLO_MANIFEST: &str = "test-payloads/hello_world/payload.json";

fn stand_in_or_skip() -> Option<std::path::PathBuf> {
    xsplice_testkit::stand_in_xen(ARCH.name())
}

/// A checkout of its own for a test that edits the tree, with the stand-in
/// hypervisor and an output directory inside it.
struct Edited {
    xen: PathBuf,
    tree: tempfile::TempDir,
    out: PathBuf,
}

impl Edited {
    /// `None` once the skip is reported (no compiler for the stand-in).
    fn new() -> Option<Self> {
        let xen = stand_in_or_skip()?;
        let tree = checkout();
        let out = tree.path().join("target");
        Some(Edited { xen, tree, out })
    }

    fn path(&self) -> &Path {
        self.tree.path()
    }

    /// Replaces `from` by `to` in the checkout's file `rel` (which must hold
    /// it) and returns the text as it was.
    fn edit(&self, rel: &str, from: &str, to: &str) -> String {
        let path = self.path().join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "`{rel}` has no {from:?}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        text
    }

    /// Builds payload `name` of the checkout, as `common::build` does.
    fn build(&self, name: &str) -> (Result<Built, BuildError>, String) {
        common::build(self.path(), name, ABI, ARCH, &self.xen, &self.out, false)
    }
}

#[test]
fn two_checkouts_build_identical_bytes() {
    if stand_in_or_skip().is_none() {
        return;
    }
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let tree = checkout();
        let out = tree.path().join("target");
        let xen = build_stand_in(tree.path(), &out, ARCH, false).unwrap().path;
        let (built, log) = common::build(tree.path(), "bye_world", ABI, ARCH, &xen, &out, false);
        let built = built.unwrap_or_else(|e| panic!("{e}\n{log}"));
        let hello = built.stack[0].clone();
        outputs.push((
            std::fs::read(&xen).unwrap(),
            std::fs::read(&hello).unwrap(),
            std::fs::read(&built.payload).unwrap(),
        ));
    }
    assert!(
        outputs[0].0 == outputs[1].0,
        "xen-syms differs between checkouts"
    );
    assert!(
        outputs[0].1 == outputs[1].1,
        "hello_world differs between checkouts"
    );
    assert!(
        outputs[0].2 == outputs[1].2,
        "bye_world differs between checkouts"
    );
}

#[test]
fn second_run_does_no_work_and_force_redoes_all() {
    let Some(xen) = stand_in_or_skip() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let root = common::root();
    let (first, _) = common::build(&root, "hello_world", ABI, ARCH, &xen, out.path(), false);
    let first = first.unwrap();
    assert_eq!(first.steps_run, 5);
    let bytes = std::fs::read(&first.payload).unwrap();

    let (again, log) = common::build(&root, "hello_world", ABI, ARCH, &xen, out.path(), false);
    assert_eq!(again.unwrap().steps_run, 0, "second run did work:\n{log}");
    assert!(
        log.lines().all(|l| l.starts_with("# up to date: ")),
        "{log}"
    );

    let (forced, _) = common::build(&root, "hello_world", ABI, ARCH, &xen, out.path(), true);
    let forced = forced.unwrap();
    assert_eq!(forced.steps_run, 5);
    assert_eq!(std::fs::read(&forced.payload).unwrap(), bytes);
}

#[test]
fn printed_commands_replay_in_a_shell() {
    let Some(xen) = stand_in_or_skip() else {
        return;
    };
    let Some(sh) = xsplice_testkit::require_tool("sh", "replaying the printed commands") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let root = common::root();
    let (built, log) = common::build(&root, "bye_world", ABI, ARCH, &xen, out.path(), false);
    let built = built.unwrap_or_else(|e| panic!("{e}\n{log}"));
    let files = [
        built.stack[0].clone(),
        built.payload.clone(),
        built.config_h.clone(),
        built.report.clone(),
    ];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    // Remove every output, then rebuild by hand from the printed lines.
    std::fs::remove_dir_all(out.path().join(ABI.name())).unwrap();
    for f in &files {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    }
    let script = format!("set -e\n{log}");
    let run = Command::new(sh).arg("-c").arg(&script).output().unwrap();
    assert!(
        run.status.success(),
        "script failed:\n{script}\nstderr:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for (f, old) in files.iter().zip(&before) {
        assert!(
            std::fs::read(f).unwrap() == *old,
            "`{}` differs after replaying:\n{script}",
            f.display()
        );
    }
}

#[test]
fn failing_step_is_named_and_keeps_previous_outputs() {
    let Some(tree) = Edited::new() else {
        return;
    };
    let (good, _) = tree.build("hello_world");
    let good = good.unwrap();
    let payload_bytes = std::fs::read(&good.payload).unwrap();
    let funcs_obj = good.dir.join("hello_world.o");
    let obj_bytes = std::fs::read(&funcs_obj).unwrap();

    // Break step 3: the .funcs file no longer compiles.
    let hello_c = "test-payloads/hello_world/hello_world.c";
    let text = tree.edit(hello_c, "OLD_CODE_SZ,", "OLD_CODE_SZ +,");
    let (bad, _) = tree.build("hello_world");
    match bad {
        Err(BuildError::Failed { step, .. }) => assert!(step.starts_with("step 3"), "{step}"),
        other => panic!("expected step 3 to fail, got {other:?}"),
    }
    assert_eq!(std::fs::read(&good.payload).unwrap(), payload_bytes);
    assert_eq!(std::fs::read(&funcs_obj).unwrap(), obj_bytes);

    // Fixed again: the build picks up where it failed and gives the same bytes.
    std::fs::write(tree.path().join(hello_c), text).unwrap();
    let (again, _) = tree.build("hello_world");
    let again = again.unwrap();
    assert_eq!(again.steps_run, 1, "only step 3 had to run again");
    assert_eq!(std::fs::read(&again.payload).unwrap(), payload_bytes);
}

#[test]
fn missing_symbol_fails_step_2() {
    let Some(tree) = Edited::new() else {
        return;
    };
    tree.edit(
        HELLO_MANIFEST,
        "{xen}:xen_extra_version",
        "{xen}:xen_no_such",
    );
    let (bad, log) = tree.build("hello_world");
    match bad {
        Err(BuildError::Failed { step, stderr, .. }) => {
            assert!(step.starts_with("step 2"), "{step}");
            assert!(stderr.contains("xen_no_such"), "{stderr}");
        }
        other => panic!("expected step 2 to fail, got {other:?}\n{log}"),
    }
}

#[test]
fn dependency_cycle_and_unsupported_abi_are_errors() {
    let Some(tree) = Edited::new() else {
        return;
    };
    tree.edit(
        HELLO_MANIFEST,
        r#""depends": "xen""#,
        r#""depends": "bye_world""#,
    );
    let (bad, _) = tree.build("bye_world");
    let msg = bad.unwrap_err().to_string();
    assert!(
        msg.ends_with("depends on itself: bye_world -> hello_world -> bye_world"),
        "{msg}"
    );

    let root = common::root();
    let (bad, _) = common::build(
        &root,
        "expectations",
        Abi::LivepatchV1,
        ARCH,
        &tree.xen,
        &tree.out,
        false,
    );
    let msg = bad.unwrap_err().to_string();
    assert_eq!(
        msg,
        "payload `expectations`: not built for livepatch-v1 on x86_64 (see its payload.json)"
    );
}
