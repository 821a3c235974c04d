//! COFF objects and PE images against GNU nm: what the host's GNU nm reads
//! besides ELF (`pe-x86-64`, `pe-i386`, `pei-x86-64`, `pei-i386`), byte for
//! byte in stdout, stderr and exit status.
//!
//! The corpus:
//! - objects the MinGW assembler writes for x86-64 and i386 from a source
//!   that uses every section flag, storage class and type gas can express,
//!   PE images GNU ld links from them (`-mi386pep`, `-mi386pe`), and
//!   archives of them;
//! - ELF objects converted by objcopy (`-O pe-x86-64`, `-O pe-i386`);
//! - files written byte by byte here for what no tool writes: every storage
//!   class in every kind of section, symbol and section names in all their
//!   encodings (inline, string table, `.file` auxiliary entries, `/NNN`,
//!   `//BASE64`), every section characteristic bit, COMDAT sections BFD
//!   complains about, PE section symbols, image bases, and broken tables
//!   (truncated, overlong auxiliary counts, bad string tables).
//!
//! Files GNU nm gives up on at once (`bfd_fatal`: an unreadable symbol
//! table ends the whole run) are compared one by one; the others in
//! batches, as in `differential.rs`. Accepted differences: none (the host's
//! linker plugins' lines are left out of GNU's stderr, see
//! `common::run_nm`). Not covered: `pe-bigobj-x86-64` objects (`as
//! -mbig-obj`), which `xsplice-nm` does not read.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_compared, compare, compare_all, nm_and_ours, small_object};
use xsplice_testkit::require_tool;

/// Run besides the common option sets.
const MORE_OPTION_SETS: &[&[&str]] = &[
    &["-a", "-S"],
    &["-g"],
    &["-u"],
    &["-n"],
    &["-r"],
    &["-P"],
    &["--format=posix", "-a"],
    &["--format=sysv"],
    &["-a", "-n", "-r"],
];

/// The sets run on files that end GNU nm's run, one file per run.
const FATAL_OPTION_SETS: &[&[&str]] = &[&["--defined"], &["-pa", "--format=sysv"], &["-g"]];

const BATCH: usize = 200;
const MIN_FILES: usize = 300;

#[test]
fn coff_and_pe_against_gnu_nm() {
    let Some((nm, ours)) = nm_and_ours() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut files, fatal) = handmade(dir);
    files.extend(assembled(dir));
    files.extend(converted(dir));

    let mut failures = Vec::new();
    compare_all(&nm, &ours, MORE_OPTION_SETS, &files, BATCH, &mut failures);
    for args in FATAL_OPTION_SETS {
        for file in &fatal {
            compare(&nm, &ours, args, std::slice::from_ref(file), &mut failures);
        }
        // In a run of several files, the fatal one ends it.
        let mut run = vec![files[0].clone()];
        run.extend(fatal.iter().take(2).cloned());
        compare(&nm, &ours, args, &run, &mut failures);
    }
    let compared = files.len() + fatal.len();
    eprintln!(
        "compared {compared} COFF and PE files ({} alone), {} differences",
        fatal.len(),
        failures.len()
    );
    assert_compared(compared, MIN_FILES, &failures);
}

// ---------------------------------------------------------------------------
// Files written byte by byte.

const C_NULL: u8 = 0;
const C_EXT: u8 = 2;
const C_STAT: u8 = 3;
const C_FILE: u8 = 103;
const C_SECTION: u8 = 104;
const C_NT_WEAK: u8 = 105;

const TEXT: u32 = 0x6000_0020;
const DATA: u32 = 0xc000_0040;
const RDATA: u32 = 0x4000_0040;
const BSS: u32 = 0xc000_0080;
const COMDAT: u32 = 0x0000_1000;

/// A COFF object or PE image assembled field by field, so that any field
/// can hold what no tool would write.
#[derive(Clone)]
struct Coff {
    machine: u16,
    /// `Some((image base, PE32+))` for a PE image.
    image: Option<(u64, bool)>,
    sections: Vec<Sec>,
    /// Symbol table entries, auxiliary entries included, 18 bytes each.
    symbols: Vec<[u8; 18]>,
    /// The string table after its size field.
    strings: Vec<u8>,
}

