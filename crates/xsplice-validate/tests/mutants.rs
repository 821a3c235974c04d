//! The mutation corpus: one mutant of a good payload per check that can
//! fail, each of which must be reported with exactly its check id.
//!
//! Mutants and the GNU-built fixture they are made from come from the shared
//! corpus of `xsplice-mutants`, which the simulator's tests feed to the
//! loader too. The test also proves coverage: every check the catalogue
//! says is decidable from files must have a mutant, or a written reason in
//! `NO_MUTANT`. The text diagnostics of all mutants are one insta snapshot.

use std::collections::BTreeSet;

use xsplice_mutants::{Env, Mutant, arm_mutants, fixture, x86_mutants};
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

/// Replaces every run of 16 or more hex digits with `<hex>`: build-ids and
/// code bytes depend on the compiler version, the diagnostics do not.
fn redact(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() >= 16 {
            out.push_str("<hex>");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
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
        out.text += &format!("== {} ({})\n{}\n", mutant.name, check, redact(&text));
    }
    Some(out)
}

#[test]
fn mutation_corpus() {
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let mut complete = true;
    let mut snapshots = Vec::new();
    for (arch, mutants) in [
        ("x86_64", x86_mutants()),
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
