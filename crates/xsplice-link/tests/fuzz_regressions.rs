//! Inputs on which the `link` fuzz target (`fuzz/`) once panicked the
//! linker (`tests/regressions/`), replayed through the same calls. Each
//! file is framed as the target frames it: a flags byte choosing the
//! options, a count, the objects' lengths (u32, little-endian), then the
//! objects (`fuzz/src/lib.rs`, `split`). Linking may fail; it must not
//! panic.

use xsplice_abi::Abi;
use xsplice_link::{Emulation, Input, LinkOptions, PayloadOptions, link, payload_sections};

/// The flags byte and the objects of a framed input (at most three).
fn split(data: &[u8]) -> (u8, Vec<&[u8]>) {
    if data.len() < 2 || data[1] == 0 || data[1] > 3 || data.len() < 2 + 4 * usize::from(data[1]) {
        return (0, vec![data]);
    }
    let n = usize::from(data[1]);
    let mut at = 2 + 4 * n;
    let mut parts = Vec::new();
    for i in 0..n {
        let len = u32::from_le_bytes(data[2 + 4 * i..6 + 4 * i].try_into().unwrap()) as usize;
        let end = if i + 1 == n {
            data.len()
        } else {
            at.saturating_add(len).min(data.len())
        };
        parts.push(&data[at..end]);
        at = end;
    }
    (data[0], parts)
}

/// What the fuzz target does with one input.
fn replay(data: &[u8]) {
    let (flags, parts) = split(data);
    let mut opts = LinkOptions {
        build_id: flags & 1 != 0,
        strip_debug: flags & 2 != 0,
        emulation: match (flags >> 2) & 7 {
            1 => Some(Emulation::ElfX86_64),
            2 => Some(Emulation::Aarch64Linux),
            3 => Some(Emulation::Aarch64Elf),
            4 => Some(Emulation::ArmElfLinuxEabi),
            _ => None,
        },
        ..LinkOptions::default()
    };
    if flags & 0x20 != 0 {
        let note = xsplice_link::read_build_id_note("a.o", parts[0]).ok();
        let payload = PayloadOptions {
            abi: [
                Abi::LivepatchV2,
                Abi::LivepatchV1,
                Abi::Xsplice,
                Abi::XspliceV4,
            ][usize::from(flags >> 6)],
            xen: None,
            depends: note.clone(),
            xen_depends: note,
            modinfo: vec![("version".into(), "1".into())],
        };
        if payload_sections(&payload, &mut opts).is_err() {
            return;
        }
    }
    let inputs: Vec<Input<'_>> = parts
        .iter()
        .zip(["a.o", "b.o", "c.o"])
        .map(|(data, name)| Input {
            name: name.into(),
            data,
        })
        .collect();
    let _ = link(&inputs, &opts);
}

#[test]
fn fuzz_regressions() {
    xsplice_testkit::replay_fuzz_regressions("xsplice-link", replay);
}
