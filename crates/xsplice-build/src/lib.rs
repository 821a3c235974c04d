//! Building the C side of xsplice: the stand-in hypervisor and the payloads.
//!
//! `cargo xtask target`, `cargo xtask payload` and the tests of every crate
//! need the same artefacts built the same way, so the recipes live here once
//! rather than in xtask (which tests cannot call) or in the test kit (which
//! xtask should not depend on). Unlike the tool libraries this crate runs
//! processes and touches files: it is automation, not part of the toolchain.

#![forbid(unsafe_code)]

mod arch;
mod cmd;
mod error;
mod hash;
mod lock;
mod manifest;
mod pipeline;
mod realxen;
mod standin;

pub use arch::{Arch, BASE_CFLAGS};
pub use cmd::{CommandLine, shell_quote};
pub use error::BuildError;
pub use lock::OutLock;
pub use manifest::{Manifest, Payload, find_payload, parse_abi, suite};
pub use pipeline::{
    Built, Outcome, Request, Tools, abi_macro, build_payload, compile_command, error_ids,
    payload_file_name, payload_out_dir, warning_ids,
};
pub use realxen::{
    DebianXen, REPRODUCIBLE_ENV, RealXen, RealXenRequest, build_real_xen, cache_root,
    load_real_xen, manifest_path,
};
pub use standin::{
    StandIn, build_stand_in, build_stand_in_tree, stand_in_path, stand_in_tree_sources,
};
