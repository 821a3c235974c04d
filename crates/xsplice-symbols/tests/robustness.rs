//! Malformed input must give an error or odd output, never a panic.
//!
//! Starting from a valid ELF32 and ELF64 object, and from COFF objects and
//! PE images of i386 and x86-64, every byte of the headers and many bytes
//! elsewhere are overwritten with a few values chosen to hit bounds (0,
//! 0xff, 0x7f, 0x80), as is every aligned word (huge offsets, sizes and
//! counts), and each mutant goes through every public entry point: parse,
//! the symbol iterator, lookup, symbol bytes, build-id and the renderer in
//! all formats.

use object::SymbolKind::{Data, File, Text, Unknown};
use object::write::{Object, StandardSection, SymbolSection as WSection};
use object::{Architecture, BinaryFormat, Endianness, SectionKind, SymbolScope};
use xsplice_symbols::ElfFile;
use xsplice_symbols::coff::CoffFile;
use xsplice_symbols::nm::{self, Format, Input, Options, Sort};
use xsplice_testkit::fixture::{add_build_id_note, add_symbols};

fn fixture(arch: Architecture) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0x90; 16], 16);
    let bss = obj.section_id(StandardSection::UninitializedData);
    obj.append_section_bss(bss, 8, 8);
    add_build_id_note(&mut obj, &[1, 2]);
    let (t, b) = (WSection::Section(text), WSection::Section(bss));
    let global = SymbolScope::Dynamic;
    add_symbols(
        &mut obj,
        &[
            ("f.c", 0, 0, File, global, false, WSection::None),
            ("func", 0, 16, Text, global, false, t),
            ("var", 0, 8, Data, global, false, b),
            ("ext", 0, 0, Unknown, global, false, WSection::Undefined),
        ],
    );
    obj.write().unwrap()
}

/// A COFF object with text, data, bss, a common, an undefined, a long
/// symbol name (so a string table) and, with `long_section`, a section
/// named through the string table, written by the `object` crate.
fn coff_fixture(arch: Architecture, long_section: bool) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Coff, arch, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0x90; 16], 16);
    let data = obj.section_id(StandardSection::Data);
    obj.append_section_data(data, &[1; 8], 8);
    let bss = obj.section_id(StandardSection::UninitializedData);
    obj.append_section_bss(bss, 8, 8);
    if long_section {
        let long = obj.add_section(
            Vec::new(),
            b".a_long_section_name".to_vec(),
            SectionKind::ReadOnlyData,
        );
        obj.append_section_data(long, &[2; 4], 4);
    }
    let (t, b) = (WSection::Section(text), WSection::Section(bss));
    let (local, global) = (SymbolScope::Compilation, SymbolScope::Dynamic);
    add_symbols(
        &mut obj,
        &[
            ("func", 0, 16, Text, global, false, t),
            ("local_with_a_long_name", 4, 0, Text, local, false, t),
            ("var", 0, 8, Data, global, false, b),
            ("shared", 0, 8, Data, global, false, WSection::Common),
            ("ext", 0, 0, Unknown, global, false, WSection::Undefined),
        ],
    );
    obj.write().unwrap()
}

/// The COFF object as a PE image: a DOS header, the signature and an
/// optional header in front, and every file offset moved past them.
fn pe_fixture(arch: Architecture) -> Vec<u8> {
    let coff = coff_fixture(arch, true);
    let plus = arch == Architecture::X86_64;
    let opt_size: usize = if plus { 240 } else { 224 };
    let shift = (64 + 4 + opt_size) as u32;
    let mut out = b"MZ".to_vec();
    out.resize(0x3c, 0);
    out.extend_from_slice(&64u32.to_le_bytes());
    out.extend_from_slice(b"PE\0\0");
    let mut header = coff[..20].to_vec();
    let symptr = u32::from_le_bytes(header[8..12].try_into().unwrap());
    header[8..12].copy_from_slice(&(symptr + shift).to_le_bytes());
    header[16..18].copy_from_slice(&(opt_size as u16).to_le_bytes());
    out.extend_from_slice(&header);
    let mut opt = vec![0u8; opt_size];
    opt[..2].copy_from_slice(&(if plus { 0x20bu16 } else { 0x10b }).to_le_bytes());
    opt[24..32].copy_from_slice(&0xffff_82d0_4000_0000u64.to_le_bytes());
    out.extend_from_slice(&opt);
    let sections = u16::from_le_bytes(coff[2..4].try_into().unwrap()) as usize;
    let mut rest = coff[20..].to_vec();
    for i in 0..sections {
        let h = i * 40;
        rest[h + 12..h + 16].copy_from_slice(&(0x1000 * (i as u32 + 1)).to_le_bytes());
        for field in [20, 24] {
            let v = u32::from_le_bytes(rest[h + field..h + field + 4].try_into().unwrap());
            if v != 0 {
                rest[h + field..h + field + 4].copy_from_slice(&(v + shift).to_le_bytes());
            }
        }
    }
    out.extend_from_slice(&rest);
    out
}

