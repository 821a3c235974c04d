//! Applies Xen live-patch payloads to a running stand-in hypervisor, in
//! user space, exactly as the hypervisor would.
//!
//! The stand-in hypervisor (`test-payloads/xen/`) is mapped at its link
//! addresses into a child process and its real code runs there. Payloads
//! are uploaded through the validator's checks (`xsplice-validate`, one
//! shared implementation) and the hypervisor's loader (placement, symbol
//! resolution, relocation, page permissions), then applied with the
//! hypervisor's rules: build-id dependencies, expectations on the live
//! bytes, hooks in order, `e9 rel32` trampolines after ENDBR64, LIFO revert,
//! replace and unload, and the C-128 consistency check after action hooks.
//! Commands and their output mirror the live-patch tool of the emulated
//! release (`xen-xsplice` or `xen-livepatch`, spec §5.3) and `xl info`, so
//! the seed's session replays as written and prints the seed's lines.
//!
//! A fault at an instruction with an exception-table entry (the image's or
//! a loaded payload's) resumes at its fixup, a `WARN` frame prints Xen's
//! line and goes on, and a `run_fn` frame runs its function, as in Xen 4.17
//! on x86; a payload's alternatives and alternative calls are applied at
//! upload. Any other fault kills only
//! the child process; the session reports the signal and the faulting
//! address by symbol, and a `BUG` or failed `ASSERT` as Xen's panic. A
//! hypervisor panic (an inconsistent action hook, a page fault on read-only
//! `.funcs` in 4.18.0) stops the child the same way. Later commands say the hypervisor is not
//! running, until `restart` boots a fresh image.
//!
//! Only x86-64 Linux hosts run x86-64 images natively; elsewhere
//! [`Hypervisor::boot`] fails with [`SimError::UnsupportedHost`]. UPLOAD's
//! checks and placement need no process: [`place`] runs them against any
//! image, arm64 and arm32 included, and a session on an ARM image checks,
//! places and patches a copy of it without running code.
//!
//! Map: `host` (the child process and its protocol), `image` (segments and
//! symbols of `xen-syms`), `place` (UPLOAD without a process, shared with
//! the hypervisor's), `loader` (placement and relocation), `arm` (what
//! Xen's ARM loader does to the bytes), `unexecuted` (sessions on ARM
//! images), `traps`
//! (exception tables and bug frames), `alternatives` (alternatives and
//! alternative calls), `hv` (the hypervisor's operations and state),
//! `session` (commands and the tools' output), `errno` (Xen errno values
//! and messages).

mod alternatives;
mod arm;
mod errno;
mod error;
mod host;
mod hv;
mod image;
mod loader;
mod place;
mod session;
mod traps;
mod unexecuted;

use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

pub use errno::Errno;
pub use error::SimError;
pub use host::Death;
pub use hv::{Fail, Hypervisor, Listed, State};
pub use place::{PatchSite, PlaceOptions, PlacedFrame, PlacedFunc, Placement, Refusal, place};
pub use session::{
    Command, FileReader, Line, Output, Status, Tool, command_words, echo_text, exit_code,
    load_name, parse_line, parse_words, payload_abi, run_line,
};

use xsplice_abi::XenVersion;

/// How a session runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Behave as this Xen release; `None`: each payload as the newest
    /// release that loads its ABI.
    pub xen: Option<XenVersion>,
    /// Echo each command before its output, like a terminal transcript.
    pub echo: bool,
    /// How long hypervisor code may run before it is declared hung.
    pub timeout: Duration,
    /// The simulated CPU's feature numbers (`X86_FEATURE_*`), against
    /// which payloads' alternatives are applied at upload.
    pub cpu_features: Vec<u16>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            xen: None,
            echo: false,
            timeout: Duration::from_secs(10),
            cpu_features: Vec::new(),
        }
    }
}

/// The text of the script a command line gives: the file `script` (`-` for
/// standard input), else the `command` words, `;` separating commands.
pub fn read_script(script: Option<&Path>, command: &[String]) -> Result<String, SimError> {
    match script {
        Some(p) if p.as_os_str() == "-" => {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|error| SimError::ReadScript {
                    what: "standard input".into(),
                    error,
                })?;
            Ok(text)
        }
        Some(p) => std::fs::read_to_string(p).map_err(|error| SimError::ReadScript {
            what: format!("`{}`", p.display()),
            error,
        }),
        None if command.is_empty() => Err(SimError::NoCommand),
        None => Ok(command.join(" ").replace(';', "\n")),
    }
}

/// Parses a script: one command per line, `#` comments and blank lines
/// ignored.
pub fn parse_script(text: &str) -> Result<Vec<Line>, SimError> {
    let mut lines = Vec::new();
    for (n, l) in text.lines().enumerate() {
        match parse_line(l) {
            Ok(Some(line)) => lines.push(line),
            Ok(None) => {}
            Err(message) => {
                return Err(SimError::Usage {
                    line: n + 1,
                    message,
                });
            }
        }
    }
    Ok(lines)
}

/// Boots the image `xen` (the `xen-syms` called `file`) and runs `lines`,
/// reading payloads through `files` and writing the tools' output.
///
/// The output takes the form of the tool of the release being emulated
/// ([`session_tool`]).
///
/// An arm64 or arm32 image cannot run here: its session checks, places
/// and patches a copy of the image without running code, and the commands
/// that would run code say so (see the `unexecuted` module).
///
/// Returns the worst status: [`Status::Ok`] when every command succeeded.
/// A command that fails does not stop the session; after a crash every
/// further command reports that the hypervisor is not running, until a
/// `restart`.
pub fn run_session(
    file: &str,
    xen: &[u8],
    lines: &[Line],
    opts: &Options,
    files: &mut FileReader<'_>,
    output: &mut Output<'_>,
) -> Result<Status, SimError> {
    if let Some(arch) = unexecuted::arm_machine(xen) {
        return unexecuted::run_session(file, xen, arch, lines, opts, files, output);
    }
    let mut hv = Hypervisor::boot(file, xen, opts.xen, opts.timeout)?;
    hv.set_cpu_features(&opts.cpu_features)
        .map_err(|message| SimError::Usage { line: 0, message })?;
    let tool = session_tool(lines, opts, files);
    let mut worst = Status::Ok;
    for line in lines {
        let status = session::run_line(&mut hv, line, tool, files, output).map_err(io_error)?;
        worst = match (worst, status) {
            (Status::Crashed, _) | (_, Status::Crashed) => Status::Crashed,
            (Status::Ok, s) => s,
            (w, _) => w,
        };
    }
    Ok(worst)
}

/// The tool a session speaks as: that of the release `opts.xen` when given;
/// otherwise that of the newest release loading the ABI of the first payload
/// the script uploads (read through `files`); the newest tool when there is
/// none or it is not a payload.
pub fn session_tool(lines: &[Line], opts: &Options, files: &mut FileReader<'_>) -> Tool {
    if let Some(v) = &opts.xen {
        return Tool::for_release(v);
    }
    let first = lines.iter().find_map(|l| match &l.command {
        Command::Upload { file, .. } | Command::Load { file, .. } => Some(file),
        _ => None,
    });
    first
        .and_then(|f| files(f).ok())
        .and_then(|bytes| payload_abi(&bytes))
        .map_or(Tool::XenLivepatchMetadata, Tool::for_abi)
}

fn io_error(source: io::Error) -> SimError {
    SimError::Host {
        what: "cannot write the session's output".into(),
        source,
    }
}
