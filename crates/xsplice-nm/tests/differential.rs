//! `xsplice-nm` against GNU nm on a real corpus: byte-identical stdout and
//! stderr and the same exit status, for the option sets the seed and Xen's
//! build use.
//!
//! The corpus: every member of the system's libc.a and libstdc++.a
//! (extracted to a temp dir), the archives themselves and the rustup
//! toolchain's shared libraries, the ELF files in /usr/bin, the aarch64 and arm32 libc.a
//! members and objects cross-compiled here (read with the matching cross
//! nm, whose target rules we follow), and hand-written edge cases
//! (see `edge_cases`). Files are compared in batches: GNU nm accepts many
//! files per run, and one run over many files is itself a byte-identical
//! comparison that also covers the per-file headers. A batch that differs
//! is re-run file by file and every differing file is reported with the
//! two commands that reproduce it.
//!
//! Accepted differences: none. The reference runs under `LC_ALL=C` with
//! `argv[0]` set to `nm`, so cross tools print the same message prefix;
//! the host's linker plugins' lines are left out of its output (see
//! `common::run_nm`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_compared, compare_all, nm_and_ours, run_ok};
use object::write::{Object, Symbol as WSymbol, SymbolSection as WSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use xsplice_testkit::require_tool;

/// More option sets than the common ones, run on the small hand-made
/// files only.
const EDGE_OPTION_SETS: &[&[&str]] = &[
    &["-a", "-S"],
    &["-g"],
    &["-u"],
    &["-n"],
    &["-r", "-S"],
    &["-P"],
    &["--format=posix", "-a"],
    &["--format=sysv"],
    &["-a", "--special-syms"],
];

const MIN_FILES: usize = 2000;
const BATCH: usize = 400;

/// A set of files read with one reference nm.
struct Group {
    what: &'static str,
    nm: PathBuf,
    files: Vec<PathBuf>,
    edge: bool,
}

#[test]
fn differential_against_gnu_nm() {
    let Some((nm, ours)) = nm_and_ours() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut groups = Vec::new();

    // The host's static archives, member by member and whole.
    for lib in ["libc.a", "libstdc++.a"] {
        if let Some(archive) = gcc_file("gcc", lib) {
            let members = extract(&archive, &tmp.path().join(format!("host-{lib}")));
            groups.push(Group {
                what: lib,
                nm: nm.clone(),
                files: members,
                edge: false,
            });
            groups.push(Group {
                what: "archive",
                nm: nm.clone(),
                files: vec![archive],
                edge: false,
            });
        }
    }
    groups.push(Group {
        what: "rust toolchain",
        nm: nm.clone(),
        files: rust_toolchain_files(),
        edge: false,
    });
    groups.push(Group {
        what: "/usr/bin",
        nm: nm.clone(),
        files: elf_files_in(Path::new("/usr/bin")),
        edge: false,
    });
    groups.push(Group {
        what: "x86 edge cases",
        nm: nm.clone(),
        files: edge_cases(tmp.path()),
        edge: true,
    });

    for gnu in [xsplice_testkit::GNU_AARCH64, xsplice_testkit::GNU_ARM32] {
        let triple = gnu.arch;
        let cross_nm = require_tool(gnu.nm, "cross nm is the reference for its target");
        let cross_gcc = require_tool(gnu.gcc, "cross objects for the differential test");
        let (Some(cross_nm), Some(cross_gcc)) = (cross_nm, cross_gcc) else {
            continue;
        };
        let dir = tmp.path().join(triple);
        let mut files = Vec::new();
        if let Some(archive) = gcc_file(cross_gcc.to_str().unwrap(), "libc.a") {
            files.extend(extract(&archive, &dir.join("libc")));
            files.push(archive);
        }
        let edges = cross_edge_cases(&cross_gcc, triple, &dir);
        groups.push(Group {
            what: "cross libc",
            nm: cross_nm.clone(),
            files,
            edge: false,
        });
        groups.push(Group {
            what: "cross edge cases",
            nm: cross_nm,
            files: edges,
            edge: true,
        });
    }

    let mut compared = 0;
    let mut failures = Vec::new();
    for group in &groups {
        compared += group.files.len();
        let started = std::time::Instant::now();
        let more = if group.edge { EDGE_OPTION_SETS } else { &[] };
        compare_all(&group.nm, &ours, more, &group.files, BATCH, &mut failures);
        eprintln!(
            "{}: {} files against {} in {:.1?}",
            group.what,
            group.files.len(),
            group.nm.display(),
            started.elapsed()
        );
    }
    eprintln!("compared {compared} files, {} differences", failures.len());
    assert_compared(compared, MIN_FILES, &failures);
}

/// `gcc -print-file-name=NAME`, when it names an existing file.
fn gcc_file(gcc: &str, name: &str) -> Option<PathBuf> {
    let out = Command::new(gcc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if path.is_absolute() && path.exists() {
        Some(path)
    } else {
        xsplice_testkit::skip(&format!("`{gcc}` has no {name}"));
        None
    }
}

/// Writes every member of an archive to `dir` and returns their paths.
fn extract(archive: &Path, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let data = std::fs::read(archive).unwrap();
    let ar = object::read::archive::ArchiveFile::parse(&*data).unwrap();
    let mut out = Vec::new();
    for (i, member) in ar.members().enumerate() {
        let member = member.unwrap();
        let name = String::from_utf8_lossy(member.name()).into_owned();
        let mut path = dir.join(&name);
        if path.exists() {
            path = dir.join(format!("{i}-{name}"));
        }
        std::fs::write(&path, member.data(&*data).unwrap()).unwrap();
        out.push(path);
    }
    out
}

fn is_elf_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

fn elf_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && is_elf_file(p));
    files.sort();
    files
}

