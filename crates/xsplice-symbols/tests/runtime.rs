//! Xen's runtime symbol table (`RuntimeTable`) against the table Xen builds.
//!
//! An object built in memory holds one symbol for each of the rules of
//! `xen/tools/symbols` (file prefixes, dropped letters, bounds, names nm's
//! sysv line cannot carry); its expected table is written out below, so that
//! test needs no tool. The same object, the stand-in hypervisor of each
//! architecture and the real Xen's image are then compared with what Xen's
//! own tool makes of `nm -pa --format=sysv` (its `--xensyms` map, the list
//! of the table's entries): the tool is built in the real Xen tree, and the
//! real image's map is the one Xen's build wrote next to `xen-syms`.
//!
//! The map lists entries sorted by address with an unstable sort, so both
//! sides are compared as sorted lists of lines.

use std::path::Path;
use std::process::{Command, Stdio};

use object::write::{Object, StandardSection, Symbol as WSymbol, SymbolSection as WSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use xsplice_symbols::{ElfFile, RuntimeOptions, RuntimeTable, map_file};

const STB_GNU_UNIQUE: u8 = 10;
const STT_OBJECT: u8 = 1;

/// One symbol of the edge-case object: (name, kind, scope, weak, where).
enum At {
    Text(u64),
    Rodata(u64),
    Comment,
    Absolute(u64),
    Undefined,
    File,
}

/// Builds the object, symbols in table order (locals first, as ELF wants).
fn edge_cases() -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0xc3; 64], 16);
    let rodata = obj.section_id(StandardSection::ReadOnlyData);
    obj.append_section_data(rodata, &[0; 32], 8);
    let comment = obj.add_section(Vec::new(), b".comment".to_vec(), SectionKind::OtherString);
    obj.append_section_data(comment, b"GCC\0", 1);
    let local = SymbolScope::Compilation;
    let global = SymbolScope::Linkage;
    let syms: &[(&str, At, SymbolScope, bool, Option<u8>)] = &[
        ("early", At::Text(0), local, false, None),
        ("common/a.c", At::File, local, false, None),
        ("f", At::Text(4), local, false, None),
        ("__func__.0", At::Rodata(0), local, false, None),
        ("dup", At::Text(12), local, false, None),
        ("dup", At::Text(8), local, false, None),
        ("abs_local", At::Absolute(0x1234), local, false, None),
        ("$x", At::Text(16), local, false, None),
        ("$d.1", At::Rodata(8), local, false, None),
        ("x_compiled.1", At::Text(20), local, false, None),
        ("has space", At::Text(24), local, false, None),
        ("note", At::Comment, local, false, None),
        ("", At::File, local, false, None),
        ("g", At::Text(28), local, false, None),
        ("odd", At::File, local, false, None),
        ("name", At::Text(32), local, false, None),
        ("common/b.c", At::File, local, false, None),
        ("__func__.0", At::Rodata(16), local, false, None),
        ("glob", At::Text(36), global, false, None),
        ("odd#name", At::Text(40), global, false, None),
        ("__gp", At::Absolute(0x800), global, false, None),
        ("other_abs", At::Absolute(0x900), global, false, None),
        ("_stext", At::Absolute(0), global, false, None),
        ("undef", At::Undefined, global, false, None),
        ("wundef", At::Undefined, global, true, None),
        ("wdef", At::Text(44), global, true, None),
        (
            "uniq",
            At::Rodata(24),
            global,
            false,
            Some((STB_GNU_UNIQUE << 4) | STT_OBJECT),
        ),
    ];
    for (name, at, scope, weak, info) in syms {
        let (kind, section, value) = match *at {
            At::Text(v) => (SymbolKind::Text, WSection::Section(text), v),
            At::Rodata(v) => (SymbolKind::Data, WSection::Section(rodata), v),
            At::Comment => (SymbolKind::Data, WSection::Section(comment), 0),
            At::Absolute(v) => (SymbolKind::Data, WSection::Absolute, v),
            At::Undefined => (SymbolKind::Text, WSection::Undefined, 0),
            At::File => (SymbolKind::File, WSection::None, 0),
        };
        let flags = match info {
            Some(st_info) => SymbolFlags::Elf {
                st_info: object::elf::SymbolInfo(*st_info),
                st_other: object::elf::SymbolOther(0),
            },
            None => SymbolFlags::None,
        };
        obj.add_symbol(WSymbol {
            name: name.as_bytes().to_vec(),
            value,
            size: 4,
            kind,
            scope: *scope,
            weak: *weak,
            section,
            flags,
        });
    }
    obj.write().unwrap()
}

