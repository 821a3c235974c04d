//! Every x86-64 mutant of the validator's mutation corpus (`xsplice-mutants`)
//! fed to the simulator: each is refused at upload with an errno, or loads
//! and is applied, run and reverted; a payload that kills the hypervisor
//! process is reported through the API with how it died, and the simulator
//! itself (this test process) never goes down.
//!
//! The corpus builds its good fixture against the same stand-in hypervisor
//! the simulator boots here, so the mutants get past the build-id check and
//! reach the loader's later checks, placement, relocation and apply.
//! Only x86-64 Linux hosts run the simulator (`unsupported_host.rs` covers
//! the others).
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::time::Duration;

use xsplice_mutants::{Env, Mutant, at, fixture, section, x86_mutants};
use xsplice_sim::{Fail, Hypervisor};

const NAME: &str = "hello";

/// What became of one mutant.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Upload returned this errno.
    Refused(String),
    /// Uploaded; apply, `info` and revert returned this (`ok` or an errno).
    Loaded(String),
    /// The hypervisor process died, and the simulator said how.
    Died(String),
}

/// Boots a fresh hypervisor on `xen` and puts `mutant` through upload,
/// apply, `info`, revert and unload.
fn run(xen: &[u8], good: &[u8], mutant: &Mutant) -> Outcome {
    let mut hv = Hypervisor::boot("xen-syms", xen, None, Duration::from_secs(5)).expect("boot");
    if mutant.env == Env::SameBuildId {
        // The environment the validator checks this mutant in: a payload
        // with the same build-id is already loaded.
        hv.upload("twin", good).expect("upload the good twin");
        hv.apply("twin", false).expect("apply the good twin");
    }
    let bytes = mutant.apply(good);
    let died = |hv: &Hypervisor<'_>, what: &str, e: &dyn std::fmt::Debug| {
        let death = hv.death().unwrap_or_else(|| {
            panic!(
                "mutant `{}`: {what} failed without a death report: {e:?}",
                mutant.name
            )
        });
        let signal = death
            .signal
            .map_or("no signal".into(), |n| format!("signal {n}"));
        let at = death
            .pc
            .map_or("an unknown address".into(), |pc| hv.symbolise(pc));
        Outcome::Died(format!("during {what}: {signal} at {at}"))
    };
    match hv.upload(NAME, &bytes) {
        Err(Fail::Xen(errno)) => return Outcome::Refused(errno.name().to_string()),
        Err(Fail::Crash(e)) => return died(&hv, "upload", &e),
        Ok(()) => {}
    }
    let steps = hv.apply(NAME, false).and_then(|()| {
        hv.info().map_err(Fail::Crash)?;
        hv.revert(NAME)
    });
    match steps {
        Ok(()) => {}
        Err(Fail::Xen(errno)) => return Outcome::Loaded(errno.name().to_string()),
        Err(Fail::Crash(e)) => return died(&hv, "apply, info or revert", &e),
    }
    match hv.unload(NAME) {
        Ok(()) => Outcome::Loaded("ok".into()),
        Err(Fail::Xen(errno)) => Outcome::Loaded(format!("unload {}", errno.name())),
        Err(Fail::Crash(e)) => died(&hv, "unload", &e),
    }
}

