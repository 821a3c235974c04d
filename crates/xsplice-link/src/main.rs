//! `xsplice-link`: link relocatable objects into a live-patch payload.
//!
//! A drop-in for `ld -r -o OUT INPUT.o...` plus the payload steps of Xen's
//! build. This file parses arguments and supplies the file access (memory
//! maps, the heap set-up, the atomic write); what the options mean, their
//! order and the exit status are `xsplice_link::command`'s.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use xsplice_link::command::{self, Command, Files};

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
    let cmd = Command {
        output: args.output,
        print_version: args.print_version,
        emulation: args.emulation,
        build_id: args.build_id,
        strip_debug: args.strip_debug,
        abi: args.abi,
        xen: args.xen,
        depends: args.depends,
        xen_depends: args.xen_depends,
        modinfo: args.modinfo,
        inputs: args.inputs,
    };
    match command::run(&cmd, &mut MappedFiles, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xsplice-link: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Files as memory maps; the output through the one write helper.
struct MappedFiles;

/// A mapped file: sparse (pages read when looked at) or populated.
enum Mapped {
    Sparse(xsplice_symbols::MappedFile),
    Populated(memmap2::Mmap),
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Mapped::Sparse(m) => m,
            Mapped::Populated(m) => m,
        }
    }
}

impl Files for MappedFiles {
    type Data = Mapped;

    /// `xen-syms` is tens of megabytes with debug information, and its
    /// build-id note is 36 bytes: only the pages looked at are read.
    fn read_sparse(&mut self, path: &Path) -> std::io::Result<Self::Data> {
        xsplice_symbols::map_file(path).map(Mapped::Sparse)
    }

    /// Inputs are large and read once: mapped and populated up front.
    fn read_input(&mut self, path: &Path) -> std::io::Result<Self::Data> {
        let file = std::fs::File::open(path)?;
        // SAFETY: the mapping is read-only and private to this short-lived
        // process; like every linker we assume inputs are not truncated while
        // we read them.
        unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map(Mapped::Populated)
    }

    fn before_link(&mut self, input_bytes: u64) {
        heap::prepare(input_bytes);
    }

    /// Always rewritten (a Makefile's target must be newer than its
    /// inputs), never half-written, not flushed: as GNU ld writes.
    fn write_output(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        xsplice_symbols::write_file(path, bytes, xsplice_symbols::WriteMode::Replace)
    }
}
