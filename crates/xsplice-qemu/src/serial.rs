//! Reads the machine's serial console: Xen's own lines (`(XEN) ...`),
//! dom0's, and the framed replies of the guest's init (`guest`), and turns
//! them into events: the guest is ready, a command began or finished with
//! its exit status and output, Xen logged a line, Xen or dom0 crashed.
//!
//! A crash is recognised by Xen's own words. A fatal fault or panic prints a
//! block that ends with `Manual reset required ('noreboot' specified)` (or
//! `Reboot in five seconds...` without `noreboot`); its first line is the
//! `----[ Xen-...` banner of the register dump, or the `Xen BUG at`,
//! `Assertion` or `FATAL TRAP` line before it. Lines from such a start are
//! held back until the block ends (a crash: the whole block is its report)
//! or the guest speaks again (it was only a warning, `Xen WARN at`, and the
//! lines are logged as usual). A crashed dom0 shows as
//! `Hardware Dom0 crashed`, after the kernel's own report.
//!
//! Pure: bytes in, events out; the `machine` module feeds it.

use std::collections::{BTreeMap, VecDeque};

use crate::guest::MARK;

/// A command's result, as the guest framed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ran {
    /// The command's number in the boot's list.
    pub index: usize,
    /// Its exit status.
    pub rc: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// How many times the command ran again after exit status 2 (the
    /// tool's "retry"); its output is the last run's.
    pub retries: u32,
}

/// Who crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crashed {
    Xen,
    Dom0,
}

/// A crash and its report, as the console printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    pub who: Crashed,
    /// The report's lines, from its first line to its last.
    pub text: Vec<String>,
    /// False when the report was cut short: the machine went silent, or
    /// the report ran past 120 lines, before its closing line.
    pub complete: bool,
}

impl Crash {
    /// The line that says what happened, for a one-line summary: Xen's
    /// `FATAL PAGE FAULT` or panic message (the line after `Panic on CPU`),
    /// or dom0's `Kernel panic` line.
    pub fn summary(&self) -> String {
        let text: Vec<&str> = self.text.iter().map(|l| strip_xen(l)).collect();
        let after_panic = text
            .iter()
            .position(|l| l.starts_with("Panic on CPU"))
            .and_then(|i| text.get(i + 1))
            .filter(|l| !l.trim().is_empty());
        if let Some(l) = after_panic {
            return l.trim().to_string();
        }
        let first = |needle: &str| text.iter().find(|l| l.contains(needle));
        if let Some(l) = first("Kernel panic").or_else(|| first("Hardware Dom0 crashed")) {
            return l.trim().to_string();
        }
        text.first()
            .map_or_else(String::new, |l| l.trim().to_string())
    }
}

/// One thing the console said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// dom0 runs commands now; Xen's version as dom0 reads it (`4.17.7`).
    Ready { version: String },
    /// dom0's init could not get ready (what failed).
    InitFailed(String),
    /// Command `index` started.
    Began(usize),
    /// A command finished.
    Finished(Ran),
    /// A line Xen logged (with its `(XEN) ` prefix).
    Xen(String),
    /// Xen or dom0 crashed.
    Crash(Crash),
    /// Every command ran; dom0 powers the machine off.
    Done,
    /// A reply that does not add up.
    Garbled { index: usize, reason: String },
}

/// The console reader's state.
#[derive(Debug, Default)]
pub struct Console {
    line: Vec<u8>,
    /// Output being received, by command.
    frames: BTreeMap<usize, Frame>,
    /// The command whose output dump is open.
    open: Option<usize>,
    /// Xen lines held back since a possible crash began.
    held: Vec<String>,
    /// dom0's last lines, for a dom0 crash report.
    recent: VecDeque<String>,
    crashed: bool,
}

/// How many of dom0's last lines a dom0 crash report may show.
const RECENT: usize = 60;
/// The longest crash report kept; a longer one is cut there.
const MAX_REPORT: usize = 120;
const XEN: &str = "(XEN) ";

fn strip_xen(l: &str) -> &str {
    l.strip_prefix(XEN).unwrap_or(l)
}

impl Console {
    pub fn new() -> Console {
        Console::default()
    }

