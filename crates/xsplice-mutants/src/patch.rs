//! Helpers that read and patch ELF fields in place, to make mutants.
//!
//! They read the file with their own few lines of offset arithmetic rather
//! than the validator's reader: the corpus must not trust the code it tests.
//! Only little-endian files are read, which is what every fixture is.

/// The ELF class of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Elf32,
    Elf64,
}

/// `SHT_RELA`.
pub const SHT_RELA: u32 = 4;

/// The fields of the ELF header the helpers need.
struct Header {
    shoff: u64,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
}

/// A section header.
#[derive(Clone, Copy, Debug)]
pub struct Shdr {
    pub name: u32,
    pub sh_type: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub addralign: u64,
    pub entsize: u64,
}

pub fn class(b: &[u8]) -> Class {
    if b[4] == 1 {
        Class::Elf32
    } else {
        Class::Elf64
    }
}

fn hdr(b: &[u8]) -> Header {
    let field = |name| get_ehdr(b, name);
    Header {
        shoff: field("e_shoff"),
        shentsize: field("e_shentsize") as u16,
        shnum: field("e_shnum") as u16,
        shstrndx: field("e_shstrndx") as u16,
    }
}

pub fn put(b: &mut [u8], off: u64, width: usize, v: u64) {
    let off = off as usize;
    b[off..off + width].copy_from_slice(&v.to_le_bytes()[..width]);
}

pub fn get(b: &[u8], off: u64, width: usize) -> u64 {
    let mut a = [0u8; 8];
    a[..width].copy_from_slice(&b[off as usize..off as usize + width]);
    u64::from_le_bytes(a)
}

/// (offset, width) of a field of the ELF header (`e_*`), of a section
/// header (`sh_*`) or of a symbol (`st_*`) within its structure, in `b`'s
/// class.
pub fn field(b: &[u8], name: &str) -> (u64, usize) {
    // (ELF64, ELF32)
    let (elf64, elf32) = match name {
        "e_type" => ((16, 2), (16, 2)),
        "e_machine" => ((18, 2), (18, 2)),
        "e_version" => ((20, 4), (20, 4)),
        "e_shoff" => ((40, 8), (32, 4)),
        "e_flags" => ((48, 4), (36, 4)),
        "e_phnum" => ((56, 2), (44, 2)),
        "e_shentsize" => ((58, 2), (46, 2)),
        "e_shnum" => ((60, 2), (48, 2)),
        "e_shstrndx" => ((62, 2), (50, 2)),
        "sh_name" => ((0, 4), (0, 4)),
        "sh_type" => ((4, 4), (4, 4)),
        "sh_flags" => ((8, 8), (8, 4)),
        "sh_addr" => ((16, 8), (12, 4)),
        "sh_offset" => ((24, 8), (16, 4)),
        "sh_size" => ((32, 8), (20, 4)),
        "sh_link" => ((40, 4), (24, 4)),
        "sh_info" => ((44, 4), (28, 4)),
        "sh_addralign" => ((48, 8), (32, 4)),
        "sh_entsize" => ((56, 8), (36, 4)),
        "st_name" => ((0, 4), (0, 4)),
        "st_value" => ((8, 8), (4, 4)),
        "st_size" => ((16, 8), (8, 4)),
        "st_info" => ((4, 1), (12, 1)),
        "st_shndx" => ((6, 2), (14, 2)),
        _ => panic!("no ELF field {name}"),
    };
    if class(b) == Class::Elf64 {
        elf64
    } else {
        elf32
    }
}

pub fn get_ehdr(b: &[u8], name: &str) -> u64 {
    let (off, w) = field(b, name);
    get(b, off, w)
}

pub fn set_ehdr(b: &mut [u8], name: &str, v: u64) {
    let (off, w) = field(b, name);
    put(b, off, w, v);
}

/// The NUL-terminated string at file offset `start`.
fn c_str(b: &[u8], start: u64) -> &[u8] {
    let start = start as usize;
    let end = b[start..].iter().position(|&c| c == 0).unwrap() + start;
    &b[start..end]
}

/// Index of the first section whose name satisfies `pred`.
fn find_section(b: &[u8], pred: impl Fn(&[u8]) -> bool) -> Option<usize> {
    let h = hdr(b);
    let names = shdr(b, usize::from(h.shstrndx));
    (1..usize::from(h.shnum)).find(|&i| pred(c_str(b, names.offset + u64::from(shdr(b, i).name))))
}

/// Section index by exact name.
pub fn section(b: &[u8], name: &str) -> usize {
    find_section(b, |n| n == name.as_bytes()).unwrap_or_else(|| panic!("no section {name}"))
}

/// Section index of the first section whose name starts with `prefix`.
pub fn section_prefix(b: &[u8], prefix: &str) -> usize {
    find_section(b, |n| n.starts_with(prefix.as_bytes()))
        .unwrap_or_else(|| panic!("no section starting with {prefix}"))
}

