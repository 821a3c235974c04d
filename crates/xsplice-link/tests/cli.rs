//! The `xsplice-link` binary as a user sees it: reproducible output, a
//! snapshot of a small payload's canonical dump per architecture, and clear
//! errors with the right exit code and no output file left behind.
//!
//! Inputs are generated with `object`'s writer, not a compiler, so the
//! snapshots do not depend on the toolchain installed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::dump::{DumpOptions, dump, recompute_build_id, stored_build_id};
use object::write::{Object, Relocation, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope, elf,
};
use xsplice_testkit::{run, tool_binary};

#[derive(Clone, Copy)]
struct Target {
    name: &'static str,
    arch: Architecture,
    /// Code bytes of a function that returns.
    ret: &'static [u8],
    /// (absolute pointer relocation type, pointer size)
    abs: (elf::RelocationType, usize),
    e_flags: elf::FileFlags,
}

const TARGETS: [Target; 3] = [
    Target {
        name: "x86_64",
        arch: Architecture::X86_64,
        ret: &[0xc3],
        abs: (elf::R_X86_64_64, 8),
        e_flags: elf::FileFlags(0),
    },
    Target {
        name: "aarch64",
        arch: Architecture::Aarch64,
        ret: &[0xc0, 0x03, 0x5f, 0xd6],
        abs: (elf::R_AARCH64_ABS64, 8),
        e_flags: elf::FileFlags(0),
    },
    Target {
        name: "arm32",
        arch: Architecture::Arm,
        ret: &[0x1e, 0xff, 0x2f, 0xe1],
        abs: (elf::R_ARM_ABS32, 4),
        e_flags: elf::EF_ARM_EABI_VER5,
    },
];

fn new_object(t: &Target) -> Object<'static> {
    let mut obj = Object::new(BinaryFormat::Elf, t.arch, Endianness::Little);
    obj.flags = object::FileFlags::Elf {
        os_abi: elf::OsAbi(0),
        abi_version: 0,
        e_flags: t.e_flags,
    };
    let stack = obj.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Other);
    obj.section_mut(stack).flags = object::SectionFlags::Elf {
        sh_type: elf::SHT_PROGBITS,
        sh_flags: elf::SectionFlags(0),
    };
    obj
}

/// Adds a pointer to `symbol`+`addend` at `offset` of `section`, writing the
/// addend into the bytes for REL targets (arm32).
fn pointer(
    obj: &mut Object<'_>,
    t: &Target,
    section: object::write::SectionId,
    offset: u64,
    symbol: object::write::SymbolId,
    addend: i64,
) {
    let addend = if t.abs.1 == 4 {
        let data = obj.section_mut(section).data_mut();
        data[offset as usize..offset as usize + 4].copy_from_slice(&(addend as u32).to_le_bytes());
        0
    } else {
        addend
    };
    obj.add_relocation(
        section,
        Relocation {
            offset,
            symbol,
            addend,
            flags: RelocationFlags::Elf { r_type: t.abs.0 },
        },
    )
    .expect("relocation");
}

