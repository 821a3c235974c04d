//! The validator against the real loader. Whatever the real Xen loads, the
//! validator must accept; whatever the real Xen refuses, the validator must
//! refuse, at the same step (upload or apply) with the errno Xen returned;
//! whatever crashes the real Xen, the validator must refuse. Each
//! disagreement is a failure unless it is listed, with its reason, among
//! the known gaps.
//!
//! Two sets of payloads:
//! - every x86-64 mutant of the corpus (`xsplice-mutants`), the fixture
//!   rebuilt against the `-dbg` image of Debian's Xen 4.17.7 and put to
//!   that Xen's loader;
//! - Xen's own test payloads (`xen/test/livepatch`) of the 4.17 source
//!   build, loaded on that build's own `xen`.
//!
//! All payloads of a set share one boot; a payload that crashes Xen ends it,
//! and the rest go on in a fresh boot.

mod common;

use std::path::PathBuf;

use xsplice_abi::XenVersion;
use xsplice_mutants::{Env, fixture_for, x86_mutants};
use xsplice_qemu::{Outcome, Platform};
use xsplice_validate::{Environment, Options, Report, XenImage, validate};

/// What became of a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    /// Uploaded and applied.
    Loaded,
    /// Refused at upload or at apply, with this errno.
    Refused { apply: bool, errno: i32 },
    /// It crashed the hypervisor (what Xen said).
    Crashed(String),
    /// The test cannot tell (how the payload's commands ended).
    Unclear(String),
}

/// One payload put to the loader: the commands before it (a payload it
/// stacks on), its upload and apply, and the commands that clean up after.
struct Case {
    label: String,
    files: Vec<(String, Vec<u8>)>,
    before: Vec<String>,
    /// The payload's name; it is uploaded from `<name>.livepatch`.
    name: String,
    after: Vec<String>,
}

impl Case {
    fn simple(label: &str, name: &str, bytes: Vec<u8>) -> Case {
        Case {
            label: label.to_string(),
            files: vec![(format!("{name}.livepatch"), bytes)],
            before: Vec::new(),
            name: name.to_string(),
            after: vec![format!("revert {name}"), format!("unload {name}")],
        }
    }

    fn lines(&self) -> Vec<String> {
        let mut l = self.before.clone();
        l.push(format!("upload {} {}.livepatch", self.name, self.name));
        l.push(format!("apply {}", self.name));
        l.extend(self.after.iter().cloned());
        l
    }
}

/// The verdict from a case's outcomes (`before`, upload, apply, `after`).
fn verdict(case: &Case, outcomes: &[Outcome]) -> Verdict {
    let at = case.before.len();
    if let Some(o) = outcomes
        .iter()
        .find(|o| matches!(o, Outcome::Crashed { .. }))
    {
        let Outcome::Crashed { crash, .. } = o else {
            unreachable!()
        };
        return Verdict::Crashed(crash.summary());
    }
    if let Some(o) = outcomes.iter().find(|o| {
        matches!(
            o,
            Outcome::Hung { .. } | Outcome::Lost(_) | Outcome::NotRun(_)
        )
    }) {
        return Verdict::Unclear(common::show(o));
    }
    if let Some(o) = outcomes[..at]
        .iter()
        .find(|o| xsplice_qemu::status_of(o) != xsplice_sim::Status::Ok)
    {
        return Verdict::Unclear(format!("a command before it failed: {}", common::show(o)));
    }
    for (apply, o) in [(false, &outcomes[at]), (true, &outcomes[at + 1])] {
        if xsplice_qemu::status_of(o) != xsplice_sim::Status::Ok {
            return match common::errno(o) {
                Some(errno) => Verdict::Refused { apply, errno },
                None => Verdict::Unclear(common::show(o)),
            };
        }
    }
    Verdict::Loaded
}

/// What the validator says Xen will do.
fn predicted(report: &Report) -> Verdict {
    let upload = report.findings.iter().find_map(|f| f.refuses_upload());
    let apply = report.findings.iter().find_map(|f| f.refuses_apply());
    match (upload, apply) {
        (Some(e), _) => Verdict::Refused {
            apply: false,
            errno: e.number(),
        },
        (None, Some(e)) => Verdict::Refused {
            apply: true,
            errno: e.number(),
        },
        (None, None) => Verdict::Loaded,
    }
}

