//! A session of the simulator's command language on the real machine: the
//! script is cut into boots at each `restart`, every boot runs its commands
//! in dom0 through the real `xen-livepatch`, and each command's result is
//! printed as it arrives, in the simulator's transcript form (the same echo
//! line, the tool's own output, `| grep` applied to standard output).
//!
//! Xen's console lines logged while a command ran go to standard error
//! before the tool's own, as the simulator prints its hypervisor's log
//! before `Error <n>: ...`. A crash prints Xen's (or dom0's) own report;
//! every later command of that boot says the hypervisor is not running,
//! like the simulator's, until a `restart` boots the machine again.
//!
//! `hooks`, the simulator's hook log, is answered from Xen's console: the
//! lines payload hooks print with `printk("xsplice-hook: <event>\n")`, one
//! event a line, since this boot began.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use xsplice_abi::XenVersion;
use xsplice_sim::{Command, FileReader, Line, Output, Status, Tool, command_words, echo_text};

use crate::error::QemuError;
use crate::guest::{self, Op};
use crate::machine::{self, Ending, Machine, Timeouts};
use crate::serial::{Crash, Event, Ran};
use crate::{Dom0, cpio::Archive};

/// What a payload hook prints on Xen's console to be in the hook log.
pub const HOOK_PREFIX: &str = "xsplice-hook: ";

/// What became of one command of a boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran; Xen logged `console` meanwhile.
    Ran { ran: Ran, console: Vec<String> },
    /// Xen or dom0 crashed while it ran; Xen logged `console` before.
    Crashed { crash: Crash, console: Vec<String> },
    /// The machine stopped answering while it ran, after Xen logged `console`.
    Hung {
        waited: Duration,
        console: Vec<String>,
    },
    /// QEMU went away while it ran.
    Lost(String),
    /// An earlier command crashed the machine, so it never ran; why.
    NotRun(String),
}

/// One boot's results.
#[derive(Clone, Debug)]
pub struct Boot {
    /// Xen's version as dom0 reads it (`4.17.7`).
    pub version: String,
    /// One per command, in order.
    pub outcomes: Vec<Outcome>,
    /// Every line Xen logged after dom0 was ready.
    pub console: Vec<String>,
}

/// A machine ready to boot: how to start it, and dom0's files.
#[derive(Clone, Debug)]
pub struct Platform {
    pub machine: Machine,
    pub dom0: Dom0,
}

/// How a session runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Echo each command before its output, like a terminal transcript.
    pub echo: bool,
    /// The directory relative payload paths are read from, on the host and
    /// in the guest.
    pub cwd: PathBuf,
    pub timeouts: Timeouts,
}