/// The table as Xen's `--xensyms` map prints it: address, letter, name.
fn map_lines(table: &RuntimeTable<'_>) -> Vec<String> {
    let mut lines: Vec<String> = table
        .iter()
        .map(|s| {
            // C's `%#llx` prints zero without the prefix.
            let addr = match s.addr() {
                0 => "0".to_string(),
                a => format!("{a:#x}"),
            };
            format!("{addr} {} {}", s.letter() as char, s.name())
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn every_rule_of_xen_tools_symbols() {
    let bytes = edge_cases();
    let table = RuntimeTable::new(ElfFile::parse(&bytes).unwrap());
    let names: Vec<String> = table.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "early",
            "common/a.c#f",
            "common/a.c#__func__.0",
            "common/a.c#dup",
            "common/a.c#dup",
            // An empty file name leaves the prefix as it was.
            "common/a.c#g",
            "odd#name",
            "common/b.c#__func__.0",
            "glob",
            "odd#name",
            "__gp",
            "_stext",
            "wdef",
        ]
    );
}

#[test]
fn lookups_compare_whole_names() {
    let bytes = edge_cases();
    let table = RuntimeTable::new(ElfFile::parse(&bytes).unwrap());
    let addr = |name: &str| table.lookup(name).map(|s| s.addr());
    // Statics are only found with their file.
    assert_eq!(addr("__func__.0"), None);
    assert_eq!(addr("common/a.c#__func__.0"), Some(0));
    assert_eq!(addr("common/b.c#__func__.0"), Some(16));
    assert_eq!(addr("f"), None);
    assert_eq!(addr("common/b.c#f"), None);
    assert_eq!(addr("common/a.c#f"), Some(4));
    // Globals by their bare name only.
    assert_eq!(addr("glob"), Some(36));
    assert_eq!(addr("common/b.c#glob"), None);
    // Left out of the table.
    for gone in [
        "abs_local",
        "other_abs",
        "undef",
        "uniq",
        "note",
        "$x",
        "x_compiled.1",
    ] {
        assert_eq!(addr(gone), None, "{gone}");
        assert_eq!(addr(&format!("common/a.c#{gone}")), None, "{gone}");
    }
    assert_eq!(addr("__gp"), Some(0x800));
    assert_eq!(addr(""), None);
    // Two entries of one name: the lower address.
    assert_eq!(addr("common/a.c#dup"), Some(8));
    // `odd#name` is a global and a static of file `odd`: the lower address.
    assert_eq!(addr("odd#name"), Some(32));
    // nm prints no value for an undefined symbol, weak or not, and the
    // tool's parser skips the line.
    assert_eq!(addr("wundef"), None);
    assert_eq!(addr("common/b.c#wundef"), None);
}

#[test]
fn without_all_symbols_only_text_is_kept() {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0xc3; 64], 16);
    let data = obj.section_id(StandardSection::Data);
    obj.append_section_data(data, &[0; 64], 16);
    let mut add = |name: &str, value: u64, section| {
        obj.add_symbol(WSymbol {
            name: name.as_bytes().to_vec(),
            value,
            size: 0,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: WSection::Section(section),
            flags: SymbolFlags::None,
        });
    };
    // In an object both sections start at 0, so data is placed by value.
    add("_stext", 16, text);
    add("inside", 20, text);
    add("_etext", 32, text);
    add("at_end", 32, text);
    add("after", 36, text);
    add("var", 48, data);
    let bytes = obj.write().unwrap();
    let elf = ElfFile::parse(&bytes).unwrap();
    let text_only = RuntimeTable::with_options(elf, RuntimeOptions { all_symbols: false });
    let names: Vec<String> = text_only.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["_stext", "inside", "_etext"]);
    let all = RuntimeTable::new(ElfFile::parse(&bytes).unwrap());
    assert_eq!(all.len(), 6);
}