/// Runs every case, one boot for all, a fresh boot after each crash.
fn run_cases(platform: &Platform, cases: &[Case]) -> Vec<(Verdict, Vec<Outcome>)> {
    let mut results = Vec::new();
    while results.len() < cases.len() {
        let rest = &cases[results.len()..];
        let mut script = String::new();
        let mut files = common::Files::new();
        for c in rest {
            for l in c.lines() {
                script.push_str(&l);
                script.push('\n');
            }
            for (n, b) in &c.files {
                files.insert(PathBuf::from(n), b.clone());
            }
        }
        let boot = common::boot(platform, &script, &files);
        let mut at = 0;
        for c in rest {
            let n = c.lines().len();
            let outcomes = boot.outcomes[at..at + n].to_vec();
            at += n;
            let v = verdict(c, &outcomes);
            let died = matches!(v, Verdict::Crashed(_) | Verdict::Unclear(_))
                && outcomes.iter().any(|o| {
                    matches!(
                        o,
                        Outcome::Crashed { .. } | Outcome::Hung { .. } | Outcome::Lost(_)
                    )
                });
            results.push((v, outcomes));
            if died {
                break;
            }
        }
    }
    results
}

/// Compares each case's verdict with the validator's; the disagreements
/// not in `known`, and the known ones that no longer disagree.
fn compare(
    cases: &[Case],
    results: &[(Verdict, Vec<Outcome>)],
    expected: &[Verdict],
    known: &[(&str, &str)],
) -> (String, Vec<String>) {
    let mut table = String::new();
    let mut wrong = Vec::new();
    for ((case, (real, outcomes)), want) in cases.iter().zip(results).zip(expected) {
        let agree = match (real, want) {
            (Verdict::Crashed(_), Verdict::Refused { .. }) => true,
            (a, b) => a == b,
        };
        let real_text = format!("{real:?}");
        table += &format!(
            "{:<45} real {real_text:<40} validator {want:?}\n",
            case.label
        );
        let gap = known.iter().find(|(l, _)| *l == case.label);
        match (agree, gap) {
            (true, None) | (false, Some(_)) => {}
            (true, Some((_, why))) => wrong.push(format!(
                "`{}` is a known gap ({why}) but the validator and Xen agree now: remove it from the list",
                case.label
            )),
            (false, None) => {
                let shown: Vec<String> = outcomes.iter().map(|o| format!("    {}", common::show(o))).collect();
                wrong.push(format!(
                    "`{}`: Xen {real:?}, the validator {want:?}\n{}",
                    case.label,
                    shown.join("\n")
                ));
            }
        }
    }
    (table, wrong)
}

/// Mutants whose environment a real machine cannot be put in.
const NOT_ON_A_REAL_MACHINE: &[(&str, &str)] = &[
    (
        "target without build-id",
        "Debian's Xen has a build-id; the mutant's bytes are the good fixture's",
    ),
    (
        "branch out of range",
        "Xen places payloads itself, within branch range of its text",
    ),
];

/// Mutants on which the validator and Debian's Xen 4.17.7 disagree, and why.
const MUTANT_GAPS: &[(&str, &str)] = &[
    (
        "sh_addralign 0",
        "C-42 is a hazard Xen does not check (spec 2.G): Xen 4.17.7 loads and applies the payload, and the validator refuses it on purpose, since a section with no alignment can overlap its neighbour",
    ),
    (
        "old_addr inside a function",
        "C-98 is a hazard Xen does not check (spec 2.K): Xen 4.17.7 patches in the middle of xen_extra_version, and the validator refuses it on purpose",
    ),
    (
        "build-id not a note",
        "Xen 4.17 turns every failed check of the build-id note into -EINVAL (only later releases pass on -ENODATA for a wrong note type); the validator's C-100 gives -ENODATA for every release",
    ),
    (
        "depends not a note",
        "as for the build-id note: Xen 4.17 returns -EINVAL, the validator's C-102 -ENODATA",
    ),
];

