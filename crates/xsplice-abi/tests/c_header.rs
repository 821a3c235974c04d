//! Holds `test-payloads/include/xsplice.h` to this crate.
//!
//! For every architecture and ABI a probe is compiled against the header
//! with the native or cross compiler. The probe carries `_Static_assert`s on
//! every size and offset this crate knows, so a drift fails the compile even
//! when the probe cannot be run; where it can run (natively, or under
//! qemu-user for the cross targets) it prints `sizeof`, `_Alignof`, every
//! `offsetof` and the section-name macros, and the output is compared with
//! the same text rendered from the crate. A second check compiles a small
//! payload object using the header's `.funcs` and hook macros and reads it
//! back: section sizes, alignment and the relocation type of every pointer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, RelocationFlags};
use xsplice_abi::layout::EXPECT_DATA_OFFSET;
use xsplice_abi::{Abi, Arch, Hook, HookKind};
use xsplice_testkit::{require_tool, run_ok, workspace_root};

/// The compiler for each architecture and, for cross targets, the qemu-user
/// binary that runs its (static) executables.
fn toolchain(arch: Arch) -> (&'static str, Option<&'static str>) {
    match arch {
        Arch::X86_64 => ("cc", None),
        Arch::Aarch64 => ("aarch64-linux-gnu-gcc", Some("qemu-aarch64")),
        Arch::Arm32 => ("arm-linux-gnueabihf-gcc", Some("qemu-arm")),
    }
}

fn abi_macro(abi: Abi) -> String {
    format!(
        "XSPLICE_ABI_{}",
        abi.name().to_uppercase().replace('-', "_")
    )
}

fn include_dir() -> PathBuf {
    workspace_root().join("test-payloads").join("include")
}

/// What the probe must print, rendered from the crate.
fn expected_dump(abi: Abi, arch: Arch) -> String {
    let layout = abi.layout(arch.word_size());
    let mut out = String::new();
    writeln!(out, "abi {}", abi.name()).unwrap();
    writeln!(out, "funcs {}", abi.funcs_section()).unwrap();
    writeln!(out, "depends {}", abi.depends_section()).unwrap();
    writeln!(
        out,
        "xen_depends {}",
        abi.xen_depends_section().unwrap_or("none")
    )
    .unwrap();
    writeln!(out, "modinfo {}", abi.modinfo_section().unwrap_or("none")).unwrap();
    let version = abi
        .payload_version()
        .map_or("none".to_string(), |v| v.to_string());
    writeln!(out, "version {version}").unwrap();
    writeln!(out, "size {}", layout.size).unwrap();
    writeln!(out, "align {}", layout.align).unwrap();
    for f in layout.fields {
        writeln!(out, "{} {} {}", f.name, f.offset, f.size).unwrap();
    }
    if let Some(expect) = layout.field("expect") {
        writeln!(out, "expect.data {} 31", expect.offset + EXPECT_DATA_OFFSET).unwrap();
    }
    out
}

/// The probe source: static assertions from the crate's layout, and a main
/// that prints the header's own view in the format of [`expected_dump`].
fn probe_source(abi: Abi, arch: Arch) -> String {
    let layout = abi.layout(arch.word_size());
    let mut asserts = String::new();
    let mut prints = String::new();
    let mut both = |field: &str, offset: usize, size: usize| {
        writeln!(
            asserts,
            "_Static_assert(offsetof(xsplice_func_t, {field}) == {offset} && \
             sizeof(((xsplice_func_t *)0)->{field}) == {size}, \"{abi} {arch}: {field} at {offset}, {size} bytes\");"
        )
        .unwrap();
        writeln!(
            prints,
            "    printf(\"{field} %zu %zu\\n\", offsetof(xsplice_func_t, {field}), sizeof(((xsplice_func_t *)0)->{field}));"
        )
        .unwrap();
    };
    for f in layout.fields {
        both(f.name, f.offset, f.size);
    }
    if let Some(expect) = layout.field("expect") {
        both("expect.data", expect.offset + EXPECT_DATA_OFFSET, 31);
    }
    let (size, align) = (layout.size, layout.align);
    format!(
        r#"#include <stddef.h>
#include <stdio.h>
#include "xsplice.h"

_Static_assert(sizeof(xsplice_func_t) == {size}, "{abi} {arch}: size {size}");
_Static_assert(_Alignof(xsplice_func_t) == {align}, "{abi} {arch}: align {align}");
{asserts}
#ifndef XSPLICE_XEN_DEPENDS_SECTION
#define XSPLICE_XEN_DEPENDS_SECTION "none"
#endif
#ifndef XSPLICE_MODINFO_SECTION
#define XSPLICE_MODINFO_SECTION "none"
#endif
#define STR_(x) #x
#define STR(x) STR_(x)
#ifdef XSPLICE_PAYLOAD_VERSION
#define VERSION STR(XSPLICE_PAYLOAD_VERSION)
#else
#define VERSION "none"
#endif

int main(void)
{{
    printf("abi %s\n", XSPLICE_ABI_NAME);
    printf("funcs %s\n", XSPLICE_FUNCS_SECTION);
    printf("depends %s\n", XSPLICE_DEPENDS_SECTION);
    printf("xen_depends %s\n", XSPLICE_XEN_DEPENDS_SECTION);
    printf("modinfo %s\n", XSPLICE_MODINFO_SECTION);
    printf("version %s\n", VERSION);
    printf("size %zu\n", sizeof(xsplice_func_t));
    printf("align %zu\n", _Alignof(xsplice_func_t));
{prints}    return 0;
}}
"#
    )
}

