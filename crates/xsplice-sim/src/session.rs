//! Commands as a person types them, and the output of the hypervisor's
//! tools: the live-patch tool of the release being emulated ([`Tool`]:
//! `xen-xsplice` in the seed's era, `xen-livepatch` from 4.7 on, spec §5.3:
//! its exact lines, errno numbers and messages) and `xl info` for `info`.
//!
//! A line may be written as in the seed's transcript: a leading `$`, the
//! tool name (`xen-livepatch`, `xen-xsplice`, `xl`) and a trailing
//! `| grep WORD` are accepted, so a recorded session replays as written.

use std::cell::RefCell;
use std::io::{self, Write};
use std::path::PathBuf;

use xsplice_abi::{Abi, WordSize, XenVersion};

use crate::errno::Errno;
use crate::error::SimError;
use crate::host::signal_name;
use crate::hv::{Fail, Hypervisor, State};

/// One command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `upload NAME FILE`.
    Upload { name: String, file: PathBuf },
    /// `load FILE [--nodeps]`: upload under the file's base name, then apply.
    Load { file: PathBuf, nodeps: bool },
    /// `apply NAME [--nodeps]`.
    Apply { name: String, nodeps: bool },
    /// `revert NAME`.
    Revert { name: String },
    /// `replace NAME`.
    Replace { name: String },
    /// `unload NAME`.
    Unload { name: String },
    /// `list`.
    List,
    /// `info`: the `xl info` version lines from the running image.
    Info,
    /// `hooks`: the stand-in's hook log (see `test-payloads/xen/README.md`).
    Hooks,
    /// `restart`: boots a fresh copy of the image, with no payloads. Ours,
    /// not Xen's: a real host reboots after a crash.
    Restart,
}

/// A command and the `| grep WORD` filter on its output, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub command: Command,
    pub grep: Option<String>,
    /// The line as written, for echoing.
    pub text: String,
}

impl Line {
    /// What the line prints of a tool's standard output: all of it, or with
    /// `| grep WORD` the lines that contain WORD.
    pub fn shown(&self, stdout: &[u8]) -> String {
        let text = String::from_utf8_lossy(stdout);
        match &self.grep {
            None => text.into_owned(),
            Some(g) => text
                .lines()
                .filter(|l| l.contains(g.as_str()))
                .map(|l| format!("{l}\n"))
                .collect(),
        }
    }
}

/// Parses one script line; `None` for a blank line or a `#` comment.
pub fn parse_line(line: &str) -> Result<Option<Line>, String> {
    let text = line.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    let (cmd, grep) = match text.split_once('|') {
        Some((cmd, filter)) => {
            let words: Vec<&str> = filter.split_whitespace().collect();
            match words.as_slice() {
                ["grep", word] => (cmd, Some(word.to_string())),
                _ => {
                    return Err(format!(
                        "only `| grep WORD` may follow a command, not `|{filter}`"
                    ));
                }
            }
        }
        None => (text, None),
    };
    let mut words: Vec<&str> = cmd
        .trim()
        .trim_start_matches('$')
        .split_whitespace()
        .collect();
    if let Some(first) = words.first()
        && matches!(*first, "xen-livepatch" | "xen-xsplice" | "xl")
    {
        words.remove(0);
    }
    let command = parse_words(&words)?;
    Ok(Some(Line {
        command,
        grep,
        text: text.to_string(),
    }))
}