/// The replacement function and its string, in one object.
fn func_object(t: &Target) -> Vec<u8> {
    let mut obj = new_object(t);
    let text = obj.add_section(Vec::new(), b".text.new_version".to_vec(), SectionKind::Text);
    obj.append_section_data(text, t.ret, 4);
    obj.add_symbol(Symbol {
        name: b"new_version".to_vec(),
        value: 0,
        size: t.ret.len() as u64,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    let rodata = obj.section_id(StandardSection::ReadOnlyData);
    obj.append_section_data(rodata, b"old padding\0", 1);
    obj.write().expect("write func object")
}

/// The `.livepatch.funcs` entry and a load hook: pointers to the new
/// function, to a name in `.rodata` (a section-symbol relocation whose
/// addend the linker adjusts) and to a hypervisor symbol.
fn payload_object(t: &Target) -> Vec<u8> {
    let mut obj = new_object(t);
    let rodata = obj.section_id(StandardSection::ReadOnlyData);
    obj.append_section_data(rodata, b"xen_extra_version\0", 1);
    let funcs = obj.add_section(Vec::new(), b".livepatch.funcs".to_vec(), SectionKind::Data);
    let ptr = t.abs.1;
    let entry = vec![0u8; if ptr == 8 { 104 } else { 92 }];
    obj.append_section_data(funcs, &entry, ptr as u64);
    let new_fn = obj.add_symbol(Symbol {
        name: b"new_version".to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Unknown,
        scope: SymbolScope::Unknown,
        weak: false,
        section: SymbolSection::Undefined,
        flags: SymbolFlags::None,
    });
    let old_fn = obj.add_symbol(Symbol {
        name: b"xen_extra_version".to_vec(),
        value: 0,
        size: 0,
        kind: SymbolKind::Unknown,
        scope: SymbolScope::Unknown,
        weak: false,
        section: SymbolSection::Undefined,
        flags: SymbolFlags::None,
    });
    let rodata_sym = obj.section_symbol(rodata);
    pointer(&mut obj, t, funcs, 0, rodata_sym, 0);
    pointer(&mut obj, t, funcs, ptr as u64, new_fn, 0);
    pointer(&mut obj, t, funcs, 2 * ptr as u64, old_fn, 0);
    obj.add_symbol(Symbol {
        name: b"livepatch_xen_hello_world".to_vec(),
        value: 0,
        size: entry.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Compilation,
        weak: false,
        section: SymbolSection::Section(funcs),
        flags: SymbolFlags::None,
    });
    let hooks = obj.add_section(
        Vec::new(),
        b".livepatch.hooks.load".to_vec(),
        SectionKind::ReadOnlyData,
    );
    obj.append_section_data(hooks, &vec![0u8; ptr], ptr as u64);
    pointer(&mut obj, t, hooks, 0, new_fn, 0);
    obj.write().expect("write payload object")
}

/// A stand-in `xen-syms`: any ELF file with a GNU build-id note.
fn xen_syms(t: &Target) -> Vec<u8> {
    let mut obj = new_object(t);
    let note = obj.add_section(
        Vec::new(),
        b".note.gnu.build-id".to_vec(),
        SectionKind::Note,
    );
    let mut bytes = Vec::new();
    for word in [4u32, 20, 3] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes.extend_from_slice(b"GNU\0");
    bytes.extend((0..20u8).map(|i| i.wrapping_mul(37).wrapping_add(t.name.len() as u8)));
    obj.append_section_data(note, &bytes, 4);
    obj.write().expect("write xen-syms")
}

/// Writes the inputs of target `t` into `dir`.
fn write_inputs(t: &Target, dir: &Path) {
    std::fs::write(dir.join("func.o"), func_object(t)).expect("write");
    std::fs::write(dir.join("payload.o"), payload_object(t)).expect("write");
    std::fs::write(dir.join("xen-syms"), xen_syms(t)).expect("write");
}

const PAYLOAD_ARGS: [&str; 10] = [
    "--build-id",
    "--depends",
    "xen-syms",
    "--xen-depends",
    "xen-syms",
    "--modinfo",
    "version=1",
    "--modinfo",
    "author=xsplice",
    "-o",
];

/// Runs the linker in `dir`; returns (exit code, stderr).
fn link_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, _, err) = run(Command::new(tool_binary("xsplice-link"))
        .current_dir(dir)
        .args(args));
    (code, String::from_utf8_lossy(&err).into_owned())
}

fn link_payload(dir: &Path, out: &str) -> Vec<u8> {
    let mut args: Vec<&str> = PAYLOAD_ARGS.to_vec();
    args.extend([out, "func.o", "payload.o"]);
    let (code, err) = link_in(dir, &args);
    assert_eq!(
        code,
        0,
        "xsplice-link {args:?} in {} failed: {err}",
        dir.display()
    );
    std::fs::read(dir.join(out)).expect("read output")
}

#[test]
fn payload_snapshots() {
    for t in &TARGETS {
        let dir = tempfile::tempdir().expect("temp dir");
        write_inputs(t, dir.path());
        let out = link_payload(dir.path(), "hello.livepatch");
        assert_eq!(
            stored_build_id(&out).expect("build-id"),
            recompute_build_id(&out),
            "{}: build-id",
            t.name
        );
        let text = dump(&out, DumpOptions::default()).join("\n") + "\n";
        insta::assert_snapshot!(format!("payload_{}", t.name), text);
    }
}

#[test]
fn reproducible_across_directories() {
    for t in &TARGETS {
        let a = tempfile::tempdir().expect("temp dir");
        let b = tempfile::tempdir().expect("temp dir");
        let nested = b.path().join("some/deeper/place");
        std::fs::create_dir_all(&nested).expect("mkdir");
        write_inputs(t, a.path());
        write_inputs(t, &nested);
        let first = link_payload(a.path(), "one.livepatch");
        let second = link_payload(&nested, "two.livepatch");
        assert!(
            first == second,
            "{}: outputs differ between {} and {}",
            t.name,
            a.path().display(),
            nested.display()
        );
        // Absolute input paths give the same bytes too.
        let abs: Vec<String> = ["func.o", "payload.o"]
            .iter()
            .map(|f| nested.join(f).display().to_string())
            .collect();
        let (code, err) = link_in(a.path(), &["-o", "abs.o", &abs[0], &abs[1]]);
        assert_eq!(code, 0, "{err}");
        let (code, err) = link_in(&nested, &["-o", "rel.o", "func.o", "payload.o"]);
        assert_eq!(code, 0, "{err}");
        assert!(
            std::fs::read(a.path().join("abs.o")).expect("read")
                == std::fs::read(nested.join("rel.o")).expect("read")
        );
    }
}

