//! The `target` benchmark: the tools that read a hypervisor image, on an
//! image of real size, each beside the recipe or reader it is measured
//! against, in one run.
//!
//! The image is the 24 MB `xen-syms` (with debug information) of the Xen
//! tree `cargo xtask real-xen` caches; without one, a generated image: the
//! stand-in hypervisor with 24 MB of debug sections added, so a tool that
//! reads its input whole pays what it would on a real one. The payload is
//! hello_world built against that image by the ordinary pipeline.
//!
//! Targets (the real-Xen issue): `xsplice-config` at least 15x faster than
//! the seed's `nm | grep | awk` recipe; `xsplice-link --build-id
//! --xen-depends --depends` at least 5x faster than Xen's recipe (two
//! `objcopy -O binary --only-section`, two `objcopy -I binary`, `ld -r
//! --build-id`, each a process as make runs them, here from one `sh`);
//! `xsplice-validate --target` and `xsplice-inspect --target` within 2x of
//! `xsplice-nm --lookup` on the same image.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::common::{Cmd, Stats, machine_description, measure, release_binary, table};

/// Xen's test Makefile recipe for the two notes and the link, as make
/// runs it (each command its own process); `$1` image, `$2` `$3` objects,
/// `$4` output, `$5` scratch directory.
const XEN_LINK: &str = r#"set -e
objcopy -O binary --only-section=.note.gnu.build-id "$1" "$5/depends.bin"
objcopy -O binary --only-section=.note.gnu.build-id "$1" "$5/xen_depends.bin"
objcopy -I binary -O elf64-x86-64 -B i386:x86-64 --rename-section=.data=.livepatch.depends,alloc,load,readonly,data,contents -S "$5/depends.bin" "$5/note.o"
objcopy -I binary -O elf64-x86-64 -B i386:x86-64 --rename-section=.data=.livepatch.xen_depends,alloc,load,readonly,data,contents -S "$5/xen_depends.bin" "$5/xen_note.o"
ld -melf_x86_64 --build-id=sha1 -r -o "$4" "$2" "$3" "$5/note.o" "$5/xen_note.o"
"#;

/// Bytes of debug sections added to the generated image.
const GENERATED_DEBUG: usize = 24 << 20;