/// Parses a command given as words, e.g. from the command line.
pub fn parse_words(words: &[&str]) -> Result<Command, String> {
    let nodeps = |rest: &[&str]| match rest {
        [] => Ok(false),
        ["--nodeps"] => Ok(true),
        other => Err(format!("unexpected arguments `{}`", other.join(" "))),
    };
    let c = match words {
        ["upload", name, file] => Command::Upload {
            name: name.to_string(),
            file: PathBuf::from(file),
        },
        ["load", file, rest @ ..] => Command::Load {
            file: PathBuf::from(file),
            nodeps: nodeps(rest)?,
        },
        ["apply", name, rest @ ..] => Command::Apply {
            name: name.to_string(),
            nodeps: nodeps(rest)?,
        },
        ["revert", name] => Command::Revert {
            name: name.to_string(),
        },
        ["replace", name] => Command::Replace {
            name: name.to_string(),
        },
        ["unload", name] => Command::Unload {
            name: name.to_string(),
        },
        ["list"] => Command::List,
        ["info"] => Command::Info,
        ["hooks"] => Command::Hooks,
        ["restart"] => Command::Restart,
        [] => return Err("empty command".into()),
        _ => {
            return Err(format!(
                "unrecognised command `{}` (expected upload NAME FILE, load FILE [--nodeps], apply NAME [--nodeps], revert NAME, replace NAME, unload NAME, list, info, hooks or restart)",
                words.join(" ")
            ));
        }
    };
    Ok(c)
}

/// The live-patch tool of the release a session emulates, which decides
/// how the session's output looks.
///
/// What is established and what is ours:
/// - `XenXsplice` (the seed's series and 4.7.0-rc1..rc4, spec §0 and the
///   note at the end of §5.3). The seed's transcript shows the `list` header
///   and separator of the later tool, rows with the state two columns after
///   the 40-column name and no `|`, `Performing revert: completed`,
///   `Performing unload: completed`, and nothing printed by a successful
///   `load`. Those lines are reproduced verbatim. Our reconstruction, where
///   the seed shows nothing: `Performing apply: ...` and
///   `Performing replace: ...` by analogy; `Performing upload: ...` for an
///   explicit upload; a failing step of `load` printing its own line; the
///   `failed` word, the `Error <n>: <message>` line, `Nothing to list` and
///   the wrong-state messages taken from the later tool.
/// - `XenLivepatch` (4.7 to 4.13): the §5.3 tool with the two-column
///   `ID | status` list (the §5.3 historical note).
/// - `XenLivepatchMetadata` (4.14 and later): the §5.3 tool as specified,
///   with the metadata column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    XenXsplice,
    XenLivepatch,
    XenLivepatchMetadata,
}

impl Tool {
    /// The tool shipped with Xen `v`.
    pub fn for_release(v: &XenVersion) -> Tool {
        match Abi::for_xen(v) {
            Some(abi) => Tool::for_abi(abi),
            // Before the first release of a payload ABI: the seed's series.
            None if Abi::Xsplice.xen_releases().is_some_and(|r| *v < r.first) => Tool::XenXsplice,
            None => Tool::XenLivepatchMetadata,
        }
    }

    /// The tool of the newest release that loads `abi` (the seed's series
    /// for `xsplice-v4`).
    pub fn for_abi(abi: Abi) -> Tool {
        match abi {
            Abi::XspliceV4 | Abi::Xsplice => Tool::XenXsplice,
            Abi::LivepatchV1 => Tool::XenLivepatch,
            Abi::LivepatchV2 => Tool::XenLivepatchMetadata,
        }
    }

    /// The tool's command name.
    pub fn command(self) -> &'static str {
        match self {
            Tool::XenXsplice => "xen-xsplice",
            Tool::XenLivepatch | Tool::XenLivepatchMetadata => "xen-livepatch",
        }
    }
}

/// The ABI of a payload file, told by `xsplice-abi` from its sections (the
/// names, and the version byte of the first `.funcs` entry at the offset of
/// the file's word size); `None` when the file is not a payload.
pub fn payload_abi(file: &[u8]) -> Option<Abi> {
    let elf = xsplice_symbols::ElfFile::parse(file).ok()?;
    let word = match elf.class() {
        xsplice_symbols::Class::Elf32 => WordSize::W32,
        xsplice_symbols::Class::Elf64 => WordSize::W64,
    };
    let sections: Vec<(&str, Option<&[u8]>)> = elf
        .sections()
        .iter()
        .filter_map(|s| Some((std::str::from_utf8(s.name).ok()?, elf.section_data(s))))
        .collect();
    Abi::detect_payload(&sections, word).ok()
}

/// Where a session writes: the tools' standard output and standard error.
pub struct Output<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Echo each command as `$ xen-livepatch ...` before its output.
    pub echo: bool,
}