/// Section header `i`.
pub fn shdr(b: &[u8], i: usize) -> Shdr {
    let f = |name| get_sh(b, i, name);
    Shdr {
        name: f("sh_name") as u32,
        sh_type: f("sh_type") as u32,
        flags: f("sh_flags"),
        addr: f("sh_addr"),
        offset: f("sh_offset"),
        size: f("sh_size"),
        link: f("sh_link") as u32,
        info: f("sh_info") as u32,
        addralign: f("sh_addralign"),
        entsize: f("sh_entsize"),
    }
}

pub fn set_sh(b: &mut [u8], i: usize, name: &str, v: u64) {
    let h = hdr(b);
    let (off, w) = field(b, name);
    put(b, h.shoff + i as u64 * u64::from(h.shentsize) + off, w, v);
}

pub fn get_sh(b: &[u8], i: usize, name: &str) -> u64 {
    let h = hdr(b);
    let (off, w) = field(b, name);
    get(b, h.shoff + i as u64 * u64::from(h.shentsize) + off, w)
}

/// File offset of byte `off` of section `i`'s contents.
pub fn at(b: &[u8], i: usize, off: u64) -> u64 {
    shdr(b, i).offset + off
}

/// Index of the symbol called `name`, and the file offset of its entry.
pub fn symbol(b: &[u8], name: &str) -> (usize, u64) {
    let st = section(b, ".symtab");
    let s = shdr(b, st);
    let strtab = shdr(b, s.link as usize);
    (0..s.size / s.entsize)
        .find_map(|n| {
            let off = s.offset + n * s.entsize;
            let found = c_str(b, strtab.offset + sym_name(b, off)) == name.as_bytes();
            found.then_some((n as usize, off))
        })
        .unwrap_or_else(|| panic!("no symbol {name}"))
}

/// `st_name` of the symbol entry at file offset `off`.
fn sym_name(b: &[u8], off: u64) -> u64 {
    get(b, off, 4)
}

pub fn set_sym(b: &mut [u8], symbol_name: &str, name: &str, v: u64) {
    let (_, off) = symbol(b, symbol_name);
    let (o, w) = field(b, name);
    put(b, off + o, w, v);
}

/// File offset of relocation `n` of relocation section `i`.
pub fn reloc_at(b: &[u8], i: usize, n: u64) -> u64 {
    let s = shdr(b, i);
    s.offset + n * s.entsize
}

/// Relocation `n` of section `i`: (offset, sym, type).
pub fn reloc(b: &[u8], i: usize, n: u64) -> (u64, u32, u32) {
    let at = reloc_at(b, i, n);
    if class(b) == Class::Elf64 {
        let info = get(b, at + 8, 8);
        (get(b, at, 8), (info >> 32) as u32, info as u32)
    } else {
        let info = get(b, at + 4, 4);
        (get(b, at, 4), (info >> 8) as u32, (info & 0xff) as u32)
    }
}

/// Rewrites relocation `n` of section `i`.
pub fn set_reloc(b: &mut [u8], i: usize, n: u64, offset: u64, sym: u32, kind: u32) {
    let off = reloc_at(b, i, n);
    if class(b) == Class::Elf64 {
        put(b, off, 8, offset);
        put(b, off + 8, 8, (u64::from(sym) << 32) | u64::from(kind));
    } else {
        put(b, off, 4, offset);
        put(b, off + 4, 4, u64::from((sym << 8) | (kind & 0xff)));
    }
}

/// The relocation of section `i` that patches byte `offset` of its target.
pub fn reloc_for(b: &[u8], i: usize, offset: u64) -> u64 {
    let s = shdr(b, i);
    (0..s.size / s.entsize)
        .find(|&n| reloc(b, i, n).0 == offset)
        .unwrap_or_else(|| panic!("no relocation at {offset:#x}"))
}

/// Overwrites the string-table bytes of symbol `name` with `new` (same
/// length or shorter, NUL-terminated by the caller if shorter).
pub fn rename_symbol(b: &mut [u8], name: &str, new: &[u8]) {
    let st = section(b, ".symtab");
    let strtab = shdr(b, shdr(b, st).link as usize);
    let (_, off) = symbol(b, name);
    let start = (strtab.offset + sym_name(b, off)) as usize;
    b[start..start + new.len()].copy_from_slice(new);
}

/// Replaces occurrences of `from` in section `i`'s contents with `to` (same length).
pub fn replace_in_section(b: &mut [u8], i: usize, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let s = shdr(b, i);
    let data = &mut b[s.offset as usize..(s.offset + s.size) as usize];
    let pos = data
        .windows(from.len())
        .position(|w| w == from)
        .expect("bytes to replace");
    data[pos..pos + to.len()].copy_from_slice(to);
}
