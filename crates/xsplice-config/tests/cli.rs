//! Drives the `xsplice-config` binary on ELF files written by the test
//! itself with `object::write`, so every value is known and the snapshots
//! do not depend on the compiler installed: every preset's output, the
//! JSON form, both ELF classes, every error message, and the promises about
//! the output file (untouched on failure, not rewritten when unchanged).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use object::SymbolKind::{File, Text};
use object::write::{Object, StandardSection, SymbolSection};
use object::{Architecture, BinaryFormat, Endianness, SymbolScope};
use xsplice_testkit::fixture::{add_build_id_note, add_symbols};
use xsplice_testkit::{run, tool_binary};

/// The synthetic "hypervisor": the symbols the presets read, and one of
/// each kind of trouble.
fn xen_image(arch: Architecture) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    let code: Vec<u8> = (0..0x60u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(0x40))
        .collect();
    obj.set_section_data(text, code, 16);
    let rodata = obj.section_id(StandardSection::ReadOnlyData);
    obj.set_section_data(rodata, vec![0xaa; 16], 8);
    let bss = obj.section_id(StandardSection::UninitializedData);
    obj.append_section_bss(bss, 16, 8);
    let [t, r, b] = [text, rodata, bss].map(SymbolSection::Section);
    let (local, global) = (SymbolScope::Compilation, SymbolScope::Linkage);
    add_symbols(
        &mut obj,
        &[
            ("xen_minor_version", 0x10, 14, Text, global, false, t),
            ("xen_extra_version", 0x20, 15, Text, global, false, t),
            ("tiny", 0x30, 3, Text, global, false, t),
            ("zero_sized", 0x34, 0, Text, global, false, t),
            ("console.c", 0, 0, File, local, false, SymbolSection::None),
            ("emit", 0x40, 8, Text, local, false, t),
            ("hooklog.c", 0, 0, File, local, false, SymbolSection::None),
            ("emit", 0x48, 8, Text, local, false, t),
            (
                "printk",
                0,
                0,
                Text,
                global,
                false,
                SymbolSection::Undefined,
            ),
            // Claims 64 bytes but its section ends 4 bytes after it.
            ("overhanging", 12, 64, Text, global, false, r),
            ("counter", 0, 4, Text, global, false, b),
        ],
    );
    add_build_id_note(&mut obj, &(1..=20u8).collect::<Vec<u8>>());
    obj.write().unwrap()
}

/// The replacement-function object: `xen_hello_world`, 0x13 bytes.
fn new_object() -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.set_section_data(text, vec![0xc3; 0x20], 16);
    let t = SymbolSection::Section(text);
    add_symbols(
        &mut obj,
        &[(
            "xen_hello_world",
            0,
            0x13,
            Text,
            SymbolScope::Linkage,
            false,
            t,
        )],
    );
    obj.write().unwrap()
}

/// Fixture files in one temporary directory, shared by all tests; the
/// binary runs with that directory as its working directory, so messages
/// and snapshots show short relative paths.
fn fixture_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("xen-syms"), xen_image(Architecture::X86_64)).unwrap();
        std::fs::write(dir.path().join("xen32-syms"), xen_image(Architecture::Arm)).unwrap();
        std::fs::write(dir.path().join("hello.o"), new_object()).unwrap();
        std::fs::write(dir.path().join("not-elf.txt"), "#define NOT_AN_OBJECT 1\n").unwrap();
        dir
    })
    .path()
}

/// Runs the binary in `cwd` (the fixture directory by default) and
/// returns (exit code, stdout, stderr).
fn xsplice_config_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(tool_binary("xsplice-config"));
    cmd.current_dir(cwd).args(args);
    let (code, out, err) = run(&mut cmd);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn xsplice_config(args: &[&str]) -> (i32, String, String) {
    xsplice_config_in(fixture_dir(), args)
}

/// Runs the binary in the fixture directory and checks how it ended: a
/// success (`success`) with nothing on stderr, or a failure with nothing
/// on stdout; fails with the whole run otherwise.
fn checked(args: &[&str], success: bool) -> (i32, String, String) {
    let (code, out, err) = xsplice_config(args);
    let shown = format!(
        "xsplice-config {}\nexit {code}\nstdout:\n{out}\nstderr:\n{err}",
        args.join(" ")
    );
    assert_eq!(code == 0, success, "{shown}");
    let quiet = if success { &err } else { &out };
    assert_eq!(quiet, "", "{shown}");
    (code, out, err)
}

/// A successful run's stdout.
fn output(args: &[&str]) -> String {
    checked(args, true).1
}

/// A failed run as `exit N` plus stderr.
fn failure(args: &[&str]) -> String {
    let (code, _, err) = checked(args, false);
    format!("$ xsplice-config {}\nexit {code}\n{err}", args.join(" "))
}

#[test]
fn preset_seed() {
    insta::assert_snapshot!(output(&[
        "--preset",
        "seed",
        "--target",
        "xen-syms",
        "--new-obj",
        "hello.o"
    ]));
}

#[test]
fn preset_xen_test() {
    insta::assert_snapshot!(output(&[
        "--preset",
        "xen-test",
        "--target",
        "xen-syms",
        "--new-obj",
        "hello.o"
    ]));
}

#[test]
fn preset_xen_test_expect() {
    insta::assert_snapshot!(output(&[
        "--preset",
        "xen-test-expect",
        "--target",
        "xen-syms"
    ]));
}

