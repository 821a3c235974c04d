//! The `nm` benchmark: `xsplice-nm --defined -S` against GNU `nm --defined
//! -S` and `llvm-nm --defined-only -S`.
//!
//! Inputs: the rustup toolchain's libLLVM and librustc_driver (the largest
//! real symbol tables at hand) and a generated object with 1,000,000
//! symbols, kept in `target/xsplice/bench/`. Before timing, our output is
//! checked to be byte-identical to GNU nm's on each input: a fast wrong
//! answer is not a result. The targets (issue 2): at least 4× faster than
//! GNU nm and 8× faster than llvm-nm on libLLVM, with less peak memory than
//! GNU nm.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::common::{Cmd, machine_description, measure, release_binary, table};
use super::elf::{Sec, elf64, strtab_add, sym};

const GENERATED_SYMBOLS: usize = 1_000_000;

pub fn run(runs: usize) -> anyhow::Result<()> {
    let ours = release_binary("xsplice-nm", "xsplice-nm")?;
    let gnu = which::which("nm").context("GNU nm not found on PATH")?;
    let llvm = ["llvm-nm", "llvm-nm-14", "llvm-nm-15", "llvm-nm-16"]
        .iter()
        .find_map(|n| which::which(n).ok());
    if llvm.is_none() {
        eprintln!("llvm-nm not found on PATH: timing xsplice-nm and GNU nm only");
    }

    let mut inputs = toolchain_libraries()?;
    inputs.push(generated_object()?);

    let mut report = format!("Machine: {}\n\n", machine_description());
    for input in &inputs {
        let name = input
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut cmds = vec![
            Cmd::new("xsplice-nm --defined -S", &ours)
                .args(["--defined", "-S"])
                .args([input]),
            Cmd::new("GNU nm --defined -S", &gnu)
                .args(["--defined", "-S"])
                .args([input]),
        ];
        if let Some(llvm) = &llvm {
            cmds.push(
                Cmd::new("llvm-nm --defined-only -S", llvm)
                    .args(["--defined-only", "-S"])
                    .args([input]),
            );
        }
        let ours_out = cmds[0].output()?;
        let gnu_out = cmds[1].output()?;
        if ours_out != gnu_out {
            bail!(
                "output differs from GNU nm on {}: fix that before timing",
                input.display()
            );
        }
        let lines = ours_out.iter().filter(|&&b| b == b'\n').count();
        eprintln!("{name}: output identical to GNU nm ({lines} lines); timing {runs} rounds");
        let stats = measure(&cmds, 1, runs)?;
        let size_mb = std::fs::metadata(input).map_or(0.0, |m| m.len() as f64 / 1e6);
        let title = format!("### {name} ({size_mb:.1} MB, {lines} lines of output)");
        let t = table(&title, &stats);
        println!("{t}");
        let _ = writeln!(report, "{t}");
    }
    let out = crate::workspace_root().join("target/xsplice/bench/nm.md");
    std::fs::write(&out, &report).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("tables written to {}", out.display());
    Ok(())
}

/// libLLVM and librustc_driver from the active rustup toolchain (the real
/// ELF files: `libLLVM-*.so` is a linker script pointing at the library).
fn toolchain_libraries() -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot")?;
    let lib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .with_context(|| format!("reading {}", lib.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (n.starts_with("libLLVM") || n.starts_with("librustc_driver")) && is_elf(p)
        })
        .collect();
    found.sort();
    if found.is_empty() {
        bail!(
            "no libLLVM or librustc_driver ELF file in {}",
            lib.display()
        );
    }
    Ok(found)
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"\x7fELF"
}

/// An x86-64 ET_REL with [`GENERATED_SYMBOLS`] symbols, written directly
/// (an assembler refuses duplicate names) once and reused. Names are
/// pseudo-random under a few long shared prefixes (like mangled C++), a
/// third of them local, one in fifty a repeated local name (ties, like
/// `.LC0` or same-named statics in a linked image), most with a size.
fn generated_object() -> anyhow::Result<PathBuf> {
    let dir = crate::workspace_root().join("target/xsplice/bench");
    let obj = dir.join(format!("nm-{GENERATED_SYMBOLS}.o"));
    if obj.exists() {
        return Ok(obj);
    }
    std::fs::create_dir_all(&dir)?;
    let bytes = generate_elf(GENERATED_SYMBOLS);
    let tmp = dir.join(format!("nm-{GENERATED_SYMBOLS}.o.tmp"));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, &obj)?;
    Ok(obj)
}

fn generate_elf(count: usize) -> Vec<u8> {
    const PREFIXES: [&str; 7] = [
        "_ZN4core3ptr",
        "_ZN5alloc3vec",
        "_ZNSt6vector",
        "xen_",
        "do_",
        "_ZN15xsplice_symbols2nm",
        "llvm_",
    ];
    let mut strtab = vec![0u8];
    let mut add_name = |name: &str| strtab_add(&mut strtab, name);
    // (st_name, st_info, st_shndx, st_value, st_size)
    let mut locals = vec![(add_name("generated.c"), 0x04u8, 0xfff1u16, 0u64, 0u64)];
    let mut globals = Vec::new();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..count {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = state >> 24;
        let prefix = PREFIXES[(r % PREFIXES.len() as u64) as usize];
        let dup = i % 50 == 49;
        let name = if dup {
            format!("{prefix}dup{}", r % 1000)
        } else {
            format!("{prefix}{:x}_{i}", r & 0xffff_ffff)
        };
        let size = if i % 5 == 0 { 0 } else { 1 };
        let global = i % 3 != 0 && !dup;
        let entry = (
            add_name(&name),
            if global { 0x12 } else { 0x02 },
            1u16,
            i as u64,
            size,
        );
        if global {
            globals.push(entry);
        } else {
            locals.push(entry);
        }
    }
    let first_global = locals.len() as u32 + 1;
    let mut symtab = vec![0u8; 24];
    for (name, info, shndx, value, size) in locals.into_iter().chain(globals) {
        sym(&mut symtab, name, info, shndx, value, size);
    }
    let mut text = Sec::new(".text", 1, 0x6, vec![0xc3; count]);
    text.align = 16;
    let mut symtab = Sec::new(".symtab", 2, 0, symtab);
    symtab.link = 3; // .strtab
    symtab.info = first_global;
    symtab.align = 8;
    symtab.entsize = 24;
    elf64(1, vec![text, symtab, Sec::new(".strtab", 3, 0, strtab)])
}
