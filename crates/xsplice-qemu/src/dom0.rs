//! The dom0's files, picked out of the unpacked packages: busybox, the real
//! `xen-livepatch` with its interpreter and every library it needs (found
//! by following `DT_NEEDED`), and the kernel modules that give dom0 the
//! privcmd device (`xen-privcmd`, `xenfs`, and what they depend on).
//!
//! A package's symbolic links may be absolute (`/lib64/ld-linux-x86-64.so.2`
//! points into `/lib/x86_64-linux-gnu/`); they are followed inside the
//! package roots, never on the host, so the guest gets Debian's files and
//! not the host's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cpio::Archive;
use crate::elf;
use crate::error::QemuError;
use crate::fetch::Packages;

/// Where libraries go in the guest (the init script sets `LD_LIBRARY_PATH`).
pub const LIB_DIR: &str = "lib";
/// Where modules go in the guest.
pub const MODULE_DIR: &str = "lib/modules";
/// The modules dom0 loads, by file name; their dependencies come first.
pub const MODULES: [&str; 2] = ["xen-privcmd.ko", "xenfs.ko"];

/// The files every boot's initramfs starts from.
#[derive(Clone, Debug)]
pub struct Dom0 {
    /// busybox, the tool, its libraries and the modules.
    pub base: Archive,
    /// Guest paths of the modules to load, in load order.
    pub modules: Vec<String>,
}

/// The guest's files out of the unpacked `packages`.
pub fn dom0(packages: &Packages) -> Result<Dom0, QemuError> {
    let roots: Vec<&Path> = packages.unpacked.iter().map(|u| u.root.as_path()).collect();
    let mut base = Archive::new();
    let add = |base: &mut Archive, path: &str, mode: u32, data: &[u8]| {
        base.file(path, mode, data)
            .map_err(|reason| QemuError::Package(format!("building the initramfs: {reason}")))
    };

    let busybox = packages.get("busybox-static")?;
    let data = read_in(&busybox.root, "bin/busybox", &roots)?;
    add(&mut base, "bin/busybox", 0o755, &data)?;

    let utils = packages.get(&format!("xen-utils-{}", packages.set.xen_series))?;
    let tool = format!("usr/lib/xen-{}/bin/xen-livepatch", packages.set.xen_series);
    let data = read_in(&utils.root, &tool, &roots)?;
    add(&mut base, "bin/xen-livepatch", 0o755, &data)?;
    for (guest, bytes) in libraries(&data, &roots)? {
        add(&mut base, &guest, 0o755, &bytes)?;
    }

    let kernel = packages.get(&packages.set.kernel)?;
    let mut modules = Vec::new();
    for (file, bytes) in modules_in_order(&kernel.root, &MODULES)? {
        let guest = format!("{MODULE_DIR}/{file}");
        add(&mut base, &guest, 0o644, &bytes)?;
        modules.push(format!("/{guest}"));
    }
    Ok(Dom0 { base, modules })
}

/// The interpreter (at its own path) and every library `program` needs,
/// transitively (in `lib/`), as (guest path, bytes).
fn libraries(program: &[u8], roots: &[&Path]) -> Result<Vec<(String, Vec<u8>)>, QemuError> {
    let bad = |file: &str, reason: String| QemuError::BadFile {
        file: file.to_string(),
        reason,
    };
    let top = elf::linkage(program).map_err(|r| bad("xen-livepatch", r))?;
    let mut out = Vec::new();
    if let Some(interp) = &top.interpreter {
        let rel = interp.trim_start_matches('/');
        let found = roots.iter().find_map(|r| resolve(r, rel, roots));
        let path = found.ok_or_else(|| {
            QemuError::Package(format!(
                "no package provides the interpreter `{interp}` of xen-livepatch"
            ))
        })?;
        let bytes = std::fs::read(&path).map_err(|e| QemuError::io("read", &path, e))?;
        out.push((rel.to_string(), bytes));
    }
    let mut queue = top.needed;
    let mut seen = BTreeMap::new();
    while let Some(soname) = queue.pop() {
        if seen.contains_key(&soname) {
            continue;
        }
        let path = find_library(&soname, roots).ok_or_else(|| {
            QemuError::Package(format!(
                "no package provides `{soname}`, which xen-livepatch needs"
            ))
        })?;
        let bytes = std::fs::read(&path).map_err(|e| QemuError::io("read", &path, e))?;
        let l = elf::linkage(&bytes).map_err(|r| bad(&path.display().to_string(), r))?;
        queue.extend(l.needed);
        seen.insert(soname, bytes);
    }
    out.extend(
        seen.into_iter()
            .map(|(soname, bytes)| (format!("{LIB_DIR}/{soname}"), bytes)),
    );
    Ok(out)
}