/// The mutants that upload: every other one must be refused at upload.
/// Each with what then happens (`ok`: applied, run and reverted, or the
/// errno apply returns) and why Xen loads it.
const UPLOADED: &[(&str, &str, &str)] = &[
    (
        "target without build-id",
        "ok",
        "the environment, not the bytes, is mutated: the simulated image has its build-id",
    ),
    (
        "branch out of range",
        "ok",
        "the environment, not the bytes, is mutated: the simulator places payloads within branch range",
    ),
    (
        "duplicate special section",
        "ok",
        "C-84 is a hazard: Xen uses the first section of the name and ignores the others",
    ),
    (
        "expectation reserved bits",
        "EINVAL",
        "C-123 is checked at apply",
    ),
    (
        "expectation mismatch",
        "EINVAL",
        "C-123 is checked at apply",
    ),
    (
        "depends on another build-id",
        "EINVAL",
        "C-123 is checked at apply",
    ),
    (
        "opaque bytes not zero",
        "ok",
        "V-02 is advice: the newest release keeps function state outside `.funcs`",
    ),
    (
        "applied set",
        "ok",
        "V-02 is advice: the newest release keeps function state outside `.funcs`",
    ),
    (
        "read-only funcs",
        "ok",
        "V-03 is advice: the newest release does not write `.funcs`",
    ),
    (
        "old_size differs from the target",
        "ok",
        "V-06 is advice: Xen does not compare old_size with the symbol's size",
    ),
];

#[test]
fn every_validator_mutant_is_refused_or_reported() {
    let Some(fx) = fixture("x86_64") else { return };
    let Some(xen_path) = xsplice_testkit::stand_in_xen("x86_64") else {
        return;
    };
    let xen = std::fs::read(&xen_path).expect("read the stand-in hypervisor");
    assert_eq!(
        xen, fx.xen,
        "the corpus must be built against the image the simulator boots"
    );

    // The good fixture loads, applies and reverts cleanly: the mutants
    // start from a payload the simulator accepts.
    let good = Mutant {
        name: "the good fixture",
        check: "",
        env: Env::Static,
        mutate: |_| {},
    };
    assert_eq!(run(&xen, &fx.payload, &good), Outcome::Loaded("ok".into()));

    // Payload code that faults once applied: the validator cannot see it,
    // the child process dies, and the simulator must say how.
    let faulting = Mutant {
        name: "replacement function starts with ud2",
        check: "",
        env: Env::Static,
        mutate: |b| {
            let i = section(b, ".text.xen_hello_world");
            let at = at(b, i, 0) as usize;
            b[at..at + 2].copy_from_slice(&[0x0f, 0x0b]);
        },
    };
    let outcome = run(&xen, &fx.payload, &faulting);
    println!("{}: {outcome:?}", faulting.name);
    assert!(
        matches!(&outcome, Outcome::Died(how)
            if how.contains("signal 4 at xen_hello_world in payload hello")),
        "{}: {outcome:?}",
        faulting.name
    );

    let mutants = x86_mutants();
    let (mut refused, mut loaded, mut died) = (0, 0, 0);
    let mut wrong = Vec::new();
    for mutant in &mutants {
        let outcome = run(&xen, &fx.payload, mutant);
        println!("{} ({}): {outcome:?}", mutant.name, mutant.check);
        let expected = UPLOADED.iter().find(|(name, ..)| *name == mutant.name);
        match (&outcome, expected) {
            (Outcome::Refused(_), None) => {}
            (Outcome::Loaded(rc), Some((_, want, _))) if rc == want => {}
            _ => wrong.push(format!(
                "{} ({}): {outcome:?}, expected {}",
                mutant.name,
                mutant.check,
                expected.map_or("a refusal at upload", |(_, want, _)| want)
            )),
        }
        match outcome {
            Outcome::Refused(_) => refused += 1,
            Outcome::Loaded(_) => loaded += 1,
            Outcome::Died(_) => died += 1,
        }
    }
    println!(
        "{} x86_64 mutants of the validator's corpus: {refused} refused at upload, \
         {loaded} loaded (applied and reverted, or refused at apply), {died} killed the \
         hypervisor process and were reported",
        mutants.len()
    );
    for (name, _, why) in UPLOADED {
        assert!(
            mutants.iter().any(|m| m.name == *name),
            "`{name}` is listed as uploaded ({why}) but is no mutant of the corpus"
        );
    }
    assert!(
        wrong.is_empty(),
        "unexpected outcomes:\n{}",
        wrong.join("\n")
    );
}
