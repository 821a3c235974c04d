//! End-to-end sessions against the running stand-in hypervisor, with the
//! payloads `cargo xtask payload` builds: the seed's transcript for every
//! ABI, stacking, replace, NOP mode, hooks, expectations, must-fail
//! payloads, a payload built for another image, a payload that faults, and
//! mutated payloads that must be refused or reported without taking the
//! simulator down.
//!
//! Transcripts are snapshotted after replacing build-ids, expectation bytes
//! and addresses, which depend on the compiler, by placeholders.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

use xsplice_abi::Abi;
use xsplice_sim::{Hypervisor, Options, Output, Status, load_name, parse_script, run_session};

const ABIS: [Abi; 4] = [
    Abi::XspliceV4,
    Abi::Xsplice,
    Abi::LivepatchV1,
    Abi::LivepatchV2,
];

/// The stand-in image, built once.
fn xen() -> Option<&'static Vec<u8>> {
    static XEN: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    XEN.get_or_init(|| {
        let path = xsplice_testkit::stand_in_xen("x86_64")?;
        Some(std::fs::read(&path).expect("reading the stand-in image"))
    })
    .as_ref()
}

/// Reads `xen_<name>.<suffix>` as the suite's payload `<name>` for `abi`,
/// built on demand; `bad_world`, `loop_world`, `cet_world`,
/// `action_world`, `veto_world`, `static_world`, `lazy_world` and
/// `sticky_world` come from this crate's fixtures.
fn payload(abi: Abi, file: &Path) -> io::Result<Vec<u8>> {
    let stem = load_name(file);
    let name = stem.strip_prefix("xen_").unwrap_or(&stem);
    let source = if [
        "bad_world",
        "loop_world",
        "cet_world",
        "action_world",
        "veto_world",
        "static_world",
        "lazy_world",
        "sticky_world",
    ]
    .contains(&name)
    {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
            .display()
            .to_string()
    } else {
        name.to_string()
    };
    // Each build check costs a few hundred milliseconds: once per payload.
    static BUILT: Mutex<BTreeMap<(Abi, String), PathBuf>> = Mutex::new(BTreeMap::new());
    let key = (abi, name.to_string());
    let known = BUILT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    let path = match known {
        Some(p) => p,
        None => {
            let p =
                xsplice_testkit::test_payload(&source, abi.name(), "x86_64").ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("no payload {name}"))
                })?;
            BUILT
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, p.clone());
            p
        }
    };
    std::fs::read(path)
}

/// The livepatch-v2 build of the suite's payload `name`.
fn v2_payload(name: &str) -> Vec<u8> {
    payload(
        Abi::LivepatchV2,
        Path::new(&format!("xen_{name}.livepatch")),
    )
    .expect(name)
}

/// Both streams of a session in one buffer, as a terminal shows them.
#[derive(Clone, Default)]
struct Terminal(Rc<RefCell<Vec<u8>>>);

impl Write for Terminal {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `script` for `abi` (`{ext}` stands for the ABI's file suffix) on
/// `image`, checks that the session ends with `status`, and returns the
/// normalised transcript.
fn session_on(image: &[u8], abi: Abi, script: &str, status: Status) -> String {
    let opts = Options {
        echo: true,
        ..Options::default()
    };
    session_with(image, abi, script, &opts, status)
}

fn session_with(image: &[u8], abi: Abi, script: &str, opts: &Options, expected: Status) -> String {
    let script = script.replace("{ext}", abi.file_suffix());
    let lines = parse_script(&script).expect("the test script parses");
    let term = Terminal::default();
    let (mut out, mut err) = (term.clone(), term.clone());
    let mut output = Output {
        out: &mut out,
        err: &mut err,
        echo: true,
    };
    let mut files = |p: &Path| payload(abi, p);
    let status = run_session("xen-syms", image, &lines, opts, &mut files, &mut output)
        .unwrap_or_else(|e| panic!("session failed to run: {e}\nscript:\n{script}"));
    let text = normalise(&String::from_utf8(term.0.borrow().clone()).expect("utf-8 transcript"));
    assert_eq!(status, expected, "{abi}:\n{text}");
    text
}

/// `session_on` the stand-in; `None` when there is none (the test skips).
fn session(abi: Abi, script: &str, status: Status) -> Option<String> {
    Some(session_on(xen()?, abi, script, status))
}

/// Like `session`, on the stand-in booted as Xen `release`.
fn session_as(abi: Abi, release: &str, script: &str, status: Status) -> Option<String> {
    let opts = Options {
        echo: true,
        xen: Some(release.parse().expect("a xen version")),
        ..Options::default()
    };
    Some(session_with(xen()?, abi, script, &opts, status))
}

/// Boots the stand-in `image`, as Xen `release` when one is given.
fn boot(image: &[u8], xen: Option<xsplice_abi::XenVersion>) -> Hypervisor<'_> {
    Hypervisor::boot("xen-syms", image, xen, std::time::Duration::from_secs(5)).expect("boot")
}

/// Replaces compiler-dependent values: hex runs of 12+ digits (build-ids,
/// code bytes) and addresses of 8+ digits.
fn normalise(text: &str) -> String {
    xsplice_testkit::redact(
        text,
        xsplice_testkit::Redact {
            hex: 12,
            addresses: Some(8),
        },
    )
}

fn snapshot(name: &str, text: &str) {
    insta::assert_snapshot!(name, text);
}

/// Fails naming the first of `needles` that `text` lacks, after `context`
/// (the ABI where a test loops over several), and shows the transcript.
#[track_caller]
fn assert_contains(text: &str, context: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{context}: no {needle:?} in\n{text}");
    }
}

