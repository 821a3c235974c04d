//! Differential tests: GNU `ld -r` (plus Xen's `objcopy` recipe for
//! payloads) against `xsplice-link`, compared through the canonical dump of
//! `common::dump`.
//!
//! Accepted differences, each applied only where it arises:
//! 1. The dump leaves out file offsets, indices and string-table layout,
//!    which are layout rather than meaning; the outputs of plain links are
//!    in addition compared byte for byte, and are identical to GNU's.
//!    Symbols are compared in table order, globals included (we reproduce
//!    GNU's hash-table order).
//! 2. Payload recipe only: build-id descriptors are masked. GNU hashes its
//!    output before `objcopy` changes the `.livepatch.funcs` flags, and
//!    links objcopy-made note objects; we hash the final payload. Each
//!    file's stored build-id is checked against a recomputation with GNU's
//!    algorithm instead, on GNU's output too. (Plain links with
//!    `--build-id` give GNU's bytes, build-id included.)
//! 3. Payload recipe only: `.note.GNU-stack` may carry SHF_EXECINSTR in GNU's
//!    output, because the `objcopy -I binary` note objects have no
//!    `.note.GNU-stack` and GNU assumes an executable stack; our generated
//!    sections are data and do not change the marker.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::dump::{DumpOptions, dump, recompute_build_id, stored_build_id};
use common::{
    AARCH64, ARM32, Arch, X86_64, assert_same_dump, binary_object, compile, gnu_link,
    gnu_payload_link, must, our_link,
};

/// Links `inputs` with both linkers in `dir` and compares the dumps.
fn check_same(arch: &Arch, dir: &Path, label: &str, inputs: &[PathBuf]) {
    check_same_with(arch, dir, label, inputs, &[], &[]);
}

/// Like `check_same`, with extra arguments for GNU ld and for us.
fn check_same_with(
    arch: &Arch,
    dir: &Path,
    label: &str,
    inputs: &[PathBuf],
    gnu_args: &[&str],
    our_args: &[&str],
) {
    let gnu = dir.join(format!("{label}.gnu.o"));
    let ours = dir.join(format!("{label}.ours.o"));
    gnu_link(arch, dir, &gnu, inputs, gnu_args).unwrap_or_else(|e| panic!("GNU ld failed: {e}"));
    our_link(dir, &ours, inputs, our_args)
        .unwrap_or_else(|(c, e)| panic!("xsplice-link failed ({c}): {e}"));
    let context = format!(
        "cd {} && {} -r {} -o {} <inputs> && xsplice-link {} -o {} <inputs>\ninputs: {}",
        dir.display(),
        arch.ld,
        gnu_args.join(" "),
        gnu.display(),
        our_args.join(" "),
        ours.display(),
        {
            let names: Vec<String> = inputs
                .iter()
                .take(12)
                .map(|p| p.display().to_string())
                .collect();
            let more = inputs.len().saturating_sub(12);
            if more > 0 {
                format!("{} ... and {more} more", names.join(" "))
            } else {
                names.join(" ")
            }
        }
    );
    let opts = DumpOptions::default();
    let g = dump(&std::fs::read(&gnu).expect("read GNU output"), opts);
    let o = dump(&std::fs::read(&ours).expect("read our output"), opts);
    assert_same_dump(&g, &o, &context);
    // Beyond meaning, the outputs are GNU's bytes exactly.
    let (gb, ob) = (
        std::fs::read(&gnu).expect("read"),
        std::fs::read(&ours).expect("read"),
    );
    let first = gb.iter().zip(&ob).position(|(a, b)| a != b);
    assert!(
        gb == ob,
        "outputs differ in bytes (sizes {:#x} and {:#x}, first difference at {first:#x?}) although their dumps agree\n{context}",
        gb.len(),
        ob.len()
    );
}

/// A temporary directory for a test on `arch`, or `None` once the skip
/// is reported because its GNU tools are missing.
fn scratch(arch: &Arch) -> Option<tempfile::TempDir> {
    arch.available()
        .then(|| tempfile::tempdir().expect("temp dir"))
}

/// One `#[test]` per listed name, each running `check` on its architecture.
macro_rules! per_arch {
    ($check:ident: $($test:ident($arch:ident)),+ $(,)?) => {$(
        #[test]
        fn $test() {
            $check($arch);
        }
    )+};
}

const A_C: &str = r#"
static int counter;
int shared_data = 3;
static const char *names[] = { "zero", "one", "two" };
__thread int tls_var;
const char *greet(int i) { return names[i % 3]; }
int bump(void) { return ++counter; }
__attribute__((weak)) int maybe(void) { return 1; }
__attribute__((weak)) int only_weak(void) { return 7; }
extern int undefined_weak(void) __attribute__((weak));
int call_weak(void) { return undefined_weak ? undefined_weak() : 0; }
"#;

