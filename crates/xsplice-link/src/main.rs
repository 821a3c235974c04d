//! `xsplice-link`: link relocatable objects into a live-patch payload.
//!
//! A drop-in for `ld -r -o OUT INPUT.o...` plus the payload steps of Xen's
//! build. This file only parses arguments, reads files, calls the library
//! and writes the output atomically (temporary file, then rename).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use xsplice_link::{Input, LinkOptions, PayloadOptions};

mod heap;

/// Link relocatable ELF objects like `ld -r`, deterministically, and add the
/// sections of a Xen live-patch payload.
#[derive(Parser)]
#[command(name = "xsplice-link", version)]
struct Args {
    /// Output file (written to a temporary file, then renamed).
    #[arg(short = 'o', value_name = "OUT")]
    output: PathBuf,
    /// Add a `.note.gnu.build-id` holding a SHA-1 of the output, as `ld --build-id=sha1`.
    #[arg(long)]
    build_id: bool,
    /// Copy the build-id note of this ELF file (the hypervisor's `xen-syms`) into `.livepatch.xen_depends`.
    #[arg(long, value_name = "FILE")]
    xen_depends: Option<PathBuf>,
    /// Copy the build-id note of this ELF file (`xen-syms` or the payload this one stacks on) into the ABI's depends section.
    #[arg(long, value_name = "FILE")]
    depends: Option<PathBuf>,
    /// Add `KEY=VALUE` to `.modinfo` (repeatable, kept in order).
    #[arg(long, value_name = "KEY=VALUE")]
    modinfo: Vec<String>,
    /// Payload ABI: `livepatch-v2` (default), `livepatch-v1`, `xsplice` or `xsplice-v4`; sets section names and `.funcs` flags. Without any payload option the link is a plain `ld -r`.
    #[arg(long, value_name = "NAME")]
    abi: Option<xsplice_abi::Abi>,
    /// Target Xen release (e.g. `4.18.0`); decides whether `.funcs` stays writable. Default: the newest release of the ABI.
    #[arg(long, value_name = "VERSION")]
    xen: Option<xsplice_abi::XenVersion>,
    /// Drop debugging sections, as `ld -S`.
    #[arg(long, short = 'S')]
    strip_debug: bool,
    /// Relocatable objects to link, in order.
    #[arg(required = true, value_name = "INPUT.o")]
    inputs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xsplice-link: {err:#}");
            ExitCode::from(if err.downcast_ref::<xsplice_link::LinkError>().is_some() {
                1
            } else {
                2
            })
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Maps an input object read-only (inputs are large and read once).
fn map(path: &Path) -> Result<memmap2::Mmap> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    // SAFETY: the mapping is read-only and private to this short-lived
    // process; like every linker we assume inputs are not truncated while
    // we read them.
    unsafe { memmap2::MmapOptions::new().populate().map(&file) }
        .with_context(|| format!("cannot read `{}`", path.display()))
}

fn run(args: &Args) -> Result<()> {
    let note = |p: &Option<PathBuf>| -> Result<Option<Vec<u8>>> {
        p.as_ref()
            .map(|p| {
                Ok(xsplice_link::read_build_id_note(
                    &p.display().to_string(),
                    &read(p)?,
                )?)
            })
            .transpose()
    };
    let modinfo = args
        .modinfo
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect::<Option<Vec<_>>>()
        .context("--modinfo takes KEY=VALUE")?;
    let payload = PayloadOptions {
        abi: args.abi.unwrap_or(xsplice_abi::Abi::LivepatchV2),
        xen: args.xen,
        depends: note(&args.depends)?,
        xen_depends: note(&args.xen_depends)?,
        modinfo,
    };
    let mut opts = LinkOptions {
        build_id: args.build_id,
        strip_debug: args.strip_debug,
        ..LinkOptions::default()
    };
    let is_payload = args.abi.is_some()
        || args.xen.is_some()
        || payload.depends.is_some()
        || payload.xen_depends.is_some()
        || !payload.modinfo.is_empty();
    if is_payload {
        xsplice_link::payload_sections(&payload, &mut opts)?;
    }
    let data = args
        .inputs
        .iter()
        .map(|p| map(p))
        .collect::<Result<Vec<_>>>()?;
    heap::prepare(data.iter().map(|d| d.len() as u64).sum());
    let inputs: Vec<Input<'_>> = args
        .inputs
        .iter()
        .zip(&data)
        .map(|(p, d)| Input {
            name: p.display().to_string(),
            data: d,
        })
        .collect();
    let out = xsplice_link::link(&inputs, &opts)?;
    let dir = args
        .output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".xsplice-link")
        // Like any output file: 0666 less the umask (the default would be 0600).
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
    std::io::Write::write_all(&mut tmp, &out).context("cannot write the output")?;
    // Renaming over an existing file makes some file systems (ext4's
    // auto_da_alloc) flush the new data inside the rename, milliseconds for
    // a large output; like GNU ld, remove the old output first instead. The
    // output path never holds a partial file.
    remove_old(&args.output)
        .with_context(|| format!("cannot replace `{}`", args.output.display()))?;
    tmp.persist(&args.output)
        .with_context(|| format!("cannot write `{}`", args.output.display()))?;
    Ok(())
}

/// Removes a previous output file, if there is one.
fn remove_old(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
