//! The one error type of the build recipes.

use std::path::PathBuf;

/// Why a build step could not produce its outputs.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No C compiler for the architecture; names the Debian package to install.
    #[error("no C compiler for {arch}: tried {tried}; install the Debian package `{package}`")]
    NoCompiler {
        arch: String,
        tried: String,
        package: String,
    },
    /// An architecture name we do not know.
    #[error("unknown architecture `{0}` (expected x86_64, aarch64 or arm32)")]
    UnknownArch(String),
    /// An ABI name we do not know.
    #[error("unknown abi `{0}` (expected livepatch-v2, livepatch-v1, xsplice or xsplice-v4)")]
    UnknownAbi(String),
    /// A `payload.json` that does not parse or names unknown things.
    #[error("bad manifest `{path}`: {message}")]
    Manifest { path: PathBuf, message: String },
    /// No payload of that name or path.
    #[error(
        "no payload `{0}`: expected a directory of test-payloads/ or a path to a directory with a payload.json"
    )]
    NoPayload(String),
    /// A payload that cannot be built as asked (ABI or arch it does not
    /// support, a bad dependency).
    #[error("payload `{payload}`: {message}")]
    Payload { payload: String, message: String },
    /// A payload that should validate did not, or a must-fail payload did
    /// not fail the way its manifest says.
    #[error("{payload}: {message}\n{report}")]
    Validation {
        payload: String,
        message: String,
        report: String,
    },
    /// The real Xen could not be obtained, built or found in the cache.
    #[error("real xen: {0}")]
    RealXen(String),
    /// A file could not be read or written.
    #[error("{action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A command could not be started.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("{step} failed: `{command}` exited with {status}\n{stderr}")]
    Failed {
        step: String,
        command: String,
        status: String,
        stderr: String,
    },
}

impl BuildError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        BuildError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