#[derive(Clone)]
struct Sec {
    name: [u8; 8],
    vaddr: u32,
    characteristics: u32,
    /// `None`: no file contents (PointerToRawData 0).
    data: Option<Vec<u8>>,
}

impl Coff {
    fn new(machine: u16) -> Self {
        Coff {
            machine,
            image: None,
            sections: Vec::new(),
            symbols: Vec::new(),
            strings: Vec::new(),
        }
    }

    fn x64() -> Self {
        Coff::new(0x8664)
    }

    /// A string-table offset for `s`.
    fn string(&mut self, s: &[u8]) -> u32 {
        let at = 4 + self.strings.len() as u32;
        self.strings.extend_from_slice(s);
        self.strings.push(0);
        at
    }

    /// An 8-byte name field: inline when it fits, else a string-table
    /// offset (first four bytes zero).
    fn name_field(&mut self, name: &[u8]) -> [u8; 8] {
        let mut field = [0u8; 8];
        if name.len() <= 8 {
            field[..name.len()].copy_from_slice(name);
        } else {
            let at = self.string(name);
            field[4..].copy_from_slice(&at.to_le_bytes());
        }
        field
    }

    fn section(&mut self, name: &[u8], characteristics: u32, data: Option<&[u8]>) -> i16 {
        let mut field = [0u8; 8];
        if name.len() <= 8 {
            field[..name.len()].copy_from_slice(name);
        } else {
            let at = self.string(name);
            let text = format!("/{at}");
            field[..text.len()].copy_from_slice(text.as_bytes());
        }
        self.raw_section(field, 0, characteristics, data)
    }

    fn raw_section(
        &mut self,
        name: [u8; 8],
        vaddr: u32,
        characteristics: u32,
        data: Option<&[u8]>,
    ) -> i16 {
        self.sections.push(Sec {
            name,
            vaddr,
            characteristics,
            data: data.map(<[u8]>::to_vec),
        });
        self.sections.len() as i16
    }

    fn entry(field: [u8; 8], value: u32, scnum: i16, typ: u16, class: u8, naux: u8) -> [u8; 18] {
        let mut e = [0u8; 18];
        e[..8].copy_from_slice(&field);
        e[8..12].copy_from_slice(&value.to_le_bytes());
        e[12..14].copy_from_slice(&scnum.to_le_bytes());
        e[14..16].copy_from_slice(&typ.to_le_bytes());
        e[16] = class;
        e[17] = naux;
        e
    }

    fn sym(&mut self, name: &[u8], value: u32, scnum: i16, typ: u16, class: u8) {
        let field = self.name_field(name);
        self.symbols
            .push(Coff::entry(field, value, scnum, typ, class, 0));
    }

    fn sym_aux(&mut self, name: &[u8], value: u32, scnum: i16, class: u8, aux: &[[u8; 18]]) {
        let field = self.name_field(name);
        self.symbols
            .push(Coff::entry(field, value, scnum, 0, class, aux.len() as u8));
        self.symbols.extend_from_slice(aux);
    }

    /// A `.file` symbol whose auxiliary entries hold `aux` (raw bytes,
    /// padded to whole entries).
    fn file(&mut self, aux: &[u8], next: u32) {
        let count = aux.len().div_ceil(18).max(1);
        let mut bytes = aux.to_vec();
        bytes.resize(count * 18, 0);
        let entries: Vec<[u8; 18]> = bytes.chunks(18).map(|c| c.try_into().unwrap()).collect();
        self.sym_aux(b".file", next, -2, C_FILE, &entries);
    }

