//! Shared by the pipeline tests: the tool binaries, the stand-in per
//! architecture, and one call that builds a payload into a given root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use xsplice_abi::Abi;
use xsplice_build::{Arch, BuildError, Built, Request, Tools, build_payload, find_payload};

pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| Tools {
        config: xsplice_testkit::tool_binary("xsplice-config"),
        link: xsplice_testkit::tool_binary("xsplice-link"),
        validate: xsplice_testkit::tool_binary("xsplice-validate"),
    })
}

pub fn root() -> PathBuf {
    xsplice_testkit::workspace_root()
}

/// Builds `name` for `abi`/`arch` against `xen` into `out`, with the
/// commands printed into the returned log.
pub fn build(
    workspace: &Path,
    name: &str,
    abi: Abi,
    arch: Arch,
    xen: &Path,
    out: &Path,
    force: bool,
) -> (Result<Built, BuildError>, String) {
    let payload = find_payload(workspace, name).expect("payload in the suite");
    let req = Request {
        workspace,
        abi,
        arch,
        xen_syms: xen,
        out_root: out,
        force,
        tools: tools(),
    };
    let mut log = Vec::new();
    let result = build_payload(&payload, &req, &mut log);
    (result, String::from_utf8(log).unwrap())
}