/// The result of one command, as the tool's exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Ok,
    /// Exit 1: the operation failed.
    Failed,
    /// Exit 2: retry (EAGAIN, EBUSY).
    Retry,
    /// The hypervisor process died; nothing more can run.
    Crashed,
}

/// The exit code of a script-running tool (`xsplice-sim`, `xsplice-qemu`):
/// 0 when the session ended well, 1 when a command failed, 2 after printing
/// why the session could not run.
pub fn exit_code(tool: &str, session: anyhow::Result<Status>) -> std::process::ExitCode {
    match session {
        Ok(Status::Ok) => std::process::ExitCode::SUCCESS,
        Ok(_) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("{tool}: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

impl Status {
    fn of_errno(e: Errno) -> Status {
        match e {
            Errno::Eagain | Errno::Ebusy => Status::Retry,
            _ => Status::Failed,
        }
    }
}

/// Reads a payload file for `upload` and `load`.
pub type FileReader<'r> = dyn FnMut(&std::path::Path) -> io::Result<Vec<u8>> + 'r;

/// One of the tools' two output streams, recorded in order with the other
/// so that a transcript interleaves them as a terminal would.
pub(crate) struct Stream<'a> {
    events: &'a RefCell<Vec<(bool, Vec<u8>)>>,
    err: bool,
}

impl Write for Stream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut events = self.events.borrow_mut();
        match events.last_mut() {
            Some((e, bytes)) if *e == self.err => bytes.extend_from_slice(buf),
            _ => events.push((self.err, buf.to_vec())),
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `Error <n>: <message>` on standard error, after what the hypervisor logged.
fn error_line(hv: &mut Hypervisor<'_>, err: &mut Stream<'_>, e: Errno) -> io::Result<()> {
    for l in hv.take_console() {
        writeln!(err, "{l}")?;
    }
    writeln!(err, "Error {}: {}", e.number(), e.message())
}

/// The actions of `action_func` (§5.3).
#[derive(Clone, Copy)]
enum Action {
    Apply(bool),
    Revert,
    Unload,
    Replace,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Apply(_) => "Applying",
            Action::Revert => "Reverting",
            Action::Unload => "Unloading",
            Action::Replace => "Replacing all live patches with",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Action::Apply(_) => "apply",
            Action::Revert => "revert",
            Action::Unload => "unload",
            Action::Replace => "replace",
        }
    }
    /// States the action is allowed from.
    fn allowed(self) -> State {
        match self {
            Action::Revert => State::Applied,
            _ => State::Checked,
        }
    }
    /// The state the action should reach; `None` means the payload is gone.
    fn expected(self) -> Option<State> {
        match self {
            Action::Apply(_) | Action::Replace => Some(State::Applied),
            Action::Revert => Some(State::Checked),
            Action::Unload => None,
        }
    }
}

/// The line `--echo` prints before a command's output. A line written as
/// a transcript line (a leading `$`) is echoed as written, so a replayed
/// transcript reads like its original; any other is spelled as a command of
/// `tool` (`xl` for `info`, and `own`, the program running the session, for
/// the commands that are ours: `hooks` and `restart`).
pub fn echo_text(line: &Line, tool: Tool, own: &str) -> String {
    if line.text.starts_with('$') {
        return line.text.clone();
    }
    let program = match line.command {
        Command::Info => "xl",
        Command::Hooks | Command::Restart => own,
        _ => tool.command(),
    };
    let mut words = command_words(&line.command);
    words.insert(0, program.to_string());
    let mut echoed = format!("$ {}", words.join(" "));
    if let Some(g) = &line.grep {
        echoed.push_str(&format!(" | grep {g}"));
    }
    echoed
}

/// Runs one command line against `hv`, writing what the tools print.
///
/// `tool` decides the output's form; `--echo` prints [`echo_text`] first.
pub fn run_line(
    hv: &mut Hypervisor<'_>,
    line: &Line,
    tool: Tool,
    files: &mut FileReader<'_>,
    output: &mut Output<'_>,
) -> io::Result<Status> {
    if output.echo {
        writeln!(output.out, "{}", echo_text(line, tool, "xsplice-sim"))?;
    }
    let events = RefCell::new(Vec::new());
    let mut out = Stream {
        events: &events,
        err: false,
    };
    let mut err = Stream {
        events: &events,
        err: true,
    };
    let status = match (&line.command, hv.death()) {
        (Command::Restart, _) => match hv.restart() {
            Ok(()) => {
                writeln!(out, "booted a fresh hypervisor image")?;
                Status::Ok
            }
            Err(e) => {
                writeln!(err, "{e}")?;
                Status::Crashed
            }
        },
        (_, Some(_)) => {
            let cause = hv.crash_note().unwrap_or("it crashed");
            writeln!(
                err,
                "the hypervisor is not running: {cause}; `restart` boots a fresh image"
            )?;
            Status::Crashed
        }
        (c, None) => {
            let status = run_command(hv, c, tool, files, &mut out, &mut err)?;
            if hv.death().is_some() {
                hv.note_crash(&command_words(c).join(" "));
            }
            status
        }
    };
    for l in hv.take_console() {
        writeln!(err, "{l}")?;
    }
    for (is_err, bytes) in events.into_inner() {
        if is_err {
            output.err.write_all(&bytes)?;
            continue;
        }
        output.out.write_all(line.shown(&bytes).as_bytes())?;
    }
    Ok(status)
}

/// The command as words, as `parse_words` reads them back.
pub fn command_words(c: &Command) -> Vec<String> {
    let flag = |nodeps: bool| {
        if nodeps {
            vec!["--nodeps".to_string()]
        } else {
            vec![]
        }
    };
    match c {
        Command::Upload { name, file } => {
            vec!["upload".into(), name.clone(), file.display().to_string()]
        }
        Command::Load { file, nodeps } => [
            vec!["load".into(), file.display().to_string()],
            flag(*nodeps),
        ]
        .concat(),
        Command::Apply { name, nodeps } => {
            [vec!["apply".into(), name.clone()], flag(*nodeps)].concat()
        }
        Command::Revert { name } => vec!["revert".into(), name.clone()],
        Command::Replace { name } => vec!["replace".into(), name.clone()],
        Command::Unload { name } => vec!["unload".into(), name.clone()],
        Command::List => vec!["list".into()],
        Command::Info => vec!["info".into()],
        Command::Hooks => vec!["hooks".into()],
        Command::Restart => vec!["restart".into()],
    }
}

fn run_command(
    hv: &mut Hypervisor<'_>,
    c: &Command,
    tool: Tool,
    files: &mut FileReader<'_>,
    out: &mut Stream<'_>,
    err: &mut Stream<'_>,
) -> io::Result<Status> {
    let nodeps = matches!(
        c,
        Command::Load { nodeps: true, .. } | Command::Apply { nodeps: true, .. }
    );
    if nodeps && tool != Tool::XenLivepatchMetadata {
        // The flag and the tool's option came with 4.14 (§0); ours: the
        // older tools' exact complaint is not recorded, so we name the reason.
        writeln!(
            err,
            "{}: --nodeps needs xen 4.14 or later (LIVEPATCH_ACTION_APPLY_NODEPS)",
            tool.command()
        )?;
        return Ok(Status::Failed);
    }
    match c {
        Command::Upload { name, file } => upload(hv, tool, name, file, files, out, err),
        Command::Load { file, nodeps } => {
            let name = load_name(file);
            let mark = out.events.borrow().len();
            match upload(hv, tool, &name, file, files, out, err)? {
                Status::Ok => {}
                other => return Ok(other),
            }
            match action(hv, tool, Action::Apply(*nodeps), &name, out, err)? {
                Status::Ok => {
                    // The seed's transcript shows nothing after a load that worked.
                    if tool == Tool::XenXsplice {
                        out.events.borrow_mut().truncate(mark);
                    }
                    Ok(Status::Ok)
                }
                Status::Crashed => Ok(Status::Crashed),
                failed => {
                    // As the tool does: try to unload what it uploaded.
                    action(hv, tool, Action::Unload, &name, out, err)?;
                    Ok(failed)
                }
            }
        }
        Command::Apply { name, nodeps } => action(hv, tool, Action::Apply(*nodeps), name, out, err),
        Command::Revert { name } => action(hv, tool, Action::Revert, name, out, err),
        Command::Replace { name } => action(hv, tool, Action::Replace, name, out, err),
        Command::Unload { name } => action(hv, tool, Action::Unload, name, out, err),
        Command::List => list(hv, tool, out).map(|()| Status::Ok),
        // Handled by `run_line`, whether or not the hypervisor runs.
        Command::Restart => Ok(Status::Ok),
        Command::Info => match hv.info() {
            Ok(text) => {
                out.write_all(text.as_bytes())?;
                Ok(Status::Ok)
            }
            Err(e) => crashed(hv, e, out, err),
        },
        Command::Hooks => match hv.hook_log() {
            Ok(text) => {
                out.write_all(text.as_bytes())?;
                Ok(Status::Ok)
            }
            Err(e) => crashed(hv, e, out, err),
        },
    }
}

/// The payload name `load` uses: the file's base name up to its last `.`.
pub fn load_name(file: &std::path::Path) -> String {
    let base = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match base.rfind('.') {
        Some(i) => base[..i].to_string(),
        None => base,
    }
}

fn upload(
    hv: &mut Hypervisor<'_>,
    tool: Tool,
    name: &str,
    file: &std::path::Path,
    files: &mut FileReader<'_>,
    out: &mut Stream<'_>,
    err: &mut Stream<'_>,
) -> io::Result<Status> {
    let bytes = match files(file) {
        Ok(b) => b,
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(2);
            writeln!(
                err,
                "Could not open {}, error: {errno}({e})",
                file.display()
            )?;
            return Ok(Status::Failed);
        }
    };
    match tool {
        Tool::XenXsplice => write!(out, "Performing upload: ")?,
        _ => write!(out, "Uploading {}... ", file.display())?,
    }
    match hv.upload(name, &bytes) {
        Ok(()) => {
            writeln!(out, "completed")?;
            Ok(Status::Ok)
        }
        Err(Fail::Xen(e)) => {
            writeln!(out, "failed")?;
            error_line(hv, err, e)?;
            Ok(Status::of_errno(e))
        }
        Err(Fail::Crash(e)) => {
            writeln!(out, "failed")?;
            crashed(hv, e, out, err)
        }
    }
}