    /// A `.file` symbol with a string-table name.
    fn long_file(&mut self, name: &[u8]) {
        let at = self.string(name);
        let mut aux = [0u8; 18];
        aux[4..8].copy_from_slice(&at.to_le_bytes());
        self.sym_aux(b".file", 0, -2, C_FILE, &[aux]);
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let opt_size: usize = match self.image {
            Some((_, true)) => 240,
            Some((_, false)) => 224,
            None => 0,
        };
        if self.image.is_some() {
            out.extend_from_slice(b"MZ");
            out.resize(0x3c, 0);
            out.extend_from_slice(&64u32.to_le_bytes());
            out.extend_from_slice(b"PE\0\0");
        }
        let header_at = out.len();
        let headers_end = header_at + 20 + opt_size + 40 * self.sections.len();
        let mut data_at = headers_end;
        let mut offsets = Vec::new();
        for s in &self.sections {
            match &s.data {
                Some(d) => {
                    offsets.push(data_at as u32);
                    data_at += d.len();
                }
                None => offsets.push(0),
            }
        }
        let symptr = data_at as u32;
        out.extend_from_slice(&self.machine.to_le_bytes());
        out.extend_from_slice(&(self.sections.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&symptr.to_le_bytes());
        out.extend_from_slice(&(self.symbols.len() as u32).to_le_bytes());
        out.extend_from_slice(&(opt_size as u16).to_le_bytes());
        let flags: u16 = if self.image.is_some() { 0x0022 } else { 0 };
        out.extend_from_slice(&flags.to_le_bytes());
        if let Some((base, plus)) = self.image {
            let mut opt = vec![0u8; opt_size];
            if plus {
                opt[..2].copy_from_slice(&0x20bu16.to_le_bytes());
                opt[24..32].copy_from_slice(&base.to_le_bytes());
            } else {
                opt[..2].copy_from_slice(&0x10bu16.to_le_bytes());
                opt[28..32].copy_from_slice(&(base as u32).to_le_bytes());
            }
            opt[32..36].copy_from_slice(&0x1000u32.to_le_bytes());
            opt[36..40].copy_from_slice(&0x200u32.to_le_bytes());
            let dirs = if plus { 108 } else { 92 };
            opt[dirs..dirs + 4].copy_from_slice(&16u32.to_le_bytes());
            out.extend_from_slice(&opt);
        }
        for (s, off) in self.sections.iter().zip(&offsets) {
            let size = s.data.as_ref().map_or(16, Vec::len) as u32;
            out.extend_from_slice(&s.name);
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&s.vaddr.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&s.characteristics.to_le_bytes());
        }
        for s in &self.sections {
            if let Some(d) = &s.data {
                out.extend_from_slice(d);
            }
        }
        for e in &self.symbols {
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&(4 + self.strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.strings);
        out
    }

    /// The file offset of the symbol table in `bytes()`.
    fn symtab_offset(&self) -> usize {
        let b = self.bytes();
        let at = if self.image.is_some() { 64 + 4 } else { 0 };
        u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize
    }
}

/// The usual three sections and a few symbols, to which cases add theirs.
fn base(machine: u16) -> Coff {
    let mut c = Coff::new(machine);
    c.file(b"base.c", 0);
    let text = c.section(b".text", TEXT, Some(&[0xc3; 16]));
    let data = c.section(b".data", DATA, Some(&[1; 8]));
    let bss = c.section(b".bss", BSS, None);
    c.sym(b"main", 0, text, 0x20, C_EXT);
    c.sym(b"local_fn", 4, text, 0x20, C_STAT);
    c.sym(b"counter", 0, data, 0, C_EXT);
    c.sym(b"buffer", 8, bss, 0, C_STAT);
    c.sym(b"external", 0, 0, 0, C_EXT);
    c
}

fn known_class(class: u8) -> bool {
    matches!(
        class,
        1..=4 | 6 | 8..=13 | 15..=18 | 20 | 23 | 100..=106 | 127 | 255
    )
}

/// Files written here: (batched, alone). The second list holds the files
/// that end GNU nm's run.
fn handmade(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut batched: Vec<(String, Vec<u8>)> = Vec::new();
    let mut alone: Vec<(String, Vec<u8>)> = Vec::new();

    // Every storage class, in a section, undefined (value 0 and not), in
    // the absolute and debug pseudo-sections and out of range.
    for class in 0..=255u8 {
        if !known_class(class) && !matches!(class, 0 | 5 | 7 | 19 | 21 | 99 | 107 | 128 | 254) {
            continue;
        }
        for machine in [0x8664u16, 0x14c] {
            let mut c = base(machine);
            c.sym(b"in_text", 5, 1, 0, class);
            c.sym(b"in_data_function", 2, 2, 0x20, class);
            c.sym(b"undefined", 0, 0, 0, class);
            c.sym(b"common", 24, 0, 0, class);
            c.sym(b"absolute", 0x42, -1, 0, class);
            c.sym(b"debug", 3, -2, 0, class);
            c.sym(b"beyond", 7, 9, 0, class);
            c.sym(b"negative", 7, -3, 0, class);
            let name = format!("class-{class}-{machine:x}.o");
            if known_class(class) {
                batched.push((name, c.bytes()));
            } else {
                alone.push((name, c.bytes()));
            }
        }
    }
    // The all-zero entry BFD lets through, and one it does not.
    let mut c = base(0x8664);
    c.symbols.push([0; 18]);
    batched.push(("null-entry.o".into(), c.bytes()));
    let mut c = base(0x8664);
    c.sym(b"null_valued", 1, 0, 0, C_NULL);
    alone.push(("null-valued.o".into(), c.bytes()));

    // The sysv Type column.
    let mut c = base(0x8664);
    for typ in [0u16, 1, 4, 0x10, 0x14, 0x20, 0x24, 0x30, 0x34, 0x40, 0x8000] {
        c.sym(format!("typ_{typ:x}").as_bytes(), 0, 1, typ, C_STAT);
        c.sym(format!("ext_typ_{typ:x}").as_bytes(), 0, 2, typ, C_EXT);
    }
    batched.push(("types.o".into(), c.bytes()));

    // Names: inline (8 bytes, no NUL), string table, empty, corrupt
    // offsets, a first byte of zero with more after it.
    let mut c = base(0x8664);
    c.sym(b"eight_ch", 0, 1, 0, C_EXT);
    c.sym(b"a_name_longer_than_eight", 1, 1, 0, C_EXT);
    c.sym(b"", 2, 1, 0, C_STAT);
    let mut field = [0u8; 8];
    field[4..].copy_from_slice(&100_000u32.to_le_bytes());
    c.symbols.push(Coff::entry(field, 3, 1, 0, C_EXT, 0));
    field[4..].copy_from_slice(&2u32.to_le_bytes());
    c.symbols.push(Coff::entry(field, 4, 1, 0, C_EXT, 0));
    c.symbols
        .push(Coff::entry(*b"\0xyz\0\0\0\0", 5, 1, 0, C_STAT, 0));
    let last = c.string(b"last");
    field[4..].copy_from_slice(&(last + 2).to_le_bytes());
    c.symbols.push(Coff::entry(field, 6, 1, 0, C_EXT, 0));
    c.sym(b"caf\xc3\xa9_\xff", 7, 1, 0, C_EXT);
    batched.push(("names.o".into(), c.bytes()));

    // `.file` names: short, 14, 15 and 18 bytes, over two entries, in the
    // string table, out of its range, none at all.
    let mut c = base(0x8664);
    c.file(b"a.c", 3);
    c.file(b"fourteen_chr.c", 5);
    c.file(b"fifteen_chars.c", 7);
    c.file(b"eighteen_chars.c__", 9);
    c.file(b"a_name_over_two_entries.c", 12);
    c.long_file(b"a/very/long/path/to/a/file.c");
    let mut aux = [0u8; 18];
    aux[4..8].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    c.sym_aux(b".file", 0, -2, C_FILE, &[aux]);
    c.sym(b".file", 1, -2, 0, C_FILE);
    c.sym(b"static_after", 1, 1, 0, C_STAT);
    batched.push(("files.o".into(), c.bytes()));

    // Section names: long ones through `/NNN` (with what strtol accepts),
    // LLVM's `//BASE64`, and forms BFD keeps as they are or refuses.
    let variants: &[(&str, &[u8; 8], bool)] = &[
        ("slash-digits", b"/4\0\0\0\0\0\0", true),
        ("slash-space", b"/ 4\0\0\0\0\0", true),
        ("slash-plus", b"/+4\0\0\0\0\0", true),
        ("slash-minus", b"/-1\0\0\0\0\0", true),
        ("slash-junk", b"/4x\0\0\0\0\0", true),
        ("slash-alone", b"/\0\0\0\0\0\0\0", true),
        ("slash-blank", b"/  \0\0\0\0\0", true),
        ("slash-past", b"/9999\0\0\0", true),
        ("base64", b"//AAAAAE", true),
        ("base64-bad", b"//AAA!AE", true),
        ("eight", b".abcdefg", true),
    ];
    for (tag, field, _) in variants {
        let mut c = base(0x8664);
        c.string(b".long_section_name");
        let s = c.raw_section(**field, 0, DATA, Some(&[0; 4]));
        c.sym(b"in_named", 0, s, 0, C_EXT);
        batched.push((format!("secname-{tag}.o"), c.bytes()));
    }

    // Every characteristic bit, alone and with read and write, on an
    // ordinary, a debug and a `.comment` section, with and without
    // contents.
    for bit in 0..32 {
        for (tag, name) in [
            ("data", &b".mine"[..]),
            ("debug", b".debug_x"),
            ("comment", b".comment"),
        ] {
            for extra in [0u32, 0xc000_0000] {
                for contents in [true, false] {
                    let mut c = base(0x8664);
                    let flags = 1u32 << bit | extra;
                    let s = c.section(name, flags, contents.then_some(&[0u8; 4][..]));
                    c.sym(b"here", 1, s, 0, C_STAT);
                    c.sym(b"here_global", 2, s, 0, C_EXT);
                    batched.push((
                        format!("flag-{bit}-{tag}-{extra:x}-{}.o", u8::from(contents)),
                        c.bytes(),
                    ));
                }
            }
        }
    }

    // COMDAT sections: gas's shape, and the ones BFD complains about. The
    // section's first symbol: (case, class, type, value, name, aux entry).
    type ComdatCase = (&'static str, u8, u16, u32, &'static [u8], bool);
    let comdat_cases: &[ComdatCase] = &[
        ("good", C_STAT, 0, 0, b".text$f", true),
        ("mismatch", C_STAT, 0, 0, b".text$g", true),
        ("extern", C_EXT, 0, 0, b".text$f", true),
        ("valued", C_STAT, 0, 4, b".text$f", true),
        ("typed", C_STAT, 4, 0, b".text$f", true),
        ("function", C_STAT, 0x20, 0, b".text$f", true),
        ("label", 6, 0, 0, b".text$f", true),
        ("section-class", C_SECTION, 0, 9, b".text$f", true),
        ("no-aux", C_STAT, 0, 0, b".text$f", false),
    ];
    for &(tag, class, typ, value, symname, with_aux) in comdat_cases {
        let mut c = base(0x8664);
        let s = c.section(b".text$f", TEXT | COMDAT, Some(&[0xc3; 4]));
        let field = c.name_field(symname);
        let mut aux = [0u8; 18];
        aux[14] = 2;
        c.symbols
            .push(Coff::entry(field, value, s, typ, class, u8::from(with_aux)));
        if with_aux {
            c.symbols.push(aux);
        }
        c.sym(b"f", 0, s, 0x20, C_EXT);
        batched.push((format!("comdat-{tag}.o"), c.bytes()));
    }
    // The section's symbol is the last entry and claims an auxiliary one.
    let mut c = base(0x8664);
    let s = c.section(b".text$f", TEXT | COMDAT, Some(&[0xc3; 4]));
    c.symbols
        .push(Coff::entry(*b".text$f\0", 0, s, 0, C_STAT, 1));
    alone.push(("comdat-aux-at-end.o".into(), c.bytes()));

    // PE section symbols: naming an existing section, naming none (BFD
    // makes one up, once), and with a section number.
    let mut c = base(0x8664);
    c.sym(b".data", 77, 0, 0, C_SECTION);
    c.sym(b".madeup", 77, 0, 0, C_SECTION);
    c.sym(b".madeup", 78, 0, 0, C_SECTION);
    c.sym(b".another", 0, 0, 0, C_SECTION);
    c.sym(b"numbered", 5, 1, 0, C_SECTION);
    c.sym(b"after_madeup", 1, 5, 0, C_STAT);
    batched.push(("section-symbols.o".into(), c.bytes()));

    // Weak externals as gas writes them: undefined with a default.
    let mut c = base(0x8664);
    let mut aux = [0u8; 18];
    aux[..4].copy_from_slice(&2u32.to_le_bytes());
    aux[4..8].copy_from_slice(&3u32.to_le_bytes());
    c.sym_aux(b"weak_ref", 0, 0, C_NT_WEAK, &[aux]);
    c.sym_aux(b"weak_def", 0, 1, C_NT_WEAK, &[aux]);
    batched.push(("weak.o".into(), c.bytes()));

    // An object whose sections have addresses.
    let mut c = base(0x8664);
    c.sections[0].vaddr = 0x1000;
    c.sections[1].vaddr = 0xffff_fff0;
    c.sym(b"wraps", 0x20, 2, 0, C_EXT);
    batched.push(("addressed.o".into(), c.bytes()));

    // Images: PE32+ at Xen's base, PE32 near the top of 4 GiB (BFD keeps
    // 32 bits of a PE32 address).
    for (tag, machine, base_addr, plus) in [
        ("pe32plus", 0x8664u16, 0xffff_82d0_4000_0000u64, true),
        ("pe32", 0x14c, 0xfff0_0000, false),
        ("pe32plus-low", 0x8664, 0x1_0000_0000, true),
    ] {
        let mut c = base(machine);
        c.image = Some((base_addr, plus));
        c.sections[0].vaddr = 0x20_0000;
        c.sections[1].vaddr = 0x40_0000;
        c.sym(b"at_zero_vma", 0, 4, 0, C_EXT);
        c.section(b".comment", 0x4000_0000, Some(b"GCC\0"));
        batched.push((format!("image-{tag}.efi"), c.bytes()));
    }
    // An image's header that BFD refuses.
    let mut c = base(0x8664);
    c.image = Some((0x1000_0000, true));
    let mut bytes = c.bytes();
    bytes[64 + 4 + 16..64 + 4 + 18].copy_from_slice(&241u16.to_le_bytes());
    batched.push(("image-opthdr-too-big.efi".into(), bytes));
    let mut bytes = c.bytes();
    bytes[0x3c..0x40].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    batched.push(("image-lfanew-past-end.efi".into(), bytes));
    let mut bytes = c.bytes();
    bytes[64 + 4..64 + 6].copy_from_slice(&0xaa64u16.to_le_bytes());
    batched.push(("image-arm64.efi".into(), bytes));

    // Empty tables and headers.
    let mut c = Coff::x64();
    c.section(b".text", TEXT, Some(&[0xc3]));
    batched.push(("no-symbols.o".into(), c.bytes()));
    batched.push((
        "header-only.o".into(),
        [0x64, 0x86, 0, 0, 0x4d, 0x8d, 0xad, 0x57]
            .into_iter()
            .chain([0; 12])
            .collect(),
    ));

    // Broken symbol and string tables.
    let good = base(0x8664);
    let symtab = good.symtab_offset();
    let bytes = good.bytes();
    let count = good.symbols.len();
    alone.push(("symtab-cut.o".into(), bytes[..symtab + 18 * 3].to_vec()));
    let mut b = bytes.clone();
    b[symtab + 18 * (count - 1) + 17] = 2;
    alone.push(("aux-overrun.o".into(), b.clone()));
    // In an archive, the broken member ends the run too.
    let members = [
        ("first.o".to_owned(), bytes.clone()),
        ("broken.o".to_owned(), b),
        ("never.o".to_owned(), bytes.clone()),
    ];
    alone.push(("broken-member.a".into(), archive(&members)));
    let mut long = base(0x8664);
    long.sym(b"a_name_in_the_string_table", 0, 1, 0, C_EXT);
    let lb = long.bytes();
    let strtab = long.symtab_offset() + 18 * long.symbols.len();
    batched.push(("strtab-missing.o".into(), lb[..strtab].to_vec()));
    batched.push(("strtab-two-bytes.o".into(), lb[..strtab + 2].to_vec()));
    alone.push(("strtab-cut.o".into(), lb[..strtab + 8].to_vec()));
    let mut b = lb.clone();
    b[strtab..strtab + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    alone.push(("strtab-size-huge.o".into(), b));
    let mut b = lb.clone();
    b[strtab..strtab + 4].copy_from_slice(&2u32.to_le_bytes());
    alone.push(("strtab-size-small.o".into(), b));
    // A long section name and no readable string table: BFD refuses the
    // file while making its sections.
    let mut ls = base(0x8664);
    ls.section(b".a_long_section_name", RDATA, Some(&[0; 4]));
    let lsb = ls.bytes();
    let strtab = ls.symtab_offset() + 18 * ls.symbols.len();
    batched.push(("long-section-no-strtab.o".into(), lsb[..strtab].to_vec()));
    let mut b = lsb.clone();
    b[strtab..strtab + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    batched.push(("long-section-bad-strtab.o".into(), b));

    // An archive of COFF objects, an i386 one and an ELF one.
    let members = [
        ("x64.o".to_owned(), base(0x8664).bytes()),
        ("i386.o".to_owned(), base(0x14c).bytes()),
        ("elf.o".to_owned(), small_object()),
    ];
    batched.push(("mixed.a".into(), archive(&members)));

    let write = |list: Vec<(String, Vec<u8>)>| -> Vec<PathBuf> {
        list.into_iter()
            .map(|(name, bytes)| {
                let path = dir.join(name);
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect()
    };
    (write(batched), write(alone))
}

/// A System V archive (GNU's layout, no symbol index) of `members`.
fn archive(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            format!("{name}/"),
            0,
            0,
            0,
            644,
            data.len()
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Files GNU tools write.

/// What the MinGW assembler writes for x86-64 and i386, the images GNU ld
/// links from that, and archives of both.
fn assembled(dir: &Path) -> Vec<PathBuf> {
    let Some(gas) = require_tool(
        "x86_64-w64-mingw32-as",
        "COFF objects from gas (Debian's binutils-mingw-w64-x86-64)",
    ) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for (tag, flag, word) in [("x64", "--64", ".quad"), ("i386", "--32", ".long")] {
        let src = dir.join(format!("gas-{tag}.s"));
        std::fs::write(&src, GAS_SOURCE.replace("WORD", word)).unwrap();
        let obj = dir.join(format!("gas-{tag}.o"));
        tool(Command::new(&gas).arg(flag).arg(&src).arg("-o").arg(&obj));
        files.push(obj);
    }
    if let Some(ld) = require_tool("ld", "PE images from GNU ld (-mi386pep, -mi386pe)") {
        for (tag, emulation) in [("x64", "i386pep"), ("i386", "i386pe")] {
            let out = dir.join(format!("gas-{tag}.efi"));
            let mut cmd = Command::new(&ld);
            cmd.arg(format!("-m{emulation}"))
                .args(["--subsystem", "10", "-e", "gfunc"])
                .arg(dir.join(format!("gas-{tag}.o")))
                .arg("-o")
                .arg(&out);
            for undefined in ["ext1", "ext2"] {
                cmd.arg(format!("--defsym={undefined}=0x1234"));
            }
            tool(&mut cmd);
            files.push(out);
        }
    }
    if let Some(ar) = require_tool("ar", "archives of COFF objects") {
        let out = dir.join("gas.a");
        tool(
            Command::new(ar)
                .arg("rc")
                .arg(&out)
                .arg(dir.join("gas-x64.o"))
                .arg(dir.join("gas-i386.o")),
        );
        files.push(out);
    }
    files
}

/// ELF objects turned into COFF by objcopy.
fn converted(dir: &Path) -> Vec<PathBuf> {
    let (Some(gas), Some(objcopy)) = (
        require_tool("as", "ELF objects to convert"),
        require_tool("objcopy", "objcopy -O pe-x86-64"),
    ) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for (tag, flag, target) in [("x64", "--64", "pe-x86-64"), ("i386", "--32", "pe-i386")] {
        let src = dir.join(format!("elf-{tag}.s"));
        std::fs::write(&src, ELF_SOURCE).unwrap();
        let elf = dir.join(format!("elf-{tag}.o"));
        tool(Command::new(&gas).arg(flag).arg(&src).arg("-o").arg(&elf));
        let out = dir.join(format!("objcopy-{tag}.o"));
        tool(
            Command::new(&objcopy)
                .args(["-O", target])
                .arg(&elf)
                .arg(&out),
        );
        files.push(out);
    }
    files
}

fn tool(cmd: &mut Command) {
    let (code, _, err) = xsplice_testkit::run(cmd);
    assert_eq!(code, 0, "{cmd:?} failed: {}", String::from_utf8_lossy(&err));
}

/// Every section flag, storage class and type gas's COFF syntax expresses.
const GAS_SOURCE: &str = r#"
	.file	"a_file_name_longer_than_eighteen.c"
	.file	"eighteen_chars.c__"
	.file	"fifteen_chars.c"
	.text
	.globl	gfunc
	.def	gfunc;	.scl	2;	.type	32;	.endef
gfunc:	ret
	.def	ptr;	.scl	3;	.type	0x14;	.endef
ptr:	nop
	.def	arr;	.scl	3;	.type	0x34;	.endef
arr:	nop
	.def	plain_int;	.scl	3;	.type	4;	.endef
plain_int:	nop
	.def	lab;	.scl	6;	.endef
lab:	nop
	.data
d1:	.long 1
	.section .rodata$x,"dr"
r1:	.long 2
	.section .shared,"ds"
sh:	.long 3
	.section .noread,"dy"
nr:	.long 3
	.section .nload,"n"
nl:	.long 4
	.section .wtext,"xw"
wt:	ret
	.section .comment,"dn"
cm:	.long 0
	.section .stab,"dr"
st:	.long 0
	.section .zdebug_x,"dr"
zd:	.long 0
	.section .debug_info,"dr"
di:	.long 0
	.section .gnu.linkonce.wi.foo,"dr"
lw:	.long 0
	.section .bss$x,"bw"
bx:	.space 8
	.section .data$one,"dw"
	.linkonce same_size
o1:	.long 5
	.section .text$two,"xr"
	.linkonce one_only
t2:	ret
	.section .text$three,"xr"
	.linkonce same_contents
t3:	ret
	.section .text$four,"xr"
	.linkonce discard
t4:	ret
	.section .pdata$x,"dr"
px:	.long 0
	.section .edata$1,"dr"
ex:	.long 0
	.section .idata$7,"dw"
ix:	.long 0
	.section .drectve,"yn"
	.ascii " -aligncomm:big_common,5"
	.section .drectvex,"dr"
dx:	.long 0
	.section .pdatafoo,"dr"
pf:	.long 0
	.section .a_very_long_section_name,"dr"
lsn:	.long 0
	.globl	big_common
	.comm	big_common, 4096, 5
	.lcomm	small_lc, 3
	.weak	weakdef
weakdef: .long 0
	.weak	weakref
	.globl	zzz
	.set	zzz, 0x7fffffff
	.set	absl, 0x42
	.globl	"quoted name"
"quoted name": .long 0
	WORD	ext1, ext2, weakref
"#;

/// An ELF object for objcopy to convert: globals, locals, weak, common,
/// absolute, undefined, and sections of each kind.
const ELF_SOURCE: &str = r#"
	.file	"converted.c"
	.text
	.globl	gfunc
	.type	gfunc, @function
gfunc:	ret
lfunc:	ret
	.weak	wfunc
wfunc:	ret
	.data
	.globl	gdata
gdata:	.long	undef_x
	.section .rodata
ro:	.long	0
	.section .debug_frame,"",@progbits
dbg:	.long	0
	.section .note.x,"a",@note
nt:	.long	0
	.comm	cvar, 8, 8
	.lcomm	lvar, 16
	.globl	absg
	.set	absg, 0x1234
"#;