/// What Xen's tool makes of `nm -pa --format=sysv FILE` (it fails when it
/// keeps no symbol at all: then the table is empty).
fn xen_tool_map(nm: &Path, tool: &Path, file: &Path, all_symbols: bool) -> Vec<String> {
    let listing = Command::new(nm)
        .args(["-pa", "--format=sysv"])
        .arg(file)
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(listing.status.success(), "{nm:?} {file:?}");
    let mut cmd = Command::new(tool);
    if all_symbols {
        cmd.arg("--all-symbols");
    }
    cmd.args(["--xensyms", "--sysv", "--sort"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&listing.stdout).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    feed.join().unwrap();
    if !out.status.success() && out.stderr == b"No valid symbol.\n" {
        return Vec::new();
    }
    assert!(out.status.success(), "{tool:?} on {file:?}");
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn ours(file: &Path, all_symbols: bool) -> Vec<String> {
    let data = map_file(file).unwrap();
    let elf = ElfFile::parse(&data).unwrap();
    map_lines(&RuntimeTable::with_options(
        elf,
        RuntimeOptions { all_symbols },
    ))
}

#[test]
fn the_same_table_as_xen_tools_symbols() {
    let Some(real) = xsplice_testkit::real_xen("x86_64") else {
        return;
    };
    let tool = real.tree.join("tools/symbols");
    assert!(
        tool.is_file(),
        "{tool:?}: the real tree has no symbols tool"
    );
    let Some(nm) = xsplice_testkit::require_tool("nm", "the listing Xen's tool reads") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let edge = dir.path().join("edge.o");
    std::fs::write(&edge, edge_cases()).unwrap();
    let mut inputs = vec![(edge, nm.clone())];
    for (arch, arch_nm) in xsplice_testkit::GNU.map(|g| (g.arch, g.nm)) {
        let Some(arch_nm) =
            xsplice_testkit::require_tool(arch_nm, "Xen's build runs the target's nm")
        else {
            continue;
        };
        if let Some(xen) = xsplice_testkit::stand_in_xen(arch) {
            inputs.push((xen, arch_nm));
        }
    }
    inputs.push((real.xen_syms.clone(), nm.clone()));
    for (file, nm) in &inputs {
        for all_symbols in [true, false] {
            let want = xen_tool_map(nm, &tool, file, all_symbols);
            let got = ours(file, all_symbols);
            assert!(
                !all_symbols || want.len() > 5,
                "{file:?}: Xen's tool kept {} symbols",
                want.len()
            );
            assert_eq!(got, want, "{file:?}, all_symbols {all_symbols}");
            eprintln!(
                "{}: {} entries (all_symbols {all_symbols})",
                file.display(),
                got.len()
            );
        }
    }
}

#[test]
fn the_same_table_as_the_map_of_xen_builds() {
    let Some(real) = xsplice_testkit::real_xen("x86_64") else {
        return;
    };
    let mut images = vec![(real.xen_syms.clone(), real.tree.join("xen-syms.map"))];
    if let Some(debian) = &real.debian {
        let mut map = debian.xen_syms.clone().into_os_string();
        map.push(".map");
        images.push((debian.xen_syms.clone(), map.into()));
    }
    for (image, map) in images {
        let text = std::fs::read_to_string(&map).unwrap_or_else(|e| panic!("{map:?}: {e}"));
        let mut want: Vec<String> = text.lines().map(str::to_string).collect();
        want.sort();
        let got = ours(&image, true);
        assert!(want.len() > 1000, "{map:?}: {} entries", want.len());
        assert_eq!(got.len(), want.len(), "{image:?}: entries");
        assert_eq!(got, want, "{image:?}");
    }
}
