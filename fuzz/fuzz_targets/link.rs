//! Fuzz target: the payload linker on one to three objects, as
//! `xsplice-link` calls it. The input is framed (`xsplice_fuzz::split`):
//! its flags byte chooses the options a command line would (build-id,
//! `-S`, `-m`, the payload sections of an ABI), then the objects. Any
//! objects must link or give an error, never a panic or a hang.
//!
//! Objects whose correct output would grow by more than 16 MiB beyond
//! their own bytes are skipped (`xsplice_fuzz::elf::output_growth`): the
//! linker pads the output to each section's alignment and zero-fills
//! NOBITS sections merged into ones with contents, as GNU ld does, so a
//! mutated `sh_addralign` or `sh_size` asks for gigabytes, which measures
//! the machine's memory rather than the linker.

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use xsplice_abi::Abi;
use xsplice_link::{Emulation, Input, LinkOptions, PayloadOptions, link, payload_sections};

const NAMES: [&str; 3] = ["a.o", "b.o", "c.o"];

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    xsplice_fuzz::mutate_framed(data, size, max_size, seed, 3)
});

fuzz_target!(|data: &[u8]| {
    if data.len() > xsplice_fuzz::MAX_INPUT {
        return;
    }
    let (flags, parts) = xsplice_fuzz::split(data, 3);
    let growth = parts.iter().fold(0u64, |sum, p| {
        sum.saturating_add(xsplice_fuzz::elf::output_growth(p))
    });
    if growth > 16 << 20 {
        return;
    }
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
        // The `--depends` file is read with the hypervisor's note rules.
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
        .zip(NAMES)
        .map(|(data, name)| Input {
            name: name.into(),
            data,
        })
        .collect();
    let _ = link(&inputs, &opts);
});
