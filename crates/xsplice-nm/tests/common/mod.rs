//! Fixtures shared by the `xsplice-nm` integration tests: a small object
//! written with the `object` crate, so that the tests need no compiler,
//! and a helper that runs the real binary.

use std::os::unix::process::CommandExt;
use std::path::Path;
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
#[allow(dead_code)] // not every test binary compares with GNU nm
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
