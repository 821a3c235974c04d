//! The options GNU nm does not have (`--format json`, `--lookup`) and the
//! seed's spelling `--defined`, through the real binary.
//!
//! JSON and lookup output are ours, so they are pinned with insta snapshots
//! of a small fixture instead of being compared with GNU nm.

mod common;

use common::{gnu_nm, small_coff, small_object, small_object_for, xsplice_nm};

fn fixture_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.o"), small_object()).unwrap();
    std::fs::write(
        dir.path().join("small32.o"),
        small_object_for(object::Architecture::I386),
    )
    .unwrap();
    dir
}

#[test]
fn json_output() {
    let dir = fixture_dir();
    let (code, out, err) = xsplice_nm(dir.path(), &["--format", "json", "-a", "small.o"]);
    assert_eq!((code, err.as_str()), (0, ""));
    for line in out.lines() {
        serde_json_check(line);
    }
    insta::assert_snapshot!(out);
}

/// COFF symbols in JSON: no sizes, COFF's types, the `.file` before a
/// static as its file hint; the other formats are GNU nm's.
#[test]
fn json_output_coff() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small-coff.o"), small_coff()).unwrap();
    let (code, out, err) = xsplice_nm(dir.path(), &["--format", "json", "-a", "small-coff.o"]);
    assert_eq!((code, err.as_str()), (0, ""));
    for line in out.lines() {
        serde_json_check(line);
    }
    insta::assert_snapshot!(out);
    if let Some(gnu) = gnu_nm(dir.path(), &["-a", "small-coff.o"]) {
        assert_eq!(xsplice_nm(dir.path(), &["-a", "small-coff.o"]), gnu);
    }
}

/// Every line must be one JSON object on its own.
fn serde_json_check(line: &str) {
    assert!(
        line.starts_with('{') && line.ends_with('}'),
        "not one object per line: {line}"
    );
}

/// One line per lookup: the command's arguments, exit status, stdout and
/// stderr.
#[test]
fn lookups() {
    let dir = fixture_dir();
    let cases: &[&[&str]] = &[
        &["--lookup", "entry", "small.o"],
        &["--lookup", "entry", "--field", "size", "small.o"],
        &["--lookup", "entry", "small32.o"],
        &["--lookup", "b.c#helper", "small.o"],
        &["--lookup", "a.c#helper", "--field", "size", "small.o"],
        &["--lookup", "shared", "small.o"],
        &["--lookup", "helper", "small.o"],
        &["--lookup", "missing", "small.o"],
        &["--lookup", "ent", "small.o"],
        &["--lookup", "c.c#helper", "small.o"],
        &["--lookup", "entry", "nowhere.o"],
        &["--lookup", "entry", "small.o", "small32.o"],
    ];
    let mut text = String::new();
    for args in cases {
        let (code, out, err) = xsplice_nm(dir.path(), args);
        text.push_str(&format!(
            "$ xsplice-nm {}\nexit {code}\nstdout: {out:?}\nstderr: {err:?}\n\n",
            args.join(" ")
        ));
    }
    insta::assert_snapshot!(text);
}

/// `--defined` is what the seed types; GNU accepts it as an abbreviation of
/// `--defined-only`, and so must we.
#[test]
fn defined_abbreviation() {
    let dir = fixture_dir();
    let short = xsplice_nm(dir.path(), &["--defined", "-S", "small.o"]);
    let long = xsplice_nm(dir.path(), &["--defined-only", "--print-size", "small.o"]);
    assert_eq!(short, long);
    assert_eq!(short.0, 0);
    assert!(
        !short.1.contains("missing"),
        "undefined symbol listed: {}",
        short.1
    );
    assert!(
        short
            .1
            .contains("0000000000000010 0000000000000010 T entry\n"),
        "{}",
        short.1
    );
}