/// Where Debian puts shared libraries, in the order the dynamic linker of
/// an installed system would find them.
const LIBRARY_DIRS: [&str; 4] = [
    "lib/x86_64-linux-gnu",
    "usr/lib/x86_64-linux-gnu",
    "lib",
    "usr/lib",
];

fn find_library(soname: &str, roots: &[&Path]) -> Option<PathBuf> {
    LIBRARY_DIRS.iter().find_map(|dir| {
        roots
            .iter()
            .find_map(|r| resolve(r, &format!("{dir}/{soname}"), roots))
    })
}

/// Reads `rel` inside `root`, following links inside the package roots.
fn read_in(root: &Path, rel: &str, roots: &[&Path]) -> Result<Vec<u8>, QemuError> {
    let path = resolve(root, rel, roots).ok_or_else(|| {
        QemuError::Package(format!(
            "the package unpacked in `{}` has no `/{rel}`",
            root.display()
        ))
    })?;
    std::fs::read(&path).map_err(|e| QemuError::io("read", &path, e))
}

/// The regular file that `rel` names inside `root`, following symbolic
/// links: a relative link within `root`, an absolute one in whichever of
/// `roots` holds its target (the packages together make one file system).
fn resolve(root: &Path, rel: &str, roots: &[&Path]) -> Option<PathBuf> {
    let mut root = root.to_path_buf();
    let mut rel = normalise(rel)?;
    for _ in 0..40 {
        // Follow links in the directories on the way as well as the last part.
        let mut at = root.clone();
        let mut link = None;
        for (i, part) in rel.iter().enumerate() {
            at.push(part);
            let meta = std::fs::symlink_metadata(&at).ok()?;
            if meta.file_type().is_symlink() {
                link = Some((i, std::fs::read_link(&at).ok()?));
                break;
            }
        }
        let Some((i, target)) = link else {
            return at.is_file().then_some(at);
        };
        let rest = rel[i + 1..].join("/");
        let target = target.to_string_lossy().into_owned();
        if let Some(abs) = target.strip_prefix('/') {
            let joined = format!("{abs}/{rest}");
            rel = normalise(&joined)?;
            root = roots
                .iter()
                .find(|r| exists_through(r, &rel))
                .map_or(root, |r| r.to_path_buf());
        } else {
            let dir = rel[..i].join("/");
            rel = normalise(&format!("{dir}/{target}/{rest}"))?;
        }
    }
    None
}

/// Whether the first part of `rel` exists in `root` (enough to pick which
/// package an absolute link points into).
fn exists_through(root: &Path, rel: &[String]) -> bool {
    let mut at = root.to_path_buf();
    for part in rel {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    true
}

/// `a/./b/../c` as `["a", "c"]`; `None` when `..` climbs out.
fn normalise(path: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            p => out.push(p.to_string()),
        }
    }
    Some(out)
}

/// `wanted` (module file names) and their dependencies, dependencies first,
/// as (file name, bytes), from the kernel package unpacked in `root`.
fn modules_in_order(root: &Path, wanted: &[&str]) -> Result<Vec<(String, Vec<u8>)>, QemuError> {
    let base = root.join("lib").join("modules");
    let mut index = BTreeMap::new();
    index_modules(&base, &mut index)?;
    let mut order = Vec::new();
    for file in wanted {
        let name = elf::module_name_of_file(file);
        visit(&name, &index, &mut order, &mut Vec::new())?;
    }
    let mut out = Vec::new();
    for name in order {
        let path = &index[&name];
        let bytes = std::fs::read(path).map_err(|e| QemuError::io("read", path, e))?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((file, bytes));
    }
    Ok(out)
}

