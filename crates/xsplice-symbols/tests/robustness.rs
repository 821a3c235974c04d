//! Malformed input must give an error or odd output, never a panic.
//!
//! Starting from a valid ELF32 and ELF64 object, every byte of the headers
//! and many bytes elsewhere are overwritten with a few values chosen to hit
//! bounds (0, 0xff, 0x7f, 0x80), as is every aligned word (huge offsets,
//! sizes and counts), and each mutant goes through every public
//! entry point: parse, the symbol iterator, lookup, symbol bytes, build-id
//! and the renderer in all formats.

use object::write::{Object, StandardSection, Symbol as WSymbol, SymbolSection as WSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use xsplice_symbols::ElfFile;
use xsplice_symbols::nm::{self, Format, Input, Options, Sort};

fn fixture(arch: Architecture) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0x90; 16], 16);
    let bss = obj.section_id(StandardSection::UninitializedData);
    obj.append_section_bss(bss, 8, 8);
    let note = obj.add_section(
        Vec::new(),
        b".note.gnu.build-id".to_vec(),
        SectionKind::Note,
    );
    obj.append_section_data(
        note,
        &[
            4, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, b'G', b'N', b'U', 0, 1, 2,
        ],
        4,
    );
    for (name, value, size, kind, section) in [
        ("f.c", 0, 0, SymbolKind::File, WSection::None),
        ("func", 0, 16, SymbolKind::Text, WSection::Section(text)),
        ("var", 0, 8, SymbolKind::Data, WSection::Section(bss)),
        ("ext", 0, 0, SymbolKind::Unknown, WSection::Undefined),
    ] {
        obj.add_symbol(WSymbol {
            name: name.as_bytes().to_vec(),
            value,
            size,
            kind,
            scope: SymbolScope::Dynamic,
            weak: false,
            section,
            flags: SymbolFlags::None,
        });
    }
    obj.write().unwrap()
}

fn exercise(bytes: &[u8]) {
    if let Ok(elf) = ElfFile::parse(bytes) {
        for sym in elf.symbols() {
            let _ = elf.symbol_bytes(&sym, sym.size.min(4));
        }
        let _ = elf.lookup("func");
        let _ = elf.lookup("f.c#var");
        let _ = elf.build_id();
    }
    for format in [Format::Bsd, Format::Sysv, Format::Posix, Format::Json] {
        let opts = Options {
            format,
            sort: Sort::Name,
            debug_syms: true,
            print_size: true,
            ..Options::default()
        };
        let inputs = [Input {
            name: "m.o",
            data: Ok(bytes),
        }];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        nm::render(&inputs, &opts, &mut out, &mut err).unwrap();
    }
}

#[test]
fn mutants_never_panic() {
    for arch in [Architecture::X86_64, Architecture::I386] {
        let base = fixture(arch);
        exercise(&base);
        for len in [
            0,
            1,
            4,
            5,
            6,
            20,
            51,
            52,
            63,
            64,
            base.len() / 2,
            base.len() - 1,
        ] {
            exercise(&base[..len]);
        }
        for pos in 0..base.len() {
            // Every header byte, then every third byte.
            if pos >= 64 && pos % 3 != 0 {
                continue;
            }
            for value in [0x00, 0xff, 0x7f, 0x80] {
                let mut m = base.clone();
                m[pos] = value;
                exercise(&m);
            }
        }
        // Whole words: offsets, sizes and counts that point far away.
        for pos in (0..base.len() - 4).step_by(4) {
            for value in [0xffff_fff0u32, 0x7fff_ffff, 0x0001_0000] {
                let mut m = base.clone();
                m[pos..pos + 4].copy_from_slice(&value.to_le_bytes());
                exercise(&m);
            }
        }
    }
}