    /// Feeds bytes as they came from the serial line.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.line).replace('\r', "");
                self.line.clear();
                self.take_line(&line, &mut events);
            } else {
                self.line.push(b);
            }
        }
        events
    }

    /// True while lines of a possible crash are held back: the machine
    /// should wait a little for the rest before it gives up.
    pub fn crash_pending(&self) -> bool {
        !self.held.is_empty() && !self.crashed
    }

    /// The console went silent or the machine stopped: a crash report in
    /// progress is given as it is.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            let line = String::from_utf8_lossy(&self.line).replace('\r', "");
            self.line.clear();
            self.take_line(&line, &mut events);
        }
        if !self.held.is_empty() && !self.crashed {
            self.crashed = true;
            events.push(Event::Crash(Crash {
                who: Crashed::Xen,
                text: std::mem::take(&mut self.held),
                complete: false,
            }));
        }
        events
    }

    fn take_line(&mut self, line: &str, events: &mut Vec<Event>) {
        if self.crashed {
            return;
        }
        // A frame may come after a fragment of another line, and a line
        // of Xen's may be glued to the end of a frame: split them apart.
        if let Some(at) = line.find(MARK) {
            let (before, frame) = line.split_at(at);
            if !before.trim().is_empty() {
                self.console_line(before, events);
            }
            let (frame, glued) = match frame.find(XEN) {
                Some(x) => (&frame[..x], Some(&frame[x..])),
                None => (frame, None),
            };
            self.release_held(events);
            self.frame(frame.trim_end(), events);
            if let Some(g) = glued {
                self.console_line(g, events);
            }
            return;
        }
        // A dump line, maybe with a line of Xen's glued to its end.
        let (own, glued) = match line.find(XEN) {
            Some(x) if x > 0 => (&line[..x], Some(&line[x..])),
            _ => (line, None),
        };
        if self.dump_line(own) {
            if let Some(g) = glued {
                self.console_line(g, events);
            }
            return;
        }
        self.console_line(line, events);
    }

    fn release_held(&mut self, events: &mut Vec<Event>) {
        events.extend(self.held.drain(..).map(Event::Xen));
    }

    fn console_line(&mut self, line: &str, events: &mut Vec<Event>) {
        let Some(at) = line.find(XEN) else {
            if self.recent.len() == RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back(line.to_string());
            return;
        };
        let line = &line[at..];
        let text = strip_xen(line);
        if text.contains("Hardware Dom0 crashed") {
            self.release_held(events);
            self.crashed = true;
            let mut report: Vec<String> = self.recent.drain(..).collect();
            // The kernel's report starts at its first alarming line.
            let start = report
                .iter()
                .position(|l| {
                    ["Kernel panic", "BUG:", "Oops", "general protection", "RIP:"]
                        .iter()
                        .any(|w| l.contains(w))
                })
                .unwrap_or(0);
            report.drain(..start);
            report.push(line.to_string());
            events.push(Event::Crash(Crash {
                who: Crashed::Dom0,
                text: report,
                complete: true,
            }));
            return;
        }
        let starts = [
            "----[ Xen-",
            "Xen BUG at",
            "Assertion '",
            "FATAL TRAP",
            "Panic on CPU",
            "*** DOUBLE FAULT ***",
        ]
        .iter()
        .any(|w| text.starts_with(w));
        if starts || !self.held.is_empty() {
            self.held.push(line.to_string());
        } else {
            events.push(Event::Xen(line.to_string()));
        }
        let ends = text.starts_with("Manual reset required") || text.starts_with("Reboot in");
        // A report that never ends (a double fault on a broken stack
        // repeats itself) is a crash all the same.
        let endless = self.held.len() >= MAX_REPORT;
        if (ends || endless) && !self.held.is_empty() {
            self.crashed = true;
            events.push(Event::Crash(Crash {
                who: Crashed::Xen,
                text: std::mem::take(&mut self.held),
                complete: ends,
            }));
        }
    }

    fn frame(&mut self, frame: &str, events: &mut Vec<Event>) {
        let words: Vec<&str> = frame.split_whitespace().collect();
        match words.as_slice() {
            [_, "ready", version] => events.push(Event::Ready {
                version: version.to_string(),
            }),
            [_, "fail", what @ ..] => events.push(Event::InitFailed(what.join(" "))),
            [_, "done"] => events.push(Event::Done),
            [_, n, rest @ ..] => {
                let Ok(index) = n.parse::<usize>() else {
                    return;
                };
                let garbled = |reason: String| Event::Garbled { index, reason };
                match rest {
                    ["begin"] => {
                        self.frames.insert(index, Frame::default());
                        events.push(Event::Began(index));
                    }
                    [kind @ ("out" | "err")] => match self.frames.get_mut(&index) {
                        Some(f) => {
                            f.dump = Some(Dump {
                                stderr: *kind == "err",
                                done: false,
                            });
                            self.open = Some(index);
                        }
                        None => events.push(garbled("output before the command began".into())),
                    },
                    ["end", rc, retries] => {
                        self.open = None;
                        let f = self.frames.remove(&index).unwrap_or_default();
                        let (Ok(rc), Ok(retries)) = (rc.parse::<i32>(), retries.parse::<u32>())
                        else {
                            return events.push(garbled(format!("bad end line `{frame}`")));
                        };
                        if let Some(reason) = f.fault {
                            return events.push(garbled(reason));
                        }
                        if f.dumped != [true, true] {
                            return events
                                .push(garbled("the command's output did not arrive whole".into()));
                        }
                        events.push(Event::Finished(Ran {
                            index,
                            rc,
                            stdout: f.stdout,
                            stderr: f.stderr,
                            retries,
                        }));
                    }
                    _ => events.push(garbled(format!("unknown reply `{frame}`"))),
                }
            }
            _ => {}
        }
    }

    /// Takes a line of `od -A d -t x1 -v` output for the open dump, if it
    /// is one: an offset and up to 16 hex bytes, or the final offset alone
    /// (the length). Checks each offset against the bytes received.
    fn dump_line(&mut self, line: &str) -> bool {
        let Some(index) = self.open else {
            return false;
        };
        let mut words = line.split_whitespace();
        let Some(offset) = words
            .next()
            .filter(|w| w.len() >= 7 && w.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        let bytes: Vec<&str> = words.collect();
        let hex = |w: &&str| w.len() == 2 && w.bytes().all(|b| b.is_ascii_hexdigit());
        if bytes.len() > 16 || !bytes.iter().all(hex) {
            return false;
        }
        let Some(f) = self.frames.get_mut(&index) else {
            return false;
        };
        let Some(dump) = &mut f.dump else {
            return false;
        };
        let into = if dump.stderr {
            &mut f.stderr
        } else {
            &mut f.stdout
        };
        let offset: usize = offset.parse().unwrap_or(usize::MAX);
        if dump.done || offset != into.len() {
            f.fault.get_or_insert(format!(
                "a dump line at offset {offset} after {} bytes",
                into.len()
            ));
            return true;
        }
        if bytes.is_empty() {
            dump.done = true;
            f.dumped[usize::from(dump.stderr)] = true;
        }
        into.extend(bytes.iter().filter_map(|b| u8::from_str_radix(b, 16).ok()));
        true
    }
}

