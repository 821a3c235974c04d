//! Exact lookup, symbol bytes and build-id on a small object built in
//! memory, so these tests need no external tool.
//!
//! The fixture has two statics called `helper` in different files, a global
//! `entry` whose bytes are known, an undefined reference, a `.bss` variable
//! and a build-id note: every outcome of the lookup API.

use object::SymbolKind::{Data, File, Text, Unknown};
use object::write::{Object, StandardSection, SymbolSection as WSection};
use object::{Architecture, BinaryFormat, Endianness, SymbolScope};
use std::sync::OnceLock;
use xsplice_symbols::{Class, ElfFile, Error};
use xsplice_testkit::fixture::{add_build_id_note, add_symbols};

fn fixture() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = obj.section_id(StandardSection::Text);
        obj.append_section_data(text, &[0x90; 16], 16);
        obj.append_section_data(text, &[0x55, 0x48, 0x89, 0xe5, 0xc3], 1);
        let bss = obj.section_id(StandardSection::UninitializedData);
        obj.append_section_bss(bss, 8, 8);
        add_build_id_note(&mut obj, &[0xde, 0xad, 0xbe, 0xef]);
        let (t, b) = (WSection::Section(text), WSection::Section(bss));
        let (local, global) = (SymbolScope::Compilation, SymbolScope::Dynamic);
        add_symbols(
            &mut obj,
            &[
                ("a.c", 0, 0, File, local, false, WSection::None),
                ("helper", 0, 8, Text, local, false, t),
                ("counter", 0, 8, Data, local, false, b),
                ("entry", 4, 4, Text, local, false, t),
                ("b.c", 0, 0, File, local, false, WSection::None),
                ("helper", 8, 8, Text, local, false, t),
                ("entry", 16, 5, Text, global, false, t),
                ("missing", 0, 0, Unknown, global, false, WSection::Undefined),
            ],
        );
        obj.write().expect("write fixture")
    })
}

/// Renders a lookup outcome as one line of our own text.
fn describe(elf: &ElfFile<'_>, name: &str) -> String {
    match elf.lookup(name) {
        Ok(sym) => format!(
            "{name}: value={:#x} size={} letter={} file={}",
            sym.value,
            sym.size,
            sym.letter as char,
            sym.file_hint
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
        ),
        Err(err) => format!("{name}: error: {err}"),
    }
}

#[test]
fn lookup_outcomes() {
    let elf = ElfFile::parse(fixture()).unwrap();
    assert_eq!(elf.class(), Class::Elf64);
    let text: Vec<String> = [
        "entry",
        "helper",
        "a.c#helper",
        "b.c#helper",
        "c.c#helper",
        "missing",
        "nothing",
        "counter",
        "ent",
    ]
    .iter()
    .map(|n| describe(&elf, n))
    .collect();
    insta::assert_snapshot!(text.join("\n"));
}

#[test]
fn ambiguous_lists_every_candidate() {
    let elf = ElfFile::parse(fixture()).unwrap();
    assert_eq!(
        elf.lookup("helper").unwrap_err(),
        Error::Ambiguous {
            name: "helper".into(),
            candidates: vec!["a.c#helper".into(), "b.c#helper".into()],
        }
    );
}

#[test]
fn a_global_wins_over_statics_of_the_same_name() {
    // Xen names its statics `file#name`, so a bare name means the global.
    let elf = ElfFile::parse(fixture()).unwrap();
    let global = elf.lookup("entry").unwrap();
    assert_eq!((global.value, global.size, global.binding), (16, 5, 1));
    let local = elf.lookup("a.c#entry").unwrap();
    assert_eq!((local.value, local.size, local.binding), (4, 4, 0));
}

#[test]
fn bytes_at_symbol() {
    let elf = ElfFile::parse(fixture()).unwrap();
    let entry = elf.lookup("entry").unwrap();
    assert_eq!(
        elf.symbol_bytes(&entry, 5).unwrap(),
        &[0x55, 0x48, 0x89, 0xe5, 0xc3]
    );
    assert_eq!(elf.symbol_bytes(&entry, 0).unwrap(), &[] as &[u8]);
    let too_many = elf.symbol_bytes(&entry, 6).unwrap_err();
    assert_eq!(
        too_many.to_string(),
        "symbol `entry`: 6 bytes asked for, but only 5 available (symbol size)"
    );
    let counter = elf.lookup("counter").unwrap();
    assert!(matches!(
        elf.symbol_bytes(&counter, 1),
        Err(Error::NoBytes { .. })
    ));
    let b = elf.lookup("b.c#helper").unwrap();
    assert_eq!(elf.symbol_bytes(&b, 8).unwrap(), &[0x90; 8]);
}

#[test]
fn build_id_from_note() {
    let elf = ElfFile::parse(fixture()).unwrap();
    assert_eq!(elf.build_id(), Some(&[0xde, 0xad, 0xbe, 0xef][..]));
}
