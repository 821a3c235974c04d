//! Runs one boot of the machine: QEMU with Xen as the multiboot kernel, the
//! dom0 kernel and the boot's initramfs as its modules, and the serial line
//! on QEMU's standard output, read as it comes (`serial`). With `fetch`,
//! the only module that runs programs.
//!
//! The machine is what the issue that started this measured: `-machine q35
//! -cpu max,-smap,-smep` (with SMAP and SMEP the PV dom0 dies at boot under
//! TCG), two CPUs, 2 GiB, Xen with `console=com1 noreboot`. `noreboot` makes
//! a crashed Xen stop and print its report rather than reset the machine.
//!
//! The boot ends when dom0 powers off after the last command, when Xen or
//! dom0 crashes (QEMU is stopped once the report is complete), or when the
//! console stays silent about the guest's progress for longer than the
//! timeout (a hang: QEMU is stopped).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::QemuError;
use crate::serial::{Console, Crash, Event};

/// How to start the machine.
#[derive(Clone, Debug)]
pub struct Machine {
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
    /// The hypervisor, an ELF file QEMU's multiboot loader takes.
    pub xen: PathBuf,
    /// Xen's command line.
    pub xen_args: String,
    /// dom0's kernel.
    pub kernel: PathBuf,
    /// dom0's command line.
    pub kernel_args: String,
    pub memory_mib: u32,
    pub cpus: u32,
}

/// Xen's command line: its console on the first serial port, a dom0 of
/// 768 MiB, and no reboot after a crash.
pub const XEN_ARGS: &str = "console=com1 dom0_mem=768M noreboot";
/// dom0's: its console through Xen, our init, and only the kernel's
/// critical messages, which could otherwise break into the guest's replies.
pub const KERNEL_ARGS: &str = "console=hvc0 rdinit=/init loglevel=2";

/// How long a boot may take to reach dom0's init, and a command to finish.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub boot: Duration,
    pub command: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        // Under emulation, on a busy machine, a boot takes 10 to 30 seconds.
        Timeouts {
            boot: Duration::from_secs(180),
            command: Duration::from_secs(60),
        }
    }
}

/// How a boot ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// dom0 ran every command and powered off.
    PoweredOff,
    /// Xen or dom0 crashed.
    Crashed(Crash),
    /// Nothing happened for this long; the machine was stopped.
    Hung(Duration),
    /// QEMU exited before the guest said it was done.
    Exited(String),
}

