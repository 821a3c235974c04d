//! Names are resolved in Xen's runtime symbol table, not in the ELF symbol
//! table of `xen-syms`: a Xen static is `file#name` there (spec §3).
//!
//! The payload is the GNU-built hello_world fixture; each target is a tiny
//! image written in memory, with the stand-in hypervisor's build-id and the
//! bytes of its `xen_extra_version` (so that every other check passes as it
//! does against the stand-in), plus the statics and globals a case needs.
//! The fixture's payload has the locals `hello_name`, `hello_calls` and
//! `hello_pre`, which are new symbols (C-115), and one undefined symbol,
//! `xen_extra_version`, which is also its `old_addr`.

mod common;

use common::*;
use object::write::{Object, StandardSection, Symbol as WSymbol, SymbolSection as WSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use xsplice_validate::{CheckId, Environment, Options, TargetImage, XenImage, validate};

/// A tiny target: `globals`, and `statics` as (file, name); every one is a
/// copy of the stand-in's `xen_extra_version`.
fn target(fixture: &Fixture, statics: &[(&str, &str)], globals: &[&str]) -> Vec<u8> {
    let xen = xsplice_symbols::ElfFile::parse(&fixture.xen).unwrap();
    let old = xen.lookup("xen_extra_version").unwrap();
    let code = xen.symbol_bytes(&old, old.size).unwrap();
    let id = xen.build_id().unwrap();

    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    // Nothing at address 0, which Xen's lookups cannot return.
    obj.append_section_data(text, &[0xcc; 16], 16);
    let note = obj.add_section(
        Vec::new(),
        b".note.gnu.build-id".to_vec(),
        SectionKind::Note,
    );
    let mut desc = Vec::new();
    for word in [4, id.len() as u32, 3] {
        desc.extend_from_slice(&word.to_le_bytes());
    }
    desc.extend_from_slice(b"GNU\0");
    desc.extend_from_slice(id);
    obj.append_section_data(note, &desc, 4);
    let function = |obj: &mut Object<'_>, name: &str, scope| {
        let value = obj.append_section_data(text, code, 16);
        obj.add_symbol(WSymbol {
            name: name.as_bytes().to_vec(),
            value,
            size: old.size,
            kind: SymbolKind::Text,
            scope,
            weak: false,
            section: WSection::Section(text),
            flags: SymbolFlags::None,
        });
    };
    for (file, name) in statics {
        obj.add_file_symbol(file.as_bytes().to_vec());
        function(&mut obj, name, SymbolScope::Compilation);
    }
    for name in globals {
        function(&mut obj, name, SymbolScope::Linkage);
    }
    obj.write().unwrap()
}

/// The error ids of validating `payload` against `target`.
fn errors(payload: &[u8], target: &[u8]) -> Vec<CheckId> {
    let image = XenImage::parse("xen-syms", target).unwrap();
    let env = Environment {
        target: Some(&image as &dyn TargetImage),
        ..Default::default()
    };
    let report = validate(payload, &Options::default(), &env);
    let mut text = Vec::new();
    report.write_text(&mut text, "payload").unwrap();
    eprintln!("{}", String::from_utf8_lossy(&text));
    report.error_ids()
}

fn x86() -> Option<&'static Fixture> {
    fixture("x86_64")
}

#[test]
fn the_fixture_is_clean_against_a_tiny_target() {
    let Some(f) = x86() else { return };
    let t = target(f, &[], &["xen_extra_version"]);
    assert_eq!(errors(&f.payload, &t), []);
}

#[test]
fn a_payload_local_may_have_the_bare_name_of_a_xen_static() {
    let Some(f) = x86() else { return };
    let statics = [
        ("common/version.c", "hello_name"),
        ("common/version.c", "hello_calls"),
        ("common/kernel.c", "hello_pre"),
    ];
    let t = target(f, &statics, &["xen_extra_version"]);
    assert_eq!(errors(&f.payload, &t), []);
}

#[test]
fn a_payload_local_may_not_have_the_name_of_a_xen_global() {
    let Some(f) = x86() else { return };
    let t = target(f, &[], &["xen_extra_version", "hello_calls"]);
    assert_eq!(errors(&f.payload, &t), [CheckId::C115]);
}

/// The fixture with its undefined `xen_extra_version` renamed to `name`
/// (17 bytes at most).
fn referencing(f: &Fixture, name: &str) -> Vec<u8> {
    let mut b = f.payload.clone();
    let mut new = name.as_bytes().to_vec();
    new.push(0);
    rename_symbol(&mut b, "xen_extra_version", &new);
    b
}

#[test]
fn a_xen_static_is_not_found_by_its_bare_name() {
    let Some(f) = x86() else { return };
    let t = target(f, &[("v.c", "xen_extra_v")], &["xen_extra_version"]);
    assert_eq!(errors(&referencing(f, "xen_extra_v"), &t), [CheckId::C46]);
}

#[test]
fn a_xen_static_is_found_as_file_hash_name() {
    let Some(f) = x86() else { return };
    let t = target(f, &[("v.c", "xen_extra_v")], &["xen_extra_version"]);
    assert_eq!(errors(&referencing(f, "v.c#xen_extra_v"), &t), []);
}

/// The fixture with `old_addr` left 0 and `name` replaced by `name`
/// (exactly 17 bytes, NUL-padded), so that the loader resolves it by name.
fn by_name(f: &Fixture, name: &[u8; 17]) -> Vec<u8> {
    let mut b = f.payload.clone();
    let r = section(&b, ".rela.livepatch.funcs");
    let n = reloc_for(&b, r, 16);
    let (off, sym, _) = reloc(&b, r, n);
    set_reloc(&mut b, r, n, off, sym, 0);
    let i = section(&b, ".rodata.hello_name");
    replace_in_section(&mut b, i, b"xen_extra_version", name);
    b
}

#[test]
fn old_addr_by_name_resolves_statics_as_file_hash_name() {
    let Some(f) = x86() else { return };
    let t = target(f, &[("v.c", "xen_extra_v")], &["xen_extra_version"]);
    assert_eq!(errors(&by_name(f, b"v.c#xen_extra_v\0\0"), &t), []);
    assert_eq!(
        errors(&by_name(f, b"xen_extra_v\0\0\0\0\0\0"), &t),
        [CheckId::C94]
    );
}
