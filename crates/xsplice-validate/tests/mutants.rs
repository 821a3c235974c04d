//! The mutation corpus: one mutant of a good payload per check that can
//! fail, each of which must be reported with exactly its check id.
//!
//! Mutants and the GNU-built fixture they are made from come from the shared
//! corpus of `xsplice-mutants`, which the simulator's tests feed to the
//! loader too. The test also proves coverage: every check the catalogue
//! says is decidable from files must have a mutant, or a written reason in
//! `NO_MUTANT`. The text diagnostics of all mutants, each headed by the
//! errnos its errors carry, are one insta snapshot.
//!
//! The seed's own ABI, `xsplice-v4`, has its own small corpus made from the
//! suite's `xsplice-v4` hello_world: that era's rules (V-07, V-08) cannot be
//! reached from the `.livepatch.*` fixtures.

mod common;

use common::redact;
use std::collections::BTreeSet;

use xsplice_mutants::{Env, Mutant, arm_mutants, at, fixture, section, x86_mutants};
use xsplice_validate::{
    CheckId, Environment, LoadedPayload, Needs, Options, Severity, TargetImage, TargetSymbol,
    XenImage, validate,
};

/// Checks decidable from files that have no mutant, and why.
const NO_MUTANT: &[(&str, &str)] = &[];

/// A target that hides its build-id.
struct NoId<'a>(&'a XenImage<'a>);

impl TargetImage for NoId<'_> {
    fn build_id(&self) -> Option<&[u8]> {
        None
    }
    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        self.0.lookup(name)
    }
    fn function_at(&self, addr: u64) -> Option<TargetSymbol> {
        self.0.function_at(addr)
    }
    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.0.bytes(addr, len)
    }
    fn payload_base(&self) -> u64 {
        self.0.payload_base()
    }
}

struct Outcome {
    text: String,
    covered: BTreeSet<CheckId>,
    failures: Vec<String>,
}

fn run_corpus(arch: &'static str, mutants: Vec<Mutant>) -> Option<Outcome> {
    let fx = fixture(arch)?;
    let image = XenImage::parse("xen-syms", &fx.xen).expect("parse the stand-in");
    let opts = Options::default();
    let plain = Environment::default();
    let targeted = Environment {
        target: Some(&image),
        ..Default::default()
    };

    // The good payload is clean both ways.
    for (what, env) in [("alone", &plain), ("against the target", &targeted)] {
        let r = validate(&fx.payload, &opts, env);
        let mut text = Vec::new();
        r.write_text(&mut text, "hello.livepatch").unwrap();
        assert!(
            r.findings.is_empty(),
            "{arch} good payload {what}:\n{}",
            String::from_utf8_lossy(&text)
        );
    }

    let own_id = validate(&fx.payload, &opts, &plain)
        .payload
        .and_then(|p| p.build_id)
        .expect("fixture build-id");
    let xen_id = image.build_id().expect("stand-in build-id").to_vec();
    let no_id = NoId(&image);

    let mut out = Outcome {
        text: String::new(),
        covered: BTreeSet::new(),
        failures: Vec::new(),
    };
    for mutant in mutants {
        let check = CheckId::parse(mutant.check)
            .unwrap_or_else(|| panic!("mutant `{}`: no check {}", mutant.name, mutant.check));
        let bytes = mutant.apply(&fx.payload);
        let env = match mutant.env {
            Env::Static => Environment::default(),
            Env::Target => Environment {
                target: Some(&image),
                ..Default::default()
            },
            Env::NoBuildId => Environment {
                target: Some(&no_id),
                ..Default::default()
            },
            Env::FarAway => Environment {
                target: Some(&image),
                load_address: Some(image.payload_base() + (3 << 30)),
                ..Default::default()
            },
            Env::SameBuildId => Environment {
                target: Some(&image),
                loaded: vec![
                    LoadedPayload {
                        name: "twin".into(),
                        build_id: own_id.clone(),
                        new_symbols: Vec::new(),
                    },
                    LoadedPayload {
                        name: "base".into(),
                        build_id: xen_id.clone(),
                        new_symbols: Vec::new(),
                    },
                ],
                load_address: None,
            },
            Env::WindowFull => Environment {
                target: Some(&image),
                // Stacked on the target's build-id, so depends still holds.
                loaded: vec![LoadedPayload {
                    name: "big".into(),
                    build_id: xen_id.clone(),
                    new_symbols: Vec::new(),
                }],
                load_address: Some(image.payload_base() + (2 << 20) - 0x1000),
            },
        };
        let report = validate(&bytes, &opts, &env);
        let mut text = Vec::new();
        report.write_text(&mut text, "hello.livepatch").unwrap();
        let text = String::from_utf8(text).unwrap();
        let ids = |sev: Severity| -> BTreeSet<CheckId> {
            report
                .findings
                .iter()
                .filter(|f| f.severity == sev)
                .map(|f| f.check)
                .collect()
        };
        let (errors, warnings) = (ids(Severity::Error), ids(Severity::Warning));
        let want: BTreeSet<CheckId> = [check].into();
        // An error mutant gives exactly its error (warnings may come along
        // when the mutation also changes a size the target knows); a
        // warning mutant gives exactly its warning and no error.
        let ok = if errors.is_empty() {
            warnings == want
        } else {
            errors == want
        };
        if !ok {
            out.failures.push(format!(
                "{arch} mutant `{}` expected {} and got:\n{text}",
                mutant.name, check
            ));
        }
        out.covered.insert(check);
        // The errno each error carries, which the simulator returns: the
        // snapshot holds them to the specification's §2.
        let mut errnos: Vec<&str> = report
            .findings
            .iter()
            .filter_map(|f| f.errno.map(|e| e.name()))
            .collect();
        errnos.dedup();
        let errnos = if errnos.is_empty() {
            String::new()
        } else {
            format!(" -> {}", errnos.join(", "))
        };
        out.text += &format!(
            "== {} ({}){errnos}\n{}\n",
            mutant.name,
            check,
            redact(&text)
        );
    }
    Some(out)
}