const B_C: &str = r#"
extern int bump(void);
static int counter = 7;
static double table[4] = { 1.5, 2.5, 3.5, 4.5 };
int maybe(void) { return 2; }
int use(int i) { counter += i; return bump() + counter + maybe() + (int)table[i & 3]; }
__attribute__((visibility("hidden"))) int hidden_fn(void) { return counter; }
"#;

/// Built without -ffunction-sections: `.text`, `.data`, `.rodata` and
/// `.bss` of several files are concatenated, so relocations against their
/// section symbols need adjusted addends (patched in place on arm32).
const C_C: &str = r#"
static int c_counter;
static int c_array[16] = { 1, 2, 3 };
static const char c_message[] = "third file";
const char *c_text(void) { return c_message + (c_counter & 3); }
int *c_slot(int i) { c_counter++; return &c_array[i & 15]; }
int c_sum(void) { int s = 0; for (int i = 0; i < 16; i++) s += c_array[i]; return s + c_counter; }
"#;

const D_C: &str = r#"
static int d_counter = 5;
static const char d_message[] = "fourth";
static int d_zero[8];
const char *d_text(void) { return d_message + (d_counter & 1); }
int d_get(int i) { return d_zero[i & 7] + d_counter; }
"#;

/// Tentative definitions kept as SHN_COMMON (`-fcommon`): sizes and
/// alignments merge to the largest.
const COMMON1_C: &str = "int common_var; long common_big[4]; int get_common(void) { return common_var + (int)common_big[1]; }\n";
const COMMON2_C: &str = "int common_var; long common_big[8]; int set_common(int v) { common_var = v; return (int)common_big[7]; }\n";

/// Two copies of a COMDAT group (code, data pointing at it, relocations
/// inside the group) and a non-COMDAT reference to its symbol.
fn group_asm(arch: &Arch, caller: &str) -> String {
    let ret = if arch.name == "arm32" { "bx lr" } else { "ret" };
    format!(
        "\t.section .text.inl,\"axG\",%progbits,inl,comdat\n\t.globl inl\n\t.type inl,%function\ninl:\t{ret}\n\
         \t.section .data.inl,\"awG\",%progbits,inl,comdat\n\t.4byte inl\n\
         \t.data\n\t.globl {caller}\n{caller}:\t.4byte inl\n\t.4byte {caller}\n\
         \t.section .note.GNU-stack,\"\",%progbits\n"
    )
}

fn edge_case_objects(arch: &Arch, dir: &Path) -> Vec<PathBuf> {
    let split = [
        "-O2",
        "-g",
        "-fno-pic",
        "-ffunction-sections",
        "-fdata-sections",
    ];
    let whole = ["-O2", "-g", "-fno-pic"];
    let mut objs = vec![
        compile(arch, dir, "a.c", A_C, &split),
        compile(arch, dir, "b.c", B_C, &split),
        compile(arch, dir, "c.c", C_C, &whole),
        compile(arch, dir, "d.c", D_C, &whole),
        compile(arch, dir, "g1.s", &group_asm(arch, "from_g1"), &[]),
        compile(arch, dir, "g2.s", &group_asm(arch, "from_g2"), &[]),
        compile(arch, dir, "common1.c", COMMON1_C, &["-O2", "-fcommon"]),
        compile(arch, dir, "common2.c", COMMON2_C, &["-O2", "-fcommon"]),
    ];
    if arch.name == "arm32" {
        // ARM (not Thumb) code: R_ARM_CALL, R_ARM_MOVW_ABS_NC/MOVT_ABS.
        let arm = ["-O2", "-fno-pic", "-marm"];
        objs.push(compile(arch, dir, "e.c", &C_C.replace("c_", "e_"), &arm));
        objs.push(compile(arch, dir, "f.c", &D_C.replace("d_", "f_"), &arm));
    }
    objs
}

fn edge_cases(arch: Arch) {
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let objs = edge_case_objects(&arch, dir.path());
    check_same(&arch, dir.path(), "edge", &objs);
    // The same inputs in another order, and a single input.
    let reversed: Vec<PathBuf> = objs.iter().rev().cloned().collect();
    check_same(&arch, dir.path(), "edge-rev", &reversed);
    check_same(&arch, dir.path(), "single", &objs[2..3]);
    // `ld -S` and `--strip-debug` drop the debugging sections alike.
    check_same_with(
        &arch,
        dir.path(),
        "strip",
        &objs,
        &["-S"],
        &["--strip-debug"],
    );
    // The build-id: the bytes, hence the SHA-1, are GNU's.
    check_same_with(
        &arch,
        dir.path(),
        "build-id",
        &objs,
        &["--build-id=sha1"],
        &["--build-id"],
    );
    // The command line of Xen's payload link (`-EL` on arm), for each
    // emulation, written as GNU ld's documentation and as Xen write it.
    for name in arch.emulations {
        let joined = format!("-m{name}");
        let mut gnu = vec!["-m", name, "--no-warn-rwx-segments", "--build-id=sha1"];
        let mut ours = vec![
            joined.as_str(),
            "--no-warn-rwx-segments",
            "--build-id=sha1",
            "-r",
        ];
        if arch.name != "x86_64" {
            gnu.push("-EL");
            ours.push("-EL");
        }
        // Xen's arm64 build adds the erratum fix, which GNU ld applies to
        // final links only.
        if arch.name == "aarch64" {
            gnu.push("--fix-cortex-a53-843419");
            ours.push("--fix-cortex-a53-843419");
        }
        check_same_with(&arch, dir.path(), name, &objs, &gnu, &ours);
    }
}

