//! Xen's tables of fixed-size elements that point into code (bug frames,
//! `.ex_table` with `.fixup`, `.altinstructions` with
//! `.altinstr_replacement`), on real Xen 4.17 objects (x86_64 and arm64):
//! for each patch of `test-payloads/patches/xen-4.17/` whose manifest names
//! `tables` on the architecture, the diffed object `xsplice-build` links
//! must carry exactly the elements of the patched object that point into
//! the functions it includes, with their bytes and code addresses, and of
//! the code they jump to (`.fixup`, `.altinstr_replacement`) exactly the
//! pieces those elements point at: the companion section is cut where any
//! element of its table points, as `create-diff-object` cuts it.
//!
//! The element sizes are Xen 4.17's layouts, written here rather than
//! taken from the diff's own tables, so that a wrong size there fails here.
//! (Xen 4.17 has no `.alt_call_sites`; later releases add it.)

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
use serde_json::Value;
use xsplice_testkit::source_patch::xsplice_build;
use xsplice_testkit::workspace_root;

/// Element size of a table in Xen 4.17 on `arch` (`asm/bug.h`,
/// `asm/uaccess.h`, `asm/alternative.h`).
fn element_size(arch: &str, table: &str) -> usize {
    if arch == "arm64" {
        return match table {
            // Three 32-bit displacements, the line and padding.
            t if t.starts_with(".bug_frames.") => 16,
            // Two displacements, the feature and two lengths.
            ".altinstructions" => 12,
            other => panic!("no arm64 element size for `{other}`"),
        };
    }
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

/// Where each element of `table` points into `companion` (its offset
/// there), for the elements that do.
fn companion_offsets(arch: &str, path: &Path, table: &str, companion: &str) -> Vec<Option<i64>> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let Some(sec) = file.section_by_name(table) else {
        return Vec::new();
    };
    let size = element_size(arch, table) as u64;
    let count = sec.size() / size;
    let relocs: Vec<_> = sec.relocations().collect();
    (0..count)
        .map(|k| {
            relocs.iter().find_map(|(off, r)| {
                if *off < k * size || *off >= (k + 1) * size {
                    return None;
                }
                let RelocationTarget::Symbol(si) = r.target() else {
                    return None;
                };
                let sym = file.symbol_by_index(si).ok()?;
                let s = file.section_by_index(sym.section_index()?).ok()?;
                (s.name().ok()? == companion).then(|| sym.address() as i64 + r.addend())
            })
        })
        .collect()
}

/// The bytes of `companion` from each offset to the next one any element
/// points at (or the end): the piece each element jumps to.
fn pieces(path: &Path, companion: &str, offsets: &[Option<i64>]) -> Vec<Option<Vec<u8>>> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let Some(sec) = file.section_by_name(companion) else {
        return offsets.iter().map(|_| None).collect();
    };
    let bytes = sec.data().unwrap();
    let mut bounds: Vec<i64> = offsets.iter().flatten().copied().collect();
    bounds.push(bytes.len() as i64);
    bounds.sort_unstable();
    offsets
        .iter()
        .map(|o| {
            let start = (*o)?;
            let end = bounds.iter().copied().find(|&b| b > start).unwrap_or(start);
            Some(bytes[start as usize..end as usize].to_vec())
        })
        .collect()
}

fn section_size(path: &Path, name: &str) -> u64 {
    let data = std::fs::read(path).unwrap();
    object::File::parse(&*data)
        .unwrap()
        .section_by_name(name)
        .map_or(0, |s| s.size())
}

fn elements(arch: &str, path: &Path, table: &str) -> Vec<Element> {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let Some(sec) = file.section_by_name(table) else {
        return Vec::new();
    };
    let bytes = sec.data().unwrap();
    let size = element_size(arch, table);
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

/// Field `key` of a manifest on `arch`: the architecture's override, else
/// the common value.
fn field<'a>(v: &'a Value, arch: &str, key: &str) -> Option<&'a Value> {
    v.get(arch).and_then(|o| o.get(key)).or_else(|| v.get(key))
}

#[test]
fn tables_carry_exactly_the_elements_of_the_included_functions_on_x86_64() {
    check_arch("x86_64", &[".ex_table", ".altinstructions"]);
}

#[test]
fn tables_carry_exactly_the_elements_of_the_included_functions_on_arm64() {
    check_arch("arm64", &[".altinstructions"]);
}