/// Boots `platform` once and runs `commands` (none of them `restart`) from
/// `cwd`, reading payloads through `files`; `on` sees each command's outcome
/// as soon as it is known, with Xen's version; the serial console's bytes
/// are copied to `serial`.
pub fn run_boot(
    platform: &Platform,
    commands: &[Command],
    cwd: &Path,
    timeouts: Timeouts,
    files: &mut FileReader<'_>,
    serial: &mut dyn Write,
    on: &mut dyn FnMut(usize, &Outcome, &str),
) -> Result<Boot, QemuError> {
    let mut archive = platform.dom0.base.clone();
    let mut ops = Vec::new();
    for c in commands {
        let op = guest::op(c).ok_or(QemuError::RestartInBoot)?;
        ops.push(op);
        if let Command::Upload { file, .. } | Command::Load { file, .. } = c {
            place(&mut archive, cwd, file, files)?;
        }
    }
    let cwd_text = cwd.to_str().ok_or_else(|| QemuError::Placement {
        path: cwd.to_path_buf(),
        reason: "the working directory is not UTF-8".into(),
    })?;
    // The guest works in the host's working directory, payloads or not.
    if cwd != Path::new("/") {
        guest::guest_path(cwd, Path::new("."))
            .and_then(|d| archive.dir(&d))
            .map_err(|reason| QemuError::Placement {
                path: cwd.to_path_buf(),
                reason,
            })?;
    }
    let init = guest::init_script(&platform.dom0.modules, cwd_text, &ops);
    archive
        .file("init", 0o755, init.as_bytes())
        .map_err(|reason| QemuError::Placement {
            path: PathBuf::from("/init"),
            reason,
        })?;
    let initramfs = archive.finish();

    let mut boot = Boot {
        version: String::new(),
        outcomes: Vec::new(),
        console: Vec::new(),
    };
    let mut running: Option<(usize, Vec<String>)> = None;
    let mut garbled = None;
    let ending = machine::boot(
        &platform.machine,
        &initramfs,
        timeouts,
        serial,
        &mut |e| match e {
            Event::Ready { version } => boot.version = version.clone(),
            Event::Began(n) => running = Some((*n, Vec::new())),
            Event::Xen(line) => {
                if !boot.version.is_empty() {
                    boot.console.push(line.clone());
                }
                if let Some((_, lines)) = &mut running {
                    keep(lines, line);
                }
            }
            Event::Finished(ran) => {
                let console = match running.take() {
                    Some((n, lines)) if n == ran.index => lines,
                    _ => Vec::new(),
                };
                let mut ran = ran.clone();
                if matches!(ops.get(ran.index), Some(Op::Host)) {
                    ran.stdout = hook_log(&boot.console).into_bytes();
                }
                let outcome = Outcome::Ran { ran, console };
                on(boot.outcomes.len(), &outcome, &boot.version);
                boot.outcomes.push(outcome);
            }
            Event::Garbled { index, reason } => {
                garbled.get_or_insert((*index, reason.clone()));
            }
            Event::Crash(_) | Event::Done | Event::InitFailed(_) => {}
        },
    )?;
    if let Some((index, reason)) = garbled {
        return Err(QemuError::Protocol { index, reason });
    }
    // The command that was running when the boot ended, then those that never ran.
    let during = boot.outcomes.len();
    if during < commands.len() {
        let console = running.map(|(_, lines)| lines).unwrap_or_default();
        let (now, note) = match &ending {
            Ending::Crashed(c) => (
                Outcome::Crashed {
                    crash: c.clone(),
                    console,
                },
                c.summary(),
            ),
            Ending::Hung(d) => (
                Outcome::Hung {
                    waited: *d,
                    console,
                },
                format!("it stopped answering for {} s", d.as_secs()),
            ),
            Ending::Exited(why) => (Outcome::Lost(why.clone()), why.clone()),
            Ending::PoweredOff => (
                Outcome::Lost("the machine powered off".into()),
                "the machine powered off".into(),
            ),
        };
        on(during, &now, &boot.version);
        boot.outcomes.push(now);
        let cause = format!(
            "it died during `{}` ({note})",
            command_words(&commands[during]).join(" ")
        );
        for n in during + 1..commands.len() {
            let o = Outcome::NotRun(cause.clone());
            on(n, &o, &boot.version);
            boot.outcomes.push(o);
        }
    }
    Ok(boot)
}

/// The most of Xen's lines kept for one command; a flood (a CPU stuck in
/// a fault loop) is cut there.
const MAX_CONSOLE: usize = 200;

/// Adds a console line to a command's, up to [`MAX_CONSOLE`], then one
/// line saying that more were dropped.
fn keep(lines: &mut Vec<String>, line: &str) {
    match lines.len() {
        n if n < MAX_CONSOLE => lines.push(line.to_string()),
        n if n == MAX_CONSOLE => lines.push("(more of Xen's lines were dropped)".to_string()),
        _ => {}
    }
}

/// Puts the payload `file` into the guest at its host path, if the host
/// has it; a missing file is left for the real tool to report.
fn place(
    archive: &mut Archive,
    cwd: &Path,
    file: &Path,
    files: &mut FileReader<'_>,
) -> Result<(), QemuError> {
    let Ok(bytes) = files(file) else {
        return Ok(());
    };
    let at = guest::guest_path(cwd, file).map_err(|reason| QemuError::Placement {
        path: file.to_path_buf(),
        reason,
    })?;
    archive
        .file(&at, 0o644, &bytes)
        .map_err(|reason| QemuError::Placement {
            path: file.to_path_buf(),
            reason,
        })
}