/// The `list` row of an applied payload, as the ABI's tool prints it.
fn applied_row(abi: Abi, name: &str) -> String {
    match abi {
        Abi::XspliceV4 | Abi::Xsplice => format!("{name:<40}  APPLIED"),
        _ => format!("{name:<40}| APPLIED"),
    }
}

/// The line of an apply that failed, as the ABI's tool prints it.
fn apply_failed(abi: Abi, name: &str) -> String {
    match abi {
        Abi::XspliceV4 | Abi::Xsplice => "Performing apply: failed".to_string(),
        _ => format!("Applying {name}... failed"),
    }
}

/// The seed's use case, as its transcript shows it, for every ABI.
const SEED: &str = "
info
load xen_hello_world{ext}
list
info | grep extra
revert xen_hello_world
unload xen_hello_world
info | grep extra
";

#[test]
fn seed_session_for_every_abi() {
    for abi in ABIS {
        let Some(text) = session(abi, SEED, Status::Ok) else {
            return;
        };
        assert_eq!(
            xsplice_testkit::lines_starting(&text, "xen_extra"),
            xsplice_testkit::SEED_XEN_EXTRA,
            "{abi}:\n{text}"
        );
        assert_contains(&text, "", &[&applied_row(abi, "xen_hello_world")]);
        snapshot(&format!("seed_{abi}"), &text);
    }
}

/// The seed's use case exactly as its transcript (commit message of
/// `[PATCH v4 18/34]`) shows it: the commands as typed, then what the
/// tools printed. The payload path is the seed's; the session's file
/// reader resolves it to the suite's payload, so nothing is read from there.
const SEED_TRANSCRIPT: &str = "\
$xen-xsplice load /usr/lib/debug/xen_hello_world.xsplice
$xen-xsplice list
 ID                                     | status
----------------------------------------+------------
xen_hello_world                           APPLIED
$xl info | grep extra
xen_extra              : Hello World
$xen-xsplice revert xen_hello_world
Performing revert: completed
$xen-xsplice unload xen_hello_world
Performing unload: completed
$xl info | grep extra
xen_extra              : -unstable
";

#[test]
fn the_seed_transcript_replays_verbatim_in_its_era() {
    let commands: String = SEED_TRANSCRIPT
        .lines()
        .filter(|l| l.starts_with('$'))
        .map(|l| format!("{l}\n"))
        .collect();
    // The seed's series and 4.7.0-rc1..rc4 both shipped `xen-xsplice`.
    for abi in [Abi::XspliceV4, Abi::Xsplice] {
        let Some(text) = session(abi, &commands, Status::Ok) else {
            return;
        };
        assert_eq!(text, SEED_TRANSCRIPT, "{abi}");
    }
}