/// A command's output as it arrives.
#[derive(Debug, Default)]
struct Frame {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The dump being received.
    dump: Option<Dump>,
    /// Whether standard output and standard error arrived to their end.
    dumped: [bool; 2],
    /// The first thing that did not add up.
    fault: Option<String>,
}

#[derive(Debug)]
struct Dump {
    stderr: bool,
    /// Its final offset arrived.
    done: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of `step` bytes and renders the events one
    /// per line.
    fn check(input: &str, step: usize, expect: &str) {
        let mut c = Console::new();
        let mut events = Vec::new();
        for chunk in input.as_bytes().chunks(step) {
            events.extend(c.feed(chunk));
        }
        events.extend(c.finish());
        let got: Vec<String> = events
            .iter()
            .map(|e| match e {
                Event::Finished(r) => format!(
                    "finished {} rc {} out {:?} err {:?}{}",
                    r.index,
                    r.rc,
                    String::from_utf8_lossy(&r.stdout),
                    String::from_utf8_lossy(&r.stderr),
                    match r.retries {
                        0 => String::new(),
                        n => format!(" after {n} retries"),
                    }
                ),
                Event::Crash(c) => format!(
                    "crash {:?} complete {} summary {:?} lines {}",
                    c.who,
                    c.complete,
                    c.summary(),
                    c.text.len()
                ),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(got.join("\n"), expect, "step {step}");
    }

    #[test]
    fn a_command_and_xen_lines() {
        let input = "(XEN) Xen version 4.17.7\r\nabout to get started...\r\n@@xsplice ready 4.17.7\r\n@@xsplice 0 begin\r\n(XEN) livepatch: p: check against hypervisor build-id failed\r\n@@xsplice 0 out\r\n0000000 55 70\r\n0000002\r\n@@xsplice 0 err\r\n0000000 45\r\n0000001\r\n@@xsplice 0 end 1 0\r\n@@xsplice done\r\n";
        for step in [1, 7, input.len()] {
            check(
                input,
                step,
                "Xen(\"(XEN) Xen version 4.17.7\")\nReady { version: \"4.17.7\" }\nBegan(0)\nXen(\"(XEN) livepatch: p: check against hypervisor build-id failed\")\nfinished 0 rc 1 out \"Up\" err \"E\"\nDone",
            );
        }
    }

    #[test]
    fn lines_glued_together() {
        check(
            "@@xsplice 0 begin\nUploading p... (XEN) livepatch: p: bad\n@@xsplice 0 out(XEN) late\n0000000 41(XEN) later\n0000001\n@@xsplice 0 err\n0000000\n(XEN) x@@xsplice 0 end 0 0\n",
            5,
            "Began(0)\nXen(\"(XEN) livepatch: p: bad\")\nXen(\"(XEN) late\")\nXen(\"(XEN) later\")\nXen(\"(XEN) x\")\nfinished 0 rc 0 out \"A\" err \"\"",
        );
    }

    #[test]
    fn a_command_run_again() {
        check(
            "@@xsplice 5 begin\n@@xsplice 5 out\n0000000\n@@xsplice 5 err\n0000000 45\n0000001\n@@xsplice 5 end 2 10\n",
            6,
            "Began(5)\nfinished 5 rc 2 out \"\" err \"E\" after 10 retries",
        );
    }

    #[test]
    fn garbled_replies() {
        // A dump line lost to a line of Xen's cut into it.
        check(
            "@@xsplice 3 begin\n@@xsplice 3 out\n0000000 41 42(XEN) cut\n 43\n0000016 44\n0000017\n@@xsplice 3 err\n0000000\n@@xsplice 3 end 0 0\n",
            64,
            "Began(3)\nXen(\"(XEN) cut\")\nGarbled { index: 3, reason: \"a dump line at offset 16 after 2 bytes\" }",
        );
        // An end without the output, and output of a command never begun.
        check(
            "@@xsplice 4 begin\n@@xsplice 4 out\n0000000 41\n@@xsplice 4 end 0 0\n@@xsplice 5 err\n",
            64,
            "Began(4)\nGarbled { index: 4, reason: \"the command's output did not arrive whole\" }\nGarbled { index: 5, reason: \"output before the command began\" }",
        );
        check(
            "@@xsplice 6 begin\n@@xsplice 6 end x 0\n",
            64,
            "Began(6)\nGarbled { index: 6, reason: \"bad end line `@@xsplice 6 end x 0`\" }",
        );
    }

    #[test]
    fn xen_panics() {
        let input = "@@xsplice 0 begin\n(XEN) livepatch: loading\n(XEN) ----[ Xen-4.17.7  x86_64  debug=n  Not tainted ]----\n(XEN) CPU:    0\n(XEN) Xen call trace:\n(XEN) \n(XEN) ****************************************\n(XEN) Panic on CPU 0:\n(XEN) FATAL PAGE FAULT\n(XEN) [error_code=0000]\n(XEN) ****************************************\n(XEN) \n(XEN) Manual reset required ('noreboot' specified)\n(XEN) never seen\n";
        check(
            input,
            3,
            "Began(0)\nXen(\"(XEN) livepatch: loading\")\ncrash Xen complete true summary \"FATAL PAGE FAULT\" lines 11",
        );
    }

    #[test]
    fn a_warning_is_not_a_crash() {
        check(
            "(XEN) Xen WARN at x.c:1\n(XEN) ----[ Xen-4.17.7  x86_64 ]----\n(XEN) CPU:    0\n@@xsplice 1 begin\n",
            9,
            "Xen(\"(XEN) Xen WARN at x.c:1\")\nXen(\"(XEN) ----[ Xen-4.17.7  x86_64 ]----\")\nXen(\"(XEN) CPU:    0\")\nBegan(1)",
        );
    }

    #[test]
    fn an_endless_double_fault() {
        let input = "(XEN) *** DOUBLE FAULT ***\n".repeat(500) + "@@xsplice 0 end 0 0\n";
        check(
            &input,
            64,
            "crash Xen complete false summary \"*** DOUBLE FAULT ***\" lines 120",
        );
    }

    #[test]
    fn a_cut_off_panic() {
        check(
            "(XEN) Assertion 'x' failed at y.c:2\n(XEN) ----[ Xen-4.17.7 ]----\n",
            100,
            "crash Xen complete false summary \"Assertion 'x' failed at y.c:2\" lines 2",
        );
    }

    #[test]
    fn dom0_crashes() {
        check(
            "[    9.1] ordinary\n[    9.2] BUG: kernel NULL pointer dereference\n[    9.3] Kernel panic - not syncing: Fatal exception\n(XEN) Hardware Dom0 crashed: 'noreboot' set - not rebooting.\n",
            11,
            "crash Dom0 complete true summary \"[    9.3] Kernel panic - not syncing: Fatal exception\" lines 3",
        );
        check(
            "@@xsplice fail insmod /lib/modules/xenfs.ko\n",
            4,
            "InitFailed(\"insmod /lib/modules/xenfs.ko\")",
        );
    }
}