per_arch! {
    edge_cases:
        edge_cases_x86_64(X86_64),
        edge_cases_aarch64(AARCH64),
        edge_cases_arm32(ARM32),
}

/// A COMDAT function with unwind information and debug references to it, as
/// C++ inline functions produce: the discarded copy's FDE is dropped from
/// `.eh_frame`, and debug references to it move to the kept copy.
fn comdat_cfi_asm(caller: &str) -> String {
    format!(
        "\t.section .text.twice,\"axG\",%progbits,twice,comdat\n\t.globl twice\n\t.type twice,%function\n         twice:\n.Ltwice:\t.cfi_startproc\n\tret\n\t.cfi_endproc\n.Ltwice_end:\n         \t.text\n\t.globl {caller}\n{caller}:\t.cfi_startproc\n\tret\n\t.cfi_endproc\n         \t.section .debug_ranges,\"\",%progbits\n\t.quad .Ltwice\n\t.quad .Ltwice_end\n         \t.section .note.GNU-stack,\"\",%progbits\n"
    )
}

fn comdat_with_unwind(arch: Arch) {
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let objs = vec![
        compile(&arch, dir.path(), "u1.s", &comdat_cfi_asm("use1"), &[]),
        compile(&arch, dir.path(), "u2.s", &comdat_cfi_asm("use2"), &[]),
        compile(&arch, dir.path(), "u3.s", &comdat_cfi_asm("use3"), &[]),
    ];
    check_same(&arch, dir.path(), "comdat-cfi", &objs);
}

per_arch! {
    comdat_with_unwind:
        comdat_with_unwind_x86_64(X86_64),
        comdat_with_unwind_aarch64(AARCH64),
}

/// `.note.gnu.property` merging: x86 CET feature bits (AND) and used-ISA
/// sets (OR-AND), AArch64 BTI/PAC (AND), and inputs without a note.
fn gnu_properties(arch: Arch, variants: &[&[&str]]) {
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let objs: Vec<PathBuf> = variants
        .iter()
        .enumerate()
        .map(|(i, flags)| {
            let src = format!("double p{i}(double x) {{ return x * {i} + 1; }}\n");
            compile(&arch, dir.path(), &format!("p{i}.c"), &src, flags)
        })
        .collect();
    for n in 1..=objs.len() {
        check_same(&arch, dir.path(), &format!("prop{n}"), &objs[..n]);
    }
    let reversed: Vec<PathBuf> = objs.iter().rev().cloned().collect();
    check_same(&arch, dir.path(), "prop-rev", &reversed);
}

#[test]
fn gnu_properties_x86_64() {
    gnu_properties(
        X86_64,
        &[
            &["-O2", "-fcf-protection"],
            &["-O2", "-fcf-protection=branch", "-Wa,-mx86-used-note=yes"],
            &["-O2", "-fcf-protection", "-Wa,-mx86-used-note=yes"],
            &["-O2", "-fcf-protection=none"],
        ],
    );
}

#[test]
fn gnu_properties_aarch64() {
    gnu_properties(
        AARCH64,
        &[
            &["-O2", "-mbranch-protection=standard"],
            &["-O2", "-mbranch-protection=bti"],
            &["-O2"],
        ],
    );
}

