//! The crate's one error type: what stops the simulator itself, as opposed
//! to a hypercall that fails with a Xen errno (those are [`crate::Errno`]
//! values reported in the session's output, like the real tool does).

use crate::host::Death;

/// Why the simulator cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The simulator runs the image's x86-64 code natively.
    #[error(
        "not supported on this host ({arch}-{os}): the simulator runs x86_64 code natively on x86_64 linux"
    )]
    UnsupportedHost {
        arch: &'static str,
        os: &'static str,
    },
    /// The hypervisor image cannot be used.
    #[error("`{file}` is not a usable stand-in hypervisor: {reason}")]
    BadImage { file: String, reason: String },
    /// A symbol the simulator needs is missing from the image.
    #[error("symbol `{symbol}` not found in `{file}`")]
    MissingSymbol { file: String, symbol: String },
    /// The image is for another architecture.
    #[error("`{file}` is an image for {arch}; the simulator runs x86_64 images only")]
    WrongArch { file: String, arch: String },
    /// Talking to the child process failed.
    #[error("{what}: {source}")]
    Host {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The hypervisor process died (a fault in the image or a payload).
    #[error("the hypervisor process died: {}", describe(.0))]
    Crashed(Death),
    /// A script line is not a command.
    #[error("line {line}: {message}")]
    Usage { line: usize, message: String },
    /// The script file or standard input cannot be read.
    #[error("reading {what}: {error}")]
    ReadScript { what: String, error: std::io::Error },
    /// Neither a script nor a command was given.
    #[error("no command given (try --help)")]
    NoCommand,
}

/// How the hypervisor process ended, in a few words.
pub(crate) fn describe(d: &Death) -> String {
    if let Some(m) = &d.panic {
        return format!("panic: {m}");
    }
    if d.hung {
        return "it stopped answering and was killed".into();
    }
    match (d.signal, d.exit_code) {
        (Some(s), _) => crate::host::signal_name(s),
        (None, Some(c)) => format!("exit status {c}"),
        (None, None) => "unknown cause".into(),
    }
}
