//! `payload.json`: what a payload in `test-payloads/<name>/` is made of and
//! what building it must prove.
//!
//! The manifest is data, so that `cargo xtask payload`, `--all` and the tests
//! all read the same description and no payload is special-cased in code.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use xsplice_abi::Abi;

use crate::{Arch, BuildError};

/// The manifest as written in `payload.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// One sentence for people.
    pub description: String,
    /// C files holding the new code (step 1), relative to the payload directory.
    #[serde(default)]
    pub new_sources: Vec<String>,
    /// The C file holding the `.funcs` entry and hooks (step 3); it includes `config.h`.
    pub funcs_source: String,
    /// The hypervisor function the payload patches.
    pub patches: String,
    /// `xsplice-config --define` specs (`NAME=KIND:FILE:SYMBOL`), where FILE
    /// is `{xen}` (the target image) or `{new}` (the first new object).
    #[serde(default)]
    pub config: Vec<String>,
    /// What `.livepatch.depends` names: `xen`, or another payload's name.
    pub depends: String,
    /// Whether to emit `.livepatch.xen_depends` (ABIs that have it).
    #[serde(default = "yes")]
    pub xen_depends: bool,
    /// `KEY=VALUE` strings for `.modinfo` (ABIs that have it).
    #[serde(default)]
    pub modinfo: Vec<String>,
    /// ABI names the payload supports.
    pub abis: Vec<String>,
    /// Architectures the payload supports.
    pub arches: Vec<String>,
    /// For must-fail payloads: the check id validation must fail with, alone.
    #[serde(default)]
    pub expect_failure: Option<String>,
}

fn yes() -> bool {
    true
}

/// A payload directory and its parsed manifest.
#[derive(Debug, Clone)]
pub struct Payload {
    pub name: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub abis: Vec<Abi>,
    pub arches: Vec<Arch>,
}

impl Payload {
    /// Reads `<dir>/payload.json`; the payload's name is the directory's name.
    pub fn load(dir: &Path) -> Result<Payload, BuildError> {
        let path = dir.join("payload.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| BuildError::io("cannot read", &path, e))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| BuildError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let bad = |message: String| BuildError::Manifest {
            path: path.clone(),
            message,
        };
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .ok_or_else(|| bad("the payload directory has no name".into()))?;
        let abis = manifest
            .abis
            .iter()
            .map(|a| parse_abi(a).map_err(|e| bad(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let arches = manifest
            .arches
            .iter()
            .map(|a| Arch::parse(a).map_err(|e| bad(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if manifest.config.iter().any(|c| c.contains("{new}")) && manifest.new_sources.is_empty() {
            return Err(bad(
                "config uses `{new}` but there are no new_sources".into()
            ));
        }
        Ok(Payload {
            name,
            dir: dir.to_path_buf(),
            manifest,
            abis,
            arches,
        })
    }

    /// Whether the payload is built for `abi` on `arch`: listed in the
    /// manifest and an architecture the ABI's hypervisors ran on.
    pub fn supports(&self, abi: Abi, arch: Arch) -> bool {
        self.abis.contains(&abi)
            && self.arches.contains(&arch)
            && abi.arches().iter().any(|a| a.name() == arch.name())
    }

    /// The payload this one stacks on, if it is not the hypervisor itself;
    /// looked up as a sibling directory.
    pub fn dependency(&self) -> Result<Option<Payload>, BuildError> {
        if self.manifest.depends == "xen" {
            return Ok(None);
        }
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        Payload::load(&parent.join(&self.manifest.depends)).map(Some)
    }
}

/// Parses an ABI name (`livepatch-v2`, `livepatch-v1`, `xsplice`, `xsplice-v4`).
pub fn parse_abi(name: &str) -> Result<Abi, BuildError> {
    Abi::ALL
        .into_iter()
        .find(|a| a.name() == name)
        .ok_or_else(|| BuildError::UnknownAbi(name.to_owned()))
}

/// Finds a payload by name under `<workspace>/test-payloads/`, or by path.
pub fn find_payload(workspace: &Path, name_or_path: &str) -> Result<Payload, BuildError> {
    let in_suite = workspace.join("test-payloads").join(name_or_path);
    if !name_or_path.contains('/') && in_suite.join("payload.json").is_file() {
        return Payload::load(&in_suite);
    }
    let path = Path::new(name_or_path);
    if path.join("payload.json").is_file() {
        return Payload::load(path);
    }
    Err(BuildError::NoPayload(name_or_path.to_owned()))
}

/// Every payload of the suite (directories of `test-payloads/` with a
/// `payload.json`), sorted by name.
pub fn suite(workspace: &Path) -> Result<Vec<Payload>, BuildError> {
    let root = workspace.join("test-payloads");
    let entries = std::fs::read_dir(&root).map_err(|e| BuildError::io("cannot list", &root, e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("payload.json").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| Payload::load(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "description": "d",
        "new_sources": ["f.c"],
        "funcs_source": "p.c",
        "patches": "xen_extra_version",
        "config": ["NEW_CODE_SZ=size:{new}:f"],
        "depends": "xen",
        "abis": ["livepatch-v2", "xsplice-v4"],
        "arches": ["x86_64", "arm32"]
    }"#;

    /// Loads `json` as `<tmp>/p/payload.json`; returns the payload or the
    /// error message.
    fn check(json: &str) -> Result<Payload, String> {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("payload.json"), json).unwrap();
        Payload::load(&dir).map_err(|e| {
            // Drop the temporary directory's path from the message.
            let msg = e.to_string();
            msg[msg.find("payload.json").unwrap_or(0)..].to_owned()
        })
    }

    #[test]
    fn good_manifest() {
        let p = check(GOOD).unwrap();
        assert_eq!(p.name, "p");
        assert!(p.manifest.xen_depends, "xen_depends defaults to true");
        assert!(p.supports(Abi::LivepatchV2, Arch::Arm32));
        // xsplice-v4 hypervisors only ran on x86.
        assert!(p.supports(Abi::XspliceV4, Arch::X86_64));
        assert!(!p.supports(Abi::XspliceV4, Arch::Arm32));
        assert!(!p.supports(Abi::LivepatchV1, Arch::X86_64));
        assert!(!p.supports(Abi::LivepatchV2, Arch::Aarch64));
    }

    #[test]
    fn bad_manifests() {
        let err = |json: String| check(&json).unwrap_err();
        assert!(
            err(GOOD.replace("\"patches\"", "\"patched\"")).contains("unknown field `patched`")
        );
        assert!(err(GOOD.replace("xsplice-v4", "xsplice-v9")).ends_with(
            "unknown abi `xsplice-v9` (expected livepatch-v2, livepatch-v1, xsplice or xsplice-v4)"
        ));
        assert!(err(GOOD.replace("arm32", "mips")).contains("unknown architecture `mips`"));
        assert!(
            err(GOOD.replace("\"f.c\"", ""))
                .ends_with("config uses `{new}` but there are no new_sources")
        );
        assert!(err("{".into()).contains("EOF"));
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            Payload::load(tmp.path()),
            Err(BuildError::Io { .. })
        ));
    }

    #[test]
    fn unknown_payload() {
        let tmp = tempfile::tempdir().unwrap();
        let e = find_payload(tmp.path(), "nope").unwrap_err();
        assert!(e.to_string().starts_with("no payload `nope`"), "{e}");
    }
}
