//! The `validate` benchmark: `xsplice-validate` on a generated 5,000-function
//! payload against a generated target with 1,000,000 symbols, compared in the
//! same run with the time `xsplice-nm` needs just to read both files.
//!
//! Target (issue 5): validation within 2x of that read time. Both inputs are
//! written by this module as raw ELF, so the benchmark needs no compiler and
//! the sizes are exact; the payload is built to validate clean, so every
//! check (including the target checks of every entry) runs to the end.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use super::common::{Cmd, measure, release_binary};
use super::elf::{Sec, elf64, note, strtab_add, sym};

/// Symbols in the generated target image.
const TARGET_SYMBOLS: usize = 1_000_000;
/// `.funcs` entries in the generated payload.
const PAYLOAD_FUNCS: usize = 5_000;
/// Where the generated image is linked (the x86 stand-in's base).
const TEXT_BASE: u64 = 0x2000_0000_0000;
/// Bytes per generated function.
const FN_SIZE: u64 = 16;
/// The speed target: validation time over read time.
const TARGET_RATIO: f64 = 2.0;

pub fn run(runs: usize) -> anyhow::Result<()> {
    let validate = release_binary("xsplice-validate", "xsplice-validate")?;
    let nm = release_binary("xsplice-nm", "xsplice-nm")?;

    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let build_id: Vec<u8> = (0..20u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let target = dir.path().join("xen-syms");
    let payload = dir.path().join("bench.livepatch");
    std::fs::write(&target, target_image(&build_id)).context("cannot write the target")?;
    std::fs::write(&payload, payload_file(&build_id)).context("cannot write the payload")?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "inputs: target {} symbols ({} bytes), payload {} entries ({} bytes)",
        TARGET_SYMBOLS,
        size(&target),
        PAYLOAD_FUNCS,
        size(&payload)
    );

    // The payload must validate clean, or the benchmark measures an early exit.
    let out = Command::new(&validate)
        .arg(&payload)
        .arg("--target")
        .arg(&target)
        .output()
        .context("cannot run xsplice-validate")?;
    if !out.status.success() {
        bail!(
            "the generated payload does not validate clean:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // One warm-up each (page cache), then alternate.
    let runs = runs.max(1);
    let stats = measure(
        &[
            Cmd::new("xsplice-validate --target", &validate)
                .args([&payload])
                .args(["--target".as_ref(), target.as_os_str()]),
            Cmd::new("xsplice-nm reading both files", &nm).args([&target, &payload]),
        ],
        1,
        runs,
    )?;
    let (v, n) = (stats[0].median, stats[1].median);
    let ratio = v.as_secs_f64() / n.as_secs_f64();
    for s in &stats {
        println!(
            "{} (median of {runs}): {:>8.1} ms",
            s.label,
            s.median.as_secs_f64() * 1000.0
        );
    }
    println!("ratio: {ratio:.2} (target: at most {TARGET_RATIO})");
    if ratio > TARGET_RATIO {
        bail!("validation takes {ratio:.2}x the read time, over the {TARGET_RATIO}x target");
    }
    Ok(())
}

fn target_name(i: usize) -> String {
    format!("xen_fn_{i:07}")
}

/// One generated function: a plain prologue (no ENDBR64), NOPs, `ret`.
fn function_bytes() -> [u8; FN_SIZE as usize] {
    let mut f = [0x90u8; FN_SIZE as usize];
    f[..4].copy_from_slice(&[0x55, 0x48, 0x89, 0xe5]);
    f[FN_SIZE as usize - 2] = 0x5d;
    f[FN_SIZE as usize - 1] = 0xc3;
    f
}

/// The ET_EXEC target: `.text` with one function per symbol, a build-id.
fn target_image(build_id: &[u8]) -> Vec<u8> {
    let text: Vec<u8> = function_bytes().repeat(TARGET_SYMBOLS);
    let text_size = text.len() as u64;
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    for i in 0..TARGET_SYMBOLS {
        let name = strtab_add(&mut strtab, &target_name(i));
        sym(
            &mut symtab,
            name,
            0x12,
            1,
            TEXT_BASE + i as u64 * FN_SIZE,
            FN_SIZE,
        );
    }
    let mut text_sec = Sec::new(".text", 1, 0x6, text);
    text_sec.addr = TEXT_BASE;
    text_sec.align = 4096;
    let mut note_sec = Sec::new(".note.gnu.build-id", 7, 0x2, note(build_id));
    note_sec.addr = TEXT_BASE + text_size.div_ceil(4096) * 4096;
    note_sec.align = 4;
    let mut symtab_sec = Sec::new(".symtab", 2, 0, symtab);
    symtab_sec.link = 4; // .strtab
    symtab_sec.info = 1;
    symtab_sec.align = 8;
    symtab_sec.entsize = 24;
    elf64(
        2,
        vec![
            text_sec,
            note_sec,
            symtab_sec,
            Sec::new(".strtab", 3, 0, strtab),
        ],
    )
}

/// The ET_REL payload: one replacement function, one `.funcs` entry with
/// name, new_addr and old_addr relocations, per patched target function.
fn payload_file(build_id: &[u8]) -> Vec<u8> {
    const TEXT: u16 = 1;
    const NAMES: u16 = 2;
    const FUNCS: u32 = 3;
    const SYMTAB: u32 = 8;
    let n = PAYLOAD_FUNCS;
    // Patch every 200th target function, spread over the image.
    let patched = |i: usize| i * (TARGET_SYMBOLS / n);

    let text = function_bytes().repeat(n);
    let mut names = Vec::new();
    let mut name_offs = Vec::new();
    for i in 0..n {
        name_offs.push(names.len() as u64);
        names.extend_from_slice(target_name(patched(i)).as_bytes());
        names.push(0);
    }
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    sym(&mut symtab, 0, 0x03, NAMES, 0, 0); // section symbol of the names: index 1
    for i in 0..n {
        let name = strtab_add(&mut strtab, &format!("new_fn_{i:07}"));
        sym(&mut symtab, name, 0x02, TEXT, i as u64 * FN_SIZE, FN_SIZE); // local FUNC
    }
    let first_global = 2 + n;
    for i in 0..n {
        let name = strtab_add(&mut strtab, &target_name(patched(i)));
        sym(&mut symtab, name, 0x10, 0, 0, 0); // global NOTYPE undefined
    }

    let mut funcs = Vec::with_capacity(n * 104);
    let mut rela = Vec::with_capacity(n * 72);
    let mut reloc = |offset: u64, sym: usize, addend: u64| {
        rela.extend_from_slice(&offset.to_le_bytes());
        rela.extend_from_slice(&(((sym as u64) << 32) | 1).to_le_bytes()); // R_X86_64_64
        rela.extend_from_slice(&addend.to_le_bytes());
    };
    for (i, &name_off) in name_offs.iter().enumerate() {
        let base = (i * 104) as u64;
        let mut entry = [0u8; 104];
        entry[24..28].copy_from_slice(&(FN_SIZE as u32).to_le_bytes()); // new_size
        entry[28..32].copy_from_slice(&(FN_SIZE as u32).to_le_bytes()); // old_size
        entry[32] = 2; // version
        funcs.extend_from_slice(&entry);
        reloc(base, 1, name_off);
        reloc(base + 8, 2 + i, 0);
        reloc(base + 16, first_global + i, 0);
    }

    let mut text_sec = Sec::new(".text", 1, 0x6, text);
    text_sec.align = 16;
    let names_sec = Sec::new(".rodata.names", 1, 0x2, names);
    let mut funcs_sec = Sec::new(".livepatch.funcs", 1, 0x3, funcs);
    funcs_sec.align = 8;
    let mut rela_sec = Sec::new(".rela.livepatch.funcs", 4, 0x40, rela);
    rela_sec.link = SYMTAB;
    rela_sec.info = FUNCS;
    rela_sec.align = 8;
    rela_sec.entsize = 24;
    let own_id: Vec<u8> = build_id.iter().map(|b| b ^ 0xff).collect();
    let mut notes = Vec::new();
    for (name, id) in [
        (".note.gnu.build-id", own_id.as_slice()),
        (".livepatch.depends", build_id),
        (".livepatch.xen_depends", build_id),
    ] {
        let mut s = Sec::new(
            name,
            if name.starts_with(".note") { 7 } else { 1 },
            0x2,
            note(id),
        );
        s.align = 4;
        notes.push(s);
    }
    let mut symtab_sec = Sec::new(".symtab", 2, 0, symtab);
    symtab_sec.link = SYMTAB + 1;
    symtab_sec.info = first_global as u32;
    symtab_sec.align = 8;
    symtab_sec.entsize = 24;
    let mut secs = vec![text_sec, names_sec, funcs_sec, rela_sec];
    secs.extend(notes);
    secs.push(symtab_sec);
    secs.push(Sec::new(".strtab", 3, 0, strtab));
    elf64(1, secs)
}
