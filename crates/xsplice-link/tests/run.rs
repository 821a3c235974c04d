//! Run what we link: small C programs split over several objects are
//! partially linked with `xsplice-link`, then linked into an executable
//! with the C compiler and run (natively on x86_64, under `qemu-user` for
//! aarch64 and arm32). A wrong addend, a lost relocation or a misplaced
//! section shows up as wrong output or a crash.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{AARCH64, ARM32, Arch, X86_64, compile, must, our_link};

const MAIN_C: &str = r#"
#include <stdio.h>
extern const char *greeting(int i);
extern int counter_bump(int by);
extern int table_sum(void);
extern int pick(int i);
extern int weak_or_strong(void);
int main(void) {
    int total = 0;
    for (int i = 0; i < 5; i++) total += counter_bump(i);
    printf("%s %s %s\n", greeting(0), greeting(1), greeting(5));
    printf("bump=%d sum=%d pick=%d,%d,%d weak=%d\n", total, table_sum(), pick(0), pick(1), pick(2), weak_or_strong());
    return 0;
}
"#;

const LIB1_C: &str = r#"
static int counter = 100;
static const char *const words[] = { "alpha", "beta", "gamma" };
static const char suffix[] = "-tail";
int counter_bump(int by) { counter += by; return counter; }
const char *greeting(int i) { return i < 3 ? words[i] : suffix; }
__attribute__((weak)) int weak_or_strong(void) { return 1; }
"#;

const LIB2_C: &str = r#"
static int counter = 7;
static int table[6] = { 1, 2, 3, 4, 5, 6 };
static int twice(int x) { return 2 * x + counter; }
static int thrice(int x) { return 3 * x; }
static int (*const ops[])(int) = { twice, thrice, twice };
int table_sum(void) { int s = 0; for (int i = 0; i < 6; i++) s += table[i]; return s + counter; }
int pick(int i) { return ops[i](i + 10); }
int weak_or_strong(void) { return 2; }
"#;

const EXPECTED: &str = "alpha beta -tail\nbump=520 sum=28 pick=27,33,31 weak=2\n";

fn run_program(arch: Arch, flag_sets: &[&[&str]]) {
    if !arch.available() {
        return;
    }
    let runner = if arch.runner.is_empty() {
        None
    } else {
        match xsplice_testkit::require_tool(arch.runner, "running cross-built programs") {
            Some(r) => Some(r),
            None => return,
        }
    };
    for flags in flag_sets {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let objs: Vec<PathBuf> = [("main.c", MAIN_C), ("lib1.c", LIB1_C), ("lib2.c", LIB2_C)]
            .iter()
            .map(|(name, src)| compile(&arch, d, name, src, flags))
            .collect();
        let partial = d.join("partial.o");
        our_link(d, &partial, &objs, &[])
            .unwrap_or_else(|(c, e)| panic!("xsplice-link failed ({c}): {e}"));
        let out = link_and_run(
            &arch,
            runner.as_deref(),
            d,
            "prog",
            std::slice::from_ref(&partial),
        );
        // The same objects linked directly must agree (guards EXPECTED itself).
        let direct_out = link_and_run(&arch, runner.as_deref(), d, "direct", &objs);
        assert_eq!(
            String::from_utf8_lossy(&direct_out),
            EXPECTED,
            "the reference program disagrees"
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            EXPECTED,
            "{} with {flags:?}: wrong output from the program linked from {}",
            arch.name,
            partial.display()
        );
    }
}

/// Links `inputs` into the program `dir/name` with the compiler driver
/// (statically when a `runner` emulates the target), runs it and returns
/// its output.
fn link_and_run(
    arch: &Arch,
    runner: Option<&Path>,
    dir: &Path,
    name: &str,
    inputs: &[PathBuf],
) -> Vec<u8> {
    let exe = dir.join(name);
    let mut cc = Command::new(arch.gcc);
    cc.current_dir(dir).arg("-o").arg(&exe).args(inputs);
    if runner.is_some() {
        cc.arg("-static");
    }
    must(&mut cc);
    match runner {
        Some(r) => must(Command::new(r).arg(&exe)),
        None => must(&mut Command::new(&exe)),
    }
}

#[test]
fn run_x86_64() {
    run_program(
        X86_64,
        &[
            &["-O2"],
            &["-O2", "-ffunction-sections", "-fdata-sections"],
            &["-O0", "-fPIC"],
        ],
    );
}

#[test]
fn run_aarch64() {
    run_program(
        AARCH64,
        &[
            &["-O2"],
            &["-O2", "-ffunction-sections", "-fdata-sections"],
            &["-O0"],
        ],
    );
}

#[test]
fn run_arm32() {
    run_program(
        ARM32,
        &[
            &["-O2", "-mthumb"],
            &["-O2", "-marm", "-fno-pic"],
            &["-O1", "-marm", "-ffunction-sections"],
            &["-O0", "-mthumb", "-fno-pic"],
        ],
    );
}
