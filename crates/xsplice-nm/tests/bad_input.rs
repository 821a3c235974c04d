//! Malformed and missing inputs: a clear message, GNU's exit status, and
//! never a panic. One test per case.
//!
//! Where GNU nm's answer depends only on the file, the case is compared
//! with GNU nm byte for byte. Two cases are not: for a truncated ELF header
//! and a section header table past the end of the file, BFD's ELF reader
//! gives up and GNU nm then offers the file to any installed linker plugin
//! (Debian's llvm installs LLVMgold), which prints its own complaint and
//! makes nm report "no symbols". There we expect what GNU nm prints without
//! plugins (`nm --plugin` with a plugin that fails to load shows it):
//! `file format not recognized`, status 1.

mod common;

use common::{gnu_nm, small_object, xsplice_nm};

fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize
}
fn u32_at(b: &[u8], o: usize) -> usize {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize
}
fn u64_at(b: &[u8], o: usize) -> usize {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize
}

/// Offset of the header of the first section of type `sh_type` in the
/// ELF64 little-endian fixture.
fn section_header(b: &[u8], sh_type: usize) -> usize {
    let (shoff, shnum) = (u64_at(b, 40), u16_at(b, 60));
    (0..shnum)
        .map(|i| shoff + i * 64)
        .find(|&h| u32_at(b, h + 4) == sh_type)
        .expect("section type present")
}

/// Runs both tools on the fixture with the `sh_offset` of one section
/// header, which `header` finds in the fixture's bytes, pointed past the
/// end of the file; returns our (status, stdout, stderr).
fn section_past_end(header: impl Fn(&[u8]) -> usize, args: &[&str]) -> (i32, String, String) {
    let mut elf = small_object();
    let header = header(&elf);
    let past = (elf.len() + 1000) as u64;
    elf[header + 24..header + 32].copy_from_slice(&past.to_le_bytes());
    check_against_gnu(Some(&elf), args)
}

/// Writes `bytes` as `bad.o`, runs both tools on it, and checks they agree;
/// returns our (status, stdout, stderr).
fn check_against_gnu(bytes: Option<&[u8]>, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(bytes) = bytes {
        std::fs::write(dir.path().join("bad.o"), bytes).unwrap();
    }
    let ours = xsplice_nm(dir.path(), args);
    if let Some(gnu) = gnu_nm(dir.path(), args) {
        assert_eq!(
            ours,
            gnu,
            "xsplice-nm {0} vs LC_ALL=C nm {0}",
            args.join(" ")
        );
    }
    ours
}

#[test]
fn missing_file() {
    let (code, out, err) = check_against_gnu(None, &["--defined", "bad.o"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "nm: 'bad.o': No such file\n")
    );
}

#[test]
fn directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let ours = xsplice_nm(dir.path(), &["sub"]);
    assert_eq!(
        ours,
        (
            1,
            String::new(),
            "nm: Warning: 'sub' is a directory\n".to_owned()
        )
    );
    if let Some(gnu) = gnu_nm(dir.path(), &["sub"]) {
        assert_eq!(ours, gnu);
    }
}

#[test]
fn empty_file() {
    // GNU nm fails on an empty file without a word; so do we.
    let (code, out, err) = check_against_gnu(Some(&[]), &["bad.o"]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", ""));
}

#[test]
fn not_elf() {
    let (code, _, err) =
        check_against_gnu(Some(b"#!/bin/sh\necho this is not an object\n"), &["bad.o"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "nm: bad.o: file format not recognized\n")
    );
}

/// Writes `bytes` as `bad.o` and checks that we answer what GNU nm
/// answers without linker plugins (see the top of this file): not
/// recognized, status 1.
fn check_not_recognized(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.o"), bytes).unwrap();
    let (code, out, err) = xsplice_nm(dir.path(), &["bad.o"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "nm: bad.o: file format not recognized\n")
    );
}

#[test]
fn truncated_header() {
    check_not_recognized(&small_object()[..40]);
}

#[test]
fn section_headers_past_end() {
    let mut elf = small_object();
    let past = (elf.len() + 100) as u64;
    elf[40..48].copy_from_slice(&past.to_le_bytes());
    check_not_recognized(&elf);
}

#[test]
fn symbol_table_past_end() {
    let symtab = |elf: &[u8]| section_header(elf, 2);
    let (code, out, err) = section_past_end(symtab, &["--defined", "-S", "bad.o"]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "nm: warning: bad.o has a section extending past end of file\nnm: bad.o: no symbols\n"
    );
}

#[test]
fn string_table_past_end() {
    let strtab = |elf: &[u8]| {
        let link = u32_at(elf, section_header(elf, 2) + 40);
        u64_at(elf, 40) + link * 64
    };
    let (code, out, err) = section_past_end(strtab, &["--defined", "bad.o"]);
    // Names become `(null)`, like GNU's.
    assert_eq!(code, 0);
    assert!(out.contains(" T (null)\n"), "{out}");
    assert_eq!(
        err,
        "nm: warning: bad.o has a section extending past end of file\n"
    );
}

#[test]
fn string_index_out_of_range() {
    let mut elf = small_object();
    let symtab = section_header(&elf, 2);
    let (off, size) = (u64_at(&elf, symtab + 24), u64_at(&elf, symtab + 32));
    // The last symbol is `missing`, which is undefined; the one before it,
    // `shared`, is common and listed with --defined.
    let sym = off + size - 2 * 24;
    elf[sym..sym + 4].copy_from_slice(&0x7f_ffffu32.to_le_bytes());
    let (code, out, err) = check_against_gnu(Some(&elf), &["--defined", "bad.o"]);
    assert_eq!(code, 0);
    assert!(out.contains(" C (null)\n"), "{out}");
    assert!(
        err.starts_with("nm: bad.o: invalid string offset 8388607 >= "),
        "{err}"
    );
}

#[test]
fn several_bad_files_count_in_the_status() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("text.o"), b"plain text").unwrap();
    std::fs::write(dir.path().join("good.o"), small_object()).unwrap();
    let args = ["--defined", "text.o", "good.o", "gone.o"];
    let ours = xsplice_nm(dir.path(), &args);
    assert_eq!(ours.0, 2);
    if let Some(gnu) = gnu_nm(dir.path(), &args) {
        assert_eq!(ours, gnu);
    }
}
