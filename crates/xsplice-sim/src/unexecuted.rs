//! Sessions on an ARM image (arm64 or arm32 `xen-syms`), whose code this
//! simulator cannot run: everything Xen decides without running guest or
//! hypervisor code is done, and what would need to run is said, never
//! pretended.
//!
//! * `upload`: every check and the placement of [`crate::place`] (the
//!   validator's checks, placement in the 2 MiB window, relocation,
//!   alternatives, bug frames); the payload is kept in memory.
//! * `apply`: the state rule, the build-id dependency (C-123, skipped with
//!   `--nodeps` where Xen has it), the expectations against the image's
//!   bytes as patched so far, then the instruction Xen writes at each
//!   `old_addr` (`B` or NOPs) is written into a copy of the image and
//!   printed with the bytes it saves. The payload's hooks are listed as not
//!   executed; a payload whose apply or revert is an action hook is refused
//!   (`EOPNOTSUPP`), since only its code could patch.
//! * `revert` (the last applied payload only, as Xen), `replace` and
//!   `unload` follow the same rules and restore the saved bytes.
//! * `info` and `hooks` run hypervisor code: they report
//!   `not executed on arm64` (or arm32) and fail.

use std::collections::BTreeMap;
use std::io;

use xsplice_abi::limits::{MAX_PAYLOAD_SIZE, NAME_SIZE};
use xsplice_abi::note::hex;
use xsplice_abi::{Arch, Hook};
use xsplice_validate::{TargetImage, TargetSymbol, XenImage};

use crate::errno::Errno;
use crate::place::{PlaceOptions, Placement, place};
use crate::session::{Command, Line, Output, Status, load_name};
use crate::{FileReader, Options};

/// The machine of an ELF image, if it is an ARM one Xen live-patches.
pub(crate) fn arm_machine(data: &[u8]) -> Option<Arch> {
    if data.get(..4) != Some(b"\x7fELF") {
        return None;
    }
    let m = u16::from_le_bytes([*data.get(18)?, *data.get(19)?]);
    match m {
        183 => Some(Arch::Aarch64),
        40 => Some(Arch::Arm32),
        _ => None,
    }
}

/// The image with the bytes APPLY wrote over it.
struct Patched<'a, 'x> {
    image: &'a XenImage<'x>,
    written: &'a BTreeMap<u64, u8>,
}

impl TargetImage for Patched<'_, '_> {
    fn build_id(&self) -> Option<&[u8]> {
        self.image.build_id()
    }
    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        self.image.lookup(name)
    }
    fn function_at(&self, addr: u64) -> Option<TargetSymbol> {
        self.image.function_at(addr)
    }
    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut b = self.image.bytes(addr, len)?;
        for (i, byte) in b.iter_mut().enumerate() {
            if let Some(&w) = self.written.get(&addr.wrapping_add(i as u64)) {
                *byte = w;
            }
        }
        Some(b)
    }
    fn payload_base(&self) -> u64 {
        self.image.payload_base()
    }
}

struct Loaded {
    name: String,
    placement: Placement,
    applied: bool,
    /// Per patch site: address and the bytes it held before APPLY.
    saved: Vec<(u64, Vec<u8>)>,
}

struct Session<'x> {
    arch: Arch,
    image: XenImage<'x>,
    opts: Options,
    payloads: Vec<Loaded>,
    /// Names of applied payloads, oldest first.
    applied: Vec<String>,
    written: BTreeMap<u64, u8>,
}

/// Why a command failed: the errno and what to print.
struct Refused(Errno, String);

type Done = Result<Vec<String>, Refused>;

fn refused<T>(errno: Errno, message: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(errno, message.into()))
}

impl<'x> Session<'x> {
    fn find(&self, name: &str) -> Result<usize, Refused> {
        self.payloads
            .iter()
            .position(|p| p.name == name)
            .map_or_else(
                || refused(Errno::Enoent, format!("no payload `{name}`")),
                Ok,
            )
    }

