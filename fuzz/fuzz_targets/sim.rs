//! Fuzz target: the simulator's upload, as `xsplice-sim`'s `upload`
//! command runs it: the validator's checks against the running stand-in
//! hypervisor, then placement, symbol resolution and relocation into the
//! hypervisor's memory. No payload code runs: a payload that uploads is
//! unloaded at once, never applied. Any bytes must be uploaded or refused
//! with an errno, never panic, hang or kill the hypervisor process.
//!
//! Payloads whose memory block would grow by more than 16 MiB beyond
//! their bytes are skipped (`xsplice_fuzz::elf::output_growth`: alignment
//! padding and NOBITS sections): the simulator allocates and copies the
//! block into the hypervisor process as Xen does, and blocks of up to the
//! 1 GiB the payload area holds measure the copy, not the checks.
//!
//! The hypervisor boots once per fuzzing process from the stand-in
//! `xen-syms` (x86_64, `cargo xtask target`), or the image named by
//! `XSPLICE_FUZZ_XEN_SYMS`; it must be the image the seed payloads were
//! built against, so that their build-id dependency holds.

#![no_main]

use std::cell::RefCell;
use std::time::Duration;

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use xsplice_sim::Hypervisor;

fn image() -> &'static [u8] {
    let path = std::env::var("XSPLICE_FUZZ_XEN_SYMS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/xsplice/xen/x86_64/xen-syms"
        )
        .into()
    });
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read the stand-in `{path}` ({e}): run `cargo xtask target`")
    });
    Box::leak(bytes.into_boxed_slice())
}

thread_local! {
    static HV: RefCell<Option<Hypervisor<'static>>> = const { RefCell::new(None) };
}

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    xsplice_fuzz::mutate(data, size, max_size, seed)
});

fuzz_target!(|data: &[u8]| {
    if data.len() > xsplice_fuzz::MAX_INPUT {
        return;
    }
    if xsplice_fuzz::elf::output_growth(data) > 16 << 20 {
        return;
    }
    HV.with_borrow_mut(|hv| {
        if hv.as_ref().is_none_or(|h| h.death().is_some()) {
            *hv = Some(
                Hypervisor::boot("xen-syms", image(), None, Duration::from_secs(10))
                    .expect("the stand-in hypervisor boots"),
            );
        }
        let hv = hv.as_mut().unwrap();
        if hv.upload("fuzz", data).is_ok() {
            // Placed and mapped; taking it out again must work.
            hv.unload("fuzz").expect("a checked payload unloads");
        }
        hv.take_console();
    });
});
