//! Test fixtures: a good payload per architecture, built the way Xen's own
//! test Makefile builds one (gcc, `ld -r --build-id=sha1`, `objcopy -I binary`
//! notes) against the stand-in hypervisor, and helpers that patch ELF fields
//! in place to make mutants.
//!
//! The fixture is independent of our linker on purpose: the validator must
//! accept what GNU tools produce with Xen's recipe.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use xsplice_validate::elf::{self, Class};

/// One built fixture.
pub struct Fixture {
    pub arch: &'static str,
    pub payload: Vec<u8>,
    pub xen: Vec<u8>,
    pub xen_path: PathBuf,
    _dir: tempfile::TempDir,
}

struct Tools {
    cc: String,
    ld: String,
    objcopy: String,
    bfd: &'static str,
    bfd_arch: &'static str,
    cflags: &'static [&'static str],
}

fn tools(arch: &str) -> Tools {
    match arch {
        "x86_64" => Tools {
            cc: "gcc".into(),
            ld: "ld".into(),
            objcopy: "objcopy".into(),
            bfd: "elf64-x86-64",
            bfd_arch: "i386:x86-64",
            cflags: &["-fpic", "-fvisibility=hidden"],
        },
        "aarch64" => Tools {
            cc: "aarch64-linux-gnu-gcc".into(),
            ld: "aarch64-linux-gnu-ld".into(),
            objcopy: "aarch64-linux-gnu-objcopy".into(),
            bfd: "elf64-littleaarch64",
            bfd_arch: "aarch64",
            cflags: &["-fno-pic", "-mcmodel=small"],
        },
        "arm32" => Tools {
            cc: "arm-linux-gnueabihf-gcc".into(),
            ld: "arm-linux-gnueabihf-ld".into(),
            objcopy: "arm-linux-gnueabihf-objcopy".into(),
            bfd: "elf32-littlearm",
            bfd_arch: "arm",
            cflags: &["-fno-pic", "-marm", "-march=armv7-a", "-msoft-float"],
        },
        _ => panic!("unknown arch {arch}"),
    }
}

const FUNC_C: &str = r#"
const char *xen_hello_world(void);
const char *xen_hello_world(void) { return "Hello World"; }
"#;

const FUNCS_C: &str = r#"
struct livepatch_func {
    const char *name;
    const void *new_addr;
    const void *old_addr;
    unsigned int new_size, old_size;
    unsigned char version;
    unsigned char opaque[31];
    unsigned char applied;
    unsigned char pad[7];
    unsigned char expect[32];
};
extern const char xen_extra_version[];
const char *xen_hello_world(void);
static const char hello_name[] = "xen_extra_version";
static int hello_calls;
__attribute__((noinline)) static void hello_count(void) { hello_calls++; __asm__ volatile(""); }
static void hello_load(void) { hello_count(); }
static int hello_pre(void *p) { (void)p; return hello_calls - 1; }
struct livepatch_func __attribute__((used, section(".livepatch.funcs"))) hello_patch = {
    .name = hello_name,
    .new_addr = xen_hello_world,
    .old_addr = xen_extra_version,
    .new_size = NEW_SZ,
    .old_size = OLD_SZ,
    .version = 2,
    .expect = { 0x11, EXPECT },
};
void (*const hello_load_ptr)(void) __attribute__((used, section(".livepatch.hooks.load"))) = hello_load;
int (*const hello_pre_ptr)(void *) __attribute__((used, section(".livepatch.hooks.preapply"))) = hello_pre;
#ifdef __x86_64__
__attribute__((used)) void *hello_slot;
__asm__(
    ".pushsection .text.hello_alt,\"ax\",@progbits\n"
    "hello_alt:\n"
    "661: nop; nop; nop\n"
    "662:\n"
    "665: call *hello_slot(%rip)\n"
    " ret\n"
    ".popsection\n"
    ".pushsection .altinstr_replacement,\"ax\",@progbits\n"
    "663: nop; nop\n"
    "664:\n"
    ".popsection\n"
    ".pushsection .altinstructions,\"a\",@progbits\n"
    " .long 661b - .\n .long 663b - .\n .word 0\n"
    " .byte 662b - 661b\n .byte 664b - 663b\n .byte 0\n .byte 0\n"
    ".popsection\n"
    ".pushsection .ex_table,\"a\",@progbits\n"
    " .balign 4\n .long 661b - .\n .long 662b - .\n"
    ".popsection\n"
    ".pushsection .bug_frames.0,\"a\",@progbits\n"
    " .balign 4\n .long 661b - .\n .long 0\n"
    ".popsection\n"
    ".pushsection .alt_call_sites,\"a\",@progbits\n"
    " .balign 4\n .long 665b - .\n"
    ".popsection\n");
