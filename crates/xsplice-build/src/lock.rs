//! A lock on an output root, so that builds in different processes (test
//! binaries, `cargo xtask`, several checkouts' tests at once) never write
//! the same step's outputs at the same time.
//!
//! The lock is a directory: `mkdir` is atomic on every file system we run
//! on and needs no platform code. A lock left behind by a killed process is
//! taken over once it is older than `STALE`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::BuildError;

/// Longer than any single build of the suite takes.
const STALE: Duration = Duration::from_secs(300);

/// Held while building into an output root; released on drop.
#[derive(Debug)]
pub struct OutLock {
    path: PathBuf,
}

impl OutLock {
    /// Waits until `<out_root>/.lock` can be created.
    pub fn acquire(out_root: &Path) -> Result<OutLock, BuildError> {
        OutLock::acquire_for(out_root, STALE)
    }

    /// As [`OutLock::acquire`], for work that may hold the lock for up to
    /// `stale` (building a whole hypervisor takes minutes).
    pub fn acquire_for(out_root: &Path, stale: Duration) -> Result<OutLock, BuildError> {
        std::fs::create_dir_all(out_root)
            .map_err(|e| BuildError::io("cannot create", out_root, e))?;
        let path = out_root.join(".lock");
        let start = std::time::Instant::now();
        let mut told = false;
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(OutLock { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|a| a > stale) {
                        let _ = std::fs::remove_dir(&path);
                    } else {
                        if !told && start.elapsed() > Duration::from_secs(5) {
                            eprintln!(
                                "waiting for `{}`: another build is writing there",
                                path.display()
                            );
                            told = true;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                Err(e) => return Err(BuildError::io("cannot create", &path, e)),
            }
        }
    }
}

impl Drop for OutLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_for_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let first = OutLock::acquire(tmp.path()).unwrap();
        let root = tmp.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _second = OutLock::acquire(&root).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "lock not held"
        );
        drop(first);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("lock not released");
        waiter.join().unwrap();
        assert!(!tmp.path().join(".lock").exists());
    }
}