pub fn run(runs: usize) -> anyhow::Result<()> {
    for tool in ["nm", "ld", "objcopy", "sh", "awk", "grep"] {
        which::which(tool)
            .with_context(|| format!("`{tool}` not found (Debian package binutils)"))?;
    }
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (image, what) = image(work.path())?;
    let size = std::fs::metadata(&image)?.len();
    println!("image: {what}, {:.1} MB", size as f64 / 1e6);
    println!("machine: {}", machine_description());

    let payload = crate::payload::build_against(&image, &work.path().join("out"))?;
    let dir = payload.parent().context("payload in a directory")?;
    let func = dir.join("hello_world_func.o");
    let funcs = dir.join("hello_world.o");

    let config = release_binary("xsplice-config", "xsplice-config")?;
    let link = release_binary("xsplice-link", "xsplice-link")?;
    let validate = release_binary("xsplice-validate", "xsplice-validate")?;
    let inspect = release_binary("xsplice-inspect", "xsplice-inspect")?;
    let nm = release_binary("xsplice-nm", "xsplice-nm")?;

    let scratch = work.path().join("scratch");
    std::fs::create_dir_all(&scratch)?;
    let mut failed = Vec::new();

    let stats = measure(
        &[
            Cmd::new("xsplice-config --preset seed", &config)
                .args(["-o"])
                .args([scratch.join("ours.h")])
                .args(["--preset", "seed", "--target"])
                .args([&image])
                .args(["--new-obj"])
                .args([&func]),
            Cmd::new("seed recipe (nm | grep | awk)", "sh")
                .args(["-c", super::build::SEED_CONFIG, "sh"])
                .args([&func, &image, &scratch.join("seed.h")]),
        ],
        1,
        runs,
    )?;
    println!("{}", table("config.h for hello_world", &stats));
    check(&stats, 15.0, "config", &mut failed);

    let stats = measure(
        &[
            Cmd::new("xsplice-link (build-id, both depends)", &link)
                .args(["-o"])
                .args([scratch.join("ours.livepatch")])
                .args(["--build-id", "--xen-depends"])
                .args([&image])
                .args(["--depends"])
                .args([&image, &func, &funcs]),
            Cmd::new("Xen's recipe (4 objcopy + ld -r)", "sh")
                .args(["-c", XEN_LINK, "sh"])
                .args([
                    &image,
                    &func,
                    &funcs,
                    &scratch.join("gnu.livepatch"),
                    &scratch,
                ]),
        ],
        1,
        runs,
    )?;
    println!("{}", table("link of hello_world with both notes", &stats));
    check(&stats, 5.0, "link", &mut failed);

    let stats = measure(
        &[
            Cmd::new("xsplice-nm --lookup", &nm)
                .args(["--lookup", "xen_extra_version"])
                .args([&image]),
            Cmd::new("xsplice-validate --target", &validate)
                .args([&payload])
                .args(["--target"])
                .args([&image]),
            Cmd::new("xsplice-inspect --target", &inspect)
                .args([&payload])
                .args(["--target"])
                .args([&image]),
        ],
        1,
        runs,
    )?;
    println!("{}", table("reading the image", &stats));
    for st in &stats[1..] {
        let ratio = st.median.as_secs_f64() / stats[0].median.as_secs_f64();
        let ok = ratio <= 2.0;
        println!(
            "{}: {ratio:.2}x xsplice-nm --lookup (target at most 2x): {}",
            st.label,
            if ok { "met" } else { "missed" }
        );
        if !ok {
            failed.push(st.label.clone());
        }
    }
    if !failed.is_empty() {
        bail!("targets missed: {}", failed.join(", "));
    }
    Ok(())
}

/// Prints whether the reference (second row) took at least `factor` times
/// as long as ours (first row).
fn check(stats: &[Stats], factor: f64, what: &str, failed: &mut Vec<String>) {
    let speedup = stats[1].median.as_secs_f64() / stats[0].median.as_secs_f64();
    let ok = speedup >= factor;
    println!(
        "{what}: {speedup:.1}x faster (target at least {factor}x): {}\n",
        if ok { "met" } else { "missed" }
    );
    if !ok {
        failed.push(what.to_owned());
    }
}

/// The cached real `xen-syms`, else a generated image of the same size.
fn image(work: &Path) -> anyhow::Result<(PathBuf, String)> {
    let cache = xsplice_build::cache_root()?;
    if let Some(real) = xsplice_build::load_real_xen(&cache, xsplice_build::Arch::X86_64)? {
        return Ok((real.xen_syms, format!("xen-syms of Xen {}", real.version)));
    }
    let root = crate::workspace_root();
    let stand_in = xsplice_build::build_stand_in(
        &root,
        &root.join("target").join("xsplice"),
        xsplice_build::Arch::X86_64,
        false,
    )?
    .path;
    // Incompressible filler, so no reader can skip it cheaply.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let filler: Vec<u8> = (0..GENERATED_DEBUG)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let debug = work.join("debug_info.bin");
    std::fs::write(&debug, filler)?;
    let out = work.join("xen-syms");
    let status = std::process::Command::new("objcopy")
        .arg(format!("--add-section=.debug_info={}", debug.display()))
        .arg(&stand_in)
        .arg(&out)
        .status()
        .context("cannot run objcopy")?;
    if !status.success() {
        bail!("objcopy could not add debug sections to the stand-in");
    }
    Ok((
        out,
        "the stand-in hypervisor with 24 MB of debug sections (no real Xen cached: `cargo xtask real-xen`)".into(),
    ))
}
