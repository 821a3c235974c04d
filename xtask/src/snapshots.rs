//! `cargo xtask snapshots --referenced FILE`: fails when a committed insta
//! snapshot was not asserted by the test run that wrote FILE, or when a
//! pending snapshot is lying in the tree.
//!
//! insta appends the path of every snapshot file an assertion reads to the
//! file named by `INSTA_SNAPSHOT_REFERENCES_FILE` (the mechanism behind
//! `cargo insta test --unreferenced=reject`), so CI runs the README's test
//! command once with that variable set and then this check: a stale
//! snapshot (its test renamed or removed) fails CI without running every
//! test a second time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::workspace_root;

#[derive(clap::Args)]
pub struct SnapshotArgs {
    /// The file a test run wrote with `INSTA_SNAPSHOT_REFERENCES_FILE`.
    #[arg(long, value_name = "FILE")]
    pub referenced: PathBuf,
}

pub fn run(args: SnapshotArgs) -> anyhow::Result<()> {
    let root = workspace_root();
    let text = std::fs::read_to_string(&args.referenced)
        .with_context(|| format!("reading `{}`", args.referenced.display()))?;
    let referenced: BTreeSet<PathBuf> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| canonical(Path::new(l)))
        .collect();
    let mut committed = Vec::new();
    let mut pending = Vec::new();
    for dir in ["crates", "xtask"] {
        snapshot_files(&root.join(dir), &mut committed, &mut pending);
    }
    if committed.is_empty() {
        bail!("no snapshot files found under `{}`", root.display());
    }
    if referenced.is_empty() {
        bail!(
            "`{}` names no snapshot: was the test run given INSTA_SNAPSHOT_REFERENCES_FILE?",
            args.referenced.display()
        );
    }
    let unreferenced: Vec<&PathBuf> = committed
        .iter()
        .filter(|p| !referenced.contains(&canonical(p)))
        .collect();
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    for p in &unreferenced {
        eprintln!("unreferenced snapshot: {}", rel(p));
    }
    for p in &pending {
        eprintln!("pending snapshot: {}", rel(p));
    }
    if !unreferenced.is_empty() || !pending.is_empty() {
        bail!(
            "{} unreferenced and {} pending snapshot(s): remove the stale ones, review the pending ones with `cargo insta review`",
            unreferenced.len(),
            pending.len()
        );
    }
    println!(
        "snapshots: all {} committed snapshots were asserted",
        committed.len()
    );
    Ok(())
}

/// The committed (`.snap`) and pending (`.snap.new`, `.pending-snap`)
/// snapshot files under `dir`, build output left out.
fn snapshot_files(dir: &Path, committed: &mut Vec<PathBuf>, pending: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if name != "target" {
                snapshot_files(&p, committed, pending);
            }
        } else if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            pending.push(p);
        } else if name.ends_with(".snap") {
            committed.push(p);
        }
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
