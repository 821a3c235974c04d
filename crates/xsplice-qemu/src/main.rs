//! `xsplice-qemu`: runs `xsplice-sim`'s commands on a real Xen under QEMU.
//!
//! Parses the arguments, reads the script, prepares the machine (fetching
//! Debian's packages into the cache on first use) and hands both to the
//! library; exit 0 when every command succeeded, 1 when one failed or the
//! hypervisor crashed or hung, 2 for usage, I/O and setup errors.
#![forbid(unsafe_code)]

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use xsplice_qemu::{Options, Setup, Timeouts, cache_root, prepare, run_session};
use xsplice_sim::{Output, Status, exit_code, parse_script, read_script};

/// Apply Xen live-patch payloads to a real Xen, booted under QEMU.
///
/// The commands are those of `xsplice-sim`: upload NAME FILE, load FILE
/// [--nodeps], apply NAME [--nodeps], revert NAME, replace NAME, unload
/// NAME, list, info (the `xl info` version lines), hooks (what payload hooks
/// printed with `printk("xsplice-hook: ...")`) and restart (boots the
/// machine again). They run in dom0 through the real `xen-livepatch`, and
/// the transcript has the simulator's form, so one script runs on both.
///
/// The machine is Debian's: its Xen (or the one `--target` names), its kernel
/// as a PV dom0, and busybox, `xen-livepatch` and its libraries in dom0's
/// initramfs, fetched with `apt-get download` into `$XDG_CACHE_HOME/xsplice`
/// (else `~/.cache/xsplice`) on first use. A crash prints Xen's own report
/// from the serial console; a hang ends at `--timeout`.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Boot this hypervisor image instead of Debian's: a `xen` ELF image (a
    /// source build's `xen/xen`, not its `xen-syms`) or a gzipped one
    /// (`xen-4.17-amd64.gz`). Its release must speak the sysctl interface
    /// of Debian's `xen-livepatch` (4.17 to 4.20).
    #[arg(long, value_name = "XEN")]
    target: Option<PathBuf>,
    /// Add this to Xen's command line (e.g. `loglvl=all`); may be repeated.
    #[arg(long = "xen-arg", value_name = "ARG")]
    xen_args: Vec<String>,
    /// The QEMU program.
    #[arg(long, value_name = "PROGRAM", default_value = "qemu-system-x86_64")]
    qemu: PathBuf,
    /// Read commands from this file, one per line (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Echo each command before its output, like a terminal transcript.
    #[arg(long)]
    echo: bool,
    /// Copy the machine's serial console (Xen's and dom0's output) to this file.
    #[arg(long, value_name = "FILE")]
    serial_log: Option<PathBuf>,
    /// Seconds a command may run before the machine counts as hung.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    /// The command, e.g. `load xen_hello_world.livepatch`; `;` separates commands.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    exit_code("xsplice-qemu", run())
}

fn run() -> Result<Status> {
    let cli = Cli::parse();
    let text = read_script(cli.script.as_deref(), &cli.command)?;
    let lines = parse_script(&text)?;
    let env = |k: &str| std::env::var_os(k).map(PathBuf::from);
    let cache = cache_root(env("XDG_CACHE_HOME").as_deref(), env("HOME").as_deref())
        .context("neither XDG_CACHE_HOME nor HOME is set: no cache directory")?;
    let setup = Setup {
        cache,
        qemu: cli.qemu,
        xen: cli.target,
        xen_args: cli.xen_args,
    };
    let prepared = prepare(&setup, &mut io::stderr()).context("preparing the machine")?;
    let opts = Options {
        echo: cli.echo,
        cwd: std::env::current_dir().context("reading the working directory")?,
        timeouts: Timeouts {
            command: Duration::from_secs(cli.timeout),
            ..Timeouts::default()
        },
    };
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let mut output = Output {
        out: &mut out,
        err: &mut err,
        echo: opts.echo,
    };
    let mut serial: Box<dyn io::Write> = match &cli.serial_log {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("creating `{}`", p.display()))?,
        ),
        None => Box::new(io::sink()),
    };
    let mut files = |p: &std::path::Path| std::fs::read(p);
    Ok(run_session(
        &prepared.platform,
        &lines,
        &opts,
        &mut files,
        &mut output,
        &mut serial,
    )?)
}