/// Runs a command, failing with the command line and its output.
fn must_run(cmd: &mut Command) -> String {
    String::from_utf8(run_ok(cmd)).expect("utf-8 output")
}

fn compile(cc: &Path, abi: Abi, args: &[&str], source: &Path, out: &Path) {
    let mut cmd = Command::new(cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2"])
        .arg(format!("-D{}", abi_macro(abi)))
        .arg("-I")
        .arg(include_dir())
        .args(args)
        .arg(source)
        .arg("-o")
        .arg(out);
    must_run(&mut cmd);
}

#[test]
fn header_layouts_match_the_crate_on_every_arch() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for arch in Arch::ALL {
        let (cc_name, qemu_name) = toolchain(arch);
        let Some(cc) = require_tool(cc_name, &format!("compiles the {arch} layout probe")) else {
            continue;
        };
        let native = qemu_name.is_none() && cfg!(target_arch = "x86_64");
        let runner = match qemu_name {
            Some(q) => require_tool(q, &format!("runs the {arch} layout probe")),
            None => None,
        };
        for abi in Abi::ALL {
            let stem = format!("probe-{arch}-{abi}");
            let source = dir.path().join(format!("{stem}.c"));
            std::fs::write(&source, probe_source(abi, arch)).unwrap();
            let exe = dir.path().join(&stem);
            // Static, so qemu-user needs no sysroot for the cross targets.
            let link = if qemu_name.is_some() {
                &["-static"][..]
            } else {
                &[][..]
            };
            compile(&cc, abi, link, &source, &exe);
            let output = if native {
                must_run(&mut Command::new(&exe))
            } else if let Some(qemu) = &runner {
                must_run(Command::new(qemu).arg(&exe))
            } else {
                continue; // The static assertions above still held.
            };
            assert_eq!(
                output,
                expected_dump(abi, arch),
                "{abi} on {arch}: probe {}",
                source.display()
            );
            runs += 1;
        }
    }
    eprintln!("ran {runs} layout probes");
}

/// A payload source using every macro of the header the ABI has.
fn payload_source(abi: Abi) -> String {
    let mut src = String::from(
        "#include \"xsplice.h\"\n\
         static char name[] = \"old_fn\";\n\
         extern char old_fn[];\n\
         const char *new_fn(void) { return \"new\"; }\n\
         static xsplice_func_t XSPLICE_FUNCS patch = {\n\
         \x20   .name = name,\n",
    );
    if abi == Abi::XspliceV4 {
        src += "    .new_addr = (unsigned long)new_fn,\n    .old_addr = (unsigned long)old_fn,\n";
    } else {
        src += "    .new_addr = (void *)new_fn,\n    .old_addr = old_fn,\n";
    }
    src += "    .new_size = 16, .old_size = 16,\n    XSPLICE_VERSION_INIT\n};\n";
    if abi.modinfo_section().is_some() {
        src += "XSPLICE_MODINFO(LIVEPATCH, \"RULEZ\");\nXSPLICE_MODINFO(author, \"xsplice\");\n";
    }
    for hook in abi.hooks() {
        src += &match hook.kind() {
            HookKind::Multi => format!(
                "static void {h}_a(void) {{}}\nstatic void {h}_b(void) {{}}\nXSPLICE_{H}_HOOK({h}_a);\nXSPLICE_{H}_HOOK({h}_b);\n",
                h = hook.name(),
                H = hook.name().to_uppercase()
            ),
            HookKind::Single => {
                let ret = if matches!(hook, Hook::PostApply | Hook::PostRevert) {
                    "void"
                } else {
                    "int"
                };
                let body = if ret == "int" { "return 0;" } else { "" };
                format!(
                    "static {ret} {h}_fn(struct payload *p) {{ (void)p; {body} }}\nXSPLICE_{H}_HOOK({h}_fn);\n",
                    h = hook.name(),
                    H = hook.name().to_uppercase()
                )
            }
        };
    }
    src
}

