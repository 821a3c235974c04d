//! Xen's tables of fixed-size elements that point into code (bug frames,
//! `.ex_table` with `.fixup`, `.altinstructions` with
//! `.altinstr_replacement`), on real Xen 4.17 objects: for each patch of
//! `test-payloads/patches/xen-4.17/` whose manifest names `tables`, the
//! diffed object `xsplice-build` links must carry exactly the elements of
//! the patched object that point into the functions it includes, with
//! their bytes and code addresses, and the code they jump to.
//!
//! The element sizes are Xen 4.17's x86 layouts, written here rather than
//! taken from the diff's own tables, so that a wrong size there fails here.
//! (Xen 4.17 has no `.alt_call_sites`; later releases add it.)

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
use serde_json::Value;
use xsplice_testkit::{run, tool_binary, workspace_root};

/// Element size of a table in Xen 4.17 on x86_64 (`asm/bug.h`,
/// `asm/uaccess.h`, `asm/alternative.h`).
fn element_size(table: &str) -> usize {
    match table {
        // Two 32-bit displacements; assertion frames add the message's.
        ".bug_frames.3" => 16,
        t if t.starts_with(".bug_frames.") => 8,
        // Displacements to the instruction and to its fixup.
        ".ex_table" => 8,
        // Two displacements, the feature word and three lengths, priv.
        ".altinstructions" => 14,
        other => panic!("no element size for `{other}`"),
    }
}

/// One element: its bytes and where its first field points (the section
/// of the code and the offset in it).
type Element = (Vec<u8>, String, i64);

fn elements(path: &Path, table: &str) -> Vec<Element> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let Some(sec) = file.section_by_name(table) else {
        return Vec::new();
    };
    let bytes = sec.data().unwrap();
    let size = element_size(table);
    assert_eq!(bytes.len() % size, 0, "{}: `{table}`", path.display());
    let relocs: Vec<_> = sec.relocations().collect();
    bytes
        .chunks_exact(size)
        .enumerate()
        .map(|(k, e)| {
            let start = (k * size) as u64;
            let (_, r) = relocs
                .iter()
                .find(|(off, _)| *off == start)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: element {k} of `{table}` points nowhere",
                        path.display()
                    )
                });
            let RelocationTarget::Symbol(si) = r.target() else {
                panic!("{}: element {k} of `{table}`", path.display());
            };
            let sym = file.symbol_by_index(si).unwrap();
            let target = sym
                .section_index()
                .and_then(|i| file.section_by_index(i).ok())
                .map(|s| s.name().unwrap().to_owned())
                .unwrap_or_else(|| format!("undefined {}", sym.name().unwrap()));
            (e.to_vec(), target, sym.address() as i64 + r.addend())
        })
        .collect()
}

/// The output's own code: executable sections other than the ones only
/// the tables jump to.
fn code_sections(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.sections()
        .filter(|s| s.kind() == object::SectionKind::Text)
        .map(|s| s.name().unwrap().to_owned())
        .filter(|n| n != ".fixup" && n != ".altinstr_replacement")
        .collect()
}

fn has_section(path: &Path, name: &str) -> bool {
    let data = std::fs::read(path).unwrap();
    object::File::parse(&*data)
        .unwrap()
        .section_by_name(name)
        .is_some_and(|s| s.size() > 0)
}

#[test]
fn tables_carry_exactly_the_elements_of_the_included_functions() {
    let Some(real) = xsplice_testkit::real_xen("x86_64") else {
        return;
    };
    let top = real.tree.parent().unwrap();
    let suite = workspace_root().join("test-payloads/patches/xen-4.17");
    let mut cases: Vec<(PathBuf, Value)> = Vec::new();
    for e in std::fs::read_dir(&suite).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            if v.get("tables").is_some() {
                cases.push((p.with_extension("patch"), v));
            }
        }
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    let all_tables: Vec<String> = cases
        .iter()
        .flat_map(|(_, v)| v["tables"].as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    for must in [".ex_table", ".altinstructions"] {
        assert!(
            all_tables.iter().any(|t| t == must),
            "no patch exercises `{must}`"
        );
    }
    assert!(all_tables.iter().any(|t| t.starts_with(".bug_frames.")));
    for t in ["xsplice-link", "xsplice-validate"] {
        tool_binary(t);
    }

    let dir = tempfile::tempdir().unwrap();
    for (patch, manifest) in &cases {
        let name = patch.file_stem().unwrap().to_string_lossy().into_owned();
        let out = dir.path().join(&name);
        let mut cmd = Command::new(tool_binary("xsplice-build"));
        cmd.arg("-s")
            .arg(top)
            .arg("-p")
            .arg(patch)
            .arg("-o")
            .arg(&out);
        let (code, stdout, stderr) = run(&mut cmd);
        let stdout = String::from_utf8_lossy(&stdout);
        // xsplice-build validates the payload against xen-syms last.
        assert_eq!(
            code,
            0,
            "{cmd:?}\n{stdout}\n{}",
            String::from_utf8_lossy(&stderr)
        );
        assert!(stdout.contains(" 0 errors"), "{stdout}");
        let objects = manifest["objects"].as_array().unwrap();
        assert_eq!(objects.len(), 1, "{name}: one object per table case");
        let obj = objects[0].as_str().unwrap();
        let patched = out.join("shadow/xen").join(obj);
        let diffed = out.join("diff").join(obj);
        let code = code_sections(&diffed);
        for table in manifest["tables"].as_array().unwrap() {
            let table = table.as_str().unwrap();
            let all = elements(&patched, table);
            let mut want: Vec<Element> = all
                .iter()
                .filter(|(_, target, _)| code.contains(target))
                .cloned()
                .collect();
            let mut got = elements(&diffed, table);
            assert!(
                !want.is_empty(),
                "{name}: no `{table}` element of `{obj}` points into the patched code {code:?}"
            );
            assert!(
                want.len() < all.len(),
                "{name}: every `{table}` element of `{obj}` belongs to the patched code, so none is left out and the filter is not tested"
            );
            want.sort();
            got.sort();
            assert_eq!(
                got, want,
                "{name}: `{table}` of the payload object is not exactly the elements of {code:?}"
            );
            let companion = match table {
                ".ex_table" => Some(".fixup"),
                ".altinstructions" => Some(".altinstr_replacement"),
                _ => None,
            };
            if let Some(c) = companion {
                assert!(
                    has_section(&diffed, c),
                    "{name}: `{table}` kept without `{c}`"
                );
            }
        }
    }
}
