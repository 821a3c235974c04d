//! Xen's own test payloads (`xen/test/livepatch/`) against `xsplice-link`,
//! on the real Xen tree that `cargo xtask real-xen` builds.
//!
//! - Each payload, linked again by `xsplice-link` from the objects Xen's
//!   Makefile linked, in its order and with its command line (kbuild
//!   records both in `.NAME.livepatch.cmd`), is byte for byte Xen's file.
//! - `make tests LD=xsplice-link` in a copy of the tree gives payloads
//!   byte-identical to `make tests` with GNU ld in the same copy. Both runs
//!   first remove everything the payload rules produce, so both compile the
//!   same objects at the same path: with debug information an object holds
//!   its build directory, so a copy's objects differ from the tree's.
//!   The second run also passes through the probes Xen's Makefiles make of
//!   `$(LD)` (`--build-id`, `--version`, `-v OPTION`), which must leave
//!   live patching on.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::must;
use xsplice_testkit::{
    RealXen, copy_real_source, dir_entries, make_in, real_xen, remove_files, require_tool, run,
    tool_binary,
};

/// The `$(LD)` command line kbuild recorded for each payload, by file name.
fn recorded_links(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut links = BTreeMap::new();
    for (path, name) in dir_entries(dir) {
        let Some(payload) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".cmd"))
            .filter(|n| n.ends_with(".livepatch"))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("read a .cmd file");
        let line = text
            .lines()
            .find_map(|l| l.split_once(" := ").map(|(_, cmd)| cmd))
            .unwrap_or_else(|| panic!("no command in `{}`", path.display()));
        let words = line.split_whitespace().map(str::to_owned).collect();
        links.insert(payload.to_owned(), words);
    }
    links
}

/// The payloads (`*.livepatch`) in `dir`, by file name.
fn payloads(dir: &Path) -> Vec<String> {
    dir_entries(dir)
        .into_iter()
        .map(|(_, name)| name)
        .filter(|n| n.ends_with(".livepatch"))
        .collect()
}

/// `words` with `-o`'s operand replaced by `out`.
fn with_output(words: &[String], out: &Path) -> Vec<String> {
    let at = words
        .iter()
        .position(|w| w == "-o")
        .unwrap_or_else(|| panic!("no -o in {words:?}"));
    let mut words = words.to_vec();
    words[at + 1] = out.display().to_string();
    words
}

/// The input objects of a recorded `ld -r` command line: the words after
/// `-o OUT` (kbuild's `$(real-prereqs)`).
fn inputs(words: &[String]) -> Vec<String> {
    let at = words.iter().position(|w| w == "-o").expect("-o");
    words[at + 2..].to_vec()
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => format!("first difference at {at:#x}"),
        None => format!("sizes {:#x} and {:#x}", a.len(), b.len()),
    }
}

