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
    frames: BTreeMap<usize, (Vec<u8>, Vec<u8>)>,
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
                match rest {
                    ["begin"] => {
                        self.frames.insert(index, Default::default());
                        events.push(Event::Began(index));
                    }
                    [kind @ ("o" | "e"), hex @ ..] => {
                        let Some((o, e)) = self.frames.get_mut(&index) else {
                            return events.push(Event::Garbled {
                                index,
                                reason: "output before the command began".into(),
                            });
                        };
                        let into = if *kind == "o" { o } else { e };
                        for h in hex {
                            match u8::from_str_radix(h, 16) {
                                Ok(b) if h.len() == 2 => into.push(b),
                                _ => {
                                    return events.push(Event::Garbled {
                                        index,
                                        reason: format!("`{h}` is not a hex byte"),
                                    });
                                }
                            }
                        }
                    }
                    ["end", rc, olen, elen, retries] => {
                        let (o, e) = self.frames.remove(&index).unwrap_or_default();
                        let parsed = (
                            rc.parse::<i32>(),
                            olen.parse::<usize>(),
                            elen.parse::<usize>(),
                            retries.parse::<u32>(),
                        );
                        let (Ok(rc), Ok(olen), Ok(elen), Ok(retries)) = parsed else {
                            return events.push(Event::Garbled {
                                index,
                                reason: format!("bad end line `{frame}`"),
                            });
                        };
                        if o.len() != olen || e.len() != elen {
                            return events.push(Event::Garbled {
                                index,
                                reason: format!(
                                    "{} and {} bytes of output arrived, {olen} and {elen} were sent",
                                    o.len(),
                                    e.len()
                                ),
                            });
                        }
                        events.push(Event::Finished(Ran {
                            index,
                            rc,
                            stdout: o,
                            stderr: e,
                            retries,
                        }));
                    }
                    _ => events.push(Event::Garbled {
                        index,
                        reason: format!("unknown reply `{frame}`"),
                    }),
                }
            }
            _ => {}
        }
    }
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
        let input = "(XEN) Xen version 4.17.7\r\nabout to get started...\r\n@@xsplice ready 4.17.7\r\n@@xsplice 0 begin\r\n(XEN) livepatch: p: check against hypervisor build-id failed\r\n@@xsplice 0 o 55 70\r\n@@xsplice 0 e 45\r\n@@xsplice 0 end 1 2 1 0\r\n@@xsplice done\r\n";
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
            "@@xsplice 0 begin\nUploading p... (XEN) livepatch: p: bad\n@@xsplice 0 o 41(XEN) late\n(XEN) x@@xsplice 0 end 0 1 0 0\n",
            5,
            "Began(0)\nXen(\"(XEN) livepatch: p: bad\")\nXen(\"(XEN) late\")\nXen(\"(XEN) x\")\nfinished 0 rc 0 out \"A\" err \"\"",
        );
    }

    #[test]
    fn a_command_run_again() {
        check(
            "@@xsplice 5 begin\n@@xsplice 5 e 45\n@@xsplice 5 end 2 0 1 10\n",
            6,
            "Began(5)\nfinished 5 rc 2 out \"\" err \"E\" after 10 retries",
        );
    }

    #[test]
    fn garbled_replies() {
        check(
            "@@xsplice 3 begin\n@@xsplice 3 o 4\n@@xsplice 3 end 0 1 0 0\n@@xsplice 4 end 0 1 0 0\n",
            64,
            "Began(3)\nGarbled { index: 3, reason: \"`4` is not a hex byte\" }\nGarbled { index: 3, reason: \"0 and 0 bytes of output arrived, 1 and 0 were sent\" }\nGarbled { index: 4, reason: \"0 and 0 bytes of output arrived, 1 and 0 were sent\" }",
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
        let input = "(XEN) *** DOUBLE FAULT ***\n".repeat(500) + "@@xsplice 0 end 0 0 0 0\n";
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