#[test]
fn each_era_speaks_with_its_tool() {
    let script = "upload xen_hello_world xen_hello_world{ext}\napply xen_hello_world\nlist\nrevert xen_hello_world\n";
    for (abi, lines) in [
        (
            Abi::XspliceV4,
            [
                "$ xen-xsplice upload xen_hello_world xen_hello_world.xsplice",
                "Performing upload: completed",
                "Performing apply: completed",
                "xen_hello_world                           APPLIED",
            ],
        ),
        (
            Abi::LivepatchV1,
            [
                "$ xen-livepatch upload xen_hello_world xen_hello_world.livepatch",
                "Uploading xen_hello_world.livepatch... completed",
                "Applying xen_hello_world... completed",
                "xen_hello_world                         | APPLIED",
            ],
        ),
        (
            Abi::LivepatchV2,
            [
                "$ xen-livepatch upload xen_hello_world xen_hello_world.livepatch",
                "Uploading xen_hello_world.livepatch... completed",
                "Applying xen_hello_world... completed",
                "xen_hello_world                         | APPLIED    | ",
            ],
        ),
    ] {
        let Some(text) = session(abi, script, Status::Ok) else {
            return;
        };
        for l in lines {
            assert!(
                text.lines().any(|t| t.starts_with(l)),
                "{abi}: no line {l:?} in\n{text}"
            );
        }
        let header = text
            .lines()
            .find(|l| l.starts_with(" ID"))
            .expect("a header");
        assert_eq!(
            header.ends_with("| metadata"),
            abi == Abi::LivepatchV2,
            "{abi}: {header:?}"
        );
    }
    // A release given explicitly decides the tool: 4.13 has no metadata
    // column, and no --nodeps.
    let Some(text) = session_as(
        Abi::LivepatchV1,
        "4.13",
        "load xen_hello_world{ext}\nlist\nupload bye xen_bye_world{ext}\napply bye --nodeps\n",
        Status::Failed,
    ) else {
        return;
    };
    assert_contains(
        &text,
        "",
        &[
            " ID                                     | status\n",
            "xen-livepatch: --nodeps needs xen 4.14 or later",
        ],
    );
}

#[test]
fn an_inconsistent_action_hook_panics_the_hypervisor() {
    let script = "
load xen_lazy_world.livepatch
list
info | grep extra
restart
info | grep extra
list
load xen_action_world.livepatch
list
revert xen_action_world
";
    let Some(text) = session(Abi::LivepatchV2, script, Status::Crashed) else {
        return;
    };
    assert_contains(
        &text,
        "",
        &[
            "Applying xen_lazy_world... failed",
            "(XEN) PANIC: livepatch: payload `xen_lazy_world` is left partially applied",
            "the hypervisor is not running: it died during `load xen_lazy_world.livepatch`",
        ],
    );
    // After the restart, a consistent action hook applies and reverts.
    assert_contains(
        &text,
        "",
        &[
            "booted a fresh hypervisor image",
            "xen_action_world                        | APPLIED",
            "Reverting xen_action_world... completed",
        ],
    );
    snapshot("lazy_world_livepatch-v2", &text);
}

#[test]
fn an_inconsistent_revert_hook_panics_at_revert_and_replace() {
    let script = "
load xen_sticky_world.livepatch
list
revert xen_sticky_world
hooks
restart
load xen_sticky_world.livepatch
upload xen_replace_world xen_replace_world.livepatch
replace xen_replace_world
list
";
    let Some(text) = session(Abi::LivepatchV2, script, Status::Crashed) else {
        return;
    };
    assert_contains(
        &text,
        "",
        &["xen_sticky_world                        | APPLIED"],
    );
    let panic = "(XEN) PANIC: livepatch: payload `xen_sticky_world` is left partially applied";
    assert_eq!(
        text.matches(panic).count(),
        2,
        "revert and replace:\n{text}"
    );
    assert_contains(
        &text,
        "",
        &[
            "function `xen_extra_version` is APPLIED after the revert succeeded",
            "it died during `replace xen_replace_world`",
        ],
    );
    snapshot("sticky_world_livepatch-v2", &text);
}

#[test]
fn stacking_needs_hello_world_and_reverts_last_first() {
    let script = "
load xen_bye_world{ext}
load xen_hello_world{ext}
load xen_bye_world{ext}
info | grep extra
revert xen_hello_world
list
revert xen_bye_world
info | grep extra
revert xen_hello_world
unload xen_bye_world
unload xen_hello_world
info | grep extra
";
    for abi in ABIS {
        let Some(text) = session(abi, script, Status::Failed) else {
            return;
        };
        assert_contains(
            &text,
            &abi.to_string(),
            &[
                "xen_extra              : Bye World",
                "Error 16: Device or resource busy",
                &apply_failed(abi, "xen_bye_world"),
            ],
        );
        snapshot(&format!("stacking_{abi}"), &text);
    }
}

#[test]
fn replace_reverts_everything_else() {
    let script = "
load xen_hello_world{ext}
load xen_bye_world{ext}
upload xen_replace_world xen_replace_world{ext}
replace xen_replace_world
list
info | grep extra
revert xen_replace_world
info | grep extra
unload xen_replace_world
unload xen_bye_world
unload xen_hello_world
list
";
    for abi in ABIS {
        let Some(text) = session(abi, script, Status::Ok) else {
            return;
        };
        assert_contains(
            &text,
            &abi.to_string(),
            &["xen_extra              : Hello Again World"],
        );
        snapshot(&format!("replace_{abi}"), &text);
    }
}