#[test]
fn every_mutant_on_debians_xen() {
    let Some(real) = common::real() else { return };
    let deb = real.xen.debian.as_ref().expect("debian");
    let Some(fx) = fixture_for("x86_64", &deb.xen_syms) else {
        return;
    };
    let release: XenVersion = real.debian_release.parse().expect("a release");
    let image = XenImage::parse("xen-syms", &fx.xen).expect("xen-syms");
    let opts = Options { xen: Some(release) };

    let mut cases = vec![Case::simple("the good fixture", "good", fx.payload.clone())];
    let mut expected = vec![predicted(&validate(
        &fx.payload,
        &opts,
        &Environment {
            target: Some(&image),
            ..Default::default()
        },
    ))];
    for (i, m) in x86_mutants().iter().enumerate() {
        if NOT_ON_A_REAL_MACHINE.iter().any(|(n, _)| *n == m.name) {
            continue;
        }
        let name = format!("m{i:02}");
        let bytes = m.apply(&fx.payload);
        let mut env = Environment {
            target: Some(&image),
            ..Default::default()
        };
        let mut case = Case::simple(m.name, &name, bytes.clone());
        match m.env {
            Env::Static | Env::Target => {}
            Env::SameBuildId => {
                let twin = format!("t{i:02}");
                env.load_after(&twin, &fx.payload, &opts);
                case.files
                    .push((format!("{twin}.livepatch"), fx.payload.clone()));
                case.before = vec![
                    format!("upload {twin} {twin}.livepatch"),
                    format!("apply {twin}"),
                ];
                case.after
                    .extend([format!("revert {twin}"), format!("unload {twin}")]);
            }
            other => panic!("mutant `{}`: no real environment for {other:?}", m.name),
        }
        expected.push(predicted(&validate(&bytes, &opts, &env)));
        cases.push(case);
    }
    let results = run_cases(&real.debian.platform, &cases);
    assert_eq!(
        results[0].0,
        Verdict::Loaded,
        "the good fixture must load: {:?}",
        results[0].1.iter().map(common::show).collect::<Vec<_>>()
    );
    let (table, wrong) = compare(&cases, &results, &expected, MUTANT_GAPS);
    println!("{table}");
    assert!(wrong.is_empty(), "{}\n\n{table}", wrong.join("\n"));
}

/// Xen's test payloads on which the validator and the source build's Xen
/// disagree, and why.
const XEN_TEST_GAPS: &[(&str, &str)] = &[
    (
        "xen_prepost_hooks_fail",
        "its pre-apply hook vetoes the apply (-EINVAL) when it runs, which no static check can know",
    ),
    (
        "xen_action_hooks_noapply",
        "its apply action hook fails (-EINVAL) when it runs, which no static check can know",
    ),
    (
        "xen_nop",
        "it NOPs all but the last byte of xen_minor_version, whose last instruction in this return-thunk build is the 5-byte `jmp __x86_return_thunk`, and Xen dies in a double-fault loop once it is applied; the validator does not decode instructions (the suite's nop does the same on Debian's build)",
    ),
];

#[test]
fn xen_test_payloads_on_their_own_xen() {
    let Some(real) = common::real() else { return };
    let platform = common::source_platform(real);
    let dir = &real.xen.test_payloads;
    let read = |n: &str| {
        std::fs::read(dir.join(format!("{n}.livepatch")))
            .unwrap_or_else(|e| panic!("reading Xen's `{n}.livepatch`: {e}"))
    };
    let xen_syms = std::fs::read(&real.xen.xen_syms).expect("the tree's xen-syms");
    let image = XenImage::parse("xen-syms", &xen_syms).expect("xen-syms");
    let release: XenVersion = common::release(&real.xen.version)
        .parse()
        .expect("a release");
    let opts = Options { xen: Some(release) };

    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for name in [
        "xen_hello_world",
        "xen_bye_world",
        "xen_replace_world",
        "xen_no_xen_buildid",
        "xen_prepost_hooks",
        "xen_prepost_hooks_fail",
        "xen_action_hooks",
        "xen_action_hooks_nofunc",
        "xen_action_hooks_marker",
        "xen_action_hooks_noapply",
        "xen_action_hooks_norevert",
        "xen_expectations",
        "xen_expectations_fail",
        // Last: it may take Xen down (see the suite's NOP line).
        "xen_nop",
    ] {
        let bytes = read(name);
        let mut env = Environment {
            target: Some(&image),
            ..Default::default()
        };
        let mut case = Case::simple(name, name, bytes.clone());
        match name {
            // It stacks on hello_world (spec §6).
            "xen_bye_world" => {
                env.load_after("xen_hello_world", &read("xen_hello_world"), &opts);
                case.files
                    .push(("xen_hello_world.livepatch".into(), read("xen_hello_world")));
                case.before = vec![
                    "upload xen_hello_world xen_hello_world.livepatch".into(),
                    "apply xen_hello_world".into(),
                ];
                case.after.extend([
                    "revert xen_hello_world".into(),
                    "unload xen_hello_world".into(),
                ]);
            }
            // Its first pre-revert call refuses, the second lets it go.
            "xen_prepost_hooks" => {
                case.after = vec![
                    format!("revert {name}"),
                    format!("revert {name}"),
                    format!("unload {name}"),
                ];
            }
            _ => {}
        }
        expected.push(predicted(&validate(&bytes, &opts, &env)));
        cases.push(case);
    }
    let results = run_cases(&platform, &cases);
    let (table, wrong) = compare(&cases, &results, &expected, XEN_TEST_GAPS);
    println!("{table}");
    assert!(wrong.is_empty(), "{}\n\n{table}", wrong.join("\n"));
}
