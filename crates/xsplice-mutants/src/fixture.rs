//! The good payloads the corpus starts from: hello_world for each
//! architecture, built the way Xen's own test Makefile builds one (gcc,
//! `ld -r --build-id=sha1`, `objcopy -I binary` notes) against the stand-in
//! hypervisor, so that mutants reach every check a loader makes after the
//! build-id comparison.
//!
//! The fixture is independent of our linker on purpose: the validator must
//! accept what GNU tools produce with Xen's recipe.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One built fixture.
pub struct Fixture {
    /// `x86_64`, `aarch64` or `arm32`.
    pub arch: &'static str,
    /// The good payload's bytes.
    pub payload: Vec<u8>,
    /// The hypervisor image it was built against (the stand-in, unless
    /// built by [`fixture_for`]).
    pub xen: Vec<u8>,
    /// Where that image lives.
    pub xen_path: PathBuf,
    _dir: tempfile::TempDir,
}

struct Tools {
    gnu: xsplice_testkit::Gnu,
    cflags: &'static [&'static str],
}

fn tools(arch: &str) -> Tools {
    match arch {
        "x86_64" => Tools {
            gnu: xsplice_testkit::GNU_X86_64,
            cflags: &["-fpic", "-fvisibility=hidden"],
        },
        "aarch64" => Tools {
            gnu: xsplice_testkit::GNU_AARCH64,
            cflags: &["-fno-pic", "-mcmodel=small"],
        },
        "arm32" => Tools {
            gnu: xsplice_testkit::GNU_ARM32,
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
/* Lets apply go on (the load hooks run after it) unless the count is corrupt. */
static int hello_pre(void *p) { (void)p; return hello_calls >> 31; }
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
    let xen_path = xsplice_testkit::stand_in_xen(arch)?;
    fixture_for(arch, &xen_path)
}

/// Builds the good hello_world payload for `arch` against another
/// hypervisor image, such as a real Xen's `xen-syms`, so that the same
/// mutants can be put to that hypervisor's loader. Not cached: each call
/// builds afresh. `None` (after a printed skip, a failure under CI) when a
/// tool is missing.
pub fn fixture_for(arch: &'static str, xen_path: &Path) -> Option<Fixture> {
    let t = tools(arch);
    for tool in [t.gnu.gcc, t.gnu.ld, t.gnu.objcopy] {
        xsplice_testkit::require_tool(tool, "building the test payload")?;
    }
    let xen_path = xen_path.to_path_buf();
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
    run(Command::new(t.gnu.gcc)
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
    run(Command::new(t.gnu.gcc)
        .args(cflags)
        .args(t.cflags)
        .arg(format!("-DNEW_SZ={new_size}"))
        .arg(format!("-DOLD_SZ={}", old.size))
        .arg(format!("-DEXPECT={}", expect.join(",")))
        .arg(p("funcs.c"))
        .arg("-o")
        .arg(p("funcs.o")));

    // The notes, as Xen's test Makefile makes them.
    run(Command::new(t.gnu.objcopy)
        .args(["-O", "binary", "--only-section=.note.gnu.build-id"])
        .arg(&xen_path)
        .arg(p("note.bin")));
    std::fs::write(p("modinfo.bin"), b"LIVEPATCH_RULEZ=hello_world\0").unwrap();
    for (bin, section, obj) in [
        ("note.bin", ".livepatch.depends", "note.o"),
        ("note.bin", ".livepatch.xen_depends", "xen_note.o"),
        ("modinfo.bin", ".modinfo", "modinfo.o"),
    ] {
        run(Command::new(t.gnu.objcopy)
            .current_dir(d)
            .args(["-I", "binary", "-O", t.gnu.bfd_target, "-B", t.gnu.bfd_arch])
            .arg(format!(
                "--rename-section=.data={section},alloc,load,readonly,data,contents"
            ))
            .arg("-S")
            .arg(bin)
            .arg(obj));
    }
    run(Command::new(t.gnu.ld)
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