    fn upload(&mut self, name: &str, file: &[u8]) -> Done {
        if name.is_empty() || name.len() >= NAME_SIZE || name.contains('\0') {
            return refused(Errno::Einval, format!("bad payload name `{name}` [C-04]"));
        }
        if file.is_empty() || file.len() > MAX_PAYLOAD_SIZE {
            return refused(Errno::Einval, "payload size out of range [C-05]");
        }
        if self.payloads.iter().any(|p| p.name == name) {
            return refused(Errno::Eexist, format!("`{name}` is already loaded [C-06]"));
        }
        // Each block after the last, page-aligned, in the 2 MiB window
        // that starts at the image's payload base.
        let base = self.payloads.last().map_or_else(
            || self.image.payload_base(),
            |p| {
                let size = (p.placement.bytes.len() as u64).div_ceil(4096) * 4096;
                p.placement.base.saturating_add(size)
            },
        );
        let opts = PlaceOptions {
            xen: self.opts.xen,
            cpu_features: self.opts.cpu_features.clone(),
            base: Some(base),
            loaded: self
                .payloads
                .iter()
                .map(|p| p.placement.loaded(&p.name))
                .collect(),
        };
        let window_end = self.image.payload_base() + (2 << 20);
        let placement = place(file, &self.image, &opts).map_err(|e| Refused(e.errno, e.message))?;
        if base.saturating_add(placement.bytes.len() as u64) > window_end {
            return refused(
                Errno::Enomem,
                "the 2 MiB payload window is full [C-41]".to_string(),
            );
        }
        let out = vec![format!(
            "{name}: placed at {base:#x} (text {:#x}, rw {:#x}, ro {:#x}), {} alternative(s) applied, {} bug frame(s)",
            placement.text,
            placement.rw,
            placement.ro,
            placement.alternatives,
            placement.bug_frames.len()
        )];
        self.payloads.push(Loaded {
            name: name.to_string(),
            placement,
            applied: false,
            saved: Vec::new(),
        });
        Ok(out)
    }

    /// The hooks of `name` among `which` that Xen would call now, if any.
    fn not_executed_line(&self, name: &str, which: &[Hook]) -> Option<String> {
        let p = self.payloads.iter().find(|p| p.name == name);
        let hooks: Vec<String> = p
            .into_iter()
            .flat_map(|p| p.placement.hooks.iter())
            .filter(|(h, ptrs)| which.contains(h) && ptrs.iter().any(|&a| a != 0))
            .map(|(h, _)| h.section().to_string())
            .collect();
        (!hooks.is_empty()).then(|| {
            format!(
                "{name}: hooks not executed on {}: {}",
                self.arch,
                hooks.join(", ")
            )
        })
    }

    fn has_hook(&self, i: usize, hook: Hook) -> bool {
        self.payloads[i]
            .placement
            .hooks
            .iter()
            .any(|(h, ptrs)| *h == hook && ptrs.iter().any(|&a| a != 0))
    }

    fn apply(&mut self, name: &str, nodeps: bool) -> Done {
        let i = self.find(name)?;
        if self.payloads[i].applied {
            return refused(Errno::Einval, format!("`{name}` is already applied"));
        }
        if self.has_hook(i, Hook::Apply) {
            return refused(
                Errno::Eopnotsupp,
                format!(
                    "`{name}` applies through its own hook, not executed on {}",
                    self.arch
                ),
            );
        }
        let release = self.payloads[i].placement.release;
        if !(nodeps && release.has_nodeps()) {
            let (what, want) = match self.applied.last() {
                Some(top) => {
                    let t = self.find(top)?;
                    (
                        format!("payload {top}"),
                        Some(self.payloads[t].placement.build_id.clone()),
                    )
                }
                None => (
                    "the hypervisor".to_string(),
                    self.image.build_id().map(<[u8]>::to_vec),
                ),
            };
            let Some(want) = want else {
                return refused(Errno::Enodata, format!("{what} has no build-id"));
            };
            if self.payloads[i].placement.depends != want {
                return refused(
                    Errno::Einval,
                    format!(
                        "depends on build-id {}, but {what} has {} [C-123]",
                        hex(&self.payloads[i].placement.depends),
                        hex(&want)
                    ),
                );
            }
        }
        let patched = Patched {
            image: &self.image,
            written: &self.written,
        };
        for f in &self.payloads[i].placement.funcs {
            let Some(e) = f.expect.filter(|e| e.enabled) else {
                continue;
            };
            let n = usize::from(e.len);
            let live = patched.bytes(f.old_addr, n).unwrap_or_default();
            if live.get(..n) != e.data.get(..n) {
                return refused(
                    Errno::Einval,
                    format!(
                        "{}: expected {} at {:#x}, found {} [C-123]",
                        f.name.as_deref().unwrap_or(""),
                        hex(&e.data[..n.min(e.data.len())]),
                        f.old_addr,
                        hex(&live)
                    ),
                );
            }
        }
        let sites = self.payloads[i]
            .placement
            .patch_sites(&patched)
            .map_err(|e| Refused(e.errno, e.message))?;
        let mut out: Vec<String> = self
            .not_executed_line(name, &[Hook::PreApply, Hook::Load, Hook::PostApply])
            .into_iter()
            .collect();
        for (s, f) in sites.iter().zip(&self.payloads[i].placement.funcs) {
            out.push(format!(
                "{name}: {} at {:#x}: wrote {} over {}{}",
                f.name.as_deref().unwrap_or("(no name)"),
                s.addr,
                hex(&s.new),
                hex(&s.old),
                describe(self.arch, s.addr, &s.new)
            ));
        }
        for s in &sites {
            for (k, &b) in s.new.iter().enumerate() {
                self.written.insert(s.addr.wrapping_add(k as u64), b);
            }
        }
        let p = &mut self.payloads[i];
        p.saved = sites.into_iter().map(|s| (s.addr, s.old)).collect();
        p.applied = true;
        self.applied.push(name.to_string());
        Ok(out)
    }

