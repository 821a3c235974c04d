//! The crate's one error type: what stops a run itself. A hypercall that
//! fails, or a hypervisor that crashes or hangs, is a result reported in the
//! transcript, not an error.

use std::path::PathBuf;

/// Why a run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// A file could not be read or written.
    #[error("cannot {what} `{}`: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A program could not be started.
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("`{command}` failed ({status}){}", tail(.stderr))]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// A Debian package is unknown, or lacks a file the guest needs.
    #[error("{0}")]
    Package(String),
    /// A file is not what it should be (an ELF, a kernel module).
    #[error("`{file}`: {reason}")]
    BadFile { file: String, reason: String },
    /// A payload cannot be put into the guest at the path the script names.
    #[error("cannot place `{}` in the guest: {reason}", path.display())]
    Placement { path: PathBuf, reason: String },
    /// `restart` was given to a single boot, which it would end.
    #[error("`restart` cannot run inside a boot: it starts the next one")]
    RestartInBoot,
    /// The machine did not reach the point where it runs commands.
    #[error("the machine did not boot: {reason}{}", tail(.console))]
    Boot { reason: String, console: String },
    /// The guest's replies on the serial console were garbled.
    #[error("garbled reply from the guest for command {index}: {reason}")]
    Protocol { index: usize, reason: String },
    /// The session's output could not be written.
    #[error("cannot write the session's output: {0}")]
    Output(#[source] std::io::Error),
}

impl QemuError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        QemuError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// The last lines of a program's error output or of the console, indented
/// under the message, or nothing when there are none.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(30);
    let mut out = String::from(":");
    for l in &lines[start..] {
        out.push_str("\n  ");
        out.push_str(l);
    }
    out
}