/// `--depends` and `--xen-depends` map the image they copy a note from:
/// of a hypervisor image (24 MB with debug information) only the headers
/// and the 36-byte note are looked at. A 1 GiB image, sparse past its ELF
/// contents, gives the same payload under a 64 MiB data limit (`ulimit
/// -d`), which bounds a copy on the heap but not a read-only map.
#[cfg(target_os = "linux")]
#[test]
fn a_large_image_is_mapped_not_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write_inputs(&TARGETS[0], d);
    let small = link_payload(d, "small.livepatch");
    std::fs::File::options()
        .write(true)
        .open(d.join("xen-syms"))
        .expect("open")
        .set_len(1 << 30)
        .expect("grow the image");
    let mut cmd = Command::new("sh");
    cmd.current_dir(d)
        .arg("-c")
        .arg(r#"ulimit -d 65536 && exec "$0" "$@""#)
        .arg(tool_binary("xsplice-link"))
        .args(PAYLOAD_ARGS)
        .args(["large.livepatch", "func.o", "payload.o"]);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 0, "{cmd:?}: {}", String::from_utf8_lossy(&err));
    assert!(std::fs::read(d.join("large.livepatch")).expect("read") == small);
}

/// One failing invocation: exit code, a message fragment, and no output.
fn check_error(dir: &Path, args: &[&str], code: i32, message: &str) {
    let (got, err) = link_in(dir, args);
    assert_eq!(got, code, "xsplice-link {args:?}: {err}");
    assert!(
        err.contains(message),
        "xsplice-link {args:?}: expected `{message}` in: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !dir.join("out.o").exists(),
        "xsplice-link {args:?} left an output behind"
    );
}

#[test]
fn errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write_inputs(&TARGETS[0], d);
    std::fs::write(d.join("arm.o"), func_object(&TARGETS[2])).expect("write");
    std::fs::write(d.join("text.o"), b"not an object at all").expect("write");
    let payload = std::fs::read(d.join("payload.o")).expect("read");
    std::fs::write(d.join("truncated.o"), &payload[..payload.len() / 3]).expect("write");
    std::fs::write(d.join("archive.a"), b"!<arch>\n").expect("write");
    let exe: PathBuf = std::env::current_exe().expect("test executable");
    let exe = exe.display().to_string();

    let cases: [(&[&str], i32, &str); 16] = [
        (
            &["-o", "out.o", "func.o", "arm.o"],
            1,
            "`arm.o`: EM_ARM ELF32 does not match EM_X86_64 ELF64 of `func.o`",
        ),
        (
            &["-o", "out.o", "text.o"],
            1,
            "`text.o`: malformed ELF: not an ELF file",
        ),
        (
            &["-o", "out.o", "truncated.o"],
            1,
            "`truncated.o`: malformed ELF",
        ),
        (
            &["-o", "out.o", "archive.a"],
            1,
            "`archive.a`: an archive input",
        ),
        (
            &["-o", "out.o", &exe],
            1,
            "only relocatable objects can be linked",
        ),
        (&["-o", "out.o", "missing.o"], 2, "cannot read `missing.o`"),
        (
            &["-o", "out.o", "--modinfo", "novalue", "func.o"],
            2,
            "--modinfo takes KEY=VALUE",
        ),
        (
            &["-o", "out.o", "--depends", "func.o", "func.o"],
            1,
            "`func.o`: no .note.gnu.build-id section",
        ),
        (
            &[
                "-o",
                "out.o",
                "--abi",
                "xsplice",
                "--xen-depends",
                "xen-syms",
                "func.o",
            ],
            1,
            "has no xen_depends section",
        ),
        (
            &["-o", "out.o", "--abi", "livepatch-v9", "func.o"],
            2,
            "livepatch-v9",
        ),
        (
            &["-melf_i386", "-o", "out.o", "func.o"],
            2,
            "unsupported emulation `elf_i386` (xsplice-link writes elf_x86_64, aarch64linux, aarch64elf, armelf_linux_eabi)",
        ),
        (
            &["-m", "armelf_linux_eabi", "-o", "out.o", "func.o"],
            1,
            "`func.o`: EM_X86_64 ELF64 does not match emulation armelf_linux_eabi (EM_ARM ELF32)",
        ),
        (
            &["-EB", "-o", "out.o", "func.o"],
            2,
            "big-endian output (-EB) is not supported",
        ),
        (
            &["--build-id=md5", "-o", "out.o", "func.o"],
            2,
            "invalid value 'md5' for '--build-id",
        ),
        (&["-r", "func.o"], 2, "no output file: give -o OUT"),
        (&["-r", "-o", "out.o"], 1, "no input files"),
    ];
    for (args, code, message) in cases {
        check_error(d, args, code, message);
    }
}

