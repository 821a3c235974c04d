//! Fuzz target: the diff engine on an object pair, as `xsplice-diff`
//! calls it. The input is framed (`xsplice_fuzz::split`): the original
//! object, the patched one, and a flags byte choosing whether a target
//! `xen-syms` resolves names (bit 0) and the `.funcs` ABI (bits 1-2).
//! Any pair must give a verdict with its report (and an output object when
//! something changed) or an error, never a panic or a hang.
//!
//! The target image is the stand-in tree's `xen-syms`
//! (`target/xsplice/stand-in-tree/x86_64/`, built by the source-patch
//! suite), or the image named by `XSPLICE_FUZZ_TREE_XEN_SYMS`; the seed
//! pairs are objects of that tree, before and after a patch.

#![no_main]

use std::io::sink;
use std::sync::OnceLock;

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use xsplice_abi::Abi;
use xsplice_diff::{Input, Options, diff};

fn image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let path = std::env::var("XSPLICE_FUZZ_TREE_XEN_SYMS").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/xsplice/stand-in-tree/x86_64/xen-syms"
            )
            .into()
        });
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!("cannot read `{path}` ({e}): run `cargo xtask livepatch-build` once")
        })
    })
}

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    xsplice_fuzz::mutate_framed(data, size, max_size, seed, 2)
});

fuzz_target!(|data: &[u8]| {
    if data.len() > xsplice_fuzz::MAX_INPUT {
        return;
    }
    let (flags, parts) = xsplice_fuzz::split(data, 2);
    let [orig, patched] = parts[..] else {
        return;
    };
    let target = (flags & 1 != 0).then(|| Input {
        path: "xen-syms",
        data: image(),
    });
    let options = Options {
        abi: [
            Abi::LivepatchV2,
            Abi::LivepatchV1,
            Abi::Xsplice,
            Abi::XspliceV4,
        ][usize::from(flags >> 1) & 3],
        ..Options::default()
    };
    let orig = Input {
        path: "orig/version.o",
        data: orig,
    };
    let patched = Input {
        path: "patched/version.o",
        data: patched,
    };
    if let Ok(outcome) = diff(orig, patched, target, &options) {
        // What the binary prints: the report, as text or JSON.
        if flags & 0x10 == 0 {
            outcome.report.write_text(&mut sink()).unwrap();
        } else {
            outcome.report.write_json(&mut sink()).unwrap();
        }
    }
});