#endif
"#;

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the good hello_world payload for `arch` once per test binary;
/// `None` (after a printed skip, a failure under CI) when a tool is missing.
pub fn fixture(arch: &'static str) -> Option<&'static Fixture> {
    static X86: OnceLock<Option<Fixture>> = OnceLock::new();
    static A64: OnceLock<Option<Fixture>> = OnceLock::new();
    static A32: OnceLock<Option<Fixture>> = OnceLock::new();
    let cell = match arch {
        "x86_64" => &X86,
        "aarch64" => &A64,
        _ => &A32,
    };
    cell.get_or_init(|| build(arch)).as_ref()
}

fn build(arch: &'static str) -> Option<Fixture> {
    let t = tools(arch);
    for tool in [&t.cc, &t.ld, &t.objcopy] {
        xsplice_testkit::require_tool(tool, "building the test payload")?;
    }
    let xen_path = xsplice_testkit::stand_in_xen(arch)?;
    let xen = std::fs::read(&xen_path).expect("read xen-syms");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let p = |n: &str| d.join(n);

    // Facts about the target, read with the symbol crate (a reference
    // reader independent of the validator).
    let image = xsplice_symbols::ElfFile::parse(&xen).expect("parse xen-syms");
    let old = image
        .lookup("xen_extra_version")
        .expect("xen_extra_version");
    let code = image
        .symbol_bytes(&old, 8)
        .expect("bytes of xen_extra_version");
    let expect: Vec<String> = code.iter().map(|b| format!("{b:#04x}")).collect();

    let cflags = [
        "-O2",
        "-fno-common",
        "-ffunction-sections",
        "-fdata-sections",
        "-fno-asynchronous-unwind-tables",
        "-fno-stack-protector",
        "-c",
    ];
    std::fs::write(p("func.c"), FUNC_C).unwrap();
    std::fs::write(p("funcs.c"), FUNCS_C).unwrap();
    run(Command::new(&t.cc)
        .args(cflags)
        .args(t.cflags)
        .arg(p("func.c"))
        .arg("-o")
        .arg(p("func.o")));
    let func_o = std::fs::read(p("func.o")).unwrap();
    let func_elf = xsplice_symbols::ElfFile::parse(&func_o).expect("parse func.o");
    let new_size = func_elf
        .lookup("xen_hello_world")
        .expect("xen_hello_world")
        .size;
    run(Command::new(&t.cc)
        .args(cflags)
        .args(t.cflags)
        .arg(format!("-DNEW_SZ={new_size}"))
        .arg(format!("-DOLD_SZ={}", old.size))
        .arg(format!("-DEXPECT={}", expect.join(",")))
        .arg(p("funcs.c"))
        .arg("-o")
        .arg(p("funcs.o")));

    // The notes, as Xen's test Makefile makes them.
    run(Command::new(&t.objcopy)
        .args(["-O", "binary", "--only-section=.note.gnu.build-id"])
        .arg(&xen_path)
        .arg(p("note.bin")));
    std::fs::write(p("modinfo.bin"), b"LIVEPATCH_RULEZ=hello_world\0").unwrap();
    for (bin, section, obj) in [
        ("note.bin", ".livepatch.depends", "note.o"),
        ("note.bin", ".livepatch.xen_depends", "xen_note.o"),
        ("modinfo.bin", ".modinfo", "modinfo.o"),
    ] {
        run(Command::new(&t.objcopy)
            .current_dir(d)
            .args(["-I", "binary", "-O", t.bfd, "-B", t.bfd_arch])
            .arg(format!(
                "--rename-section=.data={section},alloc,load,readonly,data,contents"
            ))
            .arg("-S")
            .arg(bin)
            .arg(obj));
    }
    run(Command::new(&t.ld)
        .current_dir(d)
        .args([
            "-r",
            "--build-id=sha1",
            "--no-warn-mismatch",
            "-z",
            "noexecstack",
        ])
        .args(["-o", "hello.livepatch"])
        .args(["func.o", "funcs.o", "note.o", "xen_note.o", "modinfo.o"]));
    let payload = std::fs::read(p("hello.livepatch")).unwrap();
    Some(Fixture {
        arch,
        payload,
        xen,
        xen_path,
        _dir: dir,
    })
}

/// Writes `bytes` into a fresh file of `dir` and returns its path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---- ELF patching helpers for mutants ----

pub fn class(b: &[u8]) -> Class {
    if b[4] == 1 {
        Class::Elf32
    } else {
        Class::Elf64
    }
}

fn hdr(b: &[u8]) -> elf::Header {
    elf::header(b, class(b)).expect("header")
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

/// ELF header fields: (offset, width) per class.
pub fn ehdr_field(b: &[u8], field: &str) -> (u64, usize) {
    let c64 = class(b) == Class::Elf64;
    match field {
        "e_type" => (16, 2),
        "e_machine" => (18, 2),
        "e_version" => (20, 4),
        "e_shoff" => {
            if c64 {
                (40, 8)
            } else {
                (32, 4)
            }
        }
        "e_flags" => {
            if c64 {
                (48, 4)
            } else {
                (36, 4)
            }
        }
        "e_phnum" => {
            if c64 {
                (56, 2)
            } else {
                (44, 2)
            }
        }
        "e_shentsize" => {
            if c64 {
                (58, 2)
            } else {
                (46, 2)
            }
        }
        "e_shnum" => {
            if c64 {
                (60, 2)
            } else {
                (48, 2)
            }
        }
        "e_shstrndx" => {
            if c64 {
                (62, 2)
            } else {
                (50, 2)
            }
        }
        _ => panic!("no header field {field}"),
    }
}

pub fn set_ehdr(b: &mut [u8], field: &str, v: u64) {
    let (off, w) = ehdr_field(b, field);
    put(b, off, w, v);
}

/// Section index by exact name.
pub fn section(b: &[u8], name: &str) -> usize {
    let h = hdr(b);
    let names = shdr(b, usize::from(h.shstrndx));
    (1..usize::from(h.shnum))
        .find(|&i| {
            let s = shdr(b, i);
            let start = (names.offset + u64::from(s.name)) as usize;
            let end = b[start..].iter().position(|&c| c == 0).unwrap() + start;
            &b[start..end] == name.as_bytes()
        })
        .unwrap_or_else(|| panic!("no section {name}"))
}

/// Section index of the first section whose name starts with `prefix`.
pub fn section_prefix(b: &[u8], prefix: &str) -> usize {
    let h = hdr(b);
    let names = shdr(b, usize::from(h.shstrndx));
    (1..usize::from(h.shnum))
        .find(|&i| {
            let s = shdr(b, i);
            let start = (names.offset + u64::from(s.name)) as usize;
            b[start..].starts_with(prefix.as_bytes())
        })
        .unwrap_or_else(|| panic!("no section starting with {prefix}"))
}

pub fn shdr(b: &[u8], i: usize) -> elf::Shdr {
    let h = hdr(b);
    elf::shdr(b, class(b), h.shoff + i as u64 * u64::from(h.shentsize), i).unwrap()
}

fn shdr_field(b: &[u8], field: &str) -> (u64, usize) {
    let c64 = class(b) == Class::Elf64;
    let (o64, w64, o32) = match field {
        "sh_name" => (0, 4, 0),
        "sh_type" => (4, 4, 4),
        "sh_flags" => (8, 8, 8),
        "sh_addr" => (16, 8, 12),
        "sh_offset" => (24, 8, 16),
        "sh_size" => (32, 8, 20),
        "sh_link" => (40, 4, 24),
        "sh_info" => (44, 4, 28),
        "sh_addralign" => (48, 8, 32),
        "sh_entsize" => (56, 8, 36),
        _ => panic!("no section field {field}"),
    };
    if c64 { (o64, w64) } else { (o32, 4) }
}

pub fn set_sh(b: &mut [u8], i: usize, field: &str, v: u64) {
    let h = hdr(b);
    let (off, w) = shdr_field(b, field);
    put(b, h.shoff + i as u64 * u64::from(h.shentsize) + off, w, v);
}

pub fn get_sh(b: &[u8], i: usize, field: &str) -> u64 {
    let h = hdr(b);
    let (off, w) = shdr_field(b, field);
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
            let sym = elf::sym(b, class(b), off).unwrap();
            let start = (strtab.offset + u64::from(sym.name)) as usize;
            let end = b[start..].iter().position(|&c| c == 0).unwrap() + start;
            (&b[start..end] == name.as_bytes()).then_some((n as usize, off))
        })
        .unwrap_or_else(|| panic!("no symbol {name}"))
}