    fn revert(&mut self, name: &str) -> Done {
        let i = self.find(name)?;
        if !self.payloads[i].applied {
            return refused(Errno::Einval, format!("`{name}` is not applied"));
        }
        if self.applied.last().map(String::as_str) != Some(name) {
            let top = self.applied.last().cloned().unwrap_or_default();
            return refused(
                Errno::Ebusy,
                format!("not the last applied payload ({top} is)"),
            );
        }
        if self.has_hook(i, Hook::Revert) {
            return refused(
                Errno::Eopnotsupp,
                format!(
                    "`{name}` reverts through its own hook, not executed on {}",
                    self.arch
                ),
            );
        }
        let mut out: Vec<String> = self
            .not_executed_line(name, &[Hook::PreRevert, Hook::PostRevert])
            .into_iter()
            .collect();
        for (addr, old) in std::mem::take(&mut self.payloads[i].saved) {
            out.push(format!("{name}: restored {} at {addr:#x}", hex(&old)));
            for (k, b) in old.into_iter().enumerate() {
                self.written.insert(addr.wrapping_add(k as u64), b);
            }
        }
        self.payloads[i].applied = false;
        self.applied.pop();
        Ok(out)
    }

    fn replace(&mut self, name: &str) -> Done {
        let i = self.find(name)?;
        if self.payloads[i].applied {
            return refused(Errno::Einval, format!("`{name}` is already applied"));
        }
        // Xen replaces atomically: if the new payload cannot be applied,
        // the reverted ones are applied again, as they were.
        let mut out = Vec::new();
        let mut reverted = Vec::new();
        while let Some(top) = self.applied.last().cloned() {
            match self.revert(&top) {
                Ok(lines) => out.extend(lines),
                Err(e) => {
                    self.reapply(&reverted);
                    return Err(e);
                }
            }
            reverted.push(top);
        }
        match self.apply(name, false) {
            Ok(lines) => {
                out.extend(lines);
                Ok(out)
            }
            Err(e) => {
                self.reapply(&reverted);
                Err(e)
            }
        }
    }

    /// Applies again, oldest first, payloads `replace` reverted (newest
    /// first) before it failed.
    fn reapply(&mut self, reverted: &[String]) {
        for n in reverted.iter().rev() {
            let _ = self.apply(n, true);
        }
    }

    fn unload(&mut self, name: &str) -> Done {
        let i = self.find(name)?;
        if self.payloads[i].applied {
            return refused(Errno::Ebusy, format!("`{name}` is applied"));
        }
        let out = self
            .not_executed_line(name, &[Hook::Unload])
            .into_iter()
            .collect();
        self.payloads.remove(i);
        Ok(out)
    }

    fn list(&self) -> Vec<String> {
        let mut out = vec![format!("{:<40}| {}", " ID", "status")];
        for p in &self.payloads {
            let state = if p.applied { "APPLIED" } else { "CHECKED" };
            out.push(format!("{:<40}| {state}", p.name));
        }
        out
    }

