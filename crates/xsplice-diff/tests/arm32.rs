//! arm32 objects, compiled at test time with `arm-linux-gnueabihf-gcc` in
//! ARM and Thumb state (and ARM with unwind tables, which are ignored):
//! SHT_REL relocations whose addends live in the
//! instructions and data words. No real arm32 Xen is built, so the sources
//! are the stand-in hypervisor's (every object against itself is "no
//! change") and small files whose pairs differ in an implicit addend only;
//! the target image of those is their original object linked by GNU ld.
//! Xen arm's bug frames are written with its `asm/bug.h` layout.
//! Each written object is linked by `xsplice-link` and accepted by
//! `xsplice-validate` against that image, and its addends are read back.

use std::path::{Path, PathBuf};
use std::process::Command;

use object::read::elf::{FileHeader, SectionHeader};
use xsplice_diff::{Input, Options, Outcome, Verdict, diff};
use xsplice_testkit::{GNU_ARM32, run_ok, tool_binary, workspace_root};

/// The stand-in's own flags beyond `BASE_CFLAGS` that matter for its code
/// (crates/xsplice-build/src/standin.rs).
const STAND_IN_CFLAGS: &[&str] = &["-nostdinc", "-fno-tree-loop-distribute-patterns"];

/// Xen's arm32 code generation as far as it matters here, beyond those: no
/// PIC, ARM state unless `-mthumb` follows.
const CFLAGS: &[&str] = &["-fno-pie", "-march=armv7-a", "-msoft-float"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Arm,
    Thumb,
    /// ARM state with unwind tables (`.ARM.exidx.*`), which the diff ignores.
    ArmUnwind,
}

fn compiler() -> Option<PathBuf> {
    xsplice_testkit::require_tool(GNU_ARM32.gcc, "compiles the arm32 objects")
}

/// Compiles `source` (named `name` in `dir`, which holds the stand-in's
/// headers) and returns the object's bytes.
fn compile(dir: &Path, name: &str, source: &str, mode: Mode) -> Vec<u8> {
    std::fs::write(dir.join(name), source).unwrap();
    let obj = dir.join(format!("{name}.{mode:?}.o"));
    let mut cmd = Command::new(GNU_ARM32.gcc);
    cmd.current_dir(dir)
        .args(xsplice_build::BASE_CFLAGS)
        .args(STAND_IN_CFLAGS)
        .args(CFLAGS)
        .args(match mode {
            Mode::Arm => &["-marm"][..],
            Mode::Thumb => &["-mthumb"],
            Mode::ArmUnwind => &["-marm", "-funwind-tables"],
        })
        .args(["-c", name, "-o"])
        .arg(&obj);
    run_ok(&mut cmd);
    std::fs::read(obj).unwrap()
}

fn headers(dir: &Path) {
    let src = workspace_root().join("test-payloads/xen");
    for h in ["xen.h", "bug.h", "probes.h"] {
        std::fs::copy(src.join(h), dir.join(h)).unwrap();
    }
}

fn run_diff(orig: &[u8], patched: &[u8], target: &[u8]) -> Outcome {
    diff(
        Input {
            path: "orig.o",
            data: orig,
        },
        Input {
            path: "patched.o",
            data: patched,
        },
        Some(Input {
            path: "xen-syms",
            data: target,
        }),
        &Options::default(),
    )
    .unwrap()
}

fn text(o: &Outcome) -> String {
    let mut t = Vec::new();
    o.report.write_text(&mut t).unwrap();
    String::from_utf8(t).unwrap()
}

