//! Checks the stand-in hypervisor against the promises of
//! `test-payloads/xen/README.md`, reading the image back with `object`:
//! the shape the simulator maps, the symbols payloads patch, and a build
//! that is reproducible and incremental.

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SymbolKind};
use xsplice_build::{Arch, build_stand_in};

fn check_image(arch: Arch, data: &[u8]) {
    let obj = object::File::parse(data).expect("parse xen-syms");
    assert_eq!(
        obj.kind(),
        object::ObjectKind::Executable,
        "{arch}: ET_EXEC"
    );

    // Three page-aligned PT_LOADs: RX at the base, then R, then RW.
    let loads: Vec<(u64, String)> = obj
        .segments()
        .map(|s| {
            let p = s.permissions();
            let rwx = [
                (p.readable(), 'r'),
                (p.writable(), 'w'),
                (p.executable(), 'x'),
            ];
            let text = rwx
                .iter()
                .map(|&(on, c)| if on { c } else { '-' })
                .collect();
            (s.address(), text)
        })
        .collect();
    let flags: Vec<&str> = loads.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(flags, ["r-x", "r--", "rw-"], "{arch}: PT_LOAD permissions");
    assert_eq!(loads[0].0, arch.stand_in_base(), "{arch}: link address");
    assert!(
        loads.iter().all(|l| l.0 % 4096 == 0),
        "{arch}: page-aligned"
    );

    // The build-id note, allocated, readable through the ELF.
    let note = obj
        .section_by_name(".note.gnu.build-id")
        .expect("build-id section");
    assert!(note.address() != 0, "{arch}: note is allocated");
    assert_eq!(obj.build_id().unwrap().map(<[u8]>::len), Some(20), "{arch}");
    assert!(obj.sections().all(|s| s.relocations().next().is_none()));

    let mut last_file = String::new();
    let mut emits = Vec::new();
    for sym in obj.symbols() {
        let name = sym.name().unwrap();
        if sym.kind() == SymbolKind::File {
            last_file = name.to_owned();
        } else if name == "emit" {
            assert_eq!(sym.kind(), SymbolKind::Text);
            assert!(sym.is_local());
            emits.push(last_file.clone());
        }
    }
    assert_eq!(emits, ["console.c", "hooklog.c"], "{arch}: file#emit twice");

    let min = if arch == Arch::X86_64 { 9 } else { 8 };
    for (name, kind) in [
        ("xen_extra_version", SymbolKind::Text),
        ("xen_major_version", SymbolKind::Text),
        ("xen_minor_version", SymbolKind::Text),
        ("xen_changeset", SymbolKind::Text),
        ("xen_info_format", SymbolKind::Text),
        ("xen_hook_log", SymbolKind::Text),
        ("xen_extra_string", SymbolKind::Data),
        ("xen_version_numbers", SymbolKind::Data),
        ("xen_console_buf", SymbolKind::Data),
        ("xen_hook_log_buf", SymbolKind::Data),
    ] {
        let sym = obj
            .symbols()
            .find(|s| s.name() == Ok(name))
            .unwrap_or_else(|| panic!("{arch}: `{name}` missing"));
        assert_eq!(sym.kind(), kind, "{arch}: `{name}` kind");
        assert!(sym.is_global(), "{arch}: `{name}` global");
        let least = if kind == SymbolKind::Text { min } else { 1 };
        assert!(
            sym.size() >= least,
            "{arch}: `{name}` is {} bytes",
            sym.size()
        );
    }

    let bytes_at = |name: &str, len: usize| -> Vec<u8> {
        let sym = obj.symbols().find(|s| s.name() == Ok(name)).unwrap();
        let sec = obj.section_by_index(sym.section_index().unwrap()).unwrap();
        let off = (sym.address() - sec.address()) as usize;
        sec.data().unwrap()[off..off + len].to_vec()
    };
    assert_eq!(bytes_at("xen_extra_string", 10), b"-unstable\0");
    if arch == Arch::X86_64 {
        assert_eq!(bytes_at("xen_changeset", 4), [0xf3, 0x0f, 0x1e, 0xfa]);
        assert_ne!(bytes_at("xen_extra_version", 4), [0xf3, 0x0f, 0x1e, 0xfa]);
    }
}

#[test]
fn stand_in_has_the_documented_shape() {
    for arch in Arch::ALL {
        let Some(path) = xsplice_testkit::stand_in_xen(arch.name()) else {
            continue;
        };
        check_image(arch, &std::fs::read(&path).unwrap());
    }
}

#[test]
fn stand_in_build_is_reproducible_and_incremental() {
    let arch = Arch::X86_64;
    if arch.find_compiler().is_err() {
        xsplice_testkit::skip("no C compiler for x86_64");
        return;
    }
    let root = xsplice_testkit::workspace_root();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = build_stand_in(&root, a.path(), arch, false).unwrap();
    assert!(first.rebuilt);
    let again = build_stand_in(&root, a.path(), arch, false).unwrap();
    assert!(
        !again.rebuilt && again.commands.is_empty(),
        "second build did work"
    );
    let other = build_stand_in(&root, b.path(), arch, false).unwrap();
    assert_eq!(
        std::fs::read(&first.path).unwrap(),
        std::fs::read(&other.path).unwrap(),
        "two builds differ"
    );
    let forced = build_stand_in(&root, a.path(), arch, true).unwrap();
    assert!(forced.rebuilt);
}
