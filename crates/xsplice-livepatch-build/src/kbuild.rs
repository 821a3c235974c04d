//! The `.<obj>.cmd` files Kbuild leaves beside every object: the exact
//! command that built it, its source and the headers it read.

use std::path::{Path, PathBuf};

use crate::Error;

/// How one object was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The object, relative to the build directory (`common/version.o`).
    pub object: PathBuf,
    /// The shell command (`cmd_<obj> := ...`), run from the build directory.
    pub command: String,
    /// The source (`source_<obj>`), relative to the build directory.
    pub source: PathBuf,
    /// Every file the compiler read (`deps_<obj>`), `$(wildcard)` entries
    /// left out.
    pub deps: Vec<PathBuf>,
}

impl Recorded {
    /// True when the command compiles to Kbuild's `.<obj>.tmp`, which
    /// `objcopy --redefine-sym` then turns into the object (with
    /// CONFIG_ENFORCE_UNIQUE_SYMBOLS), so that its `STT_FILE` symbol names
    /// the source by its path.
    pub fn via_tmp(&self) -> Option<PathBuf> {
        let tmp = tmp_path(&self.object);
        self.command
            .split_whitespace()
            .any(|w| Path::new(w) == tmp)
            .then_some(tmp)
    }

    /// True when `file` (relative to the build directory) is read by it.
    pub fn reads(&self, file: &Path) -> bool {
        self.source == file || self.deps.iter().any(|d| d == file)
    }
}

/// `dir/.name.o.tmp` for `dir/name.o`.
pub fn tmp_path(object: &Path) -> PathBuf {
    let name = object.file_name().unwrap_or_default().to_string_lossy();
    object.with_file_name(format!(".{name}.tmp"))
}

/// Parses one `.cmd` file's text; `None` when it records no compile (links,
/// `objcopy` steps and the like have no `source_` line).
pub fn parse(text: &str) -> Option<Recorded> {
    let mut object = None;
    let mut command = None;
    let mut source = None;
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        if in_deps {
            let entry = line.trim().trim_end_matches('\\').trim();
            if !entry.is_empty() && !entry.starts_with("$(wildcard") {
                deps.push(PathBuf::from(entry));
            }
            in_deps = line.trim_end().ends_with('\\');
            continue;
        }
        if let Some(rest) = line.strip_prefix("cmd_")
            && let Some((obj, cmd)) = rest.split_once(" := ")
        {
            object = Some(PathBuf::from(obj));
            command = Some(cmd.to_owned());
        } else if let Some(rest) = line.strip_prefix("source_")
            && let Some((_, src)) = rest.split_once(" := ")
        {
            source = Some(PathBuf::from(src.trim()));
        } else if line.starts_with("deps_") && line.contains(":=") {
            in_deps = line.trim_end().ends_with('\\');
        }
    }
    Some(Recorded {
        object: object?,
        command: command?,
        source: source?,
        deps,
    })
}

/// Every recorded compile under `build_dir`, in path order. Objects made
/// from another object (`*.init.o`) are left out: they hold only init code,
/// which a live patch never changes.
pub fn scan(build_dir: &Path) -> Result<Vec<Recorded>, Error> {
    let mut out = Vec::new();
    walk(build_dir, &mut out)?;
    out.sort_by(|a, b| a.object.cmp(&b.object));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Recorded>) -> Result<(), Error> {
    let read = std::fs::read_dir(dir).map_err(|e| Error::io("cannot read", dir, e))?;
    let mut entries: Vec<_> = read.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().into_owned();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if name.starts_with('.')
            && name.ends_with(".o.cmd")
            && !name.ends_with(".init.o.cmd")
        {
            let text =
                std::fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?;
            if let Some(r) = parse(&text)
                && (r.source.extension().is_some_and(|x| x == "c" || x == "S"))
            {
                out.push(r);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_kbuild_record() {
        let text = "cmd_common/version.o := gcc -O2 -c common/version.c -o common/.version.o.tmp -MQ common/version.o\n\nsource_common/version.o := common/version.c\n\ndeps_common/version.o := \\\n    $(wildcard include/config/debug.h) \\\n  include/xen/config.h \\\n  include/xen/compile.h \\\n\ncommon/version.o: $(deps_common/version.o)\n";
        let r = parse(text).unwrap();
        assert_eq!(r.object, Path::new("common/version.o"));
        assert_eq!(r.source, Path::new("common/version.c"));
        assert_eq!(
            r.deps,
            vec![
                PathBuf::from("include/xen/config.h"),
                PathBuf::from("include/xen/compile.h")
            ]
        );
        assert_eq!(r.via_tmp(), Some(PathBuf::from("common/.version.o.tmp")));
        assert!(r.reads(Path::new("include/xen/compile.h")));
        assert!(!r.reads(Path::new("include/xen/lib.h")));
    }

    #[test]
    fn a_link_record_is_not_a_compile() {
        assert_eq!(parse("cmd_prelink.o := ld -r -o prelink.o a.o b.o\n"), None);
    }
}
