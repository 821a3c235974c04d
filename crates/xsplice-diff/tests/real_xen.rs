//! The diff against the real Xen 4.17 trees (x86_64 and arm64): every
//! object of a built tree against itself is "no change".

use std::path::{Path, PathBuf};

use xsplice_diff::{Input, Options, Verdict, diff};

/// Every relocatable object of `dir` for ELF machine `machine` (64-bit)
/// with a symbol table (the 32-bit boot code and the `objcopy -I binary`
/// notes are not objects the diff is for).
fn objects(dir: &Path, machine: u8, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            objects(&p, machine, out);
        } else if p.extension().is_some_and(|e| e == "o") {
            let data = std::fs::read(&p).unwrap();
            let rel = data.len() > 20
                && data.starts_with(b"\x7fELF\x02\x01")
                && data[16] == 1
                && data[18] == machine;
            if rel && has_symtab(&data) {
                out.push(p);
            }
        }
    }
}

fn has_symtab(data: &[u8]) -> bool {
    use object::read::elf::{FileHeader, SectionHeader};
    let Ok(h) = object::elf::FileHeader64::<object::Endianness>::parse(data) else {
        return false;
    };
    let Ok(endian) = h.endian() else { return false };
    h.sections(endian, data).is_ok_and(|t| {
        t.iter()
            .any(|s| s.sh_type(endian) == object::elf::SHT_SYMTAB)
    })
}

#[test]
fn every_x86_64_object_of_the_real_tree_against_itself_is_no_change() {
    self_diff("x86_64", 62, 300);
}

#[test]
fn every_arm64_object_of_the_real_tree_against_itself_is_no_change() {
    self_diff("arm64", 183, 200);
}

/// Diffs every object of `arch`'s tree against itself; the tree must have
/// more than `least` of them.
fn self_diff(arch: &str, machine: u8, least: usize) {
    let Some(real) = xsplice_testkit::real_xen(arch) else {
        return;
    };
    let target = std::fs::read(&real.xen_syms).unwrap();
    let mut list = Vec::new();
    objects(&real.tree, machine, &mut list);
    assert!(
        list.len() > least,
        "only {} objects in {}",
        list.len(),
        real.tree.display()
    );
    let mut failures = Vec::new();
    for path in &list {
        let data = std::fs::read(path).unwrap();
        let name = path.display().to_string();
        let input = Input {
            path: &name,
            data: &data,
        };
        let target = Input {
            path: "xen-syms",
            data: &target,
        };
        match diff(input, input, Some(target), &Options::default()) {
            Ok(o) if o.verdict == Verdict::NoChange => {}
            Ok(o) => {
                let mut text = Vec::new();
                o.report.write_text(&mut text).unwrap();
                failures.push(format!(
                    "{name}: {:?}\n{}",
                    o.verdict,
                    String::from_utf8_lossy(&text)
                ));
            }
            Err(e) => failures.push(format!("{name}: error: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} objects:\n{}",
        failures.len(),
        list.len(),
        failures.join("\n")
    );
}
