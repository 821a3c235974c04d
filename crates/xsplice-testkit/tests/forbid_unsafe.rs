//! Every crate of the workspace that has no `unsafe` code says so with
//! `#![forbid(unsafe_code)]`, so that none can gain some unnoticed.
//!
//! A crate here is one root file (`src/lib.rs`, `src/main.rs`,
//! `src/bin/*.rs`) with the modules it declares, followed as rustc follows
//! them (`mod name;` is `name.rs` or `name/mod.rs` beside the root, or
//! under the declaring module's own directory).

use std::path::{Path, PathBuf};

/// The files of the module declared as `mod name;` in `file`.
fn module_file(file: &Path, name: &str) -> Option<PathBuf> {
    let dir = file.parent()?;
    let stem = file.file_stem()?.to_str()?;
    let base = if matches!(stem, "lib" | "main" | "mod") || dir.ends_with("bin") {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// The names of the out-of-line modules `text` declares.
fn declared_modules(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line
                .strip_prefix("pub(crate) ")
                .or_else(|| line.strip_prefix("pub "))
                .unwrap_or(line);
            let name = line.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim())
        })
        .collect()
}

/// The root file and every module file of its crate.
fn crate_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.to_path_buf()];
    let mut i = 0;
    while i < files.len() {
        let text = std::fs::read_to_string(&files[i]).unwrap();
        for name in declared_modules(&text) {
            if let Some(p) = module_file(&files[i], name)
                && !files.contains(&p)
            {
                files.push(p);
            }
        }
        i += 1;
    }
    files
}

/// True if `text` has unsafe code of its own: a block, function, impl or
/// trait (comments and strings that mention the word do not count).
fn has_unsafe(text: &str) -> bool {
    text.lines().any(|line| {
        let code = line.split("//").next().unwrap_or("");
        ["unsafe {", "unsafe fn ", "unsafe impl", "unsafe trait "]
            .iter()
            .any(|pat| code.contains(pat))
    })
}

fn crate_roots(package: &Path) -> Vec<PathBuf> {
    let src = package.join("src");
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .filter(|p| p.is_file())
        .collect();
    if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
        roots.extend(
            bins.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "rs")),
        );
    }
    roots.sort();
    roots
}

#[test]
fn the_module_walk_finds_what_rustc_would() {
    let root = xsplice_testkit::workspace_root();
    let files = crate_files(&root.join("crates/xsplice-sim/src/lib.rs"));
    for module in ["hv.rs", "host.rs", "loader.rs"] {
        assert!(
            files.iter().any(|f| f.ends_with(module)),
            "{module} not in {files:?}"
        );
    }
    assert!(!files.iter().any(|f| f.ends_with("main.rs")), "{files:?}");
    assert!(has_unsafe("    let p = unsafe { libc::mmap(0) };"));
    assert!(!has_unsafe(
        "// unsafe { is mentioned }\n#![forbid(unsafe_code)]"
    ));
}

#[test]
fn every_crate_without_unsafe_code_forbids_it() {
    let root = xsplice_testkit::workspace_root();
    let mut packages: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    packages.push(root.join("xtask"));
    packages.sort();
    let mut checked = 0;
    let mut problems = Vec::new();
    for package in &packages {
        for crate_root in crate_roots(package) {
            let files = crate_files(&crate_root);
            let unsafe_code = files
                .iter()
                .any(|f| has_unsafe(&std::fs::read_to_string(f).unwrap()));
            let text = std::fs::read_to_string(&crate_root).unwrap();
            checked += 1;
            if !unsafe_code && !text.contains("#![forbid(unsafe_code)]") {
                let rel = crate_root.strip_prefix(&root).unwrap_or(&crate_root);
                problems.push(format!(
                    "{}: no unsafe code, but no `#![forbid(unsafe_code)]`",
                    rel.display()
                ));
            }
        }
    }
    assert!(checked > 20, "found only {checked} crates");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
