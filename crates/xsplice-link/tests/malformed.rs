//! Malformed input is an error, never a panic: every truncation and a few
//! thousand deterministic byte corruptions of small valid objects (one per
//! architecture, with relocations, groups and an `.eh_frame`) go through
//! the library; each must return `Ok` or `Err`.

use object::SymbolKind::Text;
use object::SymbolScope::Dynamic;
use object::write::{Object, Relocation, StandardSection, SymbolSection};
use object::{Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, elf};
use xsplice_link::{Input, LinkOptions};
use xsplice_testkit::fixture::add_symbols;

fn sample(arch: Architecture, r_type: elf::RelocationType) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0u8; 32], 4);
    let data = obj.section_id(StandardSection::Data);
    obj.append_section_data(data, &[0u8; 16], 8);
    let text_at = SymbolSection::Section(text);
    let f = add_symbols(&mut obj, &[("f", 4, 8, Text, Dynamic, false, text_at)])[0];
    let text_sym = obj.section_symbol(text);
    obj.add_relocation(
        data,
        Relocation {
            offset: 0,
            symbol: f,
            addend: 0,
            flags: RelocationFlags::Elf { r_type },
        },
    )
    .expect("reloc");
    obj.add_relocation(
        data,
        Relocation {
            offset: 8,
            symbol: text_sym,
            addend: 0,
            flags: RelocationFlags::Elf { r_type },
        },
    )
    .expect("reloc");
    let eh = obj.add_section(Vec::new(), b".eh_frame".to_vec(), SectionKind::ReadOnlyData);
    let mut cfi = Vec::new();
    cfi.extend_from_slice(&0x14u32.to_le_bytes());
    cfi.extend_from_slice(&0u32.to_le_bytes());
    cfi.extend_from_slice(&[
        1, b'z', b'R', 0, 1, 0x78, 0x10, 1, 0x1b, 0x0c, 7, 8, 0x90, 1, 0, 0,
    ]);
    cfi.extend_from_slice(&0x14u32.to_le_bytes());
    cfi.extend_from_slice(&0x1cu32.to_le_bytes());
    cfi.extend_from_slice(&[0; 8]);
    cfi.extend_from_slice(&[0, 0x0e, 0x10, 0, 0, 0, 0, 0]);
    obj.append_section_data(eh, &cfi, 8);
    let comdat = obj.add_section(Vec::new(), b".text.inl".to_vec(), SectionKind::Text);
    obj.append_section_data(comdat, &[0u8; 4], 4);
    let comdat_at = SymbolSection::Section(comdat);
    let inl = add_symbols(&mut obj, &[("inl", 0, 4, Text, Dynamic, false, comdat_at)])[0];
    obj.add_comdat(object::write::Comdat {
        kind: object::ComdatKind::Any,
        symbol: inl,
        sections: vec![comdat],
    });
    obj.write().expect("write sample")
}

/// Links `bytes` (twice, so that COMDAT and symbol merging run) and
/// returns whether it linked; a panic fails the test with the case.
fn link(bytes: &[u8], case: &str) -> bool {
    let inputs = [
        Input {
            name: "a.o".into(),
            data: bytes,
        },
        Input {
            name: "b.o".into(),
            data: bytes,
        },
    ];
    let opts = LinkOptions {
        build_id: true,
        ..LinkOptions::default()
    };
    match std::panic::catch_unwind(|| xsplice_link::link(&inputs, &opts).is_ok()) {
        Ok(ok) => ok,
        Err(_) => panic!("xsplice_link::link panicked on {case}"),
    }
}