/// Every `*.ko` under `dir`, by the kernel's name of it.
fn index_modules(dir: &Path, index: &mut BTreeMap<String, PathBuf>) -> Result<(), QemuError> {
    let entries = std::fs::read_dir(dir).map_err(|e| QemuError::io("read", dir, e))?;
    for e in entries {
        let path = e.map_err(|e| QemuError::io("read", dir, e))?.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| QemuError::io("read", &path, e))?;
        if meta.is_dir() {
            index_modules(&path, index)?;
        } else if let Some(file) = path.file_name().map(|f| f.to_string_lossy().into_owned())
            && file.ends_with(".ko")
        {
            index.insert(elf::module_name_of_file(&file), path);
        }
    }
    Ok(())
}

/// Depth-first: a module's dependencies, then the module.
fn visit(
    name: &str,
    index: &BTreeMap<String, PathBuf>,
    order: &mut Vec<String>,
    path: &mut Vec<String>,
) -> Result<(), QemuError> {
    if order.iter().any(|n| n == name) {
        return Ok(());
    }
    if path.iter().any(|n| n == name) {
        return Err(QemuError::Package(format!(
            "kernel modules depend on each other in a cycle: {} -> {name}",
            path.join(" -> ")
        )));
    }
    let file = index
        .get(name)
        .ok_or_else(|| QemuError::Package(format!("the kernel package has no module `{name}`")))?;
    let bytes = std::fs::read(file).map_err(|e| QemuError::io("read", file, e))?;
    let info = elf::module_info(&bytes).map_err(|reason| QemuError::BadFile {
        file: file.display().to_string(),
        reason,
    })?;
    path.push(name.to_string());
    for dep in &info.depends {
        // `depends=` spells names as the files do (`xen-privcmd`).
        visit(&elf::module_name_of_file(dep), index, order, path)?;
    }
    path.pop();
    order.push(name.to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise() {
        assert_eq!(normalise("a/./b/../c").unwrap(), ["a", "c"]);
        assert_eq!(normalise("/lib64/x").unwrap(), ["lib64", "x"]);
        assert_eq!(normalise("a/../.."), None);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_inside_the_packages() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let (libc, other) = (t.path().join("libc6"), t.path().join("other"));
        std::fs::create_dir_all(libc.join("lib/x86_64-linux-gnu")).unwrap();
        std::fs::create_dir_all(libc.join("lib64")).unwrap();
        std::fs::create_dir_all(other.join("usr/lib")).unwrap();
        std::fs::write(libc.join("lib/x86_64-linux-gnu/ld.so.2"), b"ld").unwrap();
        // Absolute: must land in the package, not on the host.
        symlink("/lib/x86_64-linux-gnu/ld.so.2", libc.join("lib64/ld.so.2")).unwrap();
        symlink("../../libc6-elsewhere", other.join("usr/lib/up")).unwrap();
        symlink("ld.so.2", libc.join("lib/x86_64-linux-gnu/ld.so.2.link")).unwrap();
        let roots = [libc.as_path(), other.as_path()];
        assert_eq!(
            resolve(&libc, "lib64/ld.so.2", &roots),
            Some(libc.join("lib/x86_64-linux-gnu/ld.so.2"))
        );
        assert_eq!(
            resolve(&libc, "lib/x86_64-linux-gnu/ld.so.2.link", &roots),
            Some(libc.join("lib/x86_64-linux-gnu/ld.so.2"))
        );
        // From another package's root, an absolute link still finds libc6's file.
        symlink("/lib64/ld.so.2", other.join("usr/lib/ld")).unwrap();
        assert_eq!(
            resolve(&other, "usr/lib/ld", &roots),
            Some(libc.join("lib/x86_64-linux-gnu/ld.so.2"))
        );
        assert_eq!(resolve(&other, "usr/lib/up/x", &roots), None);
        assert_eq!(resolve(&libc, "lib/missing", &roots), None);
    }
}
