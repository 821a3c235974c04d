//! Fixtures shared by the `xsplice-nm` integration tests: a small object
//! written with the `object` crate, so that the tests need no compiler,
//! helpers that run the real binary, and the batched comparison with GNU
//! nm that the differential tests share.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::write::{Object, StandardSection, Symbol as WSymbol, SymbolSection as WSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

/// An x86-64 ET_REL with two statics called `helper` in files `a.c` and
/// `b.c`, a global function, a weak object, a `.bss` variable, a common
/// symbol and an undefined reference.
pub fn small_object() -> Vec<u8> {
    small_object_for(Architecture::X86_64)
}

/// The same symbols for another architecture (ELF32 for i386 and arm).
pub fn small_object_for(arch: Architecture) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0x90; 32], 16);
    let data = obj.section_id(StandardSection::Data);
    obj.append_section_data(data, &[1, 0, 0, 0, 2, 0, 0, 0], 8);
    let bss = obj.section_id(StandardSection::UninitializedData);
    obj.append_section_bss(bss, 16, 8);
    let comment = obj.add_section(Vec::new(), b".comment".to_vec(), SectionKind::OtherString);
    obj.append_section_data(comment, b"xsplice\0", 1);
    let mut add = |name: &str, value, size, kind, scope, weak, section| {
        obj.add_symbol(WSymbol {
            name: name.as_bytes().to_vec(),
            value,
            size,
            kind,
            scope,
            weak,
            section,
            flags: SymbolFlags::None,
        });
    };

    add(
        "a.c",
        0,
        0,
        SymbolKind::File,
        SymbolScope::Compilation,
        false,
        WSection::None,
    );
    add(
        "helper",
        0,
        8,
        SymbolKind::Text,
        SymbolScope::Compilation,
        false,
        WSection::Section(text),
    );
    add(
        "counter",
        0,
        8,
        SymbolKind::Data,
        SymbolScope::Compilation,
        false,
        WSection::Section(bss),
    );
    add(
        "b.c",
        0,
        0,
        SymbolKind::File,
        SymbolScope::Compilation,
        false,
        WSection::None,
    );
    add(
        "helper",
        8,
        8,
        SymbolKind::Text,
        SymbolScope::Compilation,
        false,
        WSection::Section(text),
    );
    add(
        "entry",
        16,
        16,
        SymbolKind::Text,
        SymbolScope::Dynamic,
        false,
        WSection::Section(text),
    );
    add(
        "table",
        0,
        8,
        SymbolKind::Data,
        SymbolScope::Dynamic,
        true,
        WSection::Section(data),
    );
    add(
        "shared",
        16,
        4,
        SymbolKind::Data,
        SymbolScope::Dynamic,
        false,
        WSection::Common,
    );
    add(
        "missing",
        0,
        0,
        SymbolKind::Unknown,
        SymbolScope::Dynamic,
        false,
        WSection::Undefined,
    );
    obj.write().expect("write fixture")
}

/// The same symbols in an x86-64 COFF object (with `.file` entries and
/// the section symbols the `object` crate writes).
pub fn small_coff() -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Coff, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0x90; 32], 16);
    let data = obj.section_id(StandardSection::Data);
    obj.append_section_data(data, &[1, 0, 0, 0, 2, 0, 0, 0], 8);
    let bss = obj.section_id(StandardSection::UninitializedData);
    obj.append_section_bss(bss, 16, 8);
    for (name, value, kind, scope, weak, section) in [
        (
            "a.c",
            0,
            SymbolKind::File,
            SymbolScope::Compilation,
            false,
            WSection::None,
        ),
        (
            "helper",
            0,
            SymbolKind::Text,
            SymbolScope::Compilation,
            false,
            WSection::Section(text),
        ),
        (
            "counter",
            0,
            SymbolKind::Data,
            SymbolScope::Compilation,
            false,
            WSection::Section(bss),
        ),
        (
            "b.c",
            0,
            SymbolKind::File,
            SymbolScope::Compilation,
            false,
            WSection::None,
        ),
        (
            "helper",
            8,
            SymbolKind::Text,
            SymbolScope::Compilation,
            false,
            WSection::Section(text),
        ),
        (
            "entry",
            16,
            SymbolKind::Text,
            SymbolScope::Dynamic,
            false,
            WSection::Section(text),
        ),
        (
            "table",
            0,
            SymbolKind::Data,
            SymbolScope::Dynamic,
            true,
            WSection::Section(data),
        ),
        (
            "shared",
            16,
            SymbolKind::Data,
            SymbolScope::Dynamic,
            false,
            WSection::Common,
        ),
        (
            "missing",
            0,
            SymbolKind::Unknown,
            SymbolScope::Dynamic,
            false,
            WSection::Undefined,
        ),
    ] {
        obj.add_symbol(WSymbol {
            name: name.as_bytes().to_vec(),
            value,
            size: 0,
            kind,
            scope,
            weak,
            section,
            flags: SymbolFlags::None,
        });
    }
    obj.write().expect("write fixture")
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

/// Runs GNU nm the same way, if it is installed.
pub fn gnu_nm(dir: &Path, args: &[&str]) -> Option<(i32, String, String)> {
    let nm = xsplice_testkit::require_tool("nm", "GNU nm is the reference")?;
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