/// arm32 unwind-table coverage: code without `.ARM.exidx` entries after code
/// with them gets an EXIDX_CANTUNWIND entry from GNU, also under `-r`, in
/// merged `.text` and across `-ffunction-sections` output sections.
#[test]
fn arm_exidx_coverage() {
    let arch = ARM32;
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let d = dir.path();
    let unwind = ["-O2", "-funwind-tables"];
    let split = ["-O2", "-funwind-tables", "-ffunction-sections"];
    let bare = |name: &str, section: &str, sym: &str| {
        let src = format!(
            "\t.section {section},\"ax\",%progbits\n\t.globl {sym}\n{sym}:\tbx lr\n\t.section .note.GNU-stack,\"\",%progbits\n"
        );
        compile(&arch, d, name, &src, &[])
    };
    // C with unwind tables: `stem`a and `stem`b, or `stem` alone.
    let pair = |stem: &str, flags: &[&str]| {
        let src = format!(
            "int {stem}a(int x) {{ return x + 1; }}\nint {stem}b(int x) {{ return x * 3; }}\n"
        );
        compile(&arch, d, &format!("{stem}.c"), &src, flags)
    };
    let single = |stem: &str, flags: &[&str]| {
        let src = format!("int {stem}(int x) {{ return x - 1; }}\n");
        compile(&arch, d, &format!("{stem}.c"), &src, flags)
    };
    let u1 = pair("u1", &unwind);
    let u2 = bare("u2.s", ".text", "u2");
    let u2b = bare("u2b.s", ".text", "u2b");
    let u3 = single("u3", &unwind);
    let v1 = pair("v1", &split);
    let v2 = bare("v2.s", ".text.v2", "v2");
    let v3 = single("v3", &split);
    let orders: [&[&PathBuf]; 8] = [
        &[&u2, &u1, &u3],
        &[&u1, &u2],
        &[&u1, &u2, &u2b, &u3],
        &[&u1, &u3, &u2],
        &[&v1, &v2, &v3],
        &[&v1, &u2, &v3],
        &[&u1, &v2],
        &[&u1, &v1, &u2, &v2, &u3, &v3],
    ];
    for (i, order) in orders.iter().enumerate() {
        let inputs: Vec<PathBuf> = order.iter().map(|p| (*p).clone()).collect();
        check_same(&arch, d, &format!("exidx{i}"), &inputs);
    }
}

/// More than 65280 sections: SHN_XINDEX in symbols, e_shnum = 0, e_shstrndx = SHN_XINDEX.
#[test]
fn many_sections_x86_64() {
    let arch = X86_64;
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let mut objs = Vec::new();
    for (file, count) in [("x1.s", 40_000), ("x2.s", 30_000)] {
        let mut src = String::new();
        for i in 0..count {
            src.push_str(&format!(
                "\t.section .text.{file}.f{i},\"ax\",@progbits\n\t.globl {stem}_f{i}\n{stem}_f{i}:\n\tret\n",
                stem = &file[..2]
            ));
        }
        src.push_str(
            "\t.data\n\t.quad x1_f1\n\t.quad x2_f2\n\t.section .note.GNU-stack,\"\",@progbits\n",
        );
        objs.push(compile(&arch, dir.path(), file, &src, &[]));
    }
    check_same(&arch, dir.path(), "xindex", &objs);
    let ours = std::fs::read(dir.path().join("xindex.ours.o")).expect("output");
    assert_eq!(
        u16::from_le_bytes([ours[60], ours[61]]),
        0,
        "e_shnum must be 0 with extended numbering"
    );
    assert_eq!(
        u16::from_le_bytes([ours[62], ours[63]]),
        0xffff,
        "e_shstrndx must be SHN_XINDEX"
    );
}

/// Extracts libc.a of `arch` into `dir` and returns its members, sorted.
fn libc_members(arch: &Arch, dir: &Path) -> Option<Vec<PathBuf>> {
    let out = must(Command::new(arch.gcc).arg("-print-file-name=libc.a"));
    let libc = PathBuf::from(String::from_utf8_lossy(&out).trim());
    if !libc.is_absolute() || !libc.exists() {
        xsplice_testkit::skip(&format!("no libc.a for {}", arch.name));
        return None;
    }
    must(Command::new("ar").current_dir(dir).arg("x").arg(&libc));
    let mut members: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .map(|p| PathBuf::from(p.file_name().expect("name")))
        .collect();
    members.sort();
    Some(members)
}

fn libc(arch: Arch) {
    let Some(dir) = scratch(&arch) else {
        return;
    };
    if xsplice_testkit::require_tool("ar", "extracting libc.a").is_none() {
        return;
    }
    let Some(members) = libc_members(&arch, dir.path()) else {
        return;
    };
    check_same(&arch, dir.path(), "libc-all", &members);
    let every_seventh: Vec<PathBuf> = members.iter().step_by(7).cloned().collect();
    check_same(&arch, dir.path(), "libc-7th", &every_seventh);
    let first: Vec<PathBuf> = members.iter().take(40).cloned().collect();
    check_same(&arch, dir.path(), "libc-first", &first);
}

per_arch! {
    libc:
        libc_x86_64(X86_64),
        libc_aarch64(AARCH64),
        libc_arm32(ARM32),
}

