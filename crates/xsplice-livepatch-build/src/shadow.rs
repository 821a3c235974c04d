//! A shadow of a built tree: a directory of symbolic links to the tree,
//! made real only where the build must write (the files the patch changes
//! and the directories of the objects it rebuilds), so that the tree itself
//! is never written and a shadow costs milliseconds, not a copy of it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use xsplice_build::shell_quote;

use crate::Error;

pub struct Shadow {
    pub src: PathBuf,
    pub root: PathBuf,
    /// Directories made real, relative to the root.
    real: BTreeSet<PathBuf>,
}

fn q(p: &Path) -> String {
    shell_quote(p.as_os_str())
}

impl Shadow {
    /// Creates `root` (removing an old one) mirroring `src`'s top level.
    pub fn create(src: &Path, root: &Path, log: &mut dyn Write) -> Result<Shadow, Error> {
        if root.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(root).map_err(|e| Error::io("cannot remove", root, e))?;
            say(log, format!("rm -rf {}", q(root)));
        }
        std::fs::create_dir_all(root).map_err(|e| Error::io("cannot create", root, e))?;
        let mut s = Shadow {
            src: src.to_owned(),
            root: root.to_owned(),
            real: BTreeSet::new(),
        };
        s.fill(Path::new(""), &BTreeSet::new(), log)?;
        s.real.insert(PathBuf::new());
        Ok(s)
    }

    /// Makes directory `rel` and its parents real, leaving out of them the
    /// names in `skip` (build outputs that must not be links into the tree).
    pub fn unfold(
        &mut self,
        rel: &Path,
        skip: &BTreeSet<String>,
        log: &mut dyn Write,
    ) -> Result<(), Error> {
        let mut at = PathBuf::new();
        for c in rel.components() {
            at.push(c);
            if self.real.contains(&at) {
                continue;
            }
            let path = self.root.join(&at);
            std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            std::fs::create_dir(&path).map_err(|e| Error::io("cannot create", &path, e))?;
            let none = BTreeSet::new();
            let skip_here = if at == rel { skip } else { &none };
            self.fill(&at, skip_here, log)?;
            self.real.insert(at.clone());
        }
        if self.real.contains(rel) && !skip.is_empty() {
            // Already real: drop the outputs' links now.
            let mut removed = Vec::new();
            for name in skip {
                let p = self.root.join(rel).join(name);
                if p.symlink_metadata()
                    .is_ok_and(|m| m.file_type().is_symlink())
                {
                    std::fs::remove_file(&p).map_err(|e| Error::io("cannot remove", &p, e))?;
                    removed.push(q(&p));
                }
            }
            if !removed.is_empty() {
                say(log, format!("rm -f {}", removed.join(" ")));
            }
        }
        Ok(())
    }

    /// Replaces the link to `rel` (a file) by a copy, so that `patch` edits
    /// the copy; a file the patch creates only needs its directory.
    pub fn copy_file(&mut self, rel: &Path, log: &mut dyn Write) -> Result<(), Error> {
        if let Some(dir) = rel.parent() {
            self.unfold(dir, &BTreeSet::new(), log)?;
        }
        let from = self.src.join(rel);
        let to = self.root.join(rel);
        if from.is_file() {
            std::fs::remove_file(&to).map_err(|e| Error::io("cannot remove", &to, e))?;
            std::fs::copy(&from, &to).map_err(|e| Error::io("cannot write", &to, e))?;
            say(log, format!("rm {} && cp {} {}", q(&to), q(&from), q(&to)));
        }
        Ok(())
    }

    /// Links every entry of `src/rel` into `root/rel`, except `skip`.
    fn fill(&self, rel: &Path, skip: &BTreeSet<String>, log: &mut dyn Write) -> Result<(), Error> {
        let from = self.src.join(rel);
        let to = self.root.join(rel);
        let read = std::fs::read_dir(&from).map_err(|e| Error::io("cannot read", &from, e))?;
        let mut names: Vec<_> = read.filter_map(Result::ok).map(|e| e.file_name()).collect();
        names.sort();
        for name in &names {
            if skip.contains(name.to_string_lossy().as_ref()) {
                continue;
            }
            let link = to.join(name);
            std::os::unix::fs::symlink(from.join(name), &link)
                .map_err(|e| Error::io("cannot create", &link, e))?;
        }
        let mkdir = if rel.as_os_str().is_empty() {
            "mkdir -p"
        } else {
            "mkdir"
        };
        let mut line = format!(
            "{mkdir} {to} && for f in {from}/* {from}/.[!.]*; do ln -s \"$f\" {to}/; done",
            to = q(&to),
            from = q(&from),
        );
        if !skip.is_empty() {
            let gone: Vec<String> = skip.iter().map(|n| q(&to.join(n))).collect();
            line.push_str(&format!(" && rm -f {}", gone.join(" ")));
        }
        say(log, line);
        Ok(())
    }
}

fn say(log: &mut dyn Write, line: String) {
    let _ = writeln!(log, "{line}");
}