/// The inputs are mapped, not read: of a hypervisor image (24 MB with
/// debug information) only the headers, the symbol table and the bytes at
/// a symbol are looked at. A 1 GiB image, sparse past its ELF contents, is
/// written alike under a 64 MiB data limit (`ulimit -d`), which bounds a
/// copy on the heap but not a read-only map.
#[cfg(target_os = "linux")]
#[test]
fn a_large_image_is_mapped_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("xen-syms");
    std::fs::write(&image, xen_image(Architecture::X86_64)).unwrap();
    std::fs::write(dir.path().join("hello.o"), new_object()).unwrap();
    let args = [
        "--preset",
        "xen-test",
        "--target",
        "xen-syms",
        "--new-obj",
        "hello.o",
        "--define",
        "E=expect:8:xen-syms:xen_extra_version",
        "--define",
        "ID=build-id:xen-syms",
    ];
    let (code, small, err) = xsplice_config_in(dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    std::fs::File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir.path())
        .arg("-c")
        .arg(r#"ulimit -d 65536 && exec "$0" "$@""#)
        .arg(tool_binary("xsplice-config"))
        .args(args);
    let (code, out, err) = run(&mut cmd);
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, 0, "{cmd:?}: {err}");
    assert_eq!(String::from_utf8_lossy(&out), small);
}

#[test]
fn general_defines_and_elf32_widths() {
    insta::assert_snapshot!(output(&[
        "--define",
        "ADDR64=addr:xen-syms:xen_extra_version",
        "--define",
        "ADDR32=addr:xen32-syms:xen_extra_version",
        "--define",
        "SIZE32=size:xen32-syms:xen_minor_version",
        "--define",
        "STATIC=addr:xen-syms:hooklog.c#emit",
        "--define",
        "EXPECT=expect:3:xen-syms:tiny",
        "--define",
        "ID=build-id:xen-syms",
    ]));
}

#[test]
fn json_format() {
    insta::assert_snapshot!(output(&[
        "--format",
        "json",
        "--preset",
        "xen-test-expect",
        "--target",
        "xen-syms",
        "--define",
        "OLD=addr:xen-syms:xen_extra_version",
        "--define",
        "ID=build-id:xen-syms",
    ]));
}

/// One test per bad `--define`, named after what is wrong with it, each
/// with its own snapshot of the failure.
macro_rules! define_errors {
    ($($name:ident: $define:literal,)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(failure(&["--define", $define]));
        }
    )*};
}

define_errors! {
    error_symbol_not_found: "X=addr:xen-syms:xen_extra",
    error_ambiguous_symbol_lists_candidates: "X=addr:xen-syms:emit",
    error_zero_size: "X=size:xen-syms:zero_sized",
    error_undefined_symbol: "X=addr:xen-syms:printk",
    error_not_elf: "X=addr:not-elf.txt:main",
    error_expect_beyond_symbol: "X=expect:4:xen-syms:tiny",
    error_expect_beyond_section: "X=expect:8:xen-syms:overhanging",
    error_expect_over_31: "X=expect:32:xen-syms:xen_extra_version",
    error_expect_without_file_bytes: "X=expect:4:xen-syms:counter",
    error_no_build_id: "X=build-id:hello.o",
}

#[test]
fn error_usage() {
    let cases: [&[&str]; 6] = [
        &[],
        // The image's old spelling, still taken.
        &["--preset", "seed", "--xen-syms", "xen-syms"],
        &["--preset", "kpatch", "--target", "xen-syms"],
        &[
            "--define",
            "X=addr:xen-syms:tiny",
            "--define",
            "X=size:xen-syms:tiny",
        ],
        &["--define", "X=addr:missing-file:tiny"],
        &["--define", "lower-case=addr:xen-syms:tiny"],
    ];
    let text: Vec<String> = cases.iter().map(|args| failure(args)).collect();
    insta::assert_snapshot!(text.join("\n"));
}

fn mtime(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// A scratch directory holding copies of the fixtures and a config.h.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["xen-syms", "hello.o"] {
        std::fs::copy(fixture_dir().join(f), dir.path().join(f)).unwrap();
    }
    let config = dir.path().join("config.h");
    (dir, config)
}

const SEED: [&str; 8] = [
    "-o",
    "config.h",
    "--preset",
    "seed",
    "--target",
    "xen-syms",
    "--new-obj",
    "hello.o",
];

#[test]
fn failed_run_leaves_output_untouched() {
    let (dir, config) = scratch();
    std::fs::write(&config, "#define KEEP 1\n").unwrap();
    let (code, _, err) = xsplice_config_in(
        dir.path(),
        &["-o", "config.h", "--define", "X=addr:xen-syms:nope"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "#define KEEP 1\n"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "no temporary file left behind: {names:?}");
}

#[test]
fn unchanged_output_is_not_rewritten() {
    let (dir, config) = scratch();
    let (code, _, err) = xsplice_config_in(dir.path(), &SEED);
    assert_eq!(code, 0, "{err}");
    let first = std::fs::read(&config).unwrap();
    // Backdate the file so a rewrite would be visible whatever the clock's
    // resolution.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&config)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (code, _, err) = xsplice_config_in(dir.path(), &SEED);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mtime(&config), old, "unchanged config.h was rewritten");
    assert_eq!(std::fs::read(&config).unwrap(), first);

    // A changed result is written.
    std::fs::write(&config, "#define STALE 1\n").unwrap();
    let (code, _, err) = xsplice_config_in(dir.path(), &SEED);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&config).unwrap(), first);
}
