//! The errno values the simulated hypercalls return: Xen's, from
//! `xsplice-abi`, which the validator's findings carry too, so that a
//! refusal at upload returns the errno the check was made with.

pub use xsplice_abi::Errno;