/// Sets byte `off` of the first `.funcs` entry of either name.
fn funcs_entry_byte(b: &mut [u8], off: u64, v: u8) {
    let xsplice = b.windows(15).any(|w| w == b".xsplice.funcs\0");
    let name = if xsplice {
        ".xsplice.funcs"
    } else {
        ".livepatch.funcs"
    };
    let i = section(b, name);
    let pos = at(b, i, off) as usize;
    b[pos] = v;
}

/// Mutants of the x86 `.livepatch.*` fixture about the era rules: a
/// released layout whose version byte is 0 is not the seed's layout.
fn livepatch_era_mutants() -> Vec<Mutant> {
    vec![Mutant {
        name: "livepatch version byte 0 (the pad[32] of xsplice-v4)",
        check: "C-92",
        env: Env::Static,
        mutate: |b| funcs_entry_byte(b, 32, 0),
    }]
}

/// Mutants of the `xsplice-v4` hello_world: its `pad[32]` (bytes 32..63 of
/// the entry) must stay zero. Byte 32 set to 1 is no mutant: that is the
/// 4.7.0-rc1 `xsplice` layout, valid in its own right.
fn xsplice_v4_mutants() -> Vec<Mutant> {
    vec![
        Mutant {
            name: "xsplice-v4 pad[1] not zero",
            check: "V-08",
            env: Env::Static,
            mutate: |b| funcs_entry_byte(b, 33, 0x5a),
        },
        Mutant {
            name: "xsplice-v4 pad[31] not zero",
            check: "V-08",
            env: Env::Static,
            mutate: |b| funcs_entry_byte(b, 63, 1),
        },
        Mutant {
            name: "xsplice-v4 byte 32 is 2 (no layout has version 2 under .xsplice.*)",
            check: "C-92",
            env: Env::Target,
            mutate: |b| funcs_entry_byte(b, 32, 2),
        },
    ]
}