/// Symbol fields: (offset in the entry, width).
pub fn sym_field(b: &[u8], field: &str) -> (u64, usize) {
    let c64 = class(b) == Class::Elf64;
    match field {
        "st_name" => (0, 4),
        "st_value" => {
            if c64 {
                (8, 8)
            } else {
                (4, 4)
            }
        }
        "st_size" => {
            if c64 {
                (16, 8)
            } else {
                (8, 4)
            }
        }
        "st_info" => {
            if c64 {
                (4, 1)
            } else {
                (12, 1)
            }
        }
        "st_shndx" => {
            if c64 {
                (6, 2)
            } else {
                (14, 2)
            }
        }
        _ => panic!("no symbol field {field}"),
    }
}

pub fn set_sym(b: &mut [u8], name: &str, field: &str, v: u64) {
    let (_, off) = symbol(b, name);
    let (o, w) = sym_field(b, field);
    put(b, off + o, w, v);
}

/// File offset of relocation `n` of relocation section `i`.
pub fn reloc_at(b: &[u8], i: usize, n: u64) -> u64 {
    let s = shdr(b, i);
    s.offset + n * s.entsize
}

/// Relocation `n` of section `i`: (offset, sym, type).
pub fn reloc(b: &[u8], i: usize, n: u64) -> (u64, u32, u32) {
    let rela = shdr(b, i).sh_type == elf::SHT_RELA;
    let r = elf::reloc(b, class(b), reloc_at(b, i, n), rela).unwrap();
    (r.offset, r.sym, r.kind)
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
    let sym = elf::sym(b, class(b), off).unwrap();
    let start = (strtab.offset + u64::from(sym.name)) as usize;
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