    fn run(&mut self, command: &Command, files: &mut FileReader<'_>) -> Done {
        let read = |files: &mut FileReader<'_>, f: &std::path::Path| {
            files(f).map_err(|e| Refused(Errno::Enoent, format!("{}: {e}", f.display())))
        };
        match command {
            Command::Upload { name, file } => {
                let bytes = read(files, file)?;
                self.upload(name, &bytes)
            }
            Command::Load { file, nodeps } => {
                let bytes = read(files, file)?;
                let name = load_name(file);
                let mut out = self.upload(&name, &bytes)?;
                out.extend(self.apply(&name, *nodeps)?);
                Ok(out)
            }
            Command::Apply { name, nodeps } => self.apply(name, *nodeps),
            Command::Revert { name } => self.revert(name),
            Command::Replace { name } => self.replace(name),
            Command::Unload { name } => self.unload(name),
            Command::List => Ok(self.list()),
            Command::Info | Command::Hooks => refused(
                Errno::Eopnotsupp,
                format!(
                    "not executed on {}: this command runs the hypervisor's code",
                    self.arch
                ),
            ),
            Command::Restart => {
                self.payloads.clear();
                self.applied.clear();
                self.written.clear();
                Ok(vec!["a fresh copy of the image, with no payloads".into()])
            }
        }
    }
}

/// What the written instruction is, for people: `b ADDR` or NOPs.
fn describe(arch: Arch, at: u64, insn: &[u8]) -> String {
    let words: Vec<u32> = insn
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    match (arch, words.as_slice()) {
        (Arch::Aarch64, [w]) if w & 0xfc00_0000 == 0x1400_0000 => {
            let off = i64::from(((w & 0x03ff_ffff) << 6) as i32 >> 4);
            format!(" (b {:#x})", at.wrapping_add_signed(off))
        }
        (Arch::Arm32, [w]) if w & 0xff00_0000 == 0xea00_0000 => {
            let off = i64::from(((w & 0x00ff_ffff) << 8) as i32 >> 6);
            format!(" (b {:#x})", at.wrapping_add(8).wrapping_add_signed(off))
        }
        (_, ws) if !ws.is_empty() && ws.iter().all(|&w| w == 0xd503_201f || w == 0xe1a0_0000) => {
            format!(" ({} nop)", ws.len())
        }
        _ => String::new(),
    }
}

/// Runs `lines` on the ARM image `xen` (the `xen-syms` called `file`).
pub(crate) fn run_session(
    file: &str,
    xen: &[u8],
    arch: Arch,
    lines: &[Line],
    opts: &Options,
    files: &mut FileReader<'_>,
    output: &mut Output<'_>,
) -> Result<Status, crate::SimError> {
    let image = XenImage::parse(file, xen).map_err(|e| crate::SimError::Usage {
        line: 0,
        message: e.to_string(),
    })?;
    let mut s = Session {
        arch,
        image,
        opts: opts.clone(),
        payloads: Vec::new(),
        applied: Vec::new(),
        written: BTreeMap::new(),
    };
    let mut worst = Status::Ok;
    for line in lines {
        let status =
            run_line(&mut s, line, files, output).map_err(|source| crate::SimError::Host {
                what: "cannot write the session's output".into(),
                source,
            })?;
        if worst == Status::Ok {
            worst = status;
        }
    }
    Ok(worst)
}

fn run_line(
    s: &mut Session<'_>,
    line: &Line,
    files: &mut FileReader<'_>,
    output: &mut Output<'_>,
) -> io::Result<Status> {
    if output.echo {
        writeln!(output.out, "$ {}", line.text)?;
    }
    match s.run(&line.command, files) {
        Ok(lines) => {
            for l in lines {
                if line.grep.as_ref().is_none_or(|g| l.contains(g.as_str())) {
                    writeln!(output.out, "{l}")?;
                }
            }
            Ok(Status::Ok)
        }
        Err(Refused(errno, message)) => {
            writeln!(output.err, "{message} ({})", errno.name())?;
            Ok(match errno {
                Errno::Eagain | Errno::Ebusy => Status::Retry,
                _ => Status::Failed,
            })
        }
    }
}