/// The hook log: what payload hooks printed with [`HOOK_PREFIX`].
pub fn hook_log(console: &[String]) -> String {
    console
        .iter()
        .filter_map(|l| l.split_once(HOOK_PREFIX).map(|(_, event)| event.trim_end()))
        .map(|event| format!("{event}\n"))
        .collect()
}

/// The exit status of a command, as the simulator reports it: the tool's
/// exit code 2 means retry (EAGAIN, EBUSY), any other failure is a failure.
pub fn status_of(outcome: &Outcome) -> Status {
    match outcome {
        Outcome::Ran { ran, .. } => match ran.rc {
            0 => Status::Ok,
            2 => Status::Retry,
            _ => Status::Failed,
        },
        _ => Status::Crashed,
    }
}

/// Runs `lines` on the real machine, one boot per `restart`, writing the
/// transcript as the simulator would, and the serial console's bytes to
/// `serial`. Returns the worst status.
pub fn run_session(
    platform: &Platform,
    lines: &[Line],
    opts: &Options,
    files: &mut FileReader<'_>,
    output: &mut Output<'_>,
    serial: &mut dyn Write,
) -> Result<Status, QemuError> {
    let mut worst = Status::Ok;
    let mut seen = |s: Status| {
        worst = match (worst, s) {
            (Status::Crashed, _) | (_, Status::Crashed) => Status::Crashed,
            (Status::Ok, s) => s,
            (w, _) => w,
        }
    };
    for segment in segments(lines) {
        let (restart, body) = match segment.first() {
            Some(l) if l.command == Command::Restart => (Some(l), &segment[1..]),
            _ => (None, segment),
        };
        let commands: Vec<Command> = body.iter().map(|l| l.command.clone()).collect();
        let mut announced = restart.is_none();
        let mut failure: Option<io::Error> = None;
        let mut print = |n: usize, o: &Outcome, version: &str| {
            let tool = version
                .parse::<XenVersion>()
                .map_or(Tool::XenLivepatchMetadata, |v| Tool::for_release(&v));
            let mut write = || -> io::Result<()> {
                if !announced {
                    announced = true;
                    if let Some(r) = restart {
                        if output.echo {
                            writeln!(output.out, "{}", echo_text(r, tool, "xsplice-qemu"))?;
                        }
                        writeln!(output.out, "booted a fresh hypervisor image")?;
                    }
                }
                render(&body[n], o, tool, output)
            };
            if let Err(e) = write()
                && failure.is_none()
            {
                failure = Some(e);
            }
            seen(status_of(o));
        };
        let boot = run_boot(
            platform,
            &commands,
            &opts.cwd,
            opts.timeouts,
            files,
            serial,
            &mut print,
        )?;
        if let Some(e) = failure {
            return Err(QemuError::Output(e));
        }
        if !announced && let Some(r) = restart {
            // A `restart` with nothing after it still boots a fresh machine.
            let tool = boot
                .version
                .parse::<XenVersion>()
                .map_or(Tool::XenLivepatchMetadata, |v| Tool::for_release(&v));
            let mut write = || -> io::Result<()> {
                if output.echo {
                    writeln!(output.out, "{}", echo_text(r, tool, "xsplice-qemu"))?;
                }
                writeln!(output.out, "booted a fresh hypervisor image")
            };
            write().map_err(QemuError::Output)?;
        }
    }
    Ok(worst)
}

/// The script cut before each `restart`.
fn segments(lines: &[Line]) -> Vec<&[Line]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, l) in lines.iter().enumerate() {
        if l.command == Command::Restart && i > start {
            out.push(&lines[start..i]);
            start = i;
        }
    }
    if start < lines.len() {
        out.push(&lines[start..]);
    }
    out
}