/// The toolchain's shared libraries (libLLVM, librustc_driver). Its rlibs
/// are left out: their `lib.rmeta` members are not ELF, and GNU nm hands
/// them to the LLVM gold plugin when one is installed, which prints its
/// own complaints.
fn rust_toolchain_files() -> Vec<PathBuf> {
    let Some(out) = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
    else {
        xsplice_testkit::skip("rustc not found for the toolchain corpus");
        return Vec::new();
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    elf_files_in(&sysroot.join("lib"))
}

fn assemble(tool: &str, args: &[&str], src: &str, out: &Path) -> Option<PathBuf> {
    let tool = require_tool(tool, "assembling an edge case")?;
    let s = out.with_extension("s");
    std::fs::write(&s, src).unwrap();
    run_ok(Command::new(tool).args(args).arg(&s).arg("-o").arg(out));
    Some(out.to_path_buf())
}

/// x86 edge cases: every letter, XINDEX, ties, sh_addr in ET_REL, ELF32,
/// big endian, odd bindings and section indexes, empty names.
fn edge_cases(tmp: &Path) -> Vec<PathBuf> {
    let dir = tmp.join("edge");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    let a = assemble("as", &[], EDGE_X86, &dir.join("edge.o"));
    files.extend(a.clone());
    files.extend(assemble("as", &["--32"], EDGE_I386, &dir.join("edge32.o")));
    files.extend(assemble(
        "as",
        &[],
        &xindex_source(66_000),
        &dir.join("xindex.o"),
    ));
    files.extend(assemble("as", &[], TIE_A, &dir.join("tie-a.o")));
    files.extend(assemble("as", &[], TIE_B, &dir.join("tie-b.o")));
    if let (Some(ld), Some(_)) = (require_tool("ld", "ld -r for duplicate statics"), &a) {
        let out = dir.join("ties.o");
        run_ok(
            Command::new(ld)
                .arg("-r")
                .arg(dir.join("tie-a.o"))
                .arg(dir.join("tie-b.o"))
                .arg(dir.join("edge.o"))
                .arg("-o")
                .arg(&out),
        );
        files.push(out);
    }
    if let (Some(objcopy), Some(a)) = (require_tool("objcopy", "ET_REL with sh_addr"), &a) {
        let out = dir.join("moved.o");
        run_ok(
            Command::new(objcopy)
                .args([
                    "--change-section-address",
                    ".data=0x1000",
                    "--change-section-address",
                    ".text=0x400",
                ])
                .arg(a)
                .arg(&out),
        );
        files.push(out);
    }
    for (name, bytes) in generated_objects() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    files
}

/// Cross-compiled C (ARM and Thumb, AArch64) and mapping-symbol assembly.
fn cross_edge_cases(gcc: &Path, triple: &str, dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let c = dir.join("unit.c");
    std::fs::write(&c, CROSS_C).unwrap();
    let mut variants: Vec<(&str, Vec<&str>)> =
        vec![("O0", vec!["-O0"]), ("O2", vec!["-O2", "-fPIC"])];
    if triple == "arm32" {
        variants.push(("thumb", vec!["-O2", "-mthumb"]));
        variants.push(("arm", vec!["-O1", "-marm", "-ffunction-sections"]));
    }
    let mut files = Vec::new();
    for (tag, flags) in variants {
        let out = dir.join(format!("unit-{tag}.o"));
        run_ok(
            Command::new(gcc)
                .args(&flags)
                .arg("-c")
                .arg(&c)
                .arg("-o")
                .arg(&out),
        );
        files.push(out);
    }
    let src = if triple == "arm32" {
        MAPPING_ARM
    } else {
        MAPPING_AARCH64
    };
    let s = dir.join("mapping.s");
    std::fs::write(&s, src).unwrap();
    let out = dir.join("mapping.o");
    run_ok(Command::new(gcc).arg("-c").arg(&s).arg("-o").arg(&out));
    files.push(out);
    files
}

fn xindex_source(sections: usize) -> String {
    let mut s = String::with_capacity(sections * 48);
    for i in 0..sections {
        s.push_str(&format!(
            "\t.section .t.{i},\"a\"\n\t.globl s{i}\ns{i}:\t.byte 0\n"
        ));
        if i % 1000 == 0 {
            s.push_str(&format!("l{i}:\t.byte 1\n"));
        }
    }
    s
}

/// Objects no assembler writes: empty names, odd bindings and types,
/// reserved and dangling section indexes, big-endian and ELF32 layouts.
fn generated_objects() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, arch, endian) in [
        ("gen-x86_64.o", Architecture::X86_64, Endianness::Little),
        ("gen-ppc64-be.o", Architecture::PowerPc64, Endianness::Big),
        ("gen-i386.o", Architecture::I386, Endianness::Little),
        ("gen-s390x.o", Architecture::S390x, Endianness::Big),
    ] {
        let mut obj = Object::new(BinaryFormat::Elf, arch, endian);
        let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        obj.append_section_data(text, &[0; 32], 16);
        let data = obj.add_section(Vec::new(), b".data".to_vec(), SectionKind::Data);
        obj.append_section_data(data, &[0; 32], 8);
        let comment = obj.add_section(Vec::new(), b".comment.x".to_vec(), SectionKind::Other);
        obj.append_section_data(comment, &[0; 8], 1);
        let mut add = |name: &[u8], value, size, st_info: u8, section| {
            let scope = if st_info >> 4 == 0 {
                SymbolScope::Compilation
            } else {
                SymbolScope::Dynamic
            };
            obj.add_symbol(WSymbol {
                name: name.to_vec(),
                value,
                size,
                kind: SymbolKind::Unknown,
                scope,
                weak: false,
                section,
                flags: SymbolFlags::Elf {
                    st_info: object::elf::SymbolInfo(st_info),
                    st_other: object::elf::SymbolOther(0),
                },
            });
        };
        add(b"", 4, 0, 0x00, WSection::Section(text));
        add(b"", 8, 4, 0x11, WSection::Section(data));
        add(b"same", 2, 0, 0x02, WSection::Section(text));
        add(b"same", 1, 0, 0x12, WSection::Section(text));
        add(b"odd_binding3", 3, 0, 0x32, WSection::Section(text));
        add(b"odd_binding9", 9, 0, 0x91, WSection::Section(data));
        add(b"os_type", 5, 1, 0x1b, WSection::Section(data));
        add(b"proc_type", 6, 1, 0x1d, WSection::Section(text));
        add(b"in_comment", 1, 2, 0x11, WSection::Section(comment));
        add(b"unique", 7, 1, 0xa1, WSection::Section(data));
        add(b"abs_weak", 0x99, 0, 0x20, WSection::Absolute);
        add(
            b"utf8_\xc3\xa9_and_\xff",
            10,
            0,
            0x12,
            WSection::Section(text),
        );
        add(b"reserved_idx", 11, 0, 0x11, WSection::Section(data));
        add(b"dangling_idx", 12, 0, 0x11, WSection::Section(data));
        add(b"in_symtab_idx", 13, 0, 0x01, WSection::Section(data));
        let mut bytes = obj.write().unwrap();
        patch_shndx(&mut bytes, "reserved_idx", |_| 0xff10);
        patch_shndx(&mut bytes, "dangling_idx", |_| 0x1234);
        patch_shndx(&mut bytes, "in_symtab_idx", |symtab| symtab);
        out.push((name, bytes));
    }
    out
}

