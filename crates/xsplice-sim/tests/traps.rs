//! Exception tables and bug frames, proven by behaviour: the stand-in's own
//! guarded read returns its fixup's -EFAULT, its WARN prints Xen's line and
//! goes on, its BUG and ASSERT are the hypervisor's panic; a payload's own
//! `.ex_table` entry and `.bug_frames.1` frame are used once it is loaded;
//! payloads whose tables are not whole elements are refused at upload with
//! the validator's check id.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;

use common::{assert_refused, load, minor_line, stand_in, stand_in_with, v2_payload};
use xsplice_sim::SimError;

/// The 1-based line of the first line of `file` (under `test-payloads/`)
/// that contains `needle`: the line a frame must report.
fn line_of(file: &str, needle: &str) -> usize {
    let path = xsplice_testkit::workspace_root()
        .join("test-payloads")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in {}", path.display()))
        + 1
}

/// The panic message of a call that must kill the hypervisor.
fn panic_of(result: Result<u64, SimError>) -> String {
    match result {
        Err(SimError::Crashed(d)) => d
            .panic
            .clone()
            .unwrap_or_else(|| format!("no panic: {d:?}")),
        other => panic!("expected a crash, got {other:?}"),
    }
}

#[test]
fn the_stand_in_handles_its_own_faults_and_frames() {
    let Some(mut hv) = stand_in(None) else {
        return;
    };

    // A read of the unmapped first page resumes at the fixup: -EFAULT.
    let rc = hv.call_function("xen_guarded_probe").unwrap();
    assert_eq!(rc as i64, -14);

    let warn = line_of("xen/traps.c", "WARN_ON(");
    assert_eq!(hv.call_function("xen_warn_probe").unwrap(), 4);
    assert_eq!(
        hv.take_console(),
        vec![format!("(XEN) Xen WARN at traps.c:{warn}")]
    );

    let bug = line_of("xen/traps.c", "BUG_ON(");
    assert_eq!(
        panic_of(hv.call_function("xen_bug_probe")),
        format!("Xen BUG at traps.c:{bug}")
    );

    hv.restart().unwrap();
    let assert = line_of("xen/traps.c", "ASSERT(");
    assert_eq!(
        panic_of(hv.call_function("xen_assert_probe")),
        format!("Assertion 'xen_version_numbers[0] == 5' failed at traps.c:{assert}")
    );

    // The simulator itself goes on: a fresh image works again.
    hv.restart().unwrap();
    assert_eq!(hv.call_function("xen_guarded_probe").unwrap() as i64, -14);
}

#[test]
fn a_payloads_exception_table_fixes_up_its_fault() {
    let Some(mut hv) = stand_in(None) else {
        return;
    };
    assert!(hv.info().unwrap().contains("xen_minor              : 22\n"));
    load(&mut hv, "extable", &v2_payload("extable"));
    // The payload's read faults; its own fixup makes it return 33.
    let info = hv.info().unwrap();
    assert!(info.contains("xen_minor              : 33\n"), "{info}");
    assert!(hv.death().is_none());
    hv.revert("extable").unwrap();
    assert!(hv.info().unwrap().contains("xen_minor              : 22\n"));
}

#[test]
fn a_payloads_warning_frame_prints_its_file_and_line() {
    let Some(mut hv) = stand_in_with("warn") else {
        return;
    };
    hv.take_console();
    let info = hv.info().unwrap();
    assert!(info.contains("xen_minor              : 24\n"), "{info}");
    let line = line_of("warn/warn_func.c", "WARN();");
    assert_eq!(
        hv.take_console(),
        vec![format!("(XEN) Xen WARN at warn_func.c:{line}")]
    );
}

#[test]
fn tables_that_are_not_whole_elements_are_refused_at_upload() {
    let Some(mut hv) = stand_in(None) else {
        return;
    };
    for (name, check, section) in [
        ("extable_misaligned", "C-108", ".ex_table"),
        ("warn_misaligned", "C-105", ".bug_frames.1"),
    ] {
        assert_refused(&mut hv, name, &v2_payload(name), section, check);
        assert!(hv.list().is_empty());
    }
}

#[test]
fn a_payloads_bug_frame_is_the_hypervisors_panic_not_the_simulators() {
    let Some(xen) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let payload = xsplice_testkit::test_payload("bug", "livepatch-v2", "x86_64").unwrap();
    let mut cmd = std::process::Command::new(xsplice_testkit::tool_binary("xsplice-sim"));
    cmd.arg("--target")
        .arg(&xen)
        .arg(format!("load {}; info; restart; info", payload.display()));
    let (code, out, err) = xsplice_testkit::run(&mut cmd);
    let (out, err) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
    let line = line_of("bug/bug_func.c", "BUG();");
    let bug = format!("Xen BUG at bug_func.c:{line}");
    // The session goes on after the panic: a fresh image answers again.
    assert!(
        code == 1
            && err.contains(&format!("(XEN) {bug}\n"))
            && err.contains(&format!("(XEN) PANIC: {bug}\n"))
            && out.contains("xen_minor              : 22\n"),
        "exit {code}\n{out}{err}"
    );
}

/// The `run_fn` payload's `.bug_frames.0` frame: its `ud2` traps, the
/// hypervisor runs the frame's function with the trap's registers in Xen's
/// `struct cpu_user_regs` layout (it adds 10 to the saved rax) and goes on
/// after the `ud2`: minor 31, and nothing on the console.
#[test]
fn a_run_fn_frame_runs_its_function_and_goes_on() {
    let Some(mut hv) = stand_in_with("run_fn") else {
        return;
    };
    hv.take_console();
    for _ in 0..2 {
        assert_eq!(minor_line(&mut hv), "xen_minor              : 31");
    }
    assert!(hv.death().is_none());
    assert_eq!(hv.take_console(), Vec::<String>::new());
    // Reverted, the trap is gone with the payload's code.
    hv.revert("run_fn").unwrap();
    let info = hv.info().unwrap();
    assert!(!info.contains("xen_minor              : 31"), "{info}");
}
