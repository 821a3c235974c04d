//! Fixtures shared by the `xsplice-nm` integration tests: a small object
//! written with the `object` crate, so that the tests need no compiler,
//! helpers that run the real binary, and the batched comparison with GNU
//! nm that the differential tests share.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::write::{Object, SectionId, StandardSection, SymbolSection as WSection};
use object::{Architecture, BinaryFormat, Endianness, SectionKind, SymbolKind, SymbolScope};
use xsplice_testkit::fixture::{FixtureSymbol, add_symbols};

/// An x86-64 ET_REL with two statics called `helper` in files `a.c` and
/// `b.c`, a global function, a weak object, a `.bss` variable, a common
/// symbol and an undefined reference.
pub fn small_object() -> Vec<u8> {
    small_object_for(Architecture::X86_64)
}

/// The same symbols for another architecture (ELF32 for i386 and arm).
pub fn small_object_for(arch: Architecture) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let sections = small_sections(&mut obj);
    let comment = obj.add_section(Vec::new(), b".comment".to_vec(), SectionKind::OtherString);
    obj.append_section_data(comment, b"xsplice\0", 1);
    add_symbols(&mut obj, &small_symbols(sections, true));
    obj.write().expect("write fixture")
}

/// The same symbols in an x86-64 COFF object (with `.file` entries and
/// the section symbols the `object` crate writes).
pub fn small_coff() -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Coff, Architecture::X86_64, Endianness::Little);
    let sections = small_sections(&mut obj);
    add_symbols(&mut obj, &small_symbols(sections, false));
    obj.write().expect("write fixture")
}

/// The `.text`, `.data` and `.bss` of the small fixtures.
fn small_sections(obj: &mut Object<'_>) -> [SectionId; 3] {
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0x90; 32], 16);
    let data = obj.section_id(StandardSection::Data);
    obj.append_section_data(data, &[1, 0, 0, 0, 2, 0, 0, 0], 8);
    let bss = obj.section_id(StandardSection::UninitializedData);
    obj.append_section_bss(bss, 16, 8);
    [text, data, bss]
}

/// The symbols of the small fixtures; without `sized` every size is 0, as
/// COFF symbols have none.
fn small_symbols(sections: [SectionId; 3], sized: bool) -> Vec<FixtureSymbol<'static>> {
    use SymbolKind::{Data, File, Text, Unknown};
    let (local, global) = (SymbolScope::Compilation, SymbolScope::Dynamic);
    let [t, d, b] = sections.map(WSection::Section);
    [
        ("a.c", 0, 0, File, local, false, WSection::None),
        ("helper", 0, 8, Text, local, false, t),
        ("counter", 0, 8, Data, local, false, b),
        ("b.c", 0, 0, File, local, false, WSection::None),
        ("helper", 8, 8, Text, local, false, t),
        ("entry", 16, 16, Text, global, false, t),
        ("table", 0, 8, Data, global, true, d),
        ("shared", 16, 4, Data, global, false, WSection::Common),
        ("missing", 0, 0, Unknown, global, false, WSection::Undefined),
    ]
    .map(|(name, value, size, kind, scope, weak, section)| {
        let size = if sized { size } else { 0 };
        (name, value, size, kind, scope, weak, section)
    })
    .to_vec()
}