/// The options of GNU ld that Makefiles pass (Xen's payload link is
/// `$(LD) -melf_x86_64 --no-warn-rwx-segments --build-id=sha1 -r -o OUT
/// IN...`, its arm builds pass `-EL`) keep GNU ld's meaning.
#[test]
fn gnu_ld_options() {
    let emulations = [
        ("x86_64", &["elf_x86_64"][..]),
        ("aarch64", &["aarch64linux", "aarch64elf"][..]),
        ("arm32", &["armelf_linux_eabi"][..]),
    ];
    for t in &TARGETS {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        write_inputs(t, d);
        let link = |args: &[&str], out: &str| -> Vec<u8> {
            let mut all = args.to_vec();
            all.extend(["-o", out, "func.o", "payload.o"]);
            let (code, err) = link_in(d, &all);
            assert_eq!(code, 0, "{}: xsplice-link {all:?}: {err}", t.name);
            std::fs::read(d.join(out)).expect("read output")
        };
        let plain = link(&[], "plain.o");
        let with_id = link(&["--build-id"], "id.o");
        assert!(plain != with_id);
        assert!(link(&["-r"], "r.o") == plain, "{}: -r", t.name);
        assert!(link(&["--relocatable"], "r2.o") == plain);
        assert!(link(&["--build-id=sha1"], "sha1.o") == with_id);
        assert!(link(&["--build-id=none"], "none.o") == plain);
        // The last --build-id wins, as in GNU ld.
        assert!(link(&["--build-id", "--build-id=none"], "last.o") == plain);
        assert!(link(&["--no-warn-rwx-segments"], "rwx.o") == plain);
        let (_, names) = emulations.iter().find(|(n, _)| *n == t.name).expect("arch");
        for name in *names {
            let joined = format!("-m{name}");
            let xen = [
                joined.as_str(),
                "--no-warn-rwx-segments",
                "--build-id=sha1",
                "-r",
            ];
            assert!(link(&xen, "xen.o") == with_id, "{}: {xen:?}", t.name);
            assert!(
                link(&["-m", *name], "m.o") == plain,
                "{}: -m {name}",
                t.name
            );
            if t.name != "x86_64" {
                assert!(
                    link(&["-EL", joined.as_str()], "el.o") == plain,
                    "{}: -EL",
                    t.name
                );
            }
            if t.name == "aarch64" {
                for fix in ["--fix-cortex-a53-843419", "--fix-cortex-a53-843419=adr"] {
                    assert!(link(&[fix, joined.as_str()], "fix.o") == plain, "{fix}");
                }
            }
        }
        // Every other emulation is refused: the inputs are not of its machine.
        for (arch, names) in &emulations {
            if *arch == t.name {
                continue;
            }
            for name in *names {
                let (code, err) = link_in(d, &["-m", name, "-o", "out.o", "func.o"]);
                assert_eq!(code, 1, "{}: -m {name}: {err}", t.name);
                assert!(
                    err.contains(&format!("does not match emulation {name}")),
                    "{}: -m {name}: {err}",
                    t.name
                );
                assert!(!d.join("out.o").exists());
            }
        }
    }
}

