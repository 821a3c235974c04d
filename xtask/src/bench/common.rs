//! Timing and peak-memory measurement shared by the benchmarks.
//!
//! Every benchmark compares our tool with reference tools on the same
//! inputs. To keep the comparison fair on a shared, noisy machine, the
//! commands run alternately (ours, theirs, ours, theirs, ...) after a
//! warm-up round that fills the page cache, and each is summarised by its
//! median wall time. Peak memory is the child's own `ru_maxrss`, read with
//! `wait4`, so it is per command and never includes xtask itself.
//!
//! Typical use:
//! ```ignore
//! let cmds = [Cmd::new("xsplice-nm", &ours).args(["--defined", "-S", f]),
//!             Cmd::new("GNU nm", "nm").args(["--defined", "-S", f])];
//! let stats = measure(&cmds, 1, runs)?;
//! println!("{}", table("libLLVM", &stats));
//! ```

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// One command to measure, with a label for the table.
#[derive(Clone, Debug)]
pub struct Cmd {
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
}

impl Cmd {
    pub fn new(label: impl Into<String>, program: impl AsRef<Path>) -> Self {
        Cmd {
            label: label.into(),
            program: program.as_ref().to_path_buf(),
            args: Vec::new(),
            env: vec![("LC_ALL".into(), "C".into())],
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    #[allow(dead_code)] // for benchmarks that set more than LC_ALL
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// The command line, for messages and for reproducing a run by hand.
    pub fn display(&self) -> String {
        let mut s = self.program.display().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    /// Runs the command once and returns its stdout; fails on a non-zero
    /// exit status. Used to check that tools agree before timing them.
    pub fn output(&self) -> anyhow::Result<Vec<u8>> {
        let out = self
            .command()
            .stderr(Stdio::null())
            .output()
            .with_context(|| format!("running {}", self.display()))?;
        if !out.status.success() {
            bail!("{} exited with {}", self.display(), out.status);
        }
        Ok(out.stdout)
    }
}

/// One run: wall time, CPU time (user + system) and the child's peak
/// resident set. CPU time is less sensitive than wall time to other load
/// on the machine, so tables show both.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub wall: Duration,
    pub cpu: Duration,
    pub max_rss_kib: u64,
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

/// Runs `cmd` once with stdout and stderr discarded, and measures it.
pub fn run_once(cmd: &Cmd) -> anyhow::Result<Sample> {
    let mut command = cmd.command();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", cmd.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's `Child` only
    // reaps in `wait`, which we never call); both pointers are valid for
    // the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if rc != pid {
        bail!(
            "wait4 on {} failed: {}",
            cmd.display(),
            std::io::Error::last_os_error()
        );
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{} failed (wait status {status:#x})", cmd.display());
    }
    Ok(Sample {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
    })
}

/// The summary of one command over all its runs.
#[derive(Clone, Debug)]
pub struct Stats {
    pub label: String,
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
    /// Median CPU time (user + system).
    pub cpu: Duration,
    /// The largest peak RSS over the runs.
    pub max_rss_kib: u64,
    /// The peak RSS `/bin/true` reports when started the same way: Linux
    /// charges a child with its parent's resident set at `exec`, so no
    /// child of this process can report less. A tool at the floor used at
    /// most that much, and the table says so rather than print a false
    /// equality.
    pub rss_floor_kib: u64,
    pub runs: usize,
}

/// Runs every command `warmup` times, then `runs` rounds in which each
/// command runs once, in order, so that drift in machine load hits all of
/// them alike. Returns one [`Stats`] per command, in the same order.
pub fn measure(cmds: &[Cmd], warmup: usize, runs: usize) -> anyhow::Result<Vec<Stats>> {
    anyhow::ensure!(runs > 0, "at least one run is needed");
    let rss_floor_kib = run_once(&Cmd::new("floor", "true"))?.max_rss_kib;
    for _ in 0..warmup {
        for cmd in cmds {
            run_once(cmd)?;
        }
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::with_capacity(runs); cmds.len()];
    for _ in 0..runs {
        for (cmd, s) in cmds.iter().zip(&mut samples) {
            s.push(run_once(cmd)?);
        }
    }
    Ok(cmds
        .iter()
        .zip(samples)
        .map(|(cmd, s)| {
            let mut walls: Vec<Duration> = s.iter().map(|x| x.wall).collect();
            walls.sort();
            let mut cpus: Vec<Duration> = s.iter().map(|x| x.cpu).collect();
            cpus.sort();
            Stats {
                label: cmd.label.clone(),
                median: median(&walls),
                min: walls[0],
                max: walls[walls.len() - 1],
                cpu: median(&cpus),
                max_rss_kib: s.iter().map(|x| x.max_rss_kib).max().unwrap_or(0),
                rss_floor_kib,
                runs: walls.len(),
            }
        })
        .collect())
}

fn median(sorted: &[Duration]) -> Duration {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

/// A Markdown table of `stats`; the first row is ours, and every other row
/// gets its wall time, CPU time and peak memory as a multiple of ours
/// ("4.1×" means that tool takes 4.1 times as long, or as much memory).
pub fn table(title: &str, stats: &[Stats]) -> String {
    let mut s = format!(
        "{title}\n\n| tool | median wall | min–max wall | median CPU | peak RSS | wall vs ours | CPU vs ours | RSS vs ours |\n|---|---|---|---|---|---|---|---|\n"
    );
    let Some(base) = stats.first() else {
        return s;
    };
    let ratio = |a: f64, b: f64| format!("{:.2}×", a / b.max(1e-9));
    let at_floor = |st: &Stats| st.max_rss_kib <= st.rss_floor_kib + st.rss_floor_kib / 50;
    let mut floored = false;
    for st in stats {
        let (rss, rss_ratio) = if at_floor(st) || at_floor(base) {
            floored = true;
            let shown = if at_floor(st) { "≤ " } else { "" };
            (
                format!("{shown}{:.1} MB", st.max_rss_kib as f64 / 1024.0),
                "n/a".to_owned(),
            )
        } else {
            (
                format!("{:.1} MB", st.max_rss_kib as f64 / 1024.0),
                ratio(st.max_rss_kib as f64, base.max_rss_kib as f64),
            )
        };
        s.push_str(&format!(
            "| {} | {} | {}–{} | {} | {} | {} | {} | {} |\n",
            st.label,
            ms(st.median),
            ms(st.min),
            ms(st.max),
            ms(st.cpu),
            rss,
            ratio(st.median.as_secs_f64(), base.median.as_secs_f64()),
            ratio(st.cpu.as_secs_f64(), base.cpu.as_secs_f64()),
            rss_ratio,
        ));
    }
    if floored {
        s.push_str(&format!(
            "\n≤: at the floor of {:.1} MB that any child of xtask reports (Linux charges a child with its parent's resident set at exec), so the tool's own peak is not measured here.\n",
            base.rss_floor_kib as f64 / 1024.0
        ));
    }
    s.push_str(&format!(
        "\n{} rounds after one warm-up round, commands alternated.\n",
        base.runs
    ));
    s
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// `nproc` and the CPU model from /proc/cpuinfo, for recording results.
pub fn machine_description() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs (nproc), {model}")
}

/// Builds a workspace binary in release mode and returns its path
/// (honouring `CARGO_TARGET_DIR`).
pub fn release_binary(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    let root = crate::workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--quiet", "--release", "-p", package, "--bin", bin])
        .status()
        .context("running cargo build")?;
    anyhow::ensure!(
        status.success(),
        "cargo build --release -p {package} failed"
    );
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release").join(bin))
}