fn relink_each(xen: &RealXen) {
    let links = recorded_links(&xen.test_payloads);
    let names = payloads(&xen.test_payloads);
    assert!(
        !names.is_empty(),
        "no payloads in {}",
        xen.test_payloads.display()
    );
    assert_eq!(
        links.keys().cloned().collect::<Vec<_>>(),
        names,
        "every payload of {} has its recorded link",
        xen.test_payloads.display()
    );
    let ours = tool_binary("xsplice-link");
    let out = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for (name, words) in &links {
        let want = std::fs::read(xen.test_payloads.join(name)).expect("read Xen's payload");
        // Xen's command line as recorded, `ld` replaced by us; and the
        // short form of the README.
        let recorded = with_output(&words[1..], &out.path().join(format!("{name}.recorded")));
        let mut short = vec!["--build-id".to_owned(), "-o".to_owned()];
        short.push(
            out.path()
                .join(format!("{name}.short"))
                .display()
                .to_string(),
        );
        short.extend(inputs(words));
        for args in [recorded, short] {
            let mut cmd = Command::new(&ours);
            cmd.current_dir(&xen.tree).args(&args);
            let line = format!("cd {} && {cmd:?}", xen.tree.display());
            let (code, _, err) = run(&mut cmd);
            if code != 0 {
                failures.push(format!(
                    "{name}: exit {code}: {}\n  {line}",
                    String::from_utf8_lossy(&err).trim_end()
                ));
                continue;
            }
            let got = std::fs::read(output_of(&args)).expect("read our payload");
            if got != want {
                failures.push(format!(
                    "{name}: differs from Xen's ({})\n  {line}",
                    first_difference(&want, &got)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} links differ from Xen's payloads in {}:\n{}",
        failures.len(),
        2 * links.len(),
        xen.test_payloads.display(),
        failures.join("\n")
    );
}

fn output_of(args: &[String]) -> PathBuf {
    let at = args.iter().position(|w| w == "-o").expect("-o");
    PathBuf::from(&args[at + 1])
}

/// The architectures whose real Xen CI builds (`cargo xtask real-xen
/// --arch x86_64,arm64`).
const ARCHES: [&str; 2] = ["x86_64", "aarch64"];

#[test]
fn each_test_payload_relinked_is_xens() {
    for arch in ARCHES {
        if let Some(xen) = real_xen(arch) {
            relink_each(&xen);
        }
    }
}

/// Removes what the payload rules of `dir` (`xen/test/livepatch`) produce:
/// everything but the Makefile and the C sources.
fn clean_payload_outputs(dir: &Path) {
    remove_files(dir, |name| name != "Makefile" && !name.ends_with(".c"));
}

/// Xen's name of the architecture and the prefix of its GNU tools, as
/// `cargo xtask real-xen` built the tree.
fn make_target(xen: &RealXen) -> (&'static str, &'static str) {
    match xen.arch.as_str() {
        "x86_64" => ("x86_64", ""),
        "aarch64" => ("arm64", "aarch64-linux-gnu-"),
        other => panic!("no real Xen is built for {other}"),
    }
}

/// Runs `make tests` in the copy's `xen/`, with `LD=ld` when `ld` is given.
fn make_tests(xen: &RealXen, xen_dir: &Path, ld: Option<&Path>) -> String {
    let (target, prefix) = make_target(xen);
    let mut cmd = make_in(xen_dir);
    cmd.arg("tests")
        .env("XEN_TARGET_ARCH", target)
        .env("CROSS_COMPILE", prefix);
    if let Some(ld) = ld {
        cmd.arg(format!("LD={}", ld.display()));
    }
    let line = format!("cd {} && {cmd:?}", xen_dir.display());
    must(&mut cmd);
    line
}

fn make_with_each_linker(xen: &RealXen) {
    let (_, prefix) = make_target(xen);
    let mut tools = vec!["make".to_owned()];
    tools.extend(["gcc", "ld", "objcopy", "nm", "objdump"].map(|t| format!("{prefix}{t}")));
    for tool in &tools {
        if require_tool(tool, "make tests in a copy of the real Xen tree").is_none() {
            return;
        }
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let xen_dir = copy_real_source(xen, tmp.path());
    let payload_dir = xen_dir.join(
        xen.test_payloads
            .strip_prefix(&xen.tree)
            .expect("the payloads are in the tree"),
    );
    let expected = payloads(&xen.test_payloads);

    clean_payload_outputs(&payload_dir);
    let gnu_line = make_tests(xen, &xen_dir, None);
    assert_eq!(payloads(&payload_dir), expected, "{gnu_line}");
    let gnu_dir = tmp.path().join("gnu");
    std::fs::create_dir(&gnu_dir).expect("mkdir");
    for name in &expected {
        std::fs::copy(payload_dir.join(name), gnu_dir.join(name)).expect("keep GNU's payload");
    }

    let ours = tool_binary("xsplice-link");
    clean_payload_outputs(&payload_dir);
    let our_line = make_tests(xen, &xen_dir, Some(&ours));
    assert_eq!(payloads(&payload_dir), expected, "{our_line}");
    let config = std::fs::read_to_string(xen_dir.join(".config")).expect("read .config");
    assert!(
        config.lines().any(|l| l == "CONFIG_LIVEPATCH=y"),
        "live patching was configured out after probing xsplice-link as $(LD)\n{our_line}"
    );
    let links = recorded_links(&payload_dir);
    let mut failures = Vec::new();
    for name in &expected {
        // The run linked with us, not with a GNU ld found some other way.
        let linker = links.get(name).and_then(|w| w.first());
        if linker.map(PathBuf::from).as_ref() != Some(&ours) {
            failures.push(format!(
                "{name}: linked by {linker:?}, not by {}",
                ours.display()
            ));
            continue;
        }
        let gnu = std::fs::read(gnu_dir.join(name)).expect("read");
        let got = std::fs::read(payload_dir.join(name)).expect("read");
        if gnu != got {
            failures.push(format!(
                "{name}: differs from GNU ld's ({}); {:?}",
                first_difference(&gnu, &got),
                links[name]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "make tests LD=xsplice-link differs from make tests with GNU ld:\n{}\nreproduce: cp -a {} DIR; remove the outputs in xen/test/livepatch; {gnu_line}; again; {our_line}",
        failures.join("\n"),
        xen.source().display()
    );
}

#[test]
fn make_tests_with_xsplice_link_as_ld() {
    for arch in ARCHES {
        if let Some(xen) = real_xen(arch) {
            make_with_each_linker(&xen);
        }
    }
}