/// QEMU's arguments for one boot with `initramfs`.
pub fn qemu_args(m: &Machine, initramfs: &Path) -> Vec<OsString> {
    // QEMU's option syntax doubles a comma inside a value.
    let esc = |p: &Path| p.display().to_string().replace(',', ",,");
    let modules = format!(
        "{} {},{}",
        esc(&m.kernel),
        m.kernel_args.replace(',', ",,"),
        esc(initramfs)
    );
    let mut args: Vec<OsString> = [
        "-nodefaults",
        "-no-user-config",
        "-machine",
        "q35",
        "-cpu",
        "max,-smap,-smep",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push("-m".into());
    args.push(m.memory_mib.to_string().into());
    args.push("-smp".into());
    args.push(m.cpus.to_string().into());
    args.push("-kernel".into());
    args.push(m.xen.clone().into_os_string());
    args.push("-append".into());
    args.push(m.xen_args.clone().into());
    args.push("-initrd".into());
    args.push(modules.into());
    args
}

/// Kills QEMU when the boot is over, however it ended.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Boots `m` with the initramfs `initramfs` (the archive's bytes, put in a
/// temporary file for QEMU), handing each console event to `on` as it
/// comes, until the boot ends; the console's bytes are copied to `serial`
/// as they come.
pub fn boot(
    m: &Machine,
    initramfs: &[u8],
    timeouts: Timeouts,
    serial: &mut dyn Write,
    on: &mut dyn FnMut(&Event),
) -> Result<Ending, QemuError> {
    let dir = tempfile::Builder::new()
        .prefix("xsplice-qemu-")
        .tempdir()
        .map_err(|e| QemuError::io("create a temporary directory in", std::env::temp_dir(), e))?;
    let file = dir.path().join("initramfs.cpio");
    std::fs::write(&file, initramfs).map_err(|e| QemuError::io("write", &file, e))?;
    let mut cmd = Command::new(&m.qemu);
    cmd.args(qemu_args(m, &file))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().map_err(|source| QemuError::Spawn {
        program: m.qemu.display().to_string(),
        source,
    })?;
    let mut qemu = Running(child);
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut stdout = qemu.0.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stderr = qemu.0.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut console = Console::new();
    let mut tail = Tail::default();
    let (mut ready, mut done, mut grace_used) = (false, false, false);
    let mut deadline = Instant::now() + timeouts.boot;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(bytes) => {
                tail.push(&bytes);
                serial.write_all(&bytes).map_err(QemuError::Output)?;
                for e in console.feed(&bytes) {
                    on(&e);
                    let limit = match &e {
                        Event::Ready { .. } => {
                            ready = true;
                            timeouts.command
                        }
                        Event::Began(_) | Event::Finished(_) => timeouts.command,
                        // dom0 is powering off: QEMU exits by itself.
                        Event::Done => {
                            done = true;
                            Duration::from_secs(30)
                        }
                        Event::InitFailed(what) => {
                            return Err(QemuError::Boot {
                                reason: format!("dom0's init failed: {what}"),
                                console: tail.text(),
                            });
                        }
                        Event::Crash(c) => return Ok(Ending::Crashed(c.clone())),
                        Event::Xen(_) | Event::Garbled { .. } => continue,
                    };
                    deadline = Instant::now() + limit;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if done {
                    return Ok(Ending::PoweredOff);
                }
                if console.crash_pending() && !grace_used {
                    // A crash report is on its way out of a slow serial line.
                    grace_used = true;
                    deadline = Instant::now() + Duration::from_secs(10);
                    continue;
                }
                if let Some(c) = finish(&mut console, on) {
                    return Ok(Ending::Crashed(c));
                }
                if !ready {
                    return Err(QemuError::Boot {
                        reason: format!(
                            "dom0's init did not start within {} s",
                            timeouts.boot.as_secs()
                        ),
                        console: tail.text(),
                    });
                }
                return Ok(Ending::Hung(timeouts.command));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = qemu.0.wait().map_err(|source| QemuError::Spawn {
                    program: m.qemu.display().to_string(),
                    source,
                })?;
                if let Some(c) = finish(&mut console, on) {
                    return Ok(Ending::Crashed(c));
                }
                if done {
                    return Ok(Ending::PoweredOff);
                }
                let stderr = errors.join().unwrap_or_default();
                if !ready {
                    return Err(QemuError::Boot {
                        reason: format!("QEMU exited ({status})"),
                        console: format!("{}{stderr}", tail.text()),
                    });
                }
                let first = stderr.lines().next().map(|l| format!(": {l}"));
                return Ok(Ending::Exited(format!(
                    "QEMU exited ({status}) before the guest was done{}",
                    first.unwrap_or_default()
                )));
            }
        }
    }
}

/// Hands the console's last events to `on`; the crash among them, if any.
fn finish(console: &mut Console, on: &mut dyn FnMut(&Event)) -> Option<Crash> {
    let mut crash = None;
    for e in console.finish() {
        on(&e);
        if let Event::Crash(c) = e {
            crash = Some(c);
        }
    }
    crash
}

/// The console's last lines, for a boot that fails.
#[derive(Default)]
struct Tail {
    bytes: Vec<u8>,
}

impl Tail {
    const KEEP: usize = 16 * 1024;

    fn push(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
        if self.bytes.len() > 2 * Tail::KEEP {
            self.bytes.drain(..self.bytes.len() - Tail::KEEP);
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).replace('\r', "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line() {
        let m = Machine {
            qemu: "qemu-system-x86_64".into(),
            xen: "/c/xen".into(),
            xen_args: XEN_ARGS.into(),
            kernel: "/c/a,b/vmlinux".into(),
            kernel_args: KERNEL_ARGS.into(),
            memory_mib: 2048,
            cpus: 2,
        };
        let args: Vec<String> = qemu_args(&m, Path::new("/t/initramfs"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-nodefaults -no-user-config -machine q35 -cpu max,-smap,-smep -display none -serial stdio -no-reboot -m 2048 -smp 2 -kernel /c/xen -append console=com1 dom0_mem=768M noreboot -initrd /c/a,,b/vmlinux console=hvc0 rdinit=/init loglevel=2,/t/initramfs"
        );
    }
}