#[test]
fn nop_mode_silences_the_function_until_reverted() {
    for abi in [Abi::LivepatchV1, Abi::LivepatchV2] {
        let script = "info | grep minor\nload xen_nop{ext}\ninfo | grep minor\nrevert xen_nop\ninfo | grep minor\n";
        let Some(text) = session(abi, script, Status::Ok) else {
            return;
        };
        let minor = xsplice_testkit::lines_starting(&text, "xen_minor");
        // NOPs leave the return register to whatever the caller had in it.
        assert_eq!(minor.len(), 3, "{text}");
        assert_eq!(minor[0], "xen_minor              : 22");
        assert_ne!(
            minor[1], minor[0],
            "the NOPed function still returns 22:\n{text}"
        );
        assert_eq!(minor[2], minor[0]);
    }
}

#[test]
fn hooks_run_in_the_hypervisor_order() {
    let script = "
load xen_hooks{ext}
hooks
revert xen_hooks
hooks
apply xen_hooks
list
unload xen_hooks
";
    for (abi, applied, reverted) in [
        (
            Abi::LivepatchV1,
            "hooks:load\n",
            "hooks:load\nhooks:unload\n",
        ),
        (
            Abi::LivepatchV2,
            "hooks:pre_apply\nhooks:load\nhooks:post_apply\n",
            "hooks:pre_apply\nhooks:load\nhooks:post_apply\nhooks:pre_revert\nhooks:unload\nhooks:post_revert\n",
        ),
    ] {
        // Its hook sections are writable data, so it cannot be re-applied.
        let Some(text) = session(abi, script, Status::Failed) else {
            return;
        };
        assert_contains(
            &text,
            &abi.to_string(),
            &[
                &format!("$ xsplice-sim hooks\n{applied}$"),
                &format!("$ xsplice-sim hooks\n{reverted}$"),
                "CHECKED (22, Invalid argument)",
            ],
        );
        snapshot(&format!("hooks_{abi}"), &text);
    }
}

#[test]
fn expectations_and_must_fail_payloads() {
    let script = "
load xen_expectations{ext}
info | grep extra
revert xen_expectations
unload xen_expectations
load xen_expectations_fail{ext}
load xen_no_xen_buildid{ext}
list
info | grep extra
";
    let Some(text) = session(Abi::LivepatchV2, script, Status::Failed) else {
        return;
    };
    assert_contains(&text, "", &["xen_extra              : Hello Expectations"]);
    assert!(
        text.contains("Applying xen_expectations_fail... failed"),
        "expectations_fail must be refused at apply:\n{text}"
    );
    assert!(
        text.contains("Uploading xen_no_xen_buildid.livepatch... failed"),
        "no_xen_buildid must be refused at upload:\n{text}"
    );
    assert_contains(&text, "", &["[C-35]"]);
    snapshot("expectations_livepatch-v2", &text);
}

/// The stand-in image with one byte of its build-id changed.
fn other_image() -> Option<Vec<u8>> {
    let mut image = xen()?.clone();
    let note = image
        .windows(4)
        .position(|w| w == b"GNU\0")
        .expect("the image has a build-id note");
    image[note + 4] ^= 0xff;
    Some(image)
}

#[test]
fn a_payload_for_another_image_is_refused() {
    let Some(image) = other_image() else { return };
    for abi in ABIS {
        let text = session_on(
            &image,
            abi,
            "load xen_hello_world{ext}\nlist\ninfo | grep extra\n",
            Status::Failed,
        );
        assert_contains(
            &text,
            &abi.to_string(),
            &["Nothing to list", "xen_extra              : -unstable"],
        );
        // v2 payloads name the image in .livepatch.xen_depends (upload);
        // older ones only in .livepatch.depends (apply).
        if abi == Abi::LivepatchV2 {
            assert_contains(&text, "", &["[C-38]"]);
        } else {
            assert_contains(
                &text,
                &abi.to_string(),
                &[&apply_failed(abi, "xen_hello_world")],
            );
        }
        snapshot(&format!("wrong_image_{abi}"), &text);
    }
}

#[test]
fn a_faulting_payload_is_reported_by_symbol() {
    let script = "load xen_bad_world.livepatch\ninfo\nlist\n";
    let Some(text) = session(Abi::LivepatchV2, script, Status::Crashed) else {
        return;
    };
    assert_contains(
        &text,
        "",
        &[
            "(XEN) FATAL: SIGSEGV at <addr> (xen_bad_world in payload xen_bad_world), address 0x10",
            "Applying xen_bad_world... completed",
        ],
    );
    snapshot("bad_world_livepatch-v2", &text);
}