/// Xen's `Config.mk` decides whether the linker supports build-ids from
/// `$(LD) --build-id 2>&1 | grep -q build-id`: an answer that names the
/// option means no, and Xen is then configured without live patching. GNU
/// ld answers `no input files`, and so must we, before asking for `-o`.
#[test]
fn xens_build_id_probe() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, out, err) = run(Command::new(tool_binary("xsplice-link"))
        .current_dir(dir.path())
        .arg("--build-id"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    assert_ne!(code, 0, "{text}");
    assert!(!text.contains("build-id"), "the probe would fail: {text}");
    assert!(text.contains("no input files"), "{text}");
}

/// Xen's Makefiles probe options with `$(LD) -v OPTION` (kbuild's
/// `ld-option`), as for `--fix-cortex-a53-843419` on arm64: it succeeds
/// for the options we accept and fails for the others.
#[test]
fn ld_option_probe() {
    let probe = |args: &[&str]| {
        let (code, out, err) = run(Command::new(tool_binary("xsplice-link")).args(args));
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    };
    let (code, out, err) = probe(&["-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("xsplice-link "), "{out}");
    for accepted in [
        "--fix-cortex-a53-843419",
        "--no-warn-rwx-segments",
        "--build-id=sha1",
        "-melf_x86_64",
        "-EL",
    ] {
        let (code, _, err) = probe(&["-v", accepted]);
        assert_eq!(code, 0, "-v {accepted}: {err}");
    }
    // Xen's x86 build probes PE output this way.
    for refused in [
        &["-mi386pep", "--subsystem=10"][..],
        &["--print-output-format"],
    ] {
        let mut args = vec!["-v"];
        args.extend(refused);
        let (code, _, _) = probe(&args);
        assert_ne!(code, 0, "{args:?}");
    }
}

/// `--abi` picks section names and `.funcs` flags from xsplice-abi.
#[test]
fn abi_names_and_funcs_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write_inputs(&TARGETS[0], d);
    let flags_of = |file: &str, section: &str| -> Option<u64> {
        use object::{Object as _, ObjectSection as _};
        let data = std::fs::read(d.join(file)).expect("read");
        let f = object::File::parse(&*data).expect("parse");
        let s = f.section_by_name(section)?;
        match s.flags() {
            object::SectionFlags::Elf { sh_flags, .. } => Some(sh_flags.0),
            _ => None,
        }
    };
    // Without payload options the link is a plain `ld -r`: flags as compiled.
    let (code, err) = link_in(d, &["-o", "plain.o", "func.o", "payload.o"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        flags_of("plain.o", ".livepatch.funcs"),
        Some(elf::SHF_ALLOC.0 | elf::SHF_WRITE.0)
    );
    let (code, err) = link_in(
        d,
        &["-o", "v2.o", "--depends", "xen-syms", "func.o", "payload.o"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        flags_of("v2.o", ".livepatch.funcs"),
        Some(elf::SHF_ALLOC.0),
        "read-only for livepatch-v2"
    );
    assert!(flags_of("v2.o", ".livepatch.depends").is_some());
    let (code, err) = link_in(
        d,
        &["-o", "old.o", "--xen", "4.18.0", "func.o", "payload.o"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        flags_of("old.o", ".livepatch.funcs"),
        Some(elf::SHF_ALLOC.0 | elf::SHF_WRITE.0),
        "Xen 4.18.0 writes into .livepatch.funcs"
    );
    let (code, err) = link_in(
        d,
        &[
            "-o",
            "xs.o",
            "--abi",
            "xsplice",
            "--depends",
            "xen-syms",
            "func.o",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(flags_of("xs.o", ".xsplice.depends").is_some());
    assert!(flags_of("xs.o", ".livepatch.depends").is_none());
}

#[test]
fn replaces_an_existing_output_whole() {
    let t = &TARGETS[0];
    let dir = tempfile::tempdir().expect("temp dir");
    write_inputs(t, dir.path());
    let fresh = link_payload(dir.path(), "fresh.livepatch");
    // A longer stale file: nothing of it may survive.
    std::fs::write(
        dir.path().join("old.livepatch"),
        vec![0xa5; fresh.len() * 2],
    )
    .expect("write");
    assert!(link_payload(dir.path(), "old.livepatch") == fresh);
    // Linking onto one of its own inputs reads the old contents first.
    std::fs::copy(dir.path().join("func.o"), dir.path().join("self.o")).expect("copy");
    let (code, err) = link_in(dir.path(), &["-o", "self.o", "self.o", "payload.o"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = link_in(dir.path(), &["-o", "plain.o", "func.o", "payload.o"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(dir.path().join("self.o")).expect("read")
            == std::fs::read(dir.path().join("plain.o")).expect("read")
    );
    // A failed link leaves the previous output as it was.
    let (code, _) = link_in(dir.path(), &["-o", "old.livepatch", "missing.o"]);
    assert_eq!(code, 2);
    assert!(std::fs::read(dir.path().join("old.livepatch")).expect("read") == fresh);
    // An output path that is a directory is an error, and stays a directory.
    std::fs::create_dir(dir.path().join("taken")).expect("mkdir");
    let (code, err) = link_in(dir.path(), &["-o", "taken", "func.o", "payload.o"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot write `taken`"), "{err}");
    assert!(dir.path().join("taken").is_dir());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with('.') && name.ends_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
