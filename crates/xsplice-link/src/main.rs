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
///
/// The options of GNU ld that Makefiles pass for a relocatable link are
/// accepted with their meaning (`-r`, `-m EMULATION`, `-EL`,
/// `--build-id[=sha1]`, `--no-warn-rwx-segments`,
/// `--fix-cortex-a53-843419`), so `make LD=xsplice-link` works where the
/// link is `$(LD) ... -r -o OUT IN...`.
#[derive(Parser)]
#[command(name = "xsplice-link", version)]
struct Args {
    /// Output file (written to a temporary file, then renamed).
    #[arg(short = 'o', value_name = "OUT")]
    output: Option<PathBuf>,
    /// Print the version, as `ld -v`; without inputs, then exit 0. Makefiles
    /// probe options with `$(LD) -v OPTION`: it succeeds for those accepted.
    #[arg(short = 'v')]
    print_version: bool,
    /// A relocatable link, as `ld -r`: the only kind there is, so a no-op.
    #[arg(short = 'r', long = "relocatable")]
    relocatable: bool,
    /// The output's GNU ld emulation, as `ld -m` (`-melf_x86_64` or `-m elf_x86_64`): elf_x86_64, aarch64linux, aarch64elf or armelf_linux_eabi. An input of another machine or class is an error.
    #[arg(short = 'm', value_name = "EMULATION")]
    emulation: Option<xsplice_link::Emulation>,
    /// `-EL`: little-endian output, as `ld -EL` (Xen's arm builds pass it); the only byte order written, so `-EB` is an error.
    #[arg(short = 'E', value_name = "L", value_parser = little_endian)]
    endian: Option<()>,
    /// Add a `.note.gnu.build-id`, as `ld --build-id[=STYLE]`: `sha1` (the default) is a SHA-1 computed over the output like GNU ld's, `none` adds none.
    #[arg(long, value_name = "STYLE", num_args = 0..=1, require_equals = true,
          default_missing_value = "sha1", value_parser = ["sha1", "none"],
          overrides_with = "build_id")]
    build_id: Option<String>,
    /// As GNU ld's: a relocatable output has no segments, so there is nothing to warn about.
    #[arg(long)]
    no_warn_rwx_segments: bool,
    /// As GNU ld's for aarch64 (Xen's arm64 build passes it), which patches erratum 843419 through stubs in final links only: a relocatable link is unchanged.
    #[arg(long = "fix-cortex-a53-843419", value_name = "HOW", num_args = 0..=1,
          require_equals = true, default_missing_value = "full",
          value_parser = ["full", "adr", "adrp"])]
    fix_cortex_a53_843419: Option<String>,
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
    #[arg(value_name = "INPUT.o")]
    inputs: Vec<PathBuf>,
}

/// `-EL` is `-E` with the value `L`.
fn little_endian(value: &str) -> Result<(), String> {
    match value {
        "L" => Ok(()),
        "B" => Err("big-endian output (-EB) is not supported".to_owned()),
        _ => Err(format!("unknown option -E{value}: expected -EL")),
    }
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

/// Maps a file of which only a few pages are read: `xen-syms` is tens of
/// megabytes with debug information, and its build-id note is 36 bytes.
fn map_sparse(path: &Path) -> Result<xsplice_symbols::MappedFile> {
    xsplice_symbols::map_file(path).with_context(|| format!("cannot read `{}`", path.display()))
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
    if args.print_version {
        println!("xsplice-link {}", env!("CARGO_PKG_VERSION"));
        if args.inputs.is_empty() {
            return Ok(());
        }
    }
    // GNU ld's order: no inputs first. Xen's Makefile probes `$(LD)
    // --build-id` and takes the option as unsupported when the answer
    // names it, which would build Xen without live patching.
    if args.inputs.is_empty() {
        return Err(xsplice_link::LinkError::NoInputs.into());
    }
    let output = args
        .output
        .as_deref()
        .context("no output file: give -o OUT")?;
    let note = |p: &Option<PathBuf>| -> Result<Option<Vec<u8>>> {
        p.as_ref()
            .map(|p| {
                Ok(xsplice_link::read_build_id_note(
                    &p.display().to_string(),
                    &map_sparse(p)?,
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
        emulation: args.emulation,
        build_id: args.build_id.as_deref() == Some("sha1"),
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
    // Always rewritten (a Makefile's target must be newer than its
    // inputs), never half-written, not flushed: as GNU ld writes.
    xsplice_symbols::write_file(output, &out, xsplice_symbols::WriteMode::Replace)
        .with_context(|| format!("cannot write `{}`", output.display()))?;
    Ok(())
}