fn action(
    hv: &mut Hypervisor<'_>,
    tool: Tool,
    a: Action,
    name: &str,
    out: &mut Stream<'_>,
    err: &mut Stream<'_>,
) -> io::Result<Status> {
    let (state, rc) = match hv.get(name) {
        Ok(s) => s,
        Err(e) => {
            writeln!(
                err,
                "Failed to get status of {name}: Error {}: {}",
                e.number(),
                e.message()
            )?;
            return Ok(Status::Failed);
        }
    };
    if rc == Some(Errno::Eagain) {
        writeln!(
            err,
            "Cannot execute {}.\nOperation already in progress.",
            a.name()
        )?;
        return Ok(Status::Retry);
    }
    if a.expected() == Some(state) {
        writeln!(out, "No action needed.")?;
        return Ok(Status::Ok);
    }
    if state != a.allowed() {
        writeln!(
            err,
            "{name} is in the wrong state.\nCurrent state: {}\nExpected state: {}",
            state.name(),
            a.allowed().name()
        )?;
        return Ok(Status::Failed);
    }
    match tool {
        Tool::XenXsplice => write!(out, "Performing {}: ", a.name())?,
        _ => write!(out, "{} {name}... ", a.verb())?,
    }
    let r = match a {
        Action::Apply(nodeps) => hv.apply(name, nodeps),
        Action::Revert => hv.revert(name),
        Action::Unload => hv.unload(name),
        Action::Replace => hv.replace(name),
    };
    match r {
        Ok(()) => {}
        Err(Fail::Xen(e)) => {
            writeln!(out, "failed")?;
            error_line(hv, err, e)?;
            return Ok(Status::of_errno(e));
        }
        Err(Fail::Crash(e)) => {
            writeln!(out, "failed")?;
            return crashed(hv, e, out, err);
        }
    }
    // GET again, as the tool polls.
    match (hv.get(name), a.expected()) {
        (Err(Errno::Enoent), None) => writeln!(out, "completed")?,
        (Err(e), _) => {
            writeln!(out, "failed")?;
            error_line(hv, err, e)?;
            return Ok(Status::of_errno(e));
        }
        (Ok((_, Some(e))), _) => {
            writeln!(out, "failed")?;
            error_line(hv, err, e)?;
            return Ok(Status::of_errno(e));
        }
        (Ok((s, None)), Some(want)) if s == want => writeln!(out, "completed")?,
        (Ok((s, None)), _) => {
            writeln!(out, "failed")?;
            writeln!(
                err,
                "{name} is in the wrong state.\nCurrent state: {}",
                s.name()
            )?;
            return Ok(Status::Failed);
        }
    }
    Ok(Status::Ok)
}

