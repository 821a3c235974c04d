//! The payload ABI lives in this crate only: no other crate's source may
//! define a constant that is a fact of the payload format.
//!
//! A fact here is a constant with the name of one of this crate's own
//! top-level constants (or a name one of them extends, as `MAX_PAYLOAD`
//! and `MAX_PAYLOAD_SIZE`), or a string or byte-string constant holding
//! the name of a section the hypervisor looks up (`.livepatch.funcs`,
//! `.note.gnu.build-id`, ...). `xsplice-mutants` is exempt: the mutation
//! corpus does its own arithmetic on purpose, as the oracle the validator
//! is tested against. Tests are exempt too.

use std::path::{Path, PathBuf};

use xsplice_abi::Abi;

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The name and the value text of a `const` item on `line`, if it is one.
fn const_item(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start();
    let rest = rest
        .strip_prefix("pub(crate) ")
        .or_else(|| rest.strip_prefix("pub "))
        .unwrap_or(rest);
    let rest = rest.strip_prefix("const ")?;
    let (name, rest) = rest.split_once(':')?;
    let value = rest.split_once('=').map_or("", |(_, v)| v.trim());
    Some((name.trim(), value))
}

/// True if `a` and `b` are the same constant name, or one extends the
/// other by `_WORDS`.
fn same_name(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}_")) || b.starts_with(&format!("{a}_"))
}

/// Flags the ABI constants defined in `text` (a file of another crate).
fn check(text: &str, abi_names: &[String], sections: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some((name, value)) = const_item(line) else {
            continue;
        };
        if let Some(abi) = abi_names.iter().find(|a| same_name(name, a)) {
            out.push(format!("line {}: `{name}` is xsplice-abi's `{abi}`", n + 1));
        }
        let literal = value
            .trim_start_matches('b')
            .trim_start_matches('"')
            .split(['"', '\\'])
            .next()
            .unwrap_or("");
        if sections.iter().any(|s| s == literal) {
            out.push(format!(
                "line {}: `{name}` names section `{literal}`, which xsplice-abi knows",
                n + 1
            ));
        }
    }
    out
}

/// The names of this crate's top-level constants that state payload
/// facts; ELF's own constants (`SHF_*`) are ELF's, not the payload's.
fn abi_const_names(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(&root.join("crates/xsplice-abi/src"), &mut files);
    let mut names = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            // Top level only: associated constants (`Arch::ALL`) are not facts.
            if !line.starts_with("pub const ") {
                continue;
            }
            if let Some((name, _)) = const_item(line)
                && !name.starts_with("SHF_")
            {
                names.push(name.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Every section name any ABI's hypervisor looks up.
fn section_names() -> Vec<String> {
    let mut names: Vec<String> = Abi::ALL
        .iter()
        .flat_map(|abi| abi.special_sections())
        .map(|s| s.name.to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_checker_flags_what_it_should() {
    let names = vec!["NAME_SIZE".to_string(), "MAX_PAYLOAD_SIZE".to_string()];
    let sections = section_names();
    let flagged = check(
        "const NAME_SIZE: usize = 128;\n\
         pub(crate) const MAX_PAYLOAD: usize = 2 << 20;\n\
         const FUNCS: &[u8] = b\".livepatch.funcs\";\n\
         const STRINGS: &[u8] = b\".livepatch.strings\";\n\
         const SIZE: usize = 4;\n\
         let x = NAME_SIZE;\n",
        &names,
        &sections,
    );
    assert_eq!(
        flagged,
        [
            "line 1: `NAME_SIZE` is xsplice-abi's `NAME_SIZE`",
            "line 2: `MAX_PAYLOAD` is xsplice-abi's `MAX_PAYLOAD_SIZE`",
            "line 3: `FUNCS` names section `.livepatch.funcs`, which xsplice-abi knows",
        ]
    );
}

#[test]
fn no_other_crate_defines_a_payload_layout_constant() {
    let root = xsplice_testkit::workspace_root();
    let abi_names = abi_const_names(&root);
    assert!(abi_names.iter().any(|n| n == "NAME_SIZE"), "{abi_names:?}");
    let sections = section_names();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let name = entry.file_name();
        if name == "xsplice-abi" || name == "xsplice-mutants" {
            continue;
        }
        sources(&entry.path().join("src"), &mut files);
    }
    sources(&root.join("xtask/src"), &mut files);
    assert!(files.len() > 20, "found only {} source files", files.len());
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for p in check(&text, &abi_names, &sections) {
            let rel = f.strip_prefix(&root).unwrap_or(f);
            problems.push(format!("{}: {p}", rel.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "payload ABI facts defined outside xsplice-abi (read them from there):\n{}",
        problems.join("\n")
    );
}