/// Two strong definitions: both linkers refuse, ours naming both files.
#[test]
fn multiple_definition() {
    let arch = X86_64;
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let [a, b] = [("one.c", 1), ("two.c", 2)].map(|(name, n)| {
        let src = format!("int clash(void) {{ return {n}; }}\n");
        compile(&arch, dir.path(), name, &src, &["-O2"])
    });
    let out = dir.path().join("out.o");
    let gnu = gnu_link(&arch, dir.path(), &out, &[a.clone(), b.clone()], &[])
        .expect_err("GNU ld must refuse");
    assert!(gnu.contains("multiple definition of `clash'"), "{gnu}");
    let (code, ours) = our_link(dir.path(), &out, &[a, b], &[]).expect_err("we must refuse");
    assert_eq!(code, 1, "{ours}");
    assert!(
        ours.contains("multiple definition of `clash`; first defined in"),
        "{ours}"
    );
    assert!(ours.contains("one.o") && ours.contains("two.o"), "{ours}");
    assert!(!out.exists(), "no output may be left behind");
}

/// An input without `.note.GNU-stack` (an `objcopy -I binary` object, as
/// Xen's note and modinfo objects are) implies an executable stack on
/// x86_64 and arm32, but not on aarch64, whose default is a
/// non-executable stack. Found by linking Xen's arm64 test payloads.
fn missing_stack_note(arch: Arch) {
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let d = dir.path();
    let code = compile(&arch, d, "a.c", A_C, &["-O2", "-ffunction-sections"]);
    std::fs::write(d.join("note.bin"), b"LIVEPATCH_RULEZ\0").expect("write");
    binary_object(&arch, d, "note.bin", ".modinfo", "note.o");
    let note = d.join("note.o");
    let both = [code.clone(), note.clone()];
    check_same(&arch, d, "code-note", &both);
    // GNU ld refuses an EABI5 object after the objcopy object (EABI 0).
    if arch.name != "arm32" {
        check_same(&arch, d, "note-code", &[note.clone(), code]);
    }
    check_same(&arch, d, "note", &[note]);
}

per_arch! {
    missing_stack_note:
        missing_stack_note_x86_64(X86_64),
        missing_stack_note_aarch64(AARCH64),
        missing_stack_note_arm32(ARM32),
}

/// A payload-like object: a replacement function, a `.livepatch.funcs`
/// entry pointing at it and at a hypervisor symbol, and a load hook.
const PAYLOAD_C: &str = r#"
struct func { const char *name; void *new_addr; void *old_addr; unsigned int new_size, old_size; unsigned char version, pad[31]; };
extern const char *xen_extra_version(void);
const char *new_extra_version(void) { return "Hello World"; }
static const char name[] = "xen_extra_version";
__attribute__((section(".livepatch.funcs"), used)) struct func patch_this = {
    .name = name, .new_addr = (void *)new_extra_version, .old_addr = (void *)xen_extra_version, .version = 2,
};
static void hook(void) {}
__attribute__((section(".livepatch.hooks.load"), used)) void (*const load_hook)(void) = hook;
"#;

fn payload_recipe(arch: Arch) {
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let d = dir.path();
    let flags = ["-O2", "-fno-pic", "-ffunction-sections", "-fdata-sections"];
    let payload = compile(&arch, d, "payload.c", PAYLOAD_C, &flags);
    let extra = compile(&arch, d, "extra.c", C_C, &flags);
    // A stand-in hypervisor image with a GNU build-id note.
    std::fs::write(
        d.join("xen.c"),
        "int xen_extra_version(void) { return 0; }\nvoid _start(void) {}\n",
    )
    .expect("write");
    must(Command::new(arch.gcc).current_dir(d).args([
        "-nostdlib",
        "-static",
        "-Wl,--build-id=sha1",
        "-o",
        "xen-syms",
        "xen.c",
    ]));
    // Xen's recipe: notes and modinfo through objcopy, ld -r --build-id, then the .funcs flags.
    must(Command::new(arch.objcopy).current_dir(d).args([
        "-O",
        "binary",
        "--only-section=.note.gnu.build-id",
        "xen-syms",
        "note.bin",
    ]));
    let binary =
        |input: &str, section: &str, out: &str| binary_object(&arch, d, input, section, out);
    binary("note.bin", ".livepatch.depends", "note.o");
    binary("note.bin", ".livepatch.xen_depends", "xen_note.o");
    std::fs::write(d.join("modinfo.bin"), b"LIVEPATCH=RULEZ\0").expect("write");
    binary("modinfo.bin", ".modinfo", "modinfo.o");
    let gnu = d.join("gnu.livepatch");
    let gnu_inputs: Vec<PathBuf> = [
        payload.clone(),
        extra.clone(),
        "note.o".into(),
        "xen_note.o".into(),
        "modinfo.o".into(),
    ]
    .into();
    let gnu_bytes_before = gnu_payload_link(&arch, d, &gnu, &gnu_inputs);

    let ours = d.join("ours.livepatch");
    our_link(
        d,
        &ours,
        &[payload, extra],
        &[
            "--build-id",
            "--depends",
            "xen-syms",
            "--xen-depends",
            "xen-syms",
            "--modinfo",
            "LIVEPATCH=RULEZ",
        ],
    )
    .unwrap_or_else(|(c, e)| panic!("xsplice-link failed ({c}): {e}"));

    let opts = DumpOptions {
        mask_build_id: true,
        ignore_stack_exec: true,
        ..DumpOptions::default()
    };
    let ours_bytes = std::fs::read(&ours).expect("read");
    let g = dump(&std::fs::read(&gnu).expect("read"), opts);
    let o = dump(&ours_bytes, opts);
    assert_same_dump(
        &g,
        &o,
        &format!("payload recipe for {} in {}", arch.name, d.display()),
    );
    // The build-id algorithm: GNU's own (pre-objcopy) output verifies, and so does ours.
    assert_eq!(
        stored_build_id(&gnu_bytes_before).expect("GNU build-id"),
        recompute_build_id(&gnu_bytes_before),
        "GNU's build-id does not follow the documented algorithm"
    );
    assert_eq!(
        stored_build_id(&ours_bytes).expect("our build-id"),
        recompute_build_id(&ours_bytes)
    );
    assert_eq!(
        xsplice_link::compute_build_id(&gnu_bytes_before)
            .expect("hash")
            .to_vec(),
        stored_build_id(&gnu_bytes_before).expect("id")
    );
}