/// The `xsplice-v4` corpus: the good payload gives exactly V-07 (its era's
/// one warning) alone and against the target, and C-92 alone under
/// `--xen 4.7.0-rc1`, the first release, which reads byte 32 as version 0;
/// each mutant gives exactly its error.
fn run_xsplice_v4_corpus() -> Option<Outcome> {
    let path = xsplice_testkit::test_payload("hello_world", "xsplice-v4", "x86_64")?;
    let good = std::fs::read(&path).expect("read the xsplice-v4 hello_world");
    let xen_path = xsplice_testkit::stand_in_xen("x86_64")?;
    let xen = std::fs::read(&xen_path).expect("read the stand-in");
    let image = XenImage::parse("xen-syms", &xen).expect("parse the stand-in");
    let mut out = Outcome {
        text: String::new(),
        covered: BTreeSet::new(),
        failures: Vec::new(),
    };
    let text_of = |r: &xsplice_validate::Report| {
        let mut text = Vec::new();
        r.write_text(&mut text, "xen_hello_world.xsplice").unwrap();
        String::from_utf8(text).unwrap()
    };
    let targeted = Environment {
        target: Some(&image),
        ..Default::default()
    };
    for (what, env) in [
        ("alone", &Environment::default()),
        ("against the target", &targeted),
    ] {
        let r = validate(&good, &Options::default(), env);
        let ids: Vec<(Severity, CheckId)> =
            r.findings.iter().map(|f| (f.severity, f.check)).collect();
        if ids != [(Severity::Warning, CheckId::V07)] {
            out.failures.push(format!(
                "good xsplice-v4 payload {what}: expected V-07 alone, got:\n{}",
                text_of(&r)
            ));
        }
        out.covered.insert(CheckId::V07);
        out.text += &format!("== good payload, {what} (V-07)\n{}\n", text_of(&r));
    }
    let rc1 = Options {
        xen: Some("4.7.0-rc1".parse().unwrap()),
    };
    let r = validate(&good, &rc1, &targeted);
    let ids: Vec<(Severity, CheckId)> = r.findings.iter().map(|f| (f.severity, f.check)).collect();
    if ids != [(Severity::Error, CheckId::C92)] {
        out.failures.push(format!(
            "good xsplice-v4 payload under --xen 4.7.0-rc1: expected C-92 alone, got:\n{}",
            text_of(&r)
        ));
    }
    out.text += &format!("== good payload, --xen 4.7.0-rc1 (C-92)\n{}\n", text_of(&r));
    for mutant in xsplice_v4_mutants() {
        let check = CheckId::parse(mutant.check).unwrap();
        let env = match mutant.env {
            Env::Target => &targeted,
            _ => &Environment::default(),
        };
        let r = validate(&mutant.apply(&good), &Options::default(), env);
        let errors: BTreeSet<CheckId> = r.error_ids().into_iter().collect();
        if errors != [check].into() {
            out.failures.push(format!(
                "xsplice-v4 mutant `{}` expected {check} and got:\n{}",
                mutant.name,
                text_of(&r)
            ));
        }
        out.covered.insert(check);
        out.text += &format!("== {} ({check})\n{}\n", mutant.name, text_of(&r));
    }
    Some(out)
}

#[test]
fn xsplice_v4_corpus() {
    let Some(outcome) = run_xsplice_v4_corpus() else {
        return;
    };
    assert!(
        outcome.failures.is_empty(),
        "{}",
        outcome.failures.join("\n")
    );
    insta::assert_snapshot!("mutants_xsplice-v4_x86_64", redact(&outcome.text));
}

#[test]
fn mutation_corpus() {
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let mut complete = true;
    let mut snapshots = Vec::new();
    for (arch, mutants) in [
        (
            "x86_64",
            x86_mutants()
                .into_iter()
                .chain(livepatch_era_mutants())
                .collect(),
        ),
        ("aarch64", arm_mutants("aarch64")),
        ("arm32", arm_mutants("arm32")),
    ] {
        let Some(outcome) = run_corpus(arch, mutants) else {
            complete = false;
            continue;
        };
        covered.extend(outcome.covered);
        failures.extend(outcome.failures);
        snapshots.push((arch, outcome.text));
    }
    // The xsplice-v4 era's checks are covered by its own corpus (run
    // again here only for the ids; `xsplice_v4_corpus` reports failures).
    match run_xsplice_v4_corpus() {
        Some(outcome) => covered.extend(outcome.covered),
        None => complete = false,
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (arch, text) in snapshots {
        insta::assert_snapshot!(format!("mutants_{arch}"), text);
    }

    let explained: BTreeSet<CheckId> = NO_MUTANT
        .iter()
        .map(|(id, _)| CheckId::parse(id).unwrap())
        .collect();
    let missing: Vec<CheckId> = CheckId::ALL
        .iter()
        .copied()
        .filter(|c| c.needs() != Needs::Runtime && !covered.contains(c))
        .collect();
    println!("checks decidable from files with no mutant:");
    for c in &missing {
        let why = NO_MUTANT
            .iter()
            .find(|(id, _)| *id == c.as_str())
            .map_or("NOT EXPLAINED", |(_, why)| why);
        println!("  {c} {}: {why}", c.title());
    }
    if complete {
        let unexplained: Vec<_> = missing.iter().filter(|c| !explained.contains(c)).collect();
        assert!(
            unexplained.is_empty(),
            "checks without a mutant: {unexplained:?}"
        );
    }
}
