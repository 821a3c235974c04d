//! Which files a unified diff touches, as `patch -p1` would name them.

use std::path::{Component, Path, PathBuf};

use crate::Error;

/// The files `patch -p1` would write, relative to the tree's top: the
/// `+++` side of each file (the `---` side for a deletion).
pub fn touched_files(patch: &str, path: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut old: Option<&str> = None;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("--- ") {
            old = Some(rest);
        } else if let Some(rest) = line.strip_prefix("+++ ")
            && let Some(old) = old.take()
        {
            let name = if file_name(rest) == "/dev/null" {
                old
            } else {
                rest
            };
            let file = strip_one(file_name(name)).ok_or_else(|| Error::Patch {
                path: path.to_owned(),
                detail: format!(
                    "cannot take `{name}` with -p1: it must be `a/PATH` or `b/PATH` inside the tree"
                ),
            })?;
            if !out.contains(&file) {
                out.push(file);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Patch {
            path: path.to_owned(),
            detail: "no file in it: expected a unified diff (`--- a/FILE`, `+++ b/FILE`)".into(),
        });
    }
    Ok(out)
}

/// The name on a `---`/`+++` line, without the tab and date after it.
fn file_name(rest: &str) -> &str {
    rest.split('\t').next().unwrap_or(rest).trim_end()
}

/// `a/xen/common/version.c` → `xen/common/version.c`; refuses anything that
/// would leave the tree.
fn strip_one(name: &str) -> Option<PathBuf> {
    let (_, rest) = name.split_once('/')?;
    let p = PathBuf::from(rest);
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(p)
        .filter(|p| !p.as_os_str().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_as_patch_p1_does() {
        let diff = "diff --git a/xen/common/version.c b/xen/common/version.c\n--- a/xen/common/version.c\t2026-01-01\n+++ b/xen/common/version.c\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/xen/common/new.c\n@@ -0,0 +1 @@\n+c\n";
        assert_eq!(
            touched_files(diff, Path::new("p.patch")).unwrap(),
            vec![
                PathBuf::from("xen/common/version.c"),
                PathBuf::from("xen/common/new.c")
            ]
        );
    }

    #[test]
    fn refuses_paths_outside_the_tree() {
        let diff = "--- a/../etc/passwd\n+++ b/../etc/passwd\n";
        let e = touched_files(diff, Path::new("p.patch")).unwrap_err();
        assert!(e.to_string().contains("inside the tree"), "{e}");
        assert!(touched_files("hello\n", Path::new("p.patch")).is_err());
    }
}