/// Runs `xsplice-nm` with `args` in `dir` under `LC_ALL=C`: (exit status,
/// stdout, stderr), stdout and stderr as text.
pub fn xsplice_nm(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (code, out, err) = xsplice_testkit::run(
        Command::new(env!("CARGO_BIN_EXE_xsplice-nm"))
            .current_dir(dir)
            .env("LC_ALL", "C")
            .args(args),
    );
    assert_ne!(
        code,
        101,
        "xsplice-nm panicked: {}",
        String::from_utf8_lossy(&err)
    );
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// GNU nm and our binary, the two sides of every comparison; `None` once
/// the skip is reported when GNU nm is missing (a failure under CI).
pub fn nm_and_ours() -> Option<(PathBuf, PathBuf)> {
    let nm = xsplice_testkit::require_tool("nm", "GNU nm is the reference")?;
    Some((nm, PathBuf::from(env!("CARGO_BIN_EXE_xsplice-nm"))))
}

/// Runs GNU nm the same way, if it is installed.
pub fn gnu_nm(dir: &Path, args: &[&str]) -> Option<(i32, String, String)> {
    let (nm, _) = nm_and_ours()?;
    // argv[0] `nm`, so that messages start with `nm:` as ours do.
    let (code, out, err) = xsplice_testkit::run(
        Command::new(nm)
            .arg0("nm")
            .current_dir(dir)
            .env("LC_ALL", "C")
            .args(args),
    );
    Some((
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    ))
}

/// Runs `cmd`, failing with the command and its stderr unless it succeeds.
pub fn run_ok(cmd: &mut Command) {
    let (code, _, err) = xsplice_testkit::run(cmd);
    assert_eq!(code, 0, "{cmd:?} failed: {}", String::from_utf8_lossy(&err));
}

/// Output of one run: exit status, stdout, stderr.
pub type Run = (i32, Vec<u8>, Vec<u8>);

/// Runs `tool` on `files` under `LC_ALL=C`; `as_nm` sets `argv[0]` to `nm`
/// so that GNU's messages start as ours do. From GNU's output the lines of
/// the host's linker plugins (`bfd plugin: ...`) are dropped: GNU nm offers
/// files to the plugins installed in `/usr/lib/bfd-plugins` (Debian's gcc
/// and llvm install some), every file no BFD target recognises and some
/// COFF objects, and they print their own complaints (some on stdout),
/// which depend on the host, not on the file.
pub fn run_nm(tool: &Path, args: &[&str], files: &[PathBuf], as_nm: bool) -> Run {
    let mut cmd = Command::new(tool);
    if as_nm {
        cmd.arg0("nm");
    }
    cmd.env("LC_ALL", "C").args(args).args(files);
    let (code, mut out, mut err) = xsplice_testkit::run(&mut cmd);
    if as_nm {
        out = without_plugin_lines(&out);
        err = without_plugin_lines(&err);
    }
    (code, out, err)
}

fn without_plugin_lines(text: &[u8]) -> Vec<u8> {
    text.split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"bfd plugin: "))
        .flatten()
        .copied()
        .collect()
}

/// The option sets of the issue, which every differential test runs: the
/// seed's two (`--defined`, `--defined -S`), Xen's two (`-pa
/// --format=sysv`, `-p --format=bsd`) and plain nm.
pub const OPTION_SETS: [&[&str]; 5] = [
    &["--defined"],
    &["--defined", "-S"],
    &["-pa", "--format=sysv"],
    &["-p", "--format=bsd"],
    &[],
];

/// Compares GNU nm and ours on `files`, `batch` files a run, with each of
/// [`OPTION_SETS`] and then each of `more`.
pub fn compare_all(
    nm: &Path,
    ours: &Path,
    more: &[&[&str]],
    files: &[PathBuf],
    batch: usize,
    failures: &mut Vec<String>,
) {
    for args in OPTION_SETS.iter().chain(more) {
        for run in files.chunks(batch) {
            compare(nm, ours, args, run, failures);
        }
    }
}

/// Compares GNU nm (`nm`) and ours on `files` in one run each; when the
/// runs differ, every file again on its own, and each differing file goes
/// to `failures` with the two commands that reproduce it.
pub fn compare(
    nm: &Path,
    ours: &Path,
    args: &[&str],
    files: &[PathBuf],
    failures: &mut Vec<String>,
) {
    let want = run_nm(nm, args, files, true);
    let got = run_nm(ours, args, files, false);
    if want == got {
        return;
    }
    if files.len() > 1 {
        for file in files {
            compare(nm, ours, args, std::slice::from_ref(file), failures);
        }
        return;
    }
    let (wc, wo, we) = want;
    let (gc, go, ge) = got;
    failures.push(format!(
        "  LC_ALL=C {nm} {a} {f}  vs  {ours} {a} {f}\n    exit {wc} vs {gc}; stdout {}; stderr {}",
        first_difference(&wo, &go),
        first_difference(&we, &ge),
        nm = nm.display(),
        ours = ours.display(),
        a = args.join(" "),
        f = files[0].display(),
    ));
}

/// Fails listing every difference in `failures`, or when fewer than `min`
/// files were compared: a run that found too few inputs proves little.
pub fn assert_compared(compared: usize, min: usize, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        compared >= min,
        "only {compared} files compared, at least {min} needed"
    );
}

/// The first line where two outputs differ, for failure messages.
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    match a
        .lines()
        .zip(b.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
    {
        Some((i, (x, y))) => format!("line {}: {x:?} vs {y:?}", i + 1),
        None if a.len() != b.len() => format!("lengths {} vs {}", a.len(), b.len()),
        None => "same".to_owned(),
    }
}