#[test]
fn every_stand_in_object_against_itself_is_no_change_in_arm_and_thumb() {
    let Some(_) = compiler() else { return };
    let Some(xen) = xsplice_testkit::stand_in_xen("arm32") else {
        return;
    };
    let target = std::fs::read(xen).unwrap();
    let src = workspace_root().join("test-payloads/xen");
    let dir = tempfile::tempdir().unwrap();
    headers(dir.path());
    let mut checked = 0;
    let mut with_rel = 0;
    let mut with_exidx = 0;
    let mut failures = Vec::new();
    for name in xsplice_build::stand_in_tree_sources() {
        let source = std::fs::read_to_string(src.join(name)).unwrap();
        for mode in [Mode::Arm, Mode::Thumb, Mode::ArmUnwind] {
            let obj = compile(dir.path(), name, &source, mode);
            with_rel += usize::from(has_rel(&obj));
            if mode == Mode::ArmUnwind {
                with_exidx += usize::from(has_section_prefix(&obj, ".ARM.exidx"));
            }
            let o = run_diff(&obj, &obj, &target);
            if o.verdict != Verdict::NoChange {
                failures.push(format!("{name} ({mode:?}): {:?}\n{}", o.verdict, text(&o)));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 27);
    assert!(
        with_exidx >= 5,
        "only {with_exidx} objects have unwind tables"
    );
    assert!(
        with_rel >= 14,
        "only {with_rel} objects have SHT_REL relocations"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn has_section_prefix(data: &[u8], prefix: &str) -> bool {
    use object::{Object, ObjectSection};
    object::File::parse(data)
        .unwrap()
        .sections()
        .any(|s| s.name().is_ok_and(|n| n.starts_with(prefix)))
}

fn has_rel(data: &[u8]) -> bool {
    let h = object::elf::FileHeader32::<object::Endianness>::parse(data).unwrap();
    let e = h.endian().unwrap();
    h.sections(e, data)
        .unwrap()
        .iter()
        .any(|s| s.sh_type(e) == object::elf::SHT_REL)
}

/// A relocation as (type, symbol name, implicit addend).
type RelocSummary = (u32, String, i64);

/// The section names and (type, symbol name, implicit addend) of every
/// relocation of `data`, read with `xsplice-link`'s decoder, which is not
/// the one the diff writes with.
fn rel_sections(data: &[u8]) -> Vec<(String, Vec<RelocSummary>)> {
    use object::read::elf::{Rel, Sym};
    let h = object::elf::FileHeader32::<object::Endianness>::parse(data).unwrap();
    let e = h.endian().unwrap();
    let table = h.sections(e, data).unwrap();
    let symtab = table.symbols(e, data, object::elf::SHT_SYMTAB).unwrap();
    let mut out = Vec::new();
    for s in table.iter() {
        let Some((rels, _)) = s.rel(e, data).unwrap() else {
            continue;
        };
        let base = table
            .section(object::SectionIndex(s.sh_info(e) as usize))
            .unwrap();
        let bytes = base.data(e, data).unwrap();
        let name = String::from_utf8_lossy(table.section_name(e, s).unwrap()).into_owned();
        let list = rels
            .iter()
            .map(|r| {
                let sym = symtab
                    .symbol(object::SymbolIndex(r.r_sym(e) as usize))
                    .unwrap();
                let mut sname =
                    String::from_utf8_lossy(symtab.symbol_name(e, sym).unwrap()).into_owned();
                if sname.is_empty() {
                    let sec = table
                        .section(object::SectionIndex(sym.st_shndx(e).0 as usize))
                        .unwrap();
                    sname =
                        String::from_utf8_lossy(table.section_name(e, sec).unwrap()).into_owned();
                }
                let at = r.r_offset(e) as usize;
                let t = r.r_type(e).0;
                let addend = xsplice_link::implicit_addend(t, &bytes[at..]).unwrap_or(0);
                (t, sname, addend)
            })
            .collect();
        out.push((name, list));
    }
    out
}

/// The relocations of section `name` among `rels`; fails listing them all
/// when there is no such section.
fn rel_section<'r>(rels: &'r [(String, Vec<RelocSummary>)], name: &str) -> &'r [RelocSummary] {
    rels.iter()
        .find(|(n, _)| n == name)
        .map(|(_, list)| list.as_slice())
        .unwrap_or_else(|| panic!("no {name} in {rels:?}"))
}

/// The object of an outcome that must be `Written`, and its report.
fn written(o: Outcome) -> (Vec<u8>, String) {
    let report = text(&o);
    assert_eq!(o.verdict, Verdict::Written, "{report}");
    (o.object.unwrap(), report)
}

/// True when the compiler and GNU ld, which links the image of the pairs,
/// are both there; false once the skip is reported.
fn compiler_and_ld() -> bool {
    compiler().is_some()
        && xsplice_testkit::require_tool(GNU_ARM32.ld, "links the image of the pairs").is_some()
}

/// Links `object` into a payload against `image` and validates it.
fn link_and_validate(dir: &Path, object: &[u8], image: &Path) {
    let obj = dir.join("diffed.o");
    std::fs::write(&obj, object).unwrap();
    let payload = dir.join("p.livepatch");
    let mut link = Command::new(tool_binary("xsplice-link"));
    link.arg("-o")
        .arg(&payload)
        .arg("--build-id")
        .arg("--depends")
        .arg(image)
        .arg("--xen-depends")
        .arg(image)
        .arg(&obj);
    run_ok(&mut link);
    let mut v = Command::new(tool_binary("xsplice-validate"));
    v.arg(&payload).arg("--target").arg(image);
    run_ok(&mut v);
}

/// The original object linked by GNU ld: the running image of the pairs.
fn image(dir: &Path, orig: &[u8]) -> PathBuf {
    let o = dir.join("image.o");
    std::fs::write(&o, orig).unwrap();
    let image = dir.join("xen-syms");
    let mut ld = Command::new(GNU_ARM32.ld);
    // The unwind tables name the EABI personality routine, which only
    // libgcc has; the image is a symbol table, never run.
    ld.args(["-e", "0", "--build-id=sha1", "-Ttext=0x200000"])
        .arg("--defsym=__aeabi_unwind_cpp_pr0=0")
        .arg("-o")
        .arg(&image)
        .arg(&o);
    run_ok(&mut ld);
    image
}

const ADDEND: &str = "int table[8];\n\
int *slot(void) { return &table[1]; }\n\
int other(int i) { return table[i & 7] + 5; }\n";

#[test]
fn a_pair_that_differs_only_in_an_implicit_addend() {
    if !compiler_and_ld() {
        return;
    }
    for mode in [Mode::Arm, Mode::Thumb, Mode::ArmUnwind] {
        let dir = tempfile::tempdir().unwrap();
        let orig = compile(dir.path(), "addend.c", ADDEND, mode);
        let patched = compile(
            dir.path(),
            "addend.c",
            &ADDEND.replace("&table[1]", "&table[2]"),
            mode,
        );
        // The bytes differ in the MOVW/MOVT immediates only.
        let image_path = image(dir.path(), &orig);
        let target = std::fs::read(&image_path).unwrap();
        let o = run_diff(&orig, &patched, &target);
        let report = text(&o);
        assert!(
            report.contains("changed function `slot`")
                && report.contains("the addend of `table` changed from 4 to 8"),
            "{mode:?}:\n{report}"
        );
        assert!(!report.contains("changed function `other`"), "{report}");
        match mode {
            Mode::Thumb => {
                assert_eq!(o.verdict, Verdict::Refused, "{report}");
                assert!(
                    report.contains("Thumb code") && report.contains("-marm"),
                    "{report}"
                );
            }
            Mode::Arm | Mode::ArmUnwind => {
                let (object, _) = written(o);
                assert!(has_rel(&object));
                assert_eq!(
                    has_section_prefix(&patched, ".ARM.exidx"),
                    mode == Mode::ArmUnwind
                );
                assert!(!has_section_prefix(&object, ".ARM.exidx"));
                let rels = rel_sections(&object);
                let slot = rel_section(&rels, ".rel.text.slot");
                // `table+8` (a literal-pool word in ARM state, MOVW/MOVT
                // where the compiler prefers them), an undefined reference
                // to the running image's `table`.
                assert!(
                    !slot.is_empty()
                        && slot.iter().all(|(t, name, a)| [2, 43, 44].contains(t)
                            && name == "table"
                            && *a == 8),
                    "{rels:?}"
                );
                assert!(
                    !rels.iter().any(|(n, _)| n.starts_with(".rela")),
                    "{rels:?}"
                );
                link_and_validate(dir.path(), &object, &image_path);
            }
        }
        // And the same pair the other way round, then against itself.
        let back = run_diff(&patched, &orig, &target);
        assert!(
            text(&back).contains("changed from 8 to 4"),
            "{}",
            text(&back)
        );
        assert_eq!(run_diff(&orig, &orig, &target).verdict, Verdict::NoChange);
    }
}

#[test]
fn the_stand_in_hello_world_in_arm_state_links_and_validates() {
    let Some(_) = compiler() else { return };
    let Some(xen) = xsplice_testkit::stand_in_xen("arm32") else {
        return;
    };
    let target = std::fs::read(&xen).unwrap();
    let src = workspace_root().join("test-payloads/xen");
    let source = std::fs::read_to_string(src.join("version.c")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    headers(dir.path());
    // The stand-in is built with -fpie, as its own image was.
    let orig = compile(dir.path(), "version.c", &source, Mode::Arm);
    let patched = compile(
        dir.path(),
        "version.c",
        &source.replace("return xen_extra_string;", "return \"Hello World\";"),
        Mode::Arm,
    );
    let (object, report) = written(run_diff(&orig, &patched, &target));
    assert!(report.contains("patch `xen_extra_version`"), "{report}");
    // Deterministic.
    assert_eq!(run_diff(&orig, &patched, &target).object.unwrap(), object);
    link_and_validate(dir.path(), &object, &xen);
}

const STATICS: &str = "static int x __attribute__((section(\".data.shared\"), used)) = 1;\n\
static int y __attribute__((section(\".data.shared\"), used)) = 2;\n\
int get_y(void) { return y; }\n\
int more(int i) { return i * 3 + x; }\n";

#[test]
fn two_changed_functions_get_their_names_through_written_addends() {
    if !compiler_and_ld() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let orig = compile(dir.path(), "statics.c", STATICS, Mode::Arm);
    let patched = compile(
        dir.path(),
        "statics.c",
        &STATICS
            .replace("return y;", "return y + 1;")
            .replace("i * 3", "i * 5"),
        Mode::Arm,
    );
    let image_path = image(dir.path(), &orig);
    let target = std::fs::read(&image_path).unwrap();
    let (object, report) = written(run_diff(&orig, &patched, &target));
    assert!(
        report.contains("referenced object `statics.c#y`")
            && report.contains("referenced object `statics.c#x`"),
        "{report}"
    );
    let rels = rel_sections(&object);
    // `.livepatch.funcs` entries name `get_y` and `more` through the
    // strings section: the second name's offset is an addend the diff
    // wrote into the entry's `name` field.
    let names: Vec<i64> = rel_section(&rels, ".rel.livepatch.funcs")
        .iter()
        .filter(|(_, s, _)| s == ".livepatch.strings")
        .map(|(_, _, a)| *a)
        .collect();
    assert_eq!(names, [0, 6], "{rels:?}");
    assert!(
        rel_section(&rels, ".rel.text.get_y")
            .iter()
            .all(|(_, s, a)| s == "statics.c#y" && *a == 0),
        "{rels:?}"
    );
    link_and_validate(dir.path(), &object, &image_path);
}

/// Xen arm's bug frame (`asm/bug.h`): a trapping instruction, and a
/// 16-byte element in `.bug_frames.N` of three displacements (to it, to the
/// file name, to the message) and the line.
const BUG: &str = r#"#define WARN_AT(line) asm volatile (                  \
    "1: .inst 0xe7f000f0\n"                                           \
    ".pushsection .rodata.str, \"aMS\", %progbits, 1\n"               \
    "2: .asciz \"bug.c\"\n"                                           \
    "3:\n"                                                            \
    ".popsection\n"                                                   \
    ".pushsection .bug_frames.1, \"a\", %progbits\n"                  \
    "4:\n"                                                            \
    ".p2align 2\n"                                                    \
    ".long (1b - 4b)\n"                                               \
    ".long (2b - 4b)\n"                                               \
    ".long (3b - 4b)\n"                                               \
    ".hword " #line ", 0\n"                                           \
    ".popsection")
int f(int x) { if (x > 10) WARN_AT(10); return x + 1; }
int g(int x) { if (x < 0) WARN_AT(20); return x * 3; }
"#;

#[test]
fn bug_frames_keep_the_changed_function_s_element_and_ignore_a_moved_line() {
    if !compiler_and_ld() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let orig = compile(dir.path(), "bug.c", BUG, Mode::Arm);
    let image_path = image(dir.path(), &orig);
    let target = std::fs::read(&image_path).unwrap();

    // Only the line of `g`'s frame: no change to the code.
    let moved = compile(
        dir.path(),
        "bug.c",
        &BUG.replace("WARN_AT(20)", "WARN_AT(25)"),
        Mode::Arm,
    );
    assert_ne!(moved, orig);
    let o = run_diff(&orig, &moved, &target);
    assert_eq!(o.verdict, Verdict::NoChange, "{}", text(&o));

    let patched = compile(
        dir.path(),
        "bug.c",
        &BUG.replace("x * 3", "x * 5"),
        Mode::Arm,
    );
    let (object, report) = written(run_diff(&orig, &patched, &target));
    assert!(
        report.contains("patch `g`") && !report.contains("patch `f`"),
        "{report}"
    );
    let rels = rel_sections(&object);
    let frames = rel_section(&rels, ".rel.bug_frames.1");
    // One 16-byte element, `g`'s: its first field points at `g`.
    assert_eq!(frames.len(), 3, "{rels:?}");
    assert_eq!(frames[0].1, "g", "{rels:?}");
    let file = object::File::parse(&*object).unwrap();
    use object::{Object, ObjectSection};
    assert_eq!(file.section_by_name(".bug_frames.1").unwrap().size(), 16);
    link_and_validate(dir.path(), &object, &image_path);
}