per_arch! {
    payload_recipe:
        payload_recipe_x86_64(X86_64),
        payload_recipe_aarch64(AARCH64),
        payload_recipe_arm32(ARM32),
}

/// Links `inputs` with both linkers: where GNU succeeds the outputs must be
/// the same bytes (through `check_same`); where GNU refuses, we must refuse
/// too, leave no output, and say why. Returns GNU's and our stderr when
/// both refused.
fn check_same_or_refused(
    arch: &Arch,
    dir: &Path,
    label: &str,
    inputs: &[PathBuf],
) -> Option<(String, String)> {
    let gnu = dir.join(format!("{label}.gnu.o"));
    match gnu_link(arch, dir, &gnu, inputs, &[]) {
        Ok(()) => {
            check_same(arch, dir, label, inputs);
            None
        }
        Err(gnu_err) => {
            let ours = dir.join(format!("{label}.ours.o"));
            let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
            let (code, our_err) = our_link(dir, &ours, inputs, &[]).err().unwrap_or_else(|| {
                panic!(
                    "GNU ld refused but we linked\nGNU: {gnu_err}\ncd {} && {} -r -o {} {}",
                    dir.display(),
                    arch.ld,
                    gnu.display(),
                    names.join(" ")
                )
            });
            assert_eq!(code, 1, "{our_err}");
            assert!(
                our_err.contains("cannot merge build attributes of"),
                "GNU: {gnu_err}\nours: {our_err}"
            );
            assert!(!ours.exists(), "no output may be left behind");
            Some((gnu_err, our_err))
        }
    }
}

/// Links each ordered pair of distinct `objs` (labelled `{prefix}{i}-{j}`)
/// through `check_same_or_refused`; returns how many both linkers refused.
fn ordered_pairs(arch: &Arch, dir: &Path, prefix: &str, objs: &[PathBuf]) -> usize {
    let mut refused = 0;
    for (i, a) in objs.iter().enumerate() {
        for (j, b) in objs.iter().enumerate() {
            if i != j
                && check_same_or_refused(
                    arch,
                    dir,
                    &format!("{prefix}{i}-{j}"),
                    &[a.clone(), b.clone()],
                )
                .is_some()
            {
                refused += 1;
            }
        }
    }
    refused
}