/// Deterministic mutants of a good payload: truncations, and bytes of the
/// ELF header, the section headers and every section set to 0, 0xff or
/// flipped. Each must be refused at upload, or load and then run or fault
/// with a report, without the simulator itself failing.
#[test]
fn mutants_are_refused_or_reported() {
    let Some(image) = xen() else { return };
    let good = v2_payload("hello_world");
    let mut mutants: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [
        0,
        1,
        16,
        63,
        64,
        good.len() / 4,
        good.len() / 2,
        good.len() - 1,
    ] {
        mutants.push((format!("truncated to {cut}"), good[..cut].to_vec()));
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..400 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Half the mutants hit the ELF and section headers, where most checks live.
        let shoff = u64::from_le_bytes(good[0x28..0x30].try_into().unwrap()) as usize;
        let at = match i % 2 {
            0 if shoff < good.len() => shoff + (seed as usize) % (good.len() - shoff),
            _ => (seed as usize) % good.len(),
        };
        let mut m = good.clone();
        m[at] = match i % 3 {
            0 => 0,
            1 => 0xff,
            _ => m[at] ^ 0x80,
        };
        mutants.push((format!("byte {at:#x} = {:#04x}", m[at]), m));
    }
    let (mut refused, mut ran, mut faulted) = (0, 0, 0);
    for (what, bytes) in &mutants {
        let mut hv = boot(image, None);
        match hv.upload("xen_hello_world", bytes) {
            Err(xsplice_sim::Fail::Xen(_)) => {
                refused += 1;
                continue;
            }
            Err(xsplice_sim::Fail::Crash(e)) => {
                panic!("{what}: upload crashed the hypervisor: {e}")
            }
            Ok(()) => {}
        }
        let outcome = hv.apply("xen_hello_world", false).and_then(|()| {
            hv.info().map_err(xsplice_sim::Fail::Crash)?;
            hv.revert("xen_hello_world")
        });
        match outcome {
            Ok(()) | Err(xsplice_sim::Fail::Xen(_)) => ran += 1,
            Err(xsplice_sim::Fail::Crash(_)) => {
                assert!(
                    hv.death().is_some(),
                    "{what}: a crash without a death report"
                );
                faulted += 1;
            }
        }
    }
    println!(
        "{} mutants: {refused} refused at upload, {ran} loaded and ran, {faulted} faulted and were reported",
        mutants.len()
    );
    assert!(
        refused > mutants.len() / 4,
        "most header mutants must be refused"
    );
}

