//! Fuzz target: any bytes given to the validator and the inspector must give
//! findings or an error, never a panic or a hang, with and without a target.
//!
//! The target is a synthetic image that resolves every name and has code
//! bytes everywhere, so that the target checks run on the inputs given it.

#![no_main]

use std::io::sink;

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use xsplice_validate::{
    Environment, LoadedPayload, Options, TargetImage, TargetSymbol, inspect, inspect_json, validate,
};

struct Everything;

impl TargetImage for Everything {
    fn build_id(&self) -> Option<&[u8]> {
        Some(&[0x11; 20])
    }
    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        // Names starting with `x` exist; others do not.
        name.starts_with('x').then(|| TargetSymbol {
            name: name.to_string(),
            addr: 0xffff_82d0_4000_0000 + name.len() as u64 * 16,
            size: 32,
            is_function: true,
        })
    }
    fn function_at(&self, addr: u64) -> Option<TargetSymbol> {
        addr.is_multiple_of(16).then(|| TargetSymbol {
            name: format!("f{addr:x}"),
            addr,
            size: 32,
            is_function: true,
        })
    }
    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        (len <= 64).then(|| {
            (0..len)
                .map(|i| (addr as usize).wrapping_add(i) as u8)
                .collect()
        })
    }
    fn payload_base(&self) -> u64 {
        0xffff_82d0_8000_0000
    }
}

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    xsplice_fuzz::mutate(data, size, max_size, seed)
});

fuzz_target!(|data: &[u8]| {
    if data.len() > xsplice_fuzz::MAX_INPUT {
        return;
    }
    // One call per input, as one run of a binary makes: the input's length
    // chooses which, so that every path is reached without paying for all.
    let opts = Options::default();
    let env = if data.len() & 1 == 0 {
        Environment::default()
    } else {
        Environment {
            target: Some(&Everything),
            loaded: vec![LoadedPayload {
                name: "base".into(),
                build_id: vec![0x11; 20],
                new_symbols: vec![("y".into(), 0xffff_82d0_7000_0000)],
            }],
            load_address: None,
        }
    };
    let mut out = sink();
    match (data.len() >> 1) & 3 {
        0 => {
            let report = validate(data, &opts, &env);
            report.write_text(&mut out, "fuzz.livepatch").unwrap();
            let _ = report.loaded("fuzz", 0x1000);
        }
        1 => {
            let report = validate(data, &opts, &env);
            report.write_json(&mut out, "fuzz.livepatch").unwrap();
        }
        2 => {
            let _ = inspect(&mut out, "fuzz.livepatch", data, &env);
        }
        _ => {
            let _ = inspect_json(&mut out, "fuzz.livepatch", data, &env);
        }
    }
});
