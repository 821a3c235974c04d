//! Fuzz target: the simulator's upload checks and placement, without a
//! hypervisor process (`xsplice_sim::place`, what `xsplice-sim`'s `upload`
//! runs before it maps the block): the validator's checks against the
//! stand-in image, then placement, symbol resolution, relocation and the
//! special sections (alternatives, alternative calls, exception tables,
//! bug frames), for x86_64, arm64 and arm32 payloads, each against the
//! stand-in of its machine. No code runs. Any bytes must be placed or
//! refused with an errno, never panic or hang.
//!
//! Payloads whose memory block would grow by more than 16 MiB beyond
//! their bytes are skipped (`xsplice_fuzz::elf::output_growth`: alignment
//! padding and NOBITS sections): blocks of up to the 1 GiB the x86 payload
//! area holds measure the allocation, not the checks.
//!
//! The images are the stand-ins (`cargo xtask target`, and `cargo xtask
//! target --arch aarch64` / `arm32`), or those named by
//! `XSPLICE_FUZZ_XEN_SYMS` (x86_64), `XSPLICE_FUZZ_XEN_SYMS_AARCH64` and
//! `XSPLICE_FUZZ_XEN_SYMS_ARM32`; they must be the images the seed payloads
//! were built against, so that their build-id dependency holds. A missing
//! arm image sends that machine's inputs to the x86_64 one (refused there).

#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use xsplice_sim::{PlaceOptions, place};
use xsplice_validate::XenImage;

fn image(var: &str, arch: &str) -> Option<&'static [u8]> {
    let path = std::env::var(var).unwrap_or_else(|_| {
        format!(
            "{}/../target/xsplice/xen/{arch}/xen-syms",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let bytes = std::fs::read(&path).ok()?;
    Some(Box::leak(bytes.into_boxed_slice()))
}

fn parsed(bytes: &'static [u8]) -> XenImage<'static> {
    XenImage::parse("xen-syms", bytes).expect("the stand-in image parses")
}

struct Images {
    x86_64: XenImage<'static>,
    aarch64: Option<XenImage<'static>>,
    arm32: Option<XenImage<'static>>,
}

thread_local! {
    /// Read and parsed once per fuzzing process; the symbol indexes they
    /// build lazily then serve every execution.
    static IMAGES: &'static Images = Box::leak(Box::new(load()));
}

fn load() -> Images {
    let x86 = image("XSPLICE_FUZZ_XEN_SYMS", "x86_64")
        .unwrap_or_else(|| panic!("no x86_64 stand-in: run `cargo xtask target`"));
    Images {
        x86_64: parsed(x86),
        aarch64: image("XSPLICE_FUZZ_XEN_SYMS_AARCH64", "aarch64").map(parsed),
        arm32: image("XSPLICE_FUZZ_XEN_SYMS_ARM32", "arm32").map(parsed),
    }
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
    let images = IMAGES.with(|i| *i);
    // e_machine, at the same offset in ELF32 and ELF64.
    let machine = data.get(18..20).map(|m| u16::from_le_bytes([m[0], m[1]]));
    let target = match machine {
        Some(183) => images.aarch64.as_ref(),
        Some(40) => images.arm32.as_ref(),
        _ => None,
    }
    .unwrap_or(&images.x86_64);
    if let Ok(placed) = place(data, target, &PlaceOptions::default()) {
        // What APPLY would write: computed, never written.
        let _ = placed.patch_sites(target);
    }
});
