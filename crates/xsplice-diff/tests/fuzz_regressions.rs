//! Inputs on which the `diff` fuzz target (`fuzz/`) once panicked the diff
//! engine (`tests/regressions/`), replayed through the same call. Each file
//! is framed as the target frames it: a flags byte, a count (2), the two
//! objects' lengths (u32, little-endian), then the original and the
//! patched object (`fuzz/src/lib.rs`, `split`). Each pair is diffed without
//! a target and against the stand-in `xen-syms`; it may be refused or fail,
//! it must not panic.

use xsplice_diff::{Input, Options, diff};

/// The two objects of a framed input.
fn split(data: &[u8]) -> Option<(&[u8], &[u8])> {
    if data.len() < 10 || data[1] != 2 {
        return None;
    }
    let len = u32::from_le_bytes(data[2..6].try_into().unwrap()) as usize;
    let end = 10usize.saturating_add(len).min(data.len());
    Some((&data[10..end], &data[end..]))
}

#[test]
fn fuzz_regressions() {
    let xen = xsplice_testkit::stand_in_xen("x86_64").map(|p| std::fs::read(p).unwrap());
    let dir = xsplice_testkit::workspace_root().join("crates/xsplice-diff/tests/regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/regressions") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let (orig, patched) =
            split(&bytes).unwrap_or_else(|| panic!("{}: not framed", path.display()));
        for target in [None, xen.as_deref()] {
            let result = std::panic::catch_unwind(|| {
                let outcome = diff(
                    Input {
                        path: "orig/version.o",
                        data: orig,
                    },
                    Input {
                        path: "patched/version.o",
                        data: patched,
                    },
                    target.map(|data| Input {
                        path: "xen-syms",
                        data,
                    }),
                    &Options::default(),
                );
                if let Ok(o) = outcome {
                    o.report.write_text(&mut std::io::sink()).unwrap();
                }
            });
            assert!(result.is_ok(), "{} panicked", path.display());
        }
        count += 1;
    }
    assert!(count > 0, "no regression inputs in {}", dir.display());
}