#[test]
fn truncations_and_corruptions() {
    let samples = [
        ("x86_64", sample(Architecture::X86_64, elf::R_X86_64_64)),
        (
            "aarch64",
            sample(Architecture::Aarch64, elf::R_AARCH64_ABS64),
        ),
        ("arm32", sample(Architecture::Arm, elf::R_ARM_ABS32)),
    ];
    for (name, bytes) in &samples {
        // The pristine object links with itself except for the duplicate `f`.
        assert!(
            !link(bytes, &format!("{name} pristine")),
            "{name}: duplicate `f` must be an error"
        );
        let single = [Input {
            name: "a.o".into(),
            data: bytes,
        }];
        assert!(
            xsplice_link::link(&single, &LinkOptions::default()).is_ok(),
            "{name}: pristine single link"
        );
        for cut in 0..bytes.len() {
            link(&bytes[..cut], &format!("{name} truncated to {cut} bytes"));
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut corrupted = bytes.clone();
            let at = (state % bytes.len() as u64) as usize;
            let value = (state >> 32) as u8;
            corrupted[at] = value;
            if i % 3 == 0 {
                let at2 = ((state >> 16) % bytes.len() as u64) as usize;
                corrupted[at2] ^= 0xff;
            }
            let single = [Input {
                name: "a.o".into(),
                data: &corrupted[..],
            }];
            let result = std::panic::catch_unwind(|| {
                xsplice_link::link(
                    &single,
                    &LinkOptions {
                        build_id: true,
                        ..LinkOptions::default()
                    },
                )
                .is_ok()
            });
            assert!(
                result.is_ok(),
                "{name}: panicked with byte {at:#x} set to {value:#x} (case {i})"
            );
        }
    }
}

/// An arm32 object whose `.ARM.attributes` holds `attributes`.
fn arm_with_attributes(attributes: &[u8]) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Arm, Endianness::Little);
    obj.flags = object::FileFlags::Elf {
        os_abi: elf::OsAbi(0),
        abi_version: 0,
        e_flags: elf::EF_ARM_EABI_VER5,
    };
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0u8; 4], 4);
    let attr = obj.add_section(Vec::new(), b".ARM.attributes".to_vec(), SectionKind::Other);
    obj.section_mut(attr).flags = object::SectionFlags::Elf {
        sh_type: elf::SHT_ARM_ATTRIBUTES,
        sh_flags: elf::SectionFlags(0),
    };
    obj.append_section_data(attr, attributes, 1);
    obj.write().expect("write sample")
}

fn link_one(bytes: &[u8]) -> Result<(), String> {
    let inputs = [Input {
        name: "a.o".into(),
        data: bytes,
    }];
    xsplice_link::link(&inputs, &LinkOptions::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Malformed build attributes are an error naming the file and the fault;
/// no truncation or corruption of them panics.
#[test]
fn arm_attributes() {
    // "aeabi": Tag_CPU_name "7-A", Tag_CPU_arch v7, Tag_ABI_VFP_args 1.
    let good: &[u8] =
        b"A\x18\x00\x00\x00aeabi\x00\x01\x0e\x00\x00\x00\x05\x37\x2d\x41\x00\x06\x0a\x1c\x01";
    link_one(&arm_with_attributes(good)).expect("well-formed attributes link");
    let cases: [(&[u8], &str); 5] = [
        (b"B\x18\x00\x00\x00aeabi", "unknown format version 0x42"),
        (&good[..good.len() - 2], "bad subsection length 0x18 at 0x1"),
        (&good[..3], "truncated subsection length at 0x1"),
        (
            b"A\x0e\x00\x00\x00aeabi\x00\x01\x09\x00\x00",
            "truncated attribute block length at 0xc",
        ),
        (
            b"A\x11\x00\x00\x00aeabi\x00\x01\x07\x00\x00\x00\x05\x37",
            "unterminated string at 0x11",
        ),
    ];
    for (attributes, detail) in cases {
        let err = link_one(&arm_with_attributes(attributes)).expect_err(detail);
        assert_eq!(
            err,
            format!("`a.o`: malformed ELF: `.ARM.attributes`: {detail}")
        );
    }
    for cut in 0..good.len() {
        let bytes = arm_with_attributes(&good[..cut]);
        let result = std::panic::catch_unwind(|| link_one(&bytes));
        assert!(
            result.is_ok(),
            "panicked with attributes cut to {cut} bytes"
        );
    }
    for at in 0..good.len() {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut corrupted = good.to_vec();
            corrupted[at] = value;
            let bytes = arm_with_attributes(&corrupted);
            let result = std::panic::catch_unwind(|| link_one(&bytes));
            assert!(
                result.is_ok(),
                "panicked with attribute byte {at:#x} set to {value:#x}"
            );
        }
    }
}