fn list(hv: &Hypervisor<'_>, tool: Tool, out: &mut Stream<'_>) -> io::Result<()> {
    let rows = hv.list();
    if rows.is_empty() {
        writeln!(out, "Nothing to list")?;
        return Ok(());
    }
    // The metadata column came with 4.14 (§5.3).
    let metadata = tool == Tool::XenLivepatchMetadata;
    // The seed's rows: the state two columns after the name, no `|`.
    let bar = if tool == Tool::XenXsplice { "  " } else { "| " };
    if metadata {
        writeln!(out, "{:<40}| status     | metadata", " ID")?;
        writeln!(out, "{}+------------+---------------", "-".repeat(40))?;
    } else {
        writeln!(out, "{:<40}| status", " ID")?;
        writeln!(out, "{}+------------", "-".repeat(40))?;
    }
    for r in rows {
        write!(out, "{:<40}{bar}{}", r.name, r.state.name())?;
        let rc =
            r.rc.map(|e| format!(" ({}, {})", e.number(), e.message()))
                .unwrap_or_default();
        if metadata {
            let md: String = String::from_utf8_lossy(&r.metadata)
                .trim_end_matches('\0')
                .replace('\0', ";");
            writeln!(out, "{rc}    | {md}")?;
        } else {
            writeln!(out, "{rc}")?;
        }
    }
    Ok(())
}

