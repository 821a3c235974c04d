//! `xsplice-nm` against GNU nm on a real Xen build: byte-identical stdout
//! and stderr and the same exit status on every object, archive and image
//! of the tree `cargo xtask real-xen` builds, and on Debian's binary Xen.
//!
//! The corpus is every file of the tree that starts as an ELF file, an
//! archive, a COFF object or a PE image does: the objects and `built_in.o`s,
//! `prelink.o`, `lib.a`, `xen-syms`, the ELF32 `xen`, the COFF object
//! `arch/x86/efi/buildid.o`, the PE32+ images `xen.efi` and
//! `arch/x86/efi/check.efi`, Xen's test payloads and the objects they are
//! linked from, and the build's host tools; plus Debian's `xen-syms` (the
//! `-dbg` package) and `xen.efi`. The option sets are the seed's
//! (`--defined`, `--defined -S`), the ones Xen's Makefiles use (`-pa
//! --format=sysv`, plain `nm`, `-n`) and `-p --format=bsd`.
//!
//! Files are compared in batches (GNU nm takes many files per run, and a
//! run over many files also covers the per-file headers); a batch that
//! differs is re-run file by file. Accepted differences: none (the host's
//! linker plugins' lines are left out of GNU's output, see
//! `common::run_nm`). The link intermediates Xen deletes (`.xen-syms.*`,
//! `.xen.efi.0x*`) are compared by `xen_build.rs`, which makes them.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::{assert_compared, compare_all, nm_and_ours};
use xsplice_testkit::real_xen;

const BATCH: usize = 200;
const MIN_FILES: usize = 400;

/// Files the corpus must hold, relative to the tree.
const MUST_HAVE: &[&str] = &[
    "xen-syms",
    "xen",
    "xen.efi",
    "prelink.o",
    "lib/lib.a",
    "arch/x86/efi/buildid.o",
    "arch/x86/efi/check.efi",
    "test/livepatch/xen_hello_world.livepatch",
];

#[test]
fn every_object_archive_and_image_of_a_real_xen_build() {
    let Some(xen) = real_xen("x86_64") else {
        return;
    };
    let Some((nm, ours)) = nm_and_ours() else {
        return;
    };
    let mut files = Vec::new();
    collect(&xen.tree, &mut files);
    files.sort();
    for want in MUST_HAVE {
        assert!(
            files.contains(&xen.tree.join(want)),
            "`{want}` is missing from `{}`",
            xen.tree.display()
        );
    }
    let debian = xen.debian.as_ref().expect("x86_64 has Debian's binary Xen");
    files.push(debian.xen_syms.clone());
    let boot = debian.root.join("boot");
    let mut efi: Vec<PathBuf> = std::fs::read_dir(&boot)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", boot.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "efi"))
        .collect();
    assert!(!efi.is_empty(), "no xen-*.efi in `{}`", boot.display());
    efi.sort();
    files.extend(efi);

    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    compare_all(&nm, &ours, &[&["-n"]], &files, BATCH, &mut failures);
    eprintln!(
        "compared {} files of Xen {} and Debian's {} in {:.1?}, {} differences",
        files.len(),
        xen.version,
        debian.version,
        started.elapsed(),
        failures.len()
    );
    assert_compared(files.len(), MIN_FILES, &failures);
}

/// Every regular file under `dir` that starts as an ELF file, an archive,
/// an x86 COFF object or a PE image does (symbolic links are not
/// followed: `source` links the tree to itself).
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let kind = entry.file_type().expect("file type");
        let path = entry.path();
        if kind.is_dir() {
            collect(&path, out);
        } else if kind.is_file() && is_binary_object(&path) {
            out.push(path);
        }
    }
}

fn is_binary_object(path: &Path) -> bool {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    head.starts_with(b"\x7fELF")
        || head.starts_with(b"!<arch>\n")
        || head.starts_with(b"MZ")
        || head.starts_with(&[0x64, 0x86])
        || head.starts_with(&[0x4c, 0x01])
}