/// Rewrites the st_shndx of symbol `name`; `new` gets the index of
/// `.symtab` itself.
fn patch_shndx(bytes: &mut [u8], name: &str, new: impl Fn(u16) -> u16) {
    let (offset, value, big) = {
        let elf = xsplice_symbols::ElfFile::parse(bytes).unwrap();
        let symtab = elf.sections().iter().find(|s| s.sh_type == 2).unwrap();
        let sym = elf.symbols().find(|s| s.name == name.as_bytes()).unwrap();
        let field = match elf.class() {
            xsplice_symbols::Class::Elf32 => 14,
            xsplice_symbols::Class::Elf64 => 6,
        };
        let offset =
            symtab.sh_offset as usize + sym.index as usize * symtab.sh_entsize as usize + field;
        (
            offset,
            new(symtab.index as u16),
            elf.endian() == xsplice_symbols::Endian::Big,
        )
    };
    let raw = if big {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    };
    bytes[offset..offset + 2].copy_from_slice(&raw);
}

const EDGE_X86: &str = r#"
	.file	"edge.c"
	.text
	.globl	gfunc
	.type	gfunc, @function
gfunc:	ret
	.size	gfunc, .-gfunc
	.weak	wfunc
	.type	wfunc, @function
wfunc:	ret
	.type	lfunc, @function