/// Reports the death of the hypervisor process, naming the faulting code.
fn crashed(
    hv: &mut Hypervisor<'_>,
    e: SimError,
    _out: &mut Stream<'_>,
    err: &mut Stream<'_>,
) -> io::Result<Status> {
    for l in hv.take_console() {
        writeln!(err, "{l}")?;
    }
    match e {
        SimError::Crashed(d) => {
            if let Some(m) = &d.panic {
                writeln!(err, "(XEN) PANIC: {m}")?;
            } else if d.hung {
                writeln!(err, "(XEN) the hypervisor stopped answering and was killed")?;
            } else if let (Some(sig), Some(pc)) = (d.signal, d.pc) {
                let addr = d.addr.unwrap_or(0);
                writeln!(
                    err,
                    "(XEN) FATAL: {} at {pc:#x} ({}), address {addr:#x}",
                    signal_name(sig),
                    hv.symbolise(pc)
                )?;
            } else if let Some(sig) = d.signal {
                writeln!(
                    err,
                    "(XEN) FATAL: the hypervisor process was killed by {}",
                    signal_name(sig)
                )?;
            } else {
                writeln!(
                    err,
                    "(XEN) FATAL: the hypervisor process exited ({:?})",
                    d.exit_code
                )?;
            }
            Ok(Status::Crashed)
        }
        other => {
            writeln!(err, "{other}")?;
            Ok(Status::Crashed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `input` and renders it back as the echoed command line, or
    /// `error: <message>`.
    fn check(input: &str, expect: &str) {
        let got = match parse_line(input) {
            Ok(None) => "nothing".to_string(),
            Ok(Some(line)) => {
                let mut words = command_words(&line.command).join(" ");
                if let Some(g) = line.grep {
                    words.push_str(&format!(" | grep {g}"));
                }
                words
            }
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "input: {input:?}");
    }

    #[test]
    fn lines_as_the_seed_writes_them() {
        check(
            "$xen-xsplice load /usr/lib/debug/xen_hello_world.xsplice",
            "load /usr/lib/debug/xen_hello_world.xsplice",
        );
        check("$xen-xsplice list", "list");
        check("$xl info | grep extra", "info | grep extra");
        check(
            "$ xen-livepatch revert xen_hello_world",
            "revert xen_hello_world",
        );
        check("xen-livepatch apply p --nodeps", "apply p --nodeps");
        check("load p.livepatch --nodeps", "load p.livepatch --nodeps");
        check("upload p p.livepatch", "upload p p.livepatch");
        check("replace p", "replace p");
        check("unload p", "unload p");
        check("hooks", "hooks");
        check("restart", "restart");
        check("   # a comment", "nothing");
        check("", "nothing");
    }

    #[test]
    fn malformed_lines() {
        check(
            "apply",
            "error: unrecognised command `apply` (expected upload NAME FILE, load FILE [--nodeps], apply NAME [--nodeps], revert NAME, replace NAME, unload NAME, list, info, hooks or restart)",
        );
        check("apply p --force", "error: unexpected arguments `--force`");
        check(
            "info | sort",
            "error: only `| grep WORD` may follow a command, not `| sort`",
        );
        check(
            "revert a b",
            "error: unrecognised command `revert a b` (expected upload NAME FILE, load FILE [--nodeps], apply NAME [--nodeps], revert NAME, replace NAME, unload NAME, list, info, hooks or restart)",
        );
    }

    #[test]
    fn each_release_has_its_tool() {
        let tool = |v: &str| Tool::for_release(&v.parse().expect("a version"));
        assert_eq!(tool("4.6"), Tool::XenXsplice);
        assert_eq!(tool("4.7.0-rc1"), Tool::XenXsplice);
        assert_eq!(tool("4.7.0-rc4"), Tool::XenXsplice);
        assert_eq!(tool("4.7.0-rc5"), Tool::XenLivepatch);
        assert_eq!(tool("4.13"), Tool::XenLivepatch);
        assert_eq!(tool("4.14.0"), Tool::XenLivepatchMetadata);
        assert_eq!(tool("4.30"), Tool::XenLivepatchMetadata);
        assert_eq!(Tool::XenXsplice.command(), "xen-xsplice");
        assert_eq!(Tool::XenLivepatch.command(), "xen-livepatch");
        assert_eq!(payload_abi(b"not an elf file"), None);
    }

    /// The version byte is read at the offset of the file's word size.
    #[test]
    fn payload_abi_of_each_word_size() {
        use object::write::Object;
        use object::{Architecture, BinaryFormat, Endianness, SectionKind};
        for (arch, entry_size) in [(Architecture::X86_64, 0x68), (Architecture::Arm, 0x4c)] {
            let word = if arch == Architecture::Arm {
                WordSize::W32
            } else {
                WordSize::W64
            };
            for (version, abi) in [(1, Abi::LivepatchV1), (2, Abi::LivepatchV2)] {
                let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
                let funcs = obj.add_section(
                    Vec::new(),
                    b".livepatch.funcs".to_vec(),
                    SectionKind::ReadOnlyData,
                );
                let mut entry = vec![0u8; entry_size];
                entry[Abi::version_byte_offset(word)] = version;
                obj.append_section_data(funcs, &entry, 8);
                let bytes = obj.write().expect("write object");
                assert_eq!(payload_abi(&bytes), Some(abi), "{arch:?} version {version}");
            }
        }
    }

    #[test]
    fn load_names_end_at_the_last_dot() {
        assert_eq!(
            load_name(std::path::Path::new("/x/xen_hello_world.livepatch")),
            "xen_hello_world"
        );
        assert_eq!(load_name(std::path::Path::new("a.b.xsplice")), "a.b");
        assert_eq!(load_name(std::path::Path::new("plain")), "plain");
    }
}