/// Writes one command's part of the transcript.
fn render(line: &Line, o: &Outcome, tool: Tool, output: &mut Output<'_>) -> io::Result<()> {
    if output.echo {
        writeln!(output.out, "{}", echo_text(line, tool, "xsplice-qemu"))?;
    }
    match o {
        Outcome::Ran { ran, console } => {
            output.out.write_all(line.shown(&ran.stdout).as_bytes())?;
            for l in console {
                writeln!(output.err, "{l}")?;
            }
            output.err.write_all(&ran.stderr)?;
            if ran.retries > 0 {
                writeln!(
                    output.err,
                    "(xen-livepatch said retry, exit 2; this is its answer after {} more tries, {} ms apart)",
                    ran.retries,
                    guest::RETRY_MS
                )?;
            }
        }
        Outcome::Crashed { crash, console } => {
            for l in console.iter().chain(&crash.text) {
                writeln!(output.err, "{l}")?;
            }
            if !crash.complete {
                writeln!(
                    output.err,
                    "(the report was cut short: the machine went silent)"
                )?;
            }
        }
        Outcome::Hung { waited, console } => {
            for l in console {
                writeln!(output.err, "{l}")?;
            }
            writeln!(
                output.err,
                "the hypervisor stopped answering for {} s; the machine was stopped",
                waited.as_secs()
            )?;
        }
        Outcome::Lost(why) => writeln!(output.err, "{why}")?,
        Outcome::NotRun(cause) => writeln!(
            output.err,
            "the hypervisor is not running: {cause}; `restart` boots a fresh image"
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Line> {
        xsplice_sim::parse_script(text).unwrap()
    }

    #[test]
    fn boots_split_at_restart() {
        let l = lines("list\nrestart\ninfo\nlist\nrestart\n");
        let s: Vec<usize> = segments(&l).iter().map(|s| s.len()).collect();
        assert_eq!(s, [1, 3, 1]);
        let l = lines("restart\nlist\n");
        let s: Vec<usize> = segments(&l).iter().map(|s| s.len()).collect();
        assert_eq!(s, [2]);
        assert!(segments(&[]).is_empty());
    }

    #[test]
    fn the_hook_log() {
        let console = [
            "(XEN) livepatch: x".to_string(),
            "(XEN) xsplice-hook: hooks:load".to_string(),
            "(XEN) xsplice-hook: hooks:pre_apply ".to_string(),
        ];
        assert_eq!(hook_log(&console), "hooks:load\nhooks:pre_apply\n");
    }

    fn rendered(line: &str, o: &Outcome) -> (String, String) {
        let l = &lines(line)[0];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut output = Output {
            out: &mut out,
            err: &mut err,
            echo: true,
        };
        render(l, o, Tool::XenLivepatchMetadata, &mut output).unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn rendering() {
        let ran = Outcome::Ran {
            ran: Ran {
                index: 0,
                rc: 0,
                stdout: b"xen_major              : 4\nxen_extra              : .7\n".to_vec(),
                stderr: Vec::new(),
                retries: 0,
            },
            console: Vec::new(),
        };
        assert_eq!(
            rendered("$xl info | grep extra", &ran),
            (
                "$xl info | grep extra\nxen_extra              : .7\n".into(),
                String::new()
            )
        );
        let failed = Outcome::Ran {
            ran: Ran {
                index: 0,
                rc: 1,
                stdout: b"Uploading p.livepatch... failed\n".to_vec(),
                stderr: b"Error 22: Invalid argument\n".to_vec(),
                retries: 0,
            },
            console: vec!["(XEN) livepatch: p: check against hypervisor build-id failed".into()],
        };
        assert_eq!(
            rendered("upload p p.livepatch", &failed),
            (
                "$ xen-livepatch upload p p.livepatch\nUploading p.livepatch... failed\n".into(),
                "(XEN) livepatch: p: check against hypervisor build-id failed\nError 22: Invalid argument\n".into()
            )
        );
        assert_eq!(status_of(&failed), Status::Failed);
        let not_run = Outcome::NotRun("it died during `apply p` (FATAL PAGE FAULT)".into());
        assert_eq!(
            rendered("hooks", &not_run),
            (
                "$ xsplice-qemu hooks\n".into(),
                "the hypervisor is not running: it died during `apply p` (FATAL PAGE FAULT); `restart` boots a fresh image\n".into()
            )
        );
        assert_eq!(status_of(&not_run), Status::Crashed);
    }
}
