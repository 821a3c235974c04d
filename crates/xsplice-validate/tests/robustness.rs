//! Malformed input gives findings, never a panic: thousands of random
//! corruptions of a good payload (bytes flipped in the headers, section
//! headers, symbol and relocation tables, and truncations) go through
//! `validate` and `inspect`, alone and against the stand-in hypervisor.
//!
//! This is the deterministic, always-on cousin of the cargo-fuzz target in
//! `fuzz/`: a fixed-seed generator, so a failure reproduces from its
//! iteration number, which the panic message carries.

mod common;

use common::*;
use xsplice_validate::{Environment, Options, TargetImage, XenImage, inspect, validate};

/// xorshift64*: small, fixed, good enough to spread corruptions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte ranges worth corrupting: the ELF header, the section header table,
/// and the structured sections (symbols, relocations, funcs, notes).
fn hot_ranges(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![(0, 64)];
    let h = xsplice_validate::elf::header(b, class(b)).unwrap();
    let table = usize::from(h.shnum) * usize::from(h.shentsize);
    out.push((h.shoff as usize, table));
    for i in 1..usize::from(h.shnum) {
        let s = shdr(b, i);
        if matches!(s.sh_type, 2 | 4 | 7 | 9) || s.flags & 2 != 0 {
            out.push((s.offset as usize, s.size.min(256) as usize));
        }
    }
    out.retain(|&(o, l)| l > 0 && o + l <= b.len());
    out
}

#[test]
fn random_corruptions_never_panic() {
    for arch in ["x86_64", "aarch64", "arm32"] {
        let Some(fx) = fixture(arch) else { continue };
        let image = XenImage::parse("xen-syms", &fx.xen).unwrap();
        let envs = [
            Environment::default(),
            Environment {
                target: Some(&image as &dyn TargetImage),
                ..Default::default()
            },
        ];
        let ranges = hot_ranges(&fx.payload);
        let mut rng = Rng(0x5eed_0000 + arch.len() as u64);
        for iteration in 0..1500 {
            let mut b = fx.payload.clone();
            let edits = 1 + rng.below(4);
            for _ in 0..edits {
                let (start, len) = ranges[rng.below(ranges.len())];
                let at = start + rng.below(len);
                match rng.below(4) {
                    0 => b[at] ^= 1 << rng.below(8),
                    1 => b[at] = 0xff,
                    2 => b[at] = 0,
                    _ => b[at] = rng.next() as u8,
                }
            }
            if rng.below(10) == 0 {
                let keep = rng.below(b.len());
                b.truncate(keep);
            }
            let env = &envs[iteration % 2];
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let report = validate(&b, &Options::default(), env);
                let mut sink = Vec::new();
                report.write_text(&mut sink, "x.livepatch").unwrap();
                report.write_json(&mut sink, "x.livepatch").unwrap();
                let _ = inspect(&mut sink, "x.livepatch", &b, env);
            }));
            assert!(result.is_ok(), "{arch} iteration {iteration} panicked");
        }
    }
}

/// Inputs the fuzzer once crashed on (`tests/regressions/`), kept as cases.
#[test]
fn fuzz_regressions() {
    let dir = xsplice_testkit::workspace_root().join("crates/xsplice-validate/tests/regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/regressions") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let env = Environment::default();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let report = validate(&bytes, &Options::default(), &env);
            let mut sink = Vec::new();
            report.write_text(&mut sink, "x.livepatch").unwrap();
            let _ = inspect(&mut sink, "x.livepatch", &bytes, &env);
        }));
        assert!(result.is_ok(), "{} panicked", path.display());
        count += 1;
    }
    assert!(count > 0, "no regression inputs in {}", dir.display());
}

/// A NOBITS hook array declares 147 million entries the file holds no
/// bytes for: they are counted in one C-99 finding, not walked one
/// finding each (which took gigabytes), and inspect lists only the
/// entries it can read.
#[test]
fn a_nobits_hook_array_is_counted_not_walked() {
    let path = xsplice_testkit::workspace_root()
        .join("crates/xsplice-validate/tests/regressions/fuzz-nobits-hook-array-huge-size.bin");
    let bytes = std::fs::read(&path).unwrap();
    let env = Environment::default();
    let report = validate(&bytes, &Options::default(), &env);
    let unfilled: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.check.as_str() == "C-99")
        .map(|f| f.message.as_str())
        .filter(|m| m.contains("have no bytes in the file"))
        .collect();
    assert_eq!(
        unfilled,
        [
            "146800671 null entries in the unload hook array have no bytes in the file and no relocation: the hypervisor calls every entry"
        ]
    );
    assert!(report.findings.len() < 100, "{}", report.findings.len());
    let mut sink = Vec::new();
    let _ = inspect(&mut sink, "x.livepatch", &bytes, &env);
    assert!(sink.len() < 1 << 20, "inspect wrote {} bytes", sink.len());
}