/// Every table case of `arch`; the tables in `must` have to be among them.
fn check_arch(arch: &str, must: &[&str]) {
    let Some(real) = xsplice_testkit::real_xen(arch) else {
        return;
    };
    let top = real.tree.parent().unwrap();
    let suite = workspace_root().join("test-payloads/patches/xen-4.17");
    let mut cases: Vec<(PathBuf, Value)> = Vec::new();
    for e in std::fs::read_dir(&suite).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let on_arch = v["arches"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == arch));
            let has_tables =
                field(&v, arch, "tables").is_some_and(|t| !t.as_array().unwrap().is_empty());
            if on_arch && has_tables {
                cases.push((p.with_extension("patch"), v));
            }
        }
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    let all_tables: Vec<String> = cases
        .iter()
        .flat_map(|(_, v)| field(v, arch, "tables").unwrap().as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    for must in must {
        assert!(
            all_tables.iter().any(|t| t == must),
            "no {arch} patch exercises `{must}`"
        );
    }
    assert!(all_tables.iter().any(|t| t.starts_with(".bug_frames.")));

    let dir = tempfile::tempdir().unwrap();
    for (patch, manifest) in &cases {
        let name = patch.file_stem().unwrap().to_string_lossy().into_owned();
        let out = dir.path().join(&name);
        let build = xsplice_build(top, patch, &out, &[]);
        let stdout = &build.stdout;
        // xsplice-build validates the payload against xen-syms last.
        assert_eq!(build.code, 0, "{build}");
        assert!(stdout.contains(" 0 errors"), "{stdout}");
        let objects = manifest["objects"].as_array().unwrap();
        assert_eq!(objects.len(), 1, "{name}: one object per table case");
        let obj = objects[0].as_str().unwrap();
        let patched = out.join("shadow/xen").join(obj);
        let diffed = out.join("diff").join(obj);
        let code = code_sections(&diffed);
        for table in field(manifest, arch, "tables").unwrap().as_array().unwrap() {
            let table = table.as_str().unwrap();
            let all = elements(arch, &patched, table);
            let mut want: Vec<Element> = all
                .iter()
                .filter(|(_, target, _)| code.contains(target))
                .cloned()
                .collect();
            let mut got = elements(arch, &diffed, table);
            assert!(
                !want.is_empty(),
                "{name}: no `{table}` element of `{obj}` points into the patched code {code:?}"
            );
            assert!(
                want.len() < all.len(),
                "{name}: every `{table}` element of `{obj}` belongs to the patched code, so none is left out and the filter is not tested"
            );
            let companion = match table {
                ".ex_table" => Some(".fixup"),
                ".altinstructions" => Some(".altinstr_replacement"),
                _ => None,
            };
            if let Some(c) = companion {
                check_companion(arch, &name, table, c, &patched, &diffed, &code);
            }
            want.sort();
            got.sort();
            assert_eq!(
                got, want,
                "{name}: `{table}` of the payload object is not exactly the elements of {code:?}"
            );
        }
    }
}

/// The diffed object's `companion` holds, for each kept element of
/// `table`, the bytes that element jumped to in the patched object, and
/// nothing else.
fn check_companion(
    arch: &str,
    name: &str,
    table: &str,
    companion: &str,
    patched: &Path,
    diffed: &Path,
    code: &[String],
) {
    let p_elems = elements(arch, patched, table);
    let p_offs = companion_offsets(arch, patched, table, companion);
    let p_pieces = pieces(patched, companion, &p_offs);
    let d_elems = elements(arch, diffed, table);
    let d_offs = companion_offsets(arch, diffed, table, companion);
    let d_pieces = pieces(diffed, companion, &d_offs);
    assert_eq!(d_elems.len(), d_offs.len());
    let mut kept = Vec::new();
    for (k, e) in d_elems.iter().enumerate() {
        let j = p_elems.iter().position(|x| x == e).unwrap_or_else(|| {
            panic!("{name}: element {k} of `{table}` is not the patched object's")
        });
        assert_eq!(
            d_pieces[k].is_some(),
            p_pieces[j].is_some(),
            "{name}: element {k} of `{table}` points into `{companion}` on one side only"
        );
        assert_eq!(
            d_pieces[k], p_pieces[j],
            "{name}: element {k} of `{table}` jumps to other bytes of `{companion}` than in the patched object"
        );
        if let Some(off) = p_offs[j] {
            kept.push((off, p_pieces[j].as_ref().map_or(0, Vec::len)));
        }
    }
    kept.sort_unstable();
    kept.dedup();
    let want: usize = kept.iter().map(|(_, len)| len).sum();
    let got = section_size(diffed, companion);
    assert_eq!(
        got, want as u64,
        "{name}: `{companion}` of the payload object holds {got} bytes, the pieces of the kept `{table}` elements of {code:?} are {want}"
    );
    assert!(
        got <= section_size(patched, companion),
        "{name}: `{companion}` grew"
    );
}