/// arm32 objects built with differing flags, as a payload mixing objects
/// from different builds would have them: each ordered pair, some triples,
/// and objects without `.ARM.attributes` among them. `.ARM.attributes` is
/// merged tag by tag like GNU (architecture and FPU to the larger,
/// alignment and enum size by their rules), or refused where GNU refuses.
#[test]
fn arm_build_attributes_from_flags() {
    let arch = ARM32;
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let d = dir.path();
    let variants: [(&str, &[&str]); 17] = [
        ("default", &["-O2"]),
        ("v7a", &["-O0", "-march=armv7-a+fp"]),
        ("v8a", &["-O2", "-march=armv8-a+simd"]),
        ("v7ve", &["-O2", "-march=armv7ve+simd"]),
        ("thumb", &["-O2", "-mthumb"]),
        ("arm", &["-Os", "-marm"]),
        ("d16", &["-O2", "-mfpu=vfpv3-d16"]),
        ("neon", &["-O2", "-mfpu=neon-vfpv4"]),
        ("a15", &["-O3", "-mcpu=cortex-a15"]),
        ("softfp", &["-O2", "-mfloat-abi=softfp"]),
        ("soft-v6", &["-O2", "-mfloat-abi=soft", "-march=armv6"]),
        ("short-enums", &["-O2", "-fshort-enums"]),
        ("strict-align", &["-O2", "-mno-unaligned-access"]),
        ("fp16", &["-O2", "-mfpu=neon-fp16", "-mfp16-format=ieee"]),
        ("v7r", &["-O2", "-march=armv7-r+fp"]),
        (
            "v7m",
            &["-O2", "-mfloat-abi=soft", "-march=armv7-m", "-mthumb"],
        ),
        ("short-wchar", &["-O2", "-fshort-wchar"]),
    ];
    // Floating point (so that the calling convention matters), enums,
    // wchar_t and division.
    let source = |n: usize| {
        format!(
            "enum e{n} {{ A{n}, B{n} }};\nenum e{n} ev{n} = B{n};\n\
             double g{n}(double x) {{ return x * 2.5 + ev{n}; }}\n\
             int f{n}(int a, int b) {{ return a / (b | 1); }}\n\
             __WCHAR_TYPE__ w{n}[] = L\"wide\";\n"
        )
    };
    let objs: Vec<PathBuf> = variants
        .iter()
        .enumerate()
        .map(|(n, (name, flags))| compile(&arch, d, &format!("{name}.c"), &source(n), flags))
        .collect();
    let bare = d.join("bare.o");
    must(
        Command::new(arch.objcopy)
            .current_dir(d)
            .args(["--remove-section", ".ARM.attributes", "default.o"])
            .arg(&bare),
    );
    let bare_src = compile(
        &arch,
        d,
        "bare-src.c",
        &source(99),
        &["-O2", "-march=armv8-a+simd"],
    );
    must(
        Command::new(arch.objcopy)
            .current_dir(d)
            .args(["--remove-section", ".ARM.attributes"])
            .arg(&bare_src),
    );
    let refused = ordered_pairs(&arch, d, "pair", &objs);
    // Hard-float against soft-float calls, v7-M against the A profile.
    assert!(refused > 0, "some pairs must be refused");
    let triples: [[&PathBuf; 3]; 8] = [
        [&objs[0], &objs[2], &objs[7]],
        [&objs[1], &objs[4], &objs[5]],
        [&objs[6], &objs[7], &objs[8]],
        [&objs[11], &objs[0], &objs[12]],
        [&bare, &objs[2], &objs[13]],
        [&objs[3], &bare, &objs[16]],
        [&objs[16], &objs[0], &bare_src],
        [&bare_src, &bare, &objs[9]],
    ];
    for (t, triple) in triples.iter().enumerate() {
        let inputs: Vec<PathBuf> = triple.iter().map(|p| (*p).clone()).collect();
        assert!(
            check_same_or_refused(&arch, d, &format!("triple{t}"), &inputs).is_none(),
            "triple {t} must link"
        );
    }
    // Only objects without attributes: no `.ARM.attributes` at all.
    check_same(&arch, d, "bare", &[bare.clone(), bare_src.clone()]);
}

/// The error for hard-float calls mixed with soft-float ones names both
/// files, the way GNU ld does.
#[test]
fn arm_build_attributes_vfp_args_refused() {
    let arch = ARM32;
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let d = dir.path();
    let src = "double h(double x) { return x / 3; }\n";
    let hard = compile(&arch, d, "hard.c", src, &["-O2"]);
    let soft = compile(&arch, d, "soft.c", src, &["-O2", "-mfloat-abi=softfp"]);
    let (gnu, ours) =
        check_same_or_refused(&arch, d, "hs", &[hard.clone(), soft.clone()]).expect("GNU refuses");
    assert!(
        gnu.contains("uses VFP register arguments") && gnu.contains("soft.o"),
        "{gnu}"
    );
    let (h, s) = (hard.display(), soft.display());
    let want = format!(
        "cannot merge build attributes of `{s}`: `{h}` uses VFP register arguments, `{s}` does not"
    );
    assert!(ours.contains(&want), "{ours}");
    let (_, ours) =
        check_same_or_refused(&arch, d, "sh", &[soft.clone(), hard.clone()]).expect("GNU refuses");
    let want = format!(
        "cannot merge build attributes of `{h}`: `{h}` uses VFP register arguments, `{s}` does not"
    );
    assert!(ours.contains(&want), "{ours}");
}