#[test]
fn the_binary_replays_a_script_from_standard_input() {
    use std::process::{Command, Stdio};
    let Some(xen_path) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let file =
        xsplice_testkit::test_payload("hello_world", "livepatch-v2", "x86_64").expect("payload");
    let dir: PathBuf = file.parent().unwrap().to_path_buf();
    let bin = xsplice_testkit::tool_binary("xsplice-sim");
    let run_on = |xen: &Path, args: &[&str], stdin: &str| {
        let mut child = Command::new(&bin)
            .arg("--target")
            .arg(xen)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn xsplice-sim");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{:?} {args:?}\nstdout:\n{}\nstderr:\n{}",
            bin,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let run = |args: &[&str], stdin: &str| run_on(&xen_path, args, stdin);
    let seed = "$xen-livepatch load xen_hello_world.livepatch\n$xen-livepatch list\n$xl info | grep extra\n$xen-livepatch revert xen_hello_world\n$xen-livepatch unload xen_hello_world\n$xl info | grep extra\n";
    let (code, text) = run(&["--script", "-"], seed);
    assert_eq!(code, Some(0), "{text}");
    assert_contains(
        &text,
        "",
        &[
            "xen_extra              : Hello World\n",
            "Unloading xen_hello_world... completed",
        ],
    );
    let (code, text) = run(&["revert", "xen_hello_world"], "");
    assert_eq!(code, Some(1), "{text}");
    assert_contains(&text, "", &["Failed to get status of xen_hello_world"]);
    let (code, text) = run_on(&dir.join("config.h"), &["info"], "");
    assert_eq!(code, Some(2), "{text}");
    assert_contains(&text, "", &["is not a usable stand-in hypervisor"]);
    let (code, text) = run(&["frobnicate"], "");
    assert_eq!(code, Some(2), "{text}");
    assert_contains(&text, "", &["unrecognised command `frobnicate`"]);
    // An xsplice-v4 payload: the seed's tool and lines; `restart` in between.
    let v4 = xsplice_testkit::test_payload("hello_world", "xsplice-v4", "x86_64").expect("payload");
    let v4 = v4.display();
    let script = format!(
        "$xen-xsplice load {v4}\nrestart\n$xen-xsplice load {v4}\n$xen-xsplice revert xen_hello_world\n"
    );
    let (code, text) = run(&["--echo", "--script", "-"], &script);
    assert_eq!(code, Some(0), "{text}");
    assert_contains(
        &text,
        "",
        &[
            &format!(
                "$xen-xsplice load {v4}\n$ xsplice-sim restart\nbooted a fresh hypervisor image\n"
            ),
            "$xen-xsplice revert xen_hello_world\nPerforming revert: completed\n",
        ],
    );
}

#[test]
fn a_payload_that_never_returns_is_killed_after_the_timeout() {
    let Some(image) = xen() else { return };
    let opts = Options {
        echo: true,
        timeout: std::time::Duration::from_millis(500),
        ..Options::default()
    };
    let script = "load xen_loop_world.livepatch\ninfo\nlist\n";
    let text = session_with(image, Abi::LivepatchV2, script, &opts, Status::Crashed);
    assert_contains(
        &text,
        "",
        &[
            "(XEN) the hypervisor stopped answering and was killed",
            "the hypervisor is not running",
        ],
    );
}

/// The live bytes of `xen_changeset` (ENDBR64 first) once cet_world is
/// applied, and what the patched function returns, as Xen `release` does.
fn cet_apply(abi: Abi, release: Option<&str>) -> Option<(Vec<u8>, String, String)> {
    let image = xen()?;
    let file = payload(abi, Path::new("xen_cet_world.livepatch")).expect("cet_world");
    let xen = release.map(|r| r.parse().expect("a xen version"));
    let mut hv = boot(image, xen);
    let at = hv.symbol("xen_changeset").expect("xen_changeset");
    let before = hv.read_memory(at, 4).expect("readable");
    assert_eq!(
        before,
        [0xf3, 0x0f, 0x1e, 0xfa],
        "the stand-in's xen_changeset starts with ENDBR64"
    );
    hv.upload("xen_cet_world", &file).expect("upload");
    hv.apply("xen_cet_world", false).expect("apply");
    let live = hv.read_memory(at, 9).expect("readable");
    let s = hv.call_function("xen_changeset").expect("call");
    let patched = hv.read_c_string(s).expect("a string");
    hv.revert("xen_cet_world").expect("revert");
    let s = hv.call_function("xen_changeset").expect("call");
    let restored = hv.read_c_string(s).expect("a string");
    assert_eq!(
        hv.read_memory(at, 4).expect("readable"),
        before,
        "revert restores the bytes"
    );
    Some((live, patched, restored))
}

#[test]
fn the_jump_goes_after_endbr64_from_xen_4_17_on() {
    // livepatch-v2 as 4.22 (the default for its ABI) and as 4.17.
    for release in [None, Some("4.17")] {
        let Some((live, patched, restored)) = cet_apply(Abi::LivepatchV2, release) else {
            return;
        };
        assert_eq!(
            live[..4],
            [0xf3, 0x0f, 0x1e, 0xfa],
            "{release:?}: ENDBR64 kept"
        );
        assert_eq!(
            live[4], 0xe9,
            "{release:?}: jump after ENDBR64: {live:02x?}"
        );
        assert_eq!(patched, "Hello CET");
        assert_eq!(restored, "unavailable");
    }
    // The same payload as 4.14.0, and livepatch-v1 (4.13): no ENDBR64 rule.
    for (abi, release) in [(Abi::LivepatchV2, Some("4.14.0")), (Abi::LivepatchV1, None)] {
        let Some((live, patched, restored)) = cet_apply(abi, release) else {
            return;
        };
        assert_eq!(
            live[0], 0xe9,
            "{abi} {release:?}: jump at the first byte: {live:02x?}"
        );
        assert_eq!(patched, "Hello CET");
        assert_eq!(restored, "unavailable");
    }
}

#[test]
fn a_release_refuses_the_abi_it_does_not_load() {
    let Some(text) = session_as(
        Abi::LivepatchV2,
        "4.13",
        "load xen_hello_world{ext}\n",
        Status::Failed,
    ) else {
        return;
    };
    assert_contains(&text, "", &["[C-92]", "Error 95: Operation not supported"]);
}

#[test]
fn a_release_refuses_the_seeds_layout() {
    // The seed's series loads its own payload (the transcript tests); a
    // released hypervisor, even the first `.xsplice.*` one, reads byte 32
    // as version 0 and refuses it.
    let Some(text) = session_as(
        Abi::XspliceV4,
        "4.7.0-rc1",
        "upload xen_hello_world xen_hello_world{ext}\n",
        Status::Failed,
    ) else {
        return;
    };
    assert_contains(&text, "", &["[C-92]"]);
}

#[test]
fn action_hooks_replace_the_native_patching_and_pre_hooks_veto() {
    let script = "
load xen_action_world.livepatch
list
info | grep extra
revert xen_action_world
hooks
unload xen_action_world
load xen_veto_world.livepatch
hooks
list
info | grep extra
";
    let Some(text) = session(Abi::LivepatchV2, script, Status::Failed) else {
        return;
    };
    // APPLIED, yet not redirected: the apply hook did the (no) work.
    assert_contains(
        &text,
        "",
        &["xen_action_world                        | APPLIED"],
    );
    assert!(!text.contains("Hello Action"), "{text}");
    assert_contains(
        &text,
        "",
        &[
            "$ xsplice-sim hooks\naction:apply\naction:revert\n$",
            "Applying xen_veto_world... failed",
        ],
    );
    assert!(!text.contains("veto:post_apply"), "{text}");
    snapshot("action_hooks_livepatch-v2", &text);
}

#[test]
fn names_and_build_ids_are_unique_and_unload_needs_checked() {
    let script = "
upload hello xen_hello_world{ext}
upload hello xen_hello_world{ext}
upload hello2 xen_hello_world{ext}
apply hello
unload hello
revert nothing
list
";
    let Some(text) = session(Abi::LivepatchV2, script, Status::Failed) else {
        return;
    };
    snapshot("uniqueness_livepatch-v2", &text);
}

#[test]
fn payloads_reach_image_statics_by_file_qualified_name() {
    let Some(image) = xen() else { return };
    let file = v2_payload("static_world");
    let mut hv = boot(image, None);
    hv.upload("xen_static_world", &file).expect("upload");
    hv.apply("xen_static_world", false).expect("apply");
    let info = hv.info().expect("info");
    assert!(
        info.contains("xen_extra              : Hello Static"),
        "{info}"
    );
    let console = hv.symbol("xen_console_buf").expect("xen_console_buf");
    assert_eq!(hv.read_c_string(console).as_deref(), Some("static\n"));
    let hook_log = hv.symbol("xen_hook_log_buf").expect("xen_hook_log_buf");
    assert_eq!(
        hv.read_c_string(hook_log).as_deref(),
        Some(""),
        "hooklog.c#emit was not called"
    );
}

/// The section header offset, file offset and size of section `name` of
/// an ELF64 little-endian file.
fn section_of(file: &[u8], name: &str) -> (usize, usize, usize) {
    let u16_at = |o: usize| u16::from_le_bytes([file[o], file[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(file[o..o + 8].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(file[o..o + 4].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let strtab = u64_at(shoff + shstrndx * shentsize + 0x18);
    (0..shnum)
        .map(|i| shoff + i * shentsize)
        .find(|&h| {
            let at = strtab + u32_at(h);
            file[at..].split(|&b| b == 0).next() == Some(name.as_bytes())
        })
        .map(|h| (h, u64_at(h + 0x18), u64_at(h + 0x20)))
        .unwrap_or_else(|| panic!("no section {name}"))
}

/// Boots the image as Xen `release`, uploads and applies `file` as
/// `xen_hello_world`, and returns the hypervisor and the outcome.
fn apply_as<'x>(
    image: &'x [u8],
    release: &str,
    file: &[u8],
) -> (Hypervisor<'x>, Result<(), xsplice_sim::Fail>) {
    let xen = Some(release.parse().expect("a xen version"));
    let mut hv = boot(image, xen);
    if let Err(e) = hv.upload("xen_hello_world", file) {
        panic!("upload as {release}: {e:?}: {:?}", hv.take_console());
    }
    let r = hv.apply("xen_hello_world", false);
    (hv, r)
}

/// v2 entry fields (§1.7): `opaque` at 33 (31 bytes), `applied` at 64.
const OPAQUE: u64 = 33;
const APPLIED: u64 = 64;

#[test]
fn releases_before_fstate_keep_the_state_in_the_funcs_entries() {
    let Some(image) = xen() else { return };
    let file = v2_payload("hello_world");
    // 4.14.0 writes `applied` and the undo bytes into the entry.
    let (mut hv, r) = apply_as(image, "4.14.0", &file);
    r.expect("apply as 4.14.0");
    let old = hv.symbol("xen_extra_version").expect("xen_extra_version");
    let funcs = hv.funcs_address("xen_hello_world").expect("funcs");
    let live = hv.read_memory(old, 5).expect("readable");
    assert_eq!(live[0], 0xe9, "patched: {live:02x?}");
    assert_eq!(hv.read_memory(funcs + APPLIED, 1), Some(vec![1]));
    let undo = hv.read_memory(funcs + OPAQUE, 5).expect("readable");
    hv.revert("xen_hello_world").expect("revert");
    assert_eq!(
        hv.read_memory(old, 5),
        Some(undo),
        "opaque held the original bytes"
    );
    assert_eq!(hv.read_memory(funcs + APPLIED, 1), Some(vec![0]));
    // 4.19 keeps its state privately: the entry stays as loaded.
    let (hv, r) = apply_as(image, "4.19", &file);
    r.expect("apply as 4.19");
    let funcs = hv.funcs_address("xen_hello_world").expect("funcs");
    assert_eq!(hv.read_memory(funcs + OPAQUE, 32), Some(vec![0; 32]));
}

#[test]
fn a_stale_applied_byte_makes_4_14_skip_the_function() {
    let Some(image) = xen() else { return };
    let mut file = v2_payload("hello_world");
    let (_, off, _) = section_of(&file, ".livepatch.funcs");
    file[off + APPLIED as usize] = 1;
    let (mut hv, r) = apply_as(image, "4.14.0", &file);
    r.expect("apply as 4.14.0");
    assert_eq!(
        hv.get("xen_hello_world").ok(),
        Some((xsplice_sim::State::Applied, None))
    );
    let info = hv.info().expect("info");
    assert!(
        info.contains("xen_extra              : -unstable"),
        "{info}"
    );
    // 4.19 ignores the byte (it is padding there) and patches.
    let (mut hv, r) = apply_as(image, "4.19", &file);
    r.expect("apply as 4.19");
    let info = hv.info().expect("info");
    assert!(
        info.contains("xen_extra              : Hello World"),
        "{info}"
    );
}

#[test]
fn a_read_only_funcs_section_page_faults_on_4_18_0_only() {
    let Some(image) = xen() else { return };
    let mut file = v2_payload("hello_world");
    let (hdr, _, _) = section_of(&file, ".livepatch.funcs");
    file[hdr + 8] &= !1; // sh_flags: clear SHF_WRITE
    let (hv, r) = apply_as(image, "4.18.0", &file);
    match r {
        Err(xsplice_sim::Fail::Crash(_)) => {}
        other => panic!("4.18.0 must page-fault, got {other:?}"),
    }
    let death = hv.death().expect("the hypervisor died");
    let panic = death.panic.expect("a panic");
    assert!(
        panic.starts_with("FATAL PAGE FAULT: write to read-only .livepatch.funcs"),
        "{panic}"
    );
    // 4.17.0 clears CR0.WP and writes through; 4.18.1 has the fstate backport.
    for release in ["4.17.0", "4.18.1"] {
        let (mut hv, r) = apply_as(image, release, &file);
        r.unwrap_or_else(|e| panic!("{release}: {e:?}"));
        let info = hv.info().expect("info");
        assert!(info.contains("Hello World"), "{release}: {info}");
        let funcs = hv.funcs_address("xen_hello_world").expect("funcs");
        let applied = u8::from(release == "4.17.0");
        assert_eq!(
            hv.read_memory(funcs + APPLIED, 1),
            Some(vec![applied]),
            "{release}"
        );
    }
}

/// The image is `--target` and the release `--xen`, as in every tool;
/// `--as-xen` is still taken; an image given as `--xen PATH` is refused with
/// an error that names `--target`.
#[test]
fn the_binary_takes_the_common_image_and_release_flags() {
    let Some(xen_path) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let bin = xsplice_testkit::tool_binary("xsplice-sim");
    let run = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(args);
        let (code, out, err) = xsplice_testkit::run(&mut cmd);
        let text = format!(
            "{cmd:?}: exit {code}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        (code, text)
    };
    let xen = xen_path.as_path();
    for release in ["--xen", "--as-xen"] {
        let (code, text) = run(&[&"--target", &xen, &release, &"4.13", &"info"]);
        assert_eq!(code, 0, "{text}");
        assert_contains(&text, "", &["xen_extra              : -unstable"]);
    }
    // A file given to `--xen`, the image's old spelling, is an error that
    // names `--target`, with or without `--target` beside it.
    let image_as_release: [&[&dyn AsRef<std::ffi::OsStr>]; 2] = [
        &[&"--xen", &xen, &"info"],
        &[&"--target", &xen, &"--xen", &xen, &"info"],
    ];
    for args in image_as_release {
        let (code, text) = run(args);
        assert_eq!(code, 2, "{text}");
        assert_contains(
            &text,
            "",
            &["names a file: the image is `--target XEN_SYMS`, `--xen` takes a release"],
        );
        assert!(!text.contains("xen_extra"), "{text}");
    }
    let (code, text) = run(&[&"--target", &xen, &"--xen", &"4.x", &"info"]);
    assert_eq!(code, 2, "{text}");
    assert_contains(&text, "", &["is not a xen version", "--target XEN_SYMS"]);
    let (code, text) = run(&[&"info"]);
    assert_eq!(code, 2, "{text}");
    assert_contains(&text, "", &["give `--target XEN_SYMS`"]);
}