fn exercise(bytes: &[u8]) {
    if let Ok(coff) = CoffFile::parse(bytes) {
        if let Ok(table) = coff.symbols() {
            for sym in &table.symbols {
                let _ = coff.section_name_in(sym.section, &table.extra_sections);
                let _ = sym.type_name();
            }
        }
    }
    if let Ok(elf) = ElfFile::parse(bytes) {
        for sym in elf.symbols() {
            let _ = elf.symbol_bytes(&sym, sym.size.min(4));
        }
        let _ = elf.lookup("func");
        let _ = elf.lookup("f.c#var");
        let _ = elf.build_id();
    }
    for format in [Format::Bsd, Format::Sysv, Format::Posix, Format::Json] {
        for sort in [Sort::Name, Sort::Numeric] {
            let opts = Options {
                format,
                sort,
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
}

/// How [`mutate`] varies a valid file.
struct Mutations<'a> {
    /// Truncated to each of these lengths, to half its length and to all
    /// but its last byte.
    lengths: &'a [usize],
    /// Every byte of the first `header_len`, then every third byte, set to
    /// bound values.
    header_len: usize,
    /// The little-endian word at every `word_step`-th offset set to each
    /// of `words`: offsets, sizes and counts that point far away.
    word_step: usize,
    words: &'a [u32],
}

/// `base` and each of its mutants through every entry point.
fn mutate(base: &[u8], m: &Mutations<'_>) {
    exercise(base);
    for &len in m.lengths.iter().chain(&[base.len() / 2, base.len() - 1]) {
        exercise(&base[..len.min(base.len())]);
    }
    for pos in 0..base.len() {
        if pos >= m.header_len && pos % 3 != 0 {
            continue;
        }
        for value in [0x00, 0xff, 0x7f, 0x80] {
            let mut bytes = base.to_vec();
            bytes[pos] = value;
            exercise(&bytes);
        }
    }
    for pos in (0..base.len() - 4).step_by(m.word_step) {
        for value in m.words {
            let mut bytes = base.to_vec();
            bytes[pos..pos + 4].copy_from_slice(&value.to_le_bytes());
            exercise(&bytes);
        }
    }
}

/// The COFF and PE mutants: a header of `header_len` bytes, every second
/// word.
fn mutate_coff(base: &[u8], header_len: usize) {
    let mutations = Mutations {
        lengths: &[0, 1, 2, 4, 20, 63, 64, 68, 88],
        header_len,
        word_step: 2,
        words: &[0xffff_fff0, 0x7fff_ffff, 0x0001_0000, 0x0000_0068],
    };
    mutate(base, &mutations);
}

#[test]
fn coff_and_pe_mutants_never_panic() {
    for arch in [Architecture::X86_64, Architecture::I386] {
        let coff = coff_fixture(arch, true);
        assert!(CoffFile::parse(&coff).unwrap().symbols().is_ok());
        mutate_coff(&coff, 20 + 40 * 5);
        let pe = pe_fixture(arch);
        let table = CoffFile::parse(&pe).unwrap().symbols().unwrap();
        // (i386 names carry the leading underscore.)
        assert!(table.symbols.iter().any(|s| s.name.ends_with(b"func")));
        mutate_coff(&pe, 64 + 4 + 20 + 240 + 40 * 5);
    }
}

/// Header counts are only believed as far as the file goes: a count of
/// four billion symbols or 65,535 sections is refused before anything is
/// allocated for them.
#[test]
fn huge_counts_are_refused() {
    let mut coff = coff_fixture(Architecture::X86_64, false);
    coff[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let file = CoffFile::parse(&coff).unwrap();
    assert!(matches!(
        file.symbols(),
        Err(xsplice_symbols::Error::CoffSymbols { .. })
    ));
    coff[2..4].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(CoffFile::parse(&coff).is_err());
}

#[test]
fn mutants_never_panic() {
    for arch in [Architecture::X86_64, Architecture::I386] {
        let base = fixture(arch);
        // Every header byte, then every third byte; every aligned word.
        let mutations = Mutations {
            lengths: &[0, 1, 4, 5, 6, 20, 51, 52, 63, 64],
            header_len: 64,
            word_step: 4,
            words: &[0xffff_fff0, 0x7fff_ffff, 0x0001_0000],
        };
        mutate(&base, &mutations);
    }
}