lfunc:	ret
	.globl	ifn
	.type	ifn, @gnu_indirect_function
ifn:	ret
	.type	lifn, @gnu_indirect_function
lifn:	ret
	.data
	.weak	wobj
	.type	wobj, @object
	.size	wobj, 4
wobj:	.long	1
	.globl	uobj
	.type	uobj, @gnu_unique_object
	.size	uobj, 4
uobj:	.long	2
ldat:	.quad	undef_x, wundef, wundobj
	.weak	wundef
	.weak	wundobj
	.type	wundobj, @object
	.section .tbss,"awT",@nobits
	.globl	tlsv
	.type	tlsv, @object
	.size	tlsv, 4
tlsv:	.zero	4
	.section .tdata,"awT",@progbits
	.type	ltls, @tls_object
ltls:	.long	1
	.comm	cvar, 8, 8
	.lcomm	lvar, 16
	.largecomm bigc, 64, 8
	.globl	absg
	.set	absg, 0x1234
	.set	absl, 0x42
	.weak	absw
	.set	absw, 0x77
	.section .pdata,"a"
pd:	.long	0
	.section .idata$2,"a"
idat:	.long	0
	.section .drectve,"a"
drect:	.long	0
	.section .pdatax,"a"
pdx:	.long	0
	.section .nonalloc,""
nsym:	.long	0
	.section .wnonalloc,"w"
wsym:	.long	0
	.section .debug_foo,""
dsym:	.long	0
	.section .ldata,"awl",@progbits
ldsym:	.long	0
	.section .lbss,"awl",@nobits
lbsym:	.zero	4
	.section .note.foo,"a",@note
notesym: .long	0
	.section .rodata
	.globl	ro
ro:	.long	0
	.globl	"quoted name"
"quoted name": .long 0
	.symver	gfunc, gfunc@VER_1
	.section .bss.x,"aw",@nobits
	.globl	zz_last
zz_last: .zero	8
	.globl	aa_first
	.set	aa_first, zz_last
"#;

const EDGE_I386: &str = r#"
	.file	"edge32.c"
	.text
	.globl	f32
	.type	f32, @function
f32:	ret
	.size	f32, 1
	.data
	.globl	big
	.set	big, 0xfffffff0
d32:	.long	undef32
	.comm	c32, 4, 4
"#;

const TIE_A: &str = r#"
	.file	"tie-a.c"
	.text
dup:	ret
	.globl	from_a
from_a:	ret
"#;

const TIE_B: &str = r#"
	.file	"tie-b.c"
	.text
	nop
	nop
dup:	ret
	.data
dup_data: .long 0
"#;

const CROSS_C: &str = r#"
static int counter;
static int helper(int x) { return x * 3 + counter; }
int global_data = 5;
int common_data;
__thread int tls_data = 1;
__attribute__((weak)) int weak_fn(int x) { return x; }
extern int external(int);
extern __attribute__((weak)) int maybe(int);
const char message[] = "hello";
int entry(int x) { counter++; return helper(x) + weak_fn(x) + external(x) + (maybe ? maybe(x) : 0) + message[x]; }
"#;

const MAPPING_ARM: &str = r#"
	.syntax unified
	.arm
	.text
	.globl	armfn
	.type	armfn, %function
armfn:	bx	lr
	.thumb
	.globl	thumbfn
	.thumb_func
	.type	thumbfn, %function
thumbfn: bx	lr
$a.1:	nop
$x.foo:	nop
$b:	nop
$z:	nop
$d1:	nop
$A:	nop
$t.x:	nop
	.data
$d.2:	.word	0
	.word	0
"#;

const MAPPING_AARCH64: &str = r#"
	.text
	.globl	fn
	.type	fn, %function
fn:	ret
$a.1:	nop
$b:	nop
$z:	nop
$d1:	nop
$m:	nop
$f:	nop
$p:	nop
$x.foo:	nop
$d.x:	nop
	.data
	.word	0
"#;
