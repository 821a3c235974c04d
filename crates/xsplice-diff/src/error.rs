//! The one error type of the library: inputs it cannot read or does not
//! support. A difference it will not turn into a patch is not an error but
//! a [`crate::Verdict::Refused`] with its reasons.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DiffError {
    #[error("{path}: {detail}")]
    Malformed { path: String, detail: String },
    #[error("{path}: unsupported: {detail}")]
    Unsupported { path: String, detail: String },
    #[error("{orig} and {patched} were not built alike: {detail}")]
    Mismatch {
        orig: String,
        patched: String,
        detail: String,
    },
    #[error("{path}: cannot write the output object: {detail}")]
    Write { path: String, detail: String },
    #[error("{0}")]
    Abi(#[from] xsplice_abi::AbiError),
}

impl DiffError {
    pub(crate) fn malformed(path: &str, detail: impl Into<String>) -> Self {
        DiffError::Malformed {
            path: path.to_owned(),
            detail: detail.into(),
        }
    }
    pub(crate) fn unsupported(path: &str, detail: impl Into<String>) -> Self {
        DiffError::Unsupported {
            path: path.to_owned(),
            detail: detail.into(),
        }
    }
}
