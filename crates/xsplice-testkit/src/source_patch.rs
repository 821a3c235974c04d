//! The `xsplice-build` binary on a source patch, as the tests of the
//! livepatch-build and QEMU crates drive it, and what they read back from
//! the payload it makes.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{dir_entries, run, tool_binary};

/// One run of `xsplice-build`. Shown with `{}`, it is the command line,
/// the exit code and both streams: what a failing test prints.
pub struct BuildRun {
    pub cmd: Command,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for BuildRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} (exit {})\nstdout:\n{}\nstderr:\n{}",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

impl BuildRun {
    /// The payload's path, which `xsplice-build` prints last.
    pub fn payload(&self) -> PathBuf {
        PathBuf::from(self.stdout.lines().last().expect("the payload's path"))
    }
}

/// Runs `xsplice-build -s srcdir -p patch -o out`, then the arguments
/// `more`; the linker and the validator it runs are built first.
pub fn xsplice_build(srcdir: &Path, patch: &Path, out: &Path, more: &[&OsStr]) -> BuildRun {
    for t in ["xsplice-link", "xsplice-validate"] {
        tool_binary(t);
    }
    let mut cmd = Command::new(tool_binary("xsplice-build"));
    cmd.arg("-s")
        .arg(srcdir)
        .arg("-p")
        .arg(patch)
        .arg("-o")
        .arg(out)
        .args(more);
    let (code, stdout, stderr) = run(&mut cmd);
    BuildRun {
        cmd,
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The `NAME.patch` files of `dir`, in name order.
pub fn patch_files(dir: &Path) -> Vec<PathBuf> {
    dir_entries(dir)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect()
}

/// The text of the manifest `NAME.json` beside `NAME.patch`, and its path.
pub fn manifest_text(patch: &Path) -> (PathBuf, String) {
    let json = patch.with_extension("json");
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("`{}` has no manifest: {e}", patch.display()));
    (json, text)
}

/// The `.livepatch.funcs` names of a payload, from `xsplice-inspect`.
pub fn funcs_names(payload: &Path) -> Vec<String> {
    let mut cmd = Command::new(tool_binary("xsplice-inspect"));
    cmd.arg(payload);
    let (code, stdout, stderr) = run(&mut cmd);
    let text = String::from_utf8_lossy(&stdout);
    assert_eq!(
        code,
        0,
        "{cmd:?}\n{text}{}",
        String::from_utf8_lossy(&stderr)
    );
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix('[')?;
            let (_, name) = rest.split_once("] \"")?;
            Some(name.strip_suffix('"')?.to_owned())
        })
        .collect()
}

/// A Kbuild-style source tree of the x86_64 stand-in at `dir/tree`, for
/// `xsplice-build` to patch; `None` after reporting a skip when the
/// stand-in cannot be built here.
pub fn stand_in_tree(dir: &Path) -> Option<PathBuf> {
    crate::stand_in_xen("x86_64")?;
    let tree = dir.join("tree");
    xsplice_build::build_stand_in_tree(
        &crate::workspace_root(),
        &tree,
        xsplice_build::Arch::X86_64,
    )
    .unwrap();
    Some(tree)
}
