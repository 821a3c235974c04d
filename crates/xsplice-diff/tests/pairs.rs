//! Object pairs compiled at test time from the stand-in hypervisor's
//! `version.c` and an edited copy, diffed against the stand-in `xen-syms`:
//! each case states the verdict and what the report must say.

use std::path::Path;
use std::process::Command;

use xsplice_diff::{Input, Options, Verdict, diff};

/// The stand-in's own flags beyond `BASE_CFLAGS` that matter for its code
/// (crates/xsplice-build/src/standin.rs).
const STAND_IN_CFLAGS: &[&str] = &["-nostdinc", "-fno-tree-loop-distribute-patterns"];

/// The stand-in's x86_64 compile flags beyond those.
const CFLAGS: &[&str] = &["-fpie", "-m64", "-mno-red-zone", "-fcf-protection=none"];

fn compile(dir: &Path, source: &str) -> Vec<u8> {
    let src = xsplice_testkit::workspace_root().join("test-payloads/xen");
    std::fs::copy(src.join("xen.h"), dir.join("xen.h")).unwrap();
    std::fs::write(dir.join("version.c"), source).unwrap();
    let out = Command::new("cc")
        .current_dir(dir)
        .args(xsplice_build::BASE_CFLAGS)
        .args(STAND_IN_CFLAGS)
        .args(CFLAGS)
        .args(["-c", "version.c", "-o", "version.o"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("version.o")).unwrap()
}

/// Diffs the stand-in's `version.c` against it with `edit` applied, for
/// `options`, against the stand-in `xen-syms`; `None` after a skip when the
/// stand-in or `cc` is missing.
fn diff_edit(
    edit: impl Fn(&str) -> String,
    options: &Options,
) -> Option<Result<xsplice_diff::Outcome, String>> {
    let xen = xsplice_testkit::stand_in_xen("x86_64")?;
    xsplice_testkit::require_tool("cc", "compiles the object pairs")?;
    let orig_src = std::fs::read_to_string(
        xsplice_testkit::workspace_root().join("test-payloads/xen/version.c"),
    )
    .unwrap();
    let patched_src = edit(&orig_src);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let orig = compile(a.path(), &orig_src);
    let patched = compile(b.path(), &patched_src);
    let target = std::fs::read(&xen).unwrap();
    Some(
        diff(
            Input {
                path: "orig/version.o",
                data: &orig,
            },
            Input {
                path: "patched/version.o",
                data: &patched,
            },
            Some(Input {
                path: "xen-syms",
                data: &target,
            }),
            options,
        )
        .map_err(|e| e.to_string()),
    )
}

/// Diffs the stand-in's `version.c` against it with `edit` applied and
/// checks the verdict and that the text report contains every `expect`.
fn check(edit: impl Fn(&str) -> String, verdict: Verdict, expect: &[&str]) -> Option<Vec<u8>> {
    let outcome = diff_edit(edit, &Options::default())?.unwrap();
    let mut text = Vec::new();
    outcome.report.write_text(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert_eq!(outcome.verdict, verdict, "report:\n{text}");
    for e in expect {
        assert!(text.contains(e), "report lacks {e:?}:\n{text}");
    }
    outcome.object
}

#[test]
fn a_comment_is_no_change() {
    check(
        |s| s.replace("/* Read at run time", "/* Still read at run time"),
        Verdict::NoChange,
        &["no functional change"],
    );
}

#[test]
fn a_changed_string_changes_the_function_that_returns_it() {
    let object = check(
        |s| s.replace("return xen_extra_string;", "return \"Hello World\";"),
        Verdict::Written,
        &[
            "changed function `xen_extra_version`",
            "patch `xen_extra_version`",
        ],
    );
    if let Some(object) = object {
        // Deterministic: the same inputs give the same bytes.
        let again = check(
            |s| s.replace("return xen_extra_string;", "return \"Hello World\";"),
            Verdict::Written,
            &[],
        )
        .unwrap();
        assert_eq!(object, again);
    }
}

#[test]
fn a_new_function_called_by_a_changed_one_is_included() {
    check(
        |s| {
            s.replace(
                "const char *xen_extra_version(void)\n{",
                "__attribute__((noinline)) static const char *greeting(void)\n{\n    return \"Hello New\";\n}\n\nconst char *xen_extra_version(void)\n{\n    if (xen_version_queries > 1000000) return greeting();",
            )
        },
        Verdict::Written,
        &[
            "new function `version.c#greeting`",
            "changed function `xen_extra_version`",
        ],
    );
}

#[test]
fn a_changed_data_layout_is_refused() {
    check(
        |s| {
            s.replace(
                "xen_extra_string[] = XEN_EXTRAVERSION",
                "xen_extra_string[] = \"-unstable-longer\"",
            )
        },
        Verdict::Refused,
        &[
            "`xen_extra_string`",
            "changed from 10 to 17",
            "shadow variable",
        ],
    );
}

#[test]
fn changed_initial_data_is_refused() {
    check(
        |s| s.replace("{ XEN_VERSION, XEN_SUBVERSION }", "{ XEN_VERSION, 99 }"),
        Verdict::Refused,
        &["xen_version_numbers", "nothing that changed uses it"],
    );
}

#[test]
fn unchanged_data_is_referenced_not_copied() {
    let Some(object) = check(
        |s| {
            s.replace(
                "xen_version_queries++;\n    return xen_extra_string;",
                "xen_version_queries += 2;\n    return xen_extra_string;",
            )
        },
        Verdict::Written,
        &[
            "changed function `xen_extra_version`",
            "referenced object `xen_version_queries`",
        ],
    ) else {
        return;
    };
    let text = String::from_utf8_lossy(&object);
    assert!(text.contains("xen_version_queries"));
}

#[test]
fn malformed_input_is_an_error() {
    let e = diff(
        Input {
            path: "a.o",
            data: b"not elf",
        },
        Input {
            path: "b.o",
            data: b"not elf",
        },
        None,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "a.o: not an ELF file");
}

/// `xen_extra_version` with one x86 alternative (Xen 4.11+'s 14-byte
/// `struct alt_instr`) whose replacement is one `nop`.
const ALTERNATIVE: &str = "asm volatile(\"1: nop\\n\"\n\
    \".pushsection .altinstructions, \\\"a\\\"\\n\"\n\
    \".long 1b - .\\n.long 2f - .\\n.word 0\\n.byte 1, 1, 0, 0\\n\"\n\
    \".popsection\\n\"\n\
    \".pushsection .altinstr_replacement, \\\"ax\\\"\\n2: nop\\n.popsection\");\n    \
    return \"Hello World\";";

/// Diffs the stand-in's `version.c` against it with an alternative in
/// `xen_extra_version`, for `options`.
fn alternative_outcome(options: &Options) -> Option<Result<xsplice_diff::Outcome, String>> {
    diff_edit(
        |s| s.replace("return xen_extra_string;", ALTERNATIVE),
        options,
    )
}

fn report_text(o: &xsplice_diff::Outcome) -> String {
    let mut t = Vec::new();
    o.report.write_text(&mut t).unwrap();
    String::from_utf8(t).unwrap()
}

#[test]
fn table_element_sizes_are_the_target_release_s() {
    use xsplice_abi::{Abi, XenVersion};
    // Xen 4.17: 14-byte elements, kept with their one-byte replacement.
    let Some(o) = alternative_outcome(&Options {
        abi: Abi::LivepatchV2,
        xen: Some(XenVersion::new(4, 17, 5)),
    }) else {
        return;
    };
    let o = o.unwrap();
    assert_eq!(o.verdict, Verdict::Written, "{}", report_text(&o));
    let object = o.object.unwrap();
    let file = object::File::parse(&*object).unwrap();
    use object::{Object, ObjectSection};
    let size = |n: &str| file.section_by_name(n).map(|s| s.size());
    assert_eq!(size(".altinstructions"), Some(14));
    assert_eq!(size(".altinstr_replacement"), Some(1));

    // livepatch-v1 covers Xen 4.7 to 4.13, whose alternatives are 12 bytes
    // before 4.11 and 14 after: without a release, refused.
    let o = alternative_outcome(&Options {
        abi: Abi::LivepatchV1,
        xen: None,
    })
    .unwrap()
    .unwrap();
    let text = report_text(&o);
    assert_eq!(o.verdict, Verdict::Refused, "{text}");
    assert!(
        text.contains("`.altinstructions`")
            && text.contains("12 bytes in Xen 4.7")
            && text.contains("name the target release"),
        "{text}"
    );

    // Xen 4.10's 12-byte layout does not fit a 4.11+ object.
    let o = alternative_outcome(&Options {
        abi: Abi::LivepatchV1,
        xen: Some(XenVersion::new(4, 10, 0)),
    })
    .unwrap()
    .unwrap();
    let text = report_text(&o);
    assert_eq!(o.verdict, Verdict::Refused, "{text}");
    assert!(text.contains("12-byte elements"), "{text}");

    // A release that does not load the ABI at all.
    let e = alternative_outcome(&Options {
        abi: Abi::LivepatchV2,
        xen: Some(XenVersion::new(4, 10, 0)),
    })
    .unwrap()
    .unwrap_err();
    assert!(
        e.contains("Xen 4.10.0 does not load payloads of ABI livepatch-v2"),
        "{e}"
    );
}