#[test]
fn header_macros_place_funcs_and_hooks() {
    let dir = tempfile::tempdir().unwrap();
    for arch in Arch::ALL {
        let (cc_name, _) = toolchain(arch);
        let Some(cc) = require_tool(cc_name, &format!("compiles {arch} payload objects")) else {
            continue;
        };
        let ptr = arch.pointer_size() as u64;
        let pointer_reloc = object::elf::RelocationType(arch.pointer_relocation().number);
        for abi in Abi::ALL {
            let source = dir.path().join(format!("payload-{arch}-{abi}.c"));
            std::fs::write(&source, payload_source(abi)).unwrap();
            let obj_path = source.with_extension("o");
            let pic = if arch == Arch::X86_64 {
                "-fpic"
            } else {
                "-fno-pic"
            };
            compile(&cc, abi, &["-c", pic], &source, &obj_path);
            let data = std::fs::read(&obj_path).unwrap();
            let obj = object::File::parse(&*data).unwrap();
            let what = format!("{abi} on {arch} ({})", source.display());

            let funcs = obj
                .section_by_name(abi.funcs_section())
                .unwrap_or_else(|| panic!("{what}: no funcs"));
            let layout = abi.layout(arch.word_size());
            assert_eq!(funcs.size(), layout.size as u64, "{what}: funcs size");
            assert_eq!(funcs.align(), layout.align as u64, "{what}: funcs align");
            let mut reloc_offsets: Vec<u64> = funcs
                .relocations()
                .map(|(offset, r)| {
                    let RelocationFlags::Elf { r_type } = r.flags() else {
                        panic!("{what}: not elf")
                    };
                    assert_eq!(
                        r_type, pointer_reloc,
                        "{what}: funcs relocation at {offset}"
                    );
                    offset
                })
                .collect();
            reloc_offsets.sort();
            let expected: Vec<u64> = ["name", "new_addr", "old_addr"]
                .iter()
                .map(|f| layout.offset_of(f) as u64)
                .collect();
            assert_eq!(reloc_offsets, expected, "{what}: relocated pointer fields");

            for hook in abi.hooks() {
                let sec = obj
                    .section_by_name(hook.section())
                    .unwrap_or_else(|| panic!("{what}: no {hook}"));
                let count = if hook.kind() == HookKind::Multi { 2 } else { 1 };
                assert_eq!(sec.size(), count * ptr, "{what}: {hook} size");
                assert_eq!(sec.align(), ptr, "{what}: {hook} align");
                hook.check_section_size(sec.size() as usize, arch.word_size())
                    .unwrap();
                let relocs: Vec<_> = sec.relocations().collect();
                assert_eq!(relocs.len() as u64, count, "{what}: {hook} relocations");
                for (offset, r) in relocs {
                    assert_eq!(
                        r.flags(),
                        RelocationFlags::Elf {
                            r_type: pointer_reloc
                        },
                        "{what}: {hook}+{offset}"
                    );
                }
            }
            if let Some(name) = abi.modinfo_section() {
                let sec = obj
                    .section_by_name(name)
                    .unwrap_or_else(|| panic!("{what}: no {name}"));
                let data = sec.data().unwrap();
                // The compiler orders the entries as it likes.
                let mut entries: Vec<&[u8]> = data.split_inclusive(|&b| b == 0).collect();
                entries.sort();
                assert_eq!(
                    entries,
                    [&b"LIVEPATCH=RULEZ\0"[..], b"author=xsplice\0"],
                    "{what}: {name}"
                );
                xsplice_abi::hooks::check_modinfo(data).unwrap();
            }
            let hook_sections = obj
                .sections()
                .filter(|s| s.name().is_ok_and(|n| n.starts_with(".livepatch.hooks.")))
                .count();
            assert_eq!(hook_sections, abi.hooks().len(), "{what}: hook sections");
        }
    }
}