/// Hand-written attributes: every tag with a merge rule of its own, the
/// `Tag_CPU_arch` compatibility table (v6-M, v4T also compatible with
/// v6-M, M against A profile), names, `Tag_conformance` and
/// `Tag_nodefaults` (written first), optional tags GNU does not know (kept
/// only where all inputs agree), mandatory ones (refused), the "gnu"
/// vendor, and `.cpu`/`.fpu`/`.arch` directives.
#[test]
fn arm_build_attributes_from_assembly() {
    let arch = ARM32;
    let Some(dir) = scratch(&arch) else {
        return;
    };
    let d = dir.path();
    let cases: [(&str, &str); 18] = [
        ("cpu-a9", ".cpu cortex-a9\n.fpu neon\n"),
        ("arch-v8", ".arch armv8-a\n.fpu crypto-neon-fp-armv8\n"),
        ("arch-v6m", ".arch armv6-m\n"),
        (
            "arch-v4t",
            ".arch armv4t\n.eabi_attribute Tag_also_compatible_with, \"\\006\\013\"\n",
        ),
        ("arch-v7m", ".arch armv7-m\n"),
        ("arch-v6", ".arch armv6\n.fpu vfpv2\n"),
        (
            "conform",
            ".eabi_attribute Tag_conformance, \"2.09\"\n.eabi_attribute Tag_nodefaults, 0\n\
             .eabi_attribute Tag_ABI_PCS_wchar_t, 2\n.eabi_attribute Tag_ABI_enum_size, 3\n",
        ),
        (
            "conform-other",
            ".eabi_attribute Tag_conformance, \"2.08\"\n.eabi_attribute Tag_ABI_enum_size, 1\n\
             .eabi_attribute Tag_ABI_align_needed, 2\n.eabi_attribute Tag_ABI_align_preserved, 1\n",
        ),
        (
            "abi-a",
            ".eabi_attribute Tag_ABI_FP_denormal, 2\n.eabi_attribute Tag_ABI_PCS_GOT_use, 1\n\
             .eabi_attribute Tag_ABI_PCS_RO_data, 1\n.eabi_attribute Tag_ABI_PCS_RW_data, 1\n\
             .eabi_attribute Tag_ABI_optimization_goals, 2\n.eabi_attribute Tag_CPU_unaligned_access, 1\n\
             .eabi_attribute Tag_DIV_use, 1\n.eabi_attribute Tag_Virtualization_use, 1\n",
        ),
        (
            "abi-b",
            ".eabi_attribute Tag_ABI_FP_denormal, 1\n.eabi_attribute Tag_ABI_PCS_GOT_use, 2\n\
             .eabi_attribute Tag_ABI_PCS_RO_data, 0\n.eabi_attribute Tag_ABI_optimization_goals, 4\n\
             .eabi_attribute Tag_DIV_use, 2\n.eabi_attribute Tag_Virtualization_use, 2\n\
             .eabi_attribute Tag_MPextension_use, 1\n.eabi_attribute Tag_ABI_FP_16bit_format, 1\n",
        ),
        (
            "fp-hardfp",
            ".fpu vfpv3-d16\n.eabi_attribute Tag_ABI_HardFP_use, 1\n\
             .eabi_attribute Tag_ABI_FP_number_model, 3\n.eabi_attribute Tag_ABI_VFP_args, 3\n",
        ),
        (
            "fp-vfpv4",
            ".fpu vfpv4\n.eabi_attribute Tag_ABI_HardFP_use, 2\n.eabi_attribute Tag_ABI_FP_16bit_format, 1\n",
        ),
        (
            "optional-a",
            ".eabi_attribute 71, \"x\"\n.eabi_attribute 100, 3\n.eabi_attribute 102, 1\n\
             .gnu_attribute 4, 1\n",
        ),
        (
            "optional-b",
            ".eabi_attribute 71, \"x\"\n.eabi_attribute 100, 3\n.eabi_attribute 102, 2\n\
             .gnu_attribute 4, 2\n.gnu_attribute 5, \"g\"\n",
        ),
        ("mandatory", ".eabi_attribute 60, 1\n"),
        ("profile-m", ".eabi_attribute Tag_CPU_arch_profile, 'M'\n"),
        ("fp16-alt", ".eabi_attribute Tag_ABI_FP_16bit_format, 2\n"),
        (
            "legacy-mp",
            ".eabi_attribute 70, 1\n.eabi_attribute Tag_CPU_arch, 10\n",
        ),
    ];
    let objs: Vec<PathBuf> = cases
        .iter()
        .map(|(name, body)| {
            let src = format!("{body}\t.section .note.GNU-stack,\"\",%progbits\n");
            compile(&arch, d, &format!("{name}.s"), &src, &[])
        })
        .collect();
    for i in 0..objs.len() {
        check_same(&arch, d, &format!("one{i}"), &objs[i..=i]);
    }
    let refused = ordered_pairs(&arch, d, "asm", &objs);
    assert!(refused > 0, "some pairs must be refused");
    for (t, window) in objs.windows(3).enumerate() {
        check_same_or_refused(&arch, d, &format!("asm-triple{t}"), window);
    }
}
