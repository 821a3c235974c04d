//! The simulated hypervisor: the running stand-in image, the loaded
//! payloads, and the live-patch operations with the hypervisor's semantics
//! (spec §2.B-§2.R, §4): UPLOAD through the validator's checks and the
//! loader, APPLY, REVERT, REPLACE and UNLOAD with their state rules,
//! build-id dependencies, expectations, hooks and trampolines.
//!
//! Operations return what the hypercall returns (`Ok` or an [`Errno`]) and
//! record the payload's `rc` as GET and LIST report it; the asynchronous
//! phase of APPLY, REVERT and REPLACE runs at once, since the simulator has
//! no other CPUs to rendezvous with. Faults in hypervisor or payload code
//! surface as [`Fail::Crash`].

use std::cell::RefCell;
use std::time::Duration;

use xsplice_abi::limits::{MAX_PAYLOAD_SIZE, NAME_SIZE};
use xsplice_abi::note::hex;
use xsplice_abi::{Abi, Arch, Hook, XenVersion};
use xsplice_validate::{
    Environment, LoadedPayload, TargetImage, TargetSymbol, default_payload_base,
};

use crate::alternatives;
use crate::errno::Errno;
use crate::error::SimError;
use crate::host::{Death, Host, Prot};
use crate::image::{Image, NamedRange, PAGE, page_up, symbolise};
use crate::loader::{LoadError, Placed};
use crate::place::{self, PlacedFunc};
use crate::traps::{self, BugKind, Tables};

/// How many function states fit in the hooks' page after its 8-byte header.
const FSTATE_MAX: usize = (PAGE as usize - 8) / 4;

/// A payload's state (`XEN_LIVEPATCH_STATE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Checked,
    Applied,
}

impl State {
    /// The tool's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            State::Checked => "CHECKED",
            State::Applied => "APPLIED",
        }
    }
}

/// Why an operation failed.
#[derive(Debug)]
pub enum Fail {
    /// The hypercall returned this errno.
    Xen(Errno),
    /// The hypervisor process died or could not be driven.
    Crash(SimError),
}

impl From<SimError> for Fail {
    fn from(e: SimError) -> Fail {
        Fail::Crash(e)
    }
}

/// One `.funcs` entry of a loaded payload, with its live patch state
/// (Xen's `struct livepatch_fstate`).
#[derive(Clone, Debug)]
struct LiveFunc {
    /// The entry as UPLOAD placed it.
    entry: PlacedFunc,
    /// Bytes overwritten by the trampoline or NOPs, restored at revert.
    saved: Vec<u8>,
    patch_offset: u64,
    applied: bool,
}

/// A loaded payload.
struct LivePayload {
    name: String,
    abi: Abi,
    base: u64,
    mapped: u64,
    text: u64,
    state: State,
    rc: Option<Errno>,
    reverted: bool,
    has_rw_data: bool,
    funcs: Vec<LiveFunc>,
    hooks: Vec<(Hook, Vec<u64>)>,
    build_id: Vec<u8>,
    depends: Vec<u8>,
    modinfo: Option<Vec<u8>>,
    /// Address of the `.funcs` entries in payload memory, and whether
    /// they are read-only.
    funcs_at: Option<u64>,
    funcs_ro: bool,
    info: LoadedPayload,
    symbols: Vec<NamedRange>,
    /// Its exception table and bug frames, searched while it is loaded
    /// (Xen 4.17 registers the payload's region at UPLOAD).
    traps: Tables,
}

impl LivePayload {
    fn hook(&self, hook: Hook) -> Option<u64> {
        self.hooks
            .iter()
            .find(|(h, _)| *h == hook)
            .and_then(|(_, p)| p.first().copied())
            .filter(|&p| p != 0)
    }

    fn hooks_of(&self, hook: Hook) -> Vec<u64> {
        self.hooks
            .iter()
            .filter(|(h, _)| *h == hook)
            .flat_map(|(_, p)| p.iter().copied())
            .collect()
    }

    fn has_vetoing_hooks(&self) -> bool {
        [
            Hook::PreApply,
            Hook::PostApply,
            Hook::PreRevert,
            Hook::PostRevert,
        ]
        .into_iter()
        .any(|h| self.hook(h).is_some())
    }
}

/// A payload UPLOAD has checked, placed and relocated, ready to be mapped.
struct Prepared {
    abi: Abi,
    placed: Placed,
    funcs: Vec<LiveFunc>,
    info: LoadedPayload,
    build_id: Vec<u8>,
    depends: Vec<u8>,
    modinfo: Option<Vec<u8>>,
    traps: Tables,
}

/// One row of LIST.
#[derive(Clone, Debug)]
pub struct Listed {
    pub name: String,
    pub state: State,
    pub rc: Option<Errno>,
    pub metadata: Vec<u8>,
    pub abi: Abi,
}

/// The running stand-in hypervisor and its payloads.
pub struct Hypervisor<'x> {
    image: Image<'x>,
    host: RefCell<Host>,
    payloads: Vec<LivePayload>,
    /// Names of applied payloads, oldest first.
    applied: Vec<String>,
    /// A scratch page for `info` and a zeroed stand-in for `struct payload`.
    scratch: u64,
    next_base: u64,
    /// The release to behave as; `None`: for each payload, the newest
    /// release that loads its ABI.
    xen: Option<XenVersion>,
    /// What the hypervisor logged during the last operation.
    console: Vec<String>,
    /// How and when the hypervisor died, for the commands that follow.
    crash_note: Option<String>,
    /// The image's own exception table and bug frames.
    core_traps: Tables,
    /// What the trap handler printed (`Xen WARN at ...`), not yet in `console`.
    trap_log: RefCell<Vec<String>>,
    /// The simulated CPU's feature numbers (`X86_FEATURE_*`: word * 32 +
    /// bit), against which a payload's alternatives are applied at UPLOAD.
    cpu_features: Vec<u16>,
}

/// The validator's view of the running hypervisor: the image's symbols and
/// build-id, with code bytes read from live memory.
struct LiveTarget<'a, 'x> {
    image: &'a Image<'x>,
    host: &'a RefCell<Host>,
    blocks: Vec<(u64, u64)>,
    base: u64,
}

impl TargetImage for LiveTarget<'_, '_> {
    fn build_id(&self) -> Option<&[u8]> {
        self.image.build_id()
    }
    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        self.image.syms.lookup(name)
    }
    fn function_at(&self, addr: u64) -> Option<TargetSymbol> {
        self.image.syms.function_at(addr)
    }
    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let end = addr.checked_add(len as u64)?;
        let inside = |start: u64, size: u64| addr >= start && end <= start + size;
        let mapped = self.image.segments.iter().any(|s| inside(s.start, s.len))
            || self.blocks.iter().any(|&(b, n)| inside(b, n));
        if !mapped {
            return None;
        }
        self.host.borrow_mut().read(addr, len).ok()
    }
    fn payload_base(&self) -> u64 {
        self.base
    }
}

impl<'x> Hypervisor<'x> {
    /// Maps the image `data` (the `xen-syms` called `file`) into a new
    /// hypervisor process and starts it.
    ///
    /// The process is killed when the `Hypervisor` is dropped, and also
    /// when the thread that booted it exits (it is that thread's child),
    /// so keep a hypervisor on the thread that made it.
    pub fn boot(
        file: &str,
        data: &'x [u8],
        xen: Option<XenVersion>,
        timeout: Duration,
    ) -> Result<Hypervisor<'x>, SimError> {
        crate::host::check_supported()?;
        let image = Image::parse(file, data)?;
        for needed in ["xen_info_format", "xen_extra_version"] {
            image.symbol(needed)?;
        }
        let mut host = Host::spawn(timeout)?;
        for s in &image.segments {
            host.map(s.start, s.len)?;
            host.write(s.vaddr, s.bytes)?;
            host.protect(s.start, s.len, s.prot)?;
        }
        let scratch = default_payload_base(image.end);
        host.map(scratch, 2 * PAGE)?;
        let core_traps = core_tables(&image, &mut host);
        Ok(Hypervisor {
            image,
            host: RefCell::new(host),
            payloads: Vec::new(),
            applied: Vec::new(),
            scratch,
            next_base: scratch + 4 * PAGE,
            xen,
            console: Vec::new(),
            crash_note: None,
            core_traps,
            trap_log: RefCell::new(Vec::new()),
            cpu_features: Vec::new(),
        })
    }

    /// Boots a fresh copy of the image in a new process, with no payloads,
    /// after a crash or at any time (the old process, if alive, is killed).
    pub fn restart(&mut self) -> Result<(), SimError> {
        let timeout = self.host.borrow().timeout();
        let mut fresh = Hypervisor::boot(&self.image.file, self.image.data, self.xen, timeout)?;
        fresh.cpu_features = std::mem::take(&mut self.cpu_features);
        *self = fresh;
        Ok(())
    }

    /// Sets the simulated CPU's feature numbers (`X86_FEATURE_*`: 32 times
    /// the word plus the bit; Xen 4.17 has 21 words); payloads uploaded from
    /// now on get their alternatives applied against them.
    pub fn set_cpu_features(&mut self, features: &[u16]) -> Result<(), String> {
        if let Some(f) = features.iter().find(|&&f| f >= alternatives::NCAPINTS * 32) {
            return Err(format!(
                "cpu feature {f} is not below {}",
                alternatives::NCAPINTS * 32
            ));
        }
        self.cpu_features = features.to_vec();
        Ok(())
    }

    /// Records the command during which the hypervisor died.
    pub fn note_crash(&mut self, command: &str) {
        if self.crash_note.is_some() {
            return;
        }
        let how = self
            .death()
            .map_or_else(|| "it crashed".to_string(), |d| crate::error::describe(&d));
        self.crash_note = Some(format!("it died during `{command}` ({how})"));
    }

    /// How and when the hypervisor died, once a command has noted it.
    pub fn crash_note(&self) -> Option<&str> {
        self.crash_note.as_deref()
    }

    /// Takes what the hypervisor logged since the last call.
    pub fn take_console(&mut self) -> Vec<String> {
        self.drain_trap_log();
        std::mem::take(&mut self.console)
    }

    /// Moves what the trap handler printed into the console, in order.
    fn drain_trap_log(&mut self) {
        let printed = std::mem::take(&mut *self.trap_log.borrow_mut());
        self.console.extend(printed);
    }

    fn log(&mut self, name: &str, message: impl std::fmt::Display) {
        self.drain_trap_log();
        self.console
            .push(format!("(XEN) livepatch: {name}: {message}"));
    }

    /// Calls hypervisor or payload code; its faults and traps are decided
    /// by the image's tables and those of the loaded payloads, as Xen's
    /// `search_exception_table` and `do_bug_frame` do.
    fn call(&self, addr: u64, args: &[u64]) -> Result<u64, SimError> {
        let loaded: Vec<&Tables> = self.payloads.iter().map(|p| &p.traps).collect();
        let mut decide = |sig: i32, pc: u64, _addr: u64| {
            let mut log = self.trap_log.borrow_mut();
            traps::decide(&self.core_traps, &loaded, sig, pc, &mut log)
        };
        self.host.borrow_mut().call(addr, args, &mut decide)
    }

    /// The `xl info` lines, formatted by the running image.
    pub fn info(&mut self) -> Result<String, SimError> {
        let f = self.image.symbol("xen_info_format")?;
        let len = self.call(f, &[self.scratch, PAGE])? as usize;
        let bytes = self
            .host
            .borrow_mut()
            .read(self.scratch, len.min(PAGE as usize - 1))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The address of an image symbol (`file#name` for statics).
    pub fn symbol(&self, name: &str) -> Result<u64, SimError> {
        self.image.symbol(name)
    }

    /// Calls the image function `name` with no arguments and returns its
    /// return register, e.g. a `const char *` to read with
    /// [`Hypervisor::read_c_string`].
    pub fn call_function(&mut self, name: &str) -> Result<u64, SimError> {
        let f = self.image.symbol(name)?;
        self.call(f, &[])
    }

    /// `len` bytes of live memory at `addr` in the image or a loaded
    /// payload; `None` for memory the hypervisor does not map.
    pub fn read_memory(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.read(addr, len).ok()
    }

    /// The NUL-terminated string at `addr` (at most 4 KiB).
    pub fn read_c_string(&self, addr: u64) -> Option<String> {
        crate::place::read_c_string(&|at, len| self.read_memory(at, len), addr)
    }

    /// The hook log of the running image.
    pub fn hook_log(&mut self) -> Result<String, SimError> {
        let len_at = self.image.symbol("xen_hook_log_len")?;
        let buf = self.image.symbol("xen_hook_log_buf")?;
        let mut host = self.host.borrow_mut();
        let len = host.read(len_at, 8)?;
        let len = u64::from_le_bytes(len.try_into().unwrap_or([0; 8])).min(4095);
        let bytes = host.read(buf, len as usize)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// How the hypervisor process died, if it did.
    pub fn death(&self) -> Option<Death> {
        self.host.borrow().death().cloned()
    }

    /// The release whose rules a payload of `abi` is handled by: the one
    /// emulated, else the newest that loads the ABI (the rules themselves
    /// are `xsplice-abi`'s, which the validator reads too).
    fn release_for(&self, abi: Abi) -> XenVersion {
        self.xen.unwrap_or_else(|| abi.rules_release())
    }

    /// Releases before the fstate change keep each function's state in the
    /// payload's own `.funcs` entries (`opaque`, `applied`; §0, §1.7 d).
    fn writes_funcs(&self, abi: Abi) -> bool {
        abi.hypervisor_writes_funcs(&self.release_for(abi))
    }

    /// The address of field `field` of `.funcs` entry `j` of payload `i`
    /// in payload memory, on releases that keep state there.
    fn funcs_field(&self, i: usize, j: usize, field: &str) -> Option<(u64, usize)> {
        let p = &self.payloads[i];
        if !self.writes_funcs(p.abi) {
            return None;
        }
        let layout = p.abi.layout(Arch::X86_64.word_size());
        let f = layout.field(field)?;
        Some((p.funcs_at? + (j * layout.size + f.offset) as u64, f.size))
    }

    /// What a pre-fstate hypervisor stores in `.funcs` entry `j` when it
    /// patches (`applied` and the undo bytes in `opaque`) or restores it.
    fn store_func_state(&mut self, i: usize, j: usize, applied: bool) -> Result<(), Fail> {
        let mut writes = Vec::new();
        if let Some((at, _)) = self.funcs_field(i, j, "applied") {
            writes.push((at, vec![u8::from(applied)]));
        }
        if applied && let Some((at, size)) = self.funcs_field(i, j, "opaque") {
            let mut undo = self.payloads[i].funcs[j].saved.clone();
            undo.truncate(size);
            writes.push((at, undo));
        }
        for (at, bytes) in writes {
            self.write_payload_data(i, at, &bytes)?;
        }
        Ok(())
    }

    /// Writes into payload `i`'s own data as the hypervisor does while
    /// patching: a read-only page is written through (CR0.WP cleared, or
    /// rodata relaxed) except on 4.18.0, where it page-faults and Xen dies.
    fn write_payload_data(&mut self, i: usize, at: u64, bytes: &[u8]) -> Result<(), Fail> {
        let (ro, abi) = (self.payloads[i].funcs_ro, self.payloads[i].abi);
        if !ro {
            self.host.borrow_mut().write(at, bytes)?;
            return Ok(());
        }
        if self
            .release_for(abi)
            .faults_on_read_only_funcs(Arch::X86_64)
        {
            let name = self.payloads[i].name.clone();
            let message = format!(
                "FATAL PAGE FAULT: write to read-only {} of payload `{name}` at {at:#x}",
                abi.funcs_section()
            );
            return Err(self.panic(message));
        }
        let (start, end) = (at & !(PAGE - 1), page_up(at + bytes.len() as u64));
        let mut host = self.host.borrow_mut();
        host.protect(start, end - start, Prot::Rw)?;
        host.write(at, bytes)?;
        host.protect(start, end - start, Prot::Ro)?;
        Ok(())
    }

    /// The hypervisor panics: the process is stopped and reported dead.
    fn panic(&mut self, message: String) -> Fail {
        let mut host = self.host.borrow_mut();
        host.panic(message);
        let death = host.death().cloned();
        Fail::Crash(SimError::Crashed(death.unwrap_or_default()))
    }

    /// The address of the `.funcs` entries of a loaded payload.
    pub fn funcs_address(&self, name: &str) -> Option<u64> {
        self.payloads.iter().find(|p| p.name == name)?.funcs_at
    }

    fn find(&self, name: &str) -> Result<usize, Fail> {
        self.payloads
            .iter()
            .position(|p| p.name == name)
            .ok_or(Fail::Xen(Errno::Enoent))
    }

    /// GET: the state and rc of a payload.
    pub fn get(&self, name: &str) -> Result<(State, Option<Errno>), Errno> {
        self.payloads
            .iter()
            .find(|p| p.name == name)
            .map(|p| (p.state, p.rc))
            .ok_or(Errno::Enoent)
    }

    /// LIST, in load order.
    pub fn list(&self) -> Vec<Listed> {
        self.payloads
            .iter()
            .map(|p| Listed {
                name: p.name.clone(),
                state: p.state,
                rc: p.rc,
                metadata: p.modinfo.clone().unwrap_or_default(),
                abi: p.abi,
            })
            .collect()
    }

    /// Everything UPLOAD decides before the payload touches the running
    /// hypervisor (`place::prepare`): the validator's checks against the
    /// live image and the loaded payloads, then placement at `base`,
    /// relocation, the special sections and the `.funcs` entries' old
    /// addresses. A refusal carries the errno the hypercall returns and the
    /// line the hypervisor logs.
    fn prepare(&self, name: &str, file: &[u8], base: u64) -> Result<Prepared, LoadError> {
        let loaded: Vec<LoadedPayload> = self.payloads.iter().map(|p| p.info.clone()).collect();
        let target = LiveTarget {
            image: &self.image,
            host: &self.host,
            blocks: self.payloads.iter().map(|p| (p.base, p.mapped)).collect(),
            base,
        };
        let env = Environment {
            target: Some(&target),
            loaded,
            load_address: Some(base),
        };
        let p = place::prepare(file, &env, base, self.xen, &self.cpu_features)?;
        if p.arch != Arch::X86_64 {
            // The validator refuses a payload for another machine than the
            // image's; this is the stand-in's own defence.
            return Err(LoadError {
                errno: Errno::Eopnotsupp,
                message: format!("{} payloads do not run on this x86-64 hypervisor", p.arch),
            });
        }
        let mut info = p.info;
        info.name = name.to_string();
        Ok(Prepared {
            abi: p.abi,
            funcs: p
                .funcs
                .into_iter()
                .map(|entry| LiveFunc {
                    entry,
                    saved: Vec::new(),
                    patch_offset: 0,
                    applied: false,
                })
                .collect(),
            info,
            build_id: p.build_id,
            depends: p.depends,
            modinfo: p.modinfo,
            placed: p.placed,
            traps: p.traps,
        })
    }

    /// UPLOAD (sub-op 0): the checks of the validator, then the loader.
    pub fn upload(&mut self, name: &str, file: &[u8]) -> Result<(), Fail> {
        // C-04, C-05, C-06.
        if name.is_empty() || name.len() >= NAME_SIZE || name.contains('\0') {
            return Err(Fail::Xen(Errno::Einval));
        }
        if file.is_empty() || file.len() > MAX_PAYLOAD_SIZE {
            return Err(Fail::Xen(Errno::Einval));
        }
        if self.payloads.iter().any(|p| p.name == name) {
            return Err(Fail::Xen(Errno::Eexist));
        }
        let base = self.next_base;
        let Prepared {
            abi,
            placed,
            funcs,
            info,
            build_id,
            depends,
            modinfo,
            traps,
        } = match self.prepare(name, file, base) {
            Ok(prepared) => prepared,
            Err(refusal) => {
                self.log(name, refusal.message);
                return Err(Fail::Xen(refusal.errno));
            }
        };

        // Copy the block in, then give each region its final permissions.
        let mapped = page_up(placed.bytes.len() as u64).max(PAGE);
        {
            let mut host = self.host.borrow_mut();
            host.map(base, mapped)?;
            host.write(base, &placed.bytes)?;
            if placed.text > 0 {
                host.protect(base, placed.text, Prot::Rx)?;
            }
            if placed.ro > 0 {
                host.protect(base + placed.text + placed.rw, page_up(placed.ro), Prot::Ro)?;
            }
        }
        self.next_base = base + mapped + PAGE;
        self.payloads.push(LivePayload {
            name: name.to_string(),
            abi,
            base,
            mapped,
            text: placed.text,
            state: State::Checked,
            rc: None,
            reverted: false,
            has_rw_data: placed.has_rw_data,
            funcs,
            hooks: placed.hooks,
            build_id,
            depends,
            modinfo,
            funcs_at: placed.funcs_offset.map(|o| base + o),
            funcs_ro: placed.funcs_ro,
            info,
            symbols: placed.symbols,
            traps,
        });
        Ok(())
    }

    /// The page passed as `struct payload *` to the hooks that take one
    /// (pre-/post- and action hooks).
    ///
    /// Xen's `struct payload` is hypervisor-internal and its layout changes
    /// between releases, so the simulator gives hooks a page of its own,
    /// laid out as follows (ours, not Xen's; little-endian):
    ///
    /// | offset | type | field |
    /// |---|---|---|
    /// | 0 | `u32` | `nfuncs`: number of `.funcs` entries (at most 1022 are shown) |
    /// | 4 | `u32` | reserved, 0 |
    /// | 8 + 4·i | `u32` | `applied[i]`: 1 if function `i` is patched, else 0 (Xen's `LIVEPATCH_FUNC_APPLIED` / `NOT_APPLIED`) |
    ///
    /// `applied[i]` plays the part of Xen's `payload->fstate[i].applied`
    /// (4.19+, and the 4.17.3 and 4.18.1 backports): an action hook must set
    /// it for every function, and the simulator reads it back after the hook
    /// (C-128). Releases before the fstate change keep the state in the
    /// entry's own `applied` byte instead (v2 entries, §1.7 d): there the
    /// simulator reads that byte, as those releases do, and the page only
    /// shows the current states.
    fn payload_arg(&self) -> u64 {
        self.scratch + PAGE
    }

    /// Writes payload `i`'s function states into the hooks' page.
    fn publish_fstate(&self, i: usize) -> Result<(), SimError> {
        let funcs = &self.payloads[i].funcs;
        let n = funcs.len().min(FSTATE_MAX);
        let mut page = Vec::with_capacity(8 + 4 * n);
        page.extend_from_slice(&(n as u32).to_le_bytes());
        page.extend_from_slice(&0u32.to_le_bytes());
        for f in &funcs[..n] {
            page.extend_from_slice(&u32::from(f.applied).to_le_bytes());
        }
        self.host.borrow_mut().write(self.payload_arg(), &page)
    }

    /// Reads back what a hook left in the page's `applied[]`, or, on
    /// releases before the fstate change, in each entry's `applied` byte.
    fn collect_fstate(&mut self, i: usize) -> Result<(), SimError> {
        let n = self.payloads[i].funcs.len();
        let in_funcs: Vec<Option<u64>> = (0..n)
            .map(|j| self.funcs_field(i, j, "applied").map(|(at, _)| at))
            .collect();
        if in_funcs.iter().all(Option::is_some) && n > 0 {
            for (j, at) in in_funcs.into_iter().enumerate() {
                let b = self.host.borrow_mut().read(at.unwrap_or(0), 1)?;
                self.payloads[i].funcs[j].applied = b.first().is_some_and(|&b| b != 0);
            }
            return Ok(());
        }
        let n = n.min(FSTATE_MAX);
        let bytes = self.host.borrow_mut().read(self.payload_arg() + 8, 4 * n)?;
        for (f, w) in self.payloads[i].funcs.iter_mut().zip(bytes.chunks_exact(4)) {
            f.applied = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) != 0;
        }
        Ok(())
    }

    /// Calls a hook that takes `struct payload *` for payload `i`.
    fn call_hook(&self, i: usize, addr: u64) -> Result<i32, SimError> {
        self.publish_fstate(i)?;
        Ok(self.call(addr, &[self.payload_arg()])? as u32 as i32)
    }

    /// C-128: after an apply (or the apply of a replace) every function
    /// must be applied when rc is 0 and none otherwise; after a revert the
    /// reverse. Anything else makes Xen panic, and so the simulated
    /// hypervisor dies here.
    fn check_consistent(
        &mut self,
        i: usize,
        applying: bool,
        rc: Option<Errno>,
    ) -> Result<(), Fail> {
        let want = applying == rc.is_none();
        let p = &self.payloads[i];
        let Some(bad) = p.funcs.iter().find(|f| f.applied != want) else {
            return Ok(());
        };
        let state = |a: bool| if a { "APPLIED" } else { "NOT APPLIED" };
        let outcome = match rc {
            None => "succeeded".to_string(),
            Some(e) => format!("failed with {}", e.name()),
        };
        let (pname, fname) = (p.name.clone(), bad.entry.name.clone().unwrap_or_default());
        self.log(
            &pname,
            format!(
                "function `{fname}` is {} after the {} {outcome}; every function must be {}",
                state(bad.applied),
                if applying { "apply" } else { "revert" },
                state(want)
            ),
        );
        let message = format!("livepatch: payload `{pname}` is left partially applied");
        Err(self.panic(message))
    }

    /// Writes `bytes` over live code at `addr`, making the page writable
    /// meanwhile like Xen's quiesce does.
    fn write_code(&mut self, addr: u64, bytes: &[u8]) -> Result<(), Fail> {
        let end = addr + bytes.len() as u64;
        let region = if let Some(s) = self.image.segment_of(addr) {
            Some((s.start, s.len, s.prot))
        } else {
            self.payloads
                .iter()
                .find(|p| addr >= p.base && end <= p.base + p.text)
                .map(|p| (p.base, p.text, Prot::Rx))
        };
        let Some((start, len, prot)) = region else {
            self.console.push(format!(
                "(XEN) livepatch: cannot patch {addr:#x}: not hypervisor or payload text"
            ));
            return Err(Fail::Xen(Errno::Efault));
        };
        let mut host = self.host.borrow_mut();
        host.protect(start, len, Prot::Rwx)?;
        host.write(addr, bytes)?;
        host.protect(start, len, prot)?;
        Ok(())
    }

    fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, Fail> {
        let target = LiveTarget {
            image: &self.image,
            host: &self.host,
            blocks: self.payloads.iter().map(|p| (p.base, p.mapped)).collect(),
            base: 0,
        };
        if let Some(d) = self.host.borrow().death() {
            return Err(Fail::Crash(SimError::Crashed(d.clone())));
        }
        target.bytes(addr, len).ok_or(Fail::Xen(Errno::Efault))
    }

    /// Patches every function of payload `i` (§4) after its load hooks.
    fn native_apply(&mut self, i: usize) -> Result<(), Fail> {
        for hook in self.payloads[i].hooks_of(Hook::Load) {
            self.call(hook, &[])?;
        }
        let xen = self.release_for(self.payloads[i].abi);
        let endbr = xen.skips_endbr(Arch::X86_64);
        for j in 0..self.payloads[i].funcs.len() {
            // Pre-fstate releases trust the `applied` byte in the entry, even
            // one a builder left non-zero (§8 item 10).
            if let Some((at, _)) = self.funcs_field(i, j, "applied")
                && self.read(at, 1)?.first().is_some_and(|&b| b != 0)
            {
                self.payloads[i].funcs[j].applied = true;
            }
            let f = self.payloads[i].funcs[j].clone();
            if f.applied {
                let n = f.entry.name.clone().unwrap_or_default();
                self.log(
                    &self.payloads[i].name.clone(),
                    format!("{n} is already applied"),
                );
                continue;
            }
            // Releases before the ENDBR64 rule patch at `old_addr` itself.
            let head = if endbr {
                self.read(f.entry.old_addr, 4).unwrap_or_default()
            } else {
                Vec::new()
            };
            let site = if f.entry.new_addr == 0 {
                Arch::X86_64
                    .nop_patch(&xen, f.entry.new_size, &head)
                    .map_err(|_| Fail::Xen(Errno::Eopnotsupp))?
            } else {
                Arch::X86_64
                    .trampoline(&xen, f.entry.old_addr, f.entry.new_addr, &head)
                    .map_err(|_| Fail::Xen(Errno::Eoverflow))?
            };
            let offset = site.offset as u64;
            let at = f.entry.old_addr + offset;
            let insn = site.bytes;
            let saved = self.read(at, insn.len())?;
            self.write_code(at, &insn)?;
            let live = &mut self.payloads[i].funcs[j];
            live.saved = saved;
            live.patch_offset = offset;
            live.applied = true;
            self.store_func_state(i, j, true)?;
        }
        Ok(())
    }

    /// Restores every applied function of payload `i`, then runs its unload hooks.
    fn native_revert(&mut self, i: usize) -> Result<(), Fail> {
        for j in 0..self.payloads[i].funcs.len() {
            let f = self.payloads[i].funcs[j].clone();
            if !f.applied || f.entry.old_addr == 0 {
                // C-127: skipped with a warning.
                let (p, n) = (
                    self.payloads[i].name.clone(),
                    f.entry.name.unwrap_or_default(),
                );
                self.log(&p, format!("{n} is not applied, skipped"));
                continue;
            }
            self.write_code(f.entry.old_addr + f.patch_offset, &f.saved)?;
            self.payloads[i].funcs[j].applied = false;
            self.store_func_state(i, j, false)?;
        }
        for hook in self.payloads[i].hooks_of(Hook::Unload) {
            self.call(hook, &[])?;
        }
        Ok(())
    }

    /// Expectations on the live bytes (C-123).
    fn check_expectations(&mut self, i: usize) -> Result<(), Fail> {
        let name = self.payloads[i].name.clone();
        for f in self.payloads[i].funcs.clone() {
            let Some(x) = f.entry.expect.filter(|x| x.enabled) else {
                continue;
            };
            let len = x.len as usize;
            let fname = f.entry.name.clone().unwrap_or_default();
            if f.entry.old_addr == 0 {
                return Err(Fail::Xen(Errno::Efault));
            }
            if x.rsv != 0 {
                self.log(&name, format!("{fname}: reserved expectation bits set"));
                return Err(Fail::Xen(Errno::Einval));
            }
            if f.entry.old_size < u32::from(x.len) {
                self.log(
                    &name,
                    format!(
                        "{fname}: expectation of {len} bytes exceeds old_size {}",
                        f.entry.old_size
                    ),
                );
                return Err(Fail::Xen(Errno::Erange));
            }
            let live = self.read(f.entry.old_addr, len)?;
            if live != x.data[..len] {
                self.log(
                    &name,
                    format!(
                        "{fname}: expectation failed: {} at {:#x}, expected {}",
                        hex(&live),
                        f.entry.old_addr,
                        hex(&x.data[..len])
                    ),
                );
                return Err(Fail::Xen(Errno::Einval));
            }
        }
        Ok(())
    }

    /// APPLY (C-123), then the asynchronous phase (C-126, C-128, C-130).
    pub fn apply(&mut self, name: &str, nodeps: bool) -> Result<(), Fail> {
        let i = self.find(name)?;
        let p = &self.payloads[i];
        if p.state != State::Checked {
            return Ok(());
        }
        let abi = p.abi;
        if p.reverted && p.has_rw_data && self.release_for(abi).checks_reapply() {
            self.log(
                name,
                "cannot re-apply: it has writable data that may have changed",
            );
            self.payloads[i].rc = Some(Errno::Einval);
            return Ok(());
        }
        // The NODEPS flag exists from 4.14 on (§0).
        if !(nodeps && self.release_for(abi).has_nodeps()) {
            let (what, want) = match self.applied.last() {
                Some(top) => {
                    let t = self.find(top)?;
                    (
                        format!("payload {top}"),
                        Some(self.payloads[t].build_id.clone()),
                    )
                }
                None => (
                    "the hypervisor".to_string(),
                    self.image.build_id().map(<[u8]>::to_vec),
                ),
            };
            let Some(want) = want else {
                return Err(Fail::Xen(Errno::Enodata));
            };
            if self.payloads[i].depends != want {
                let msg = format!(
                    "depends on build-id {}, but {what} has {}",
                    hex(&self.payloads[i].depends),
                    hex(&want)
                );
                self.log(name, msg);
                return Err(Fail::Xen(Errno::Einval));
            }
        }
        self.check_expectations(i)?;
        if let Some(h) = self.payloads[i].hook(Hook::PreApply) {
            let rc = self.call_hook(i, h)?;
            if rc != 0 {
                let e = Errno::from_rc(rc);
                self.payloads[i].rc = Some(e);
                return Err(Fail::Xen(e));
            }
        }
        let rc = self.apply_action(i)?;
        self.check_consistent(i, true, rc)?;
        if let Some(h) = self.payloads[i].hook(Hook::PostApply) {
            self.call_hook(i, h)?;
        }
        self.finish_apply(i, rc);
        Ok(())
    }

    /// The apply action: the payload's apply hook, or the native apply.
    fn apply_action(&mut self, i: usize) -> Result<Option<Errno>, Fail> {
        if let Some(h) = self.payloads[i].hook(Hook::Apply) {
            let rc = self.call_hook(i, h)?;
            self.collect_fstate(i)?;
            return Ok((rc != 0).then(|| Errno::from_rc(rc)));
        }
        match self.native_apply(i) {
            Ok(()) => Ok(None),
            Err(Fail::Xen(e)) => {
                // Leave no function half-applied: the action failed as a whole.
                for j in 0..self.payloads[i].funcs.len() {
                    let f = self.payloads[i].funcs[j].clone();
                    if f.applied {
                        self.write_code(f.entry.old_addr + f.patch_offset, &f.saved)?;
                        self.payloads[i].funcs[j].applied = false;
                        self.store_func_state(i, j, false)?;
                    }
                }
                Ok(Some(e))
            }
            Err(crash) => Err(crash),
        }
    }

    fn finish_apply(&mut self, i: usize, rc: Option<Errno>) {
        let p = &mut self.payloads[i];
        p.rc = rc;
        if rc.is_none() {
            p.state = State::Applied;
            let name = p.name.clone();
            self.applied.push(name);
        }
    }

    /// REVERT (C-122), then the asynchronous phase (C-127, C-130).
    pub fn revert(&mut self, name: &str) -> Result<(), Fail> {
        let i = self.find(name)?;
        if self.payloads[i].state != State::Applied {
            return Ok(());
        }
        if self.applied.last().map(String::as_str) != Some(name) {
            let top = self.applied.last().cloned().unwrap_or_default();
            self.log(name, format!("not the last applied payload ({top} is)"));
            return Err(Fail::Xen(Errno::Ebusy));
        }
        if let Some(h) = self.payloads[i].hook(Hook::PreRevert) {
            let rc = self.call_hook(i, h)?;
            if rc != 0 {
                let e = Errno::from_rc(rc);
                self.payloads[i].rc = Some(e);
                return Err(Fail::Xen(e));
            }
        }
        let rc = self.revert_action(i)?;
        self.check_consistent(i, false, rc)?;
        if let Some(h) = self.payloads[i].hook(Hook::PostRevert) {
            self.call_hook(i, h)?;
        }
        self.finish_revert(i, rc);
        Ok(())
    }

    fn revert_action(&mut self, i: usize) -> Result<Option<Errno>, Fail> {
        if let Some(h) = self.payloads[i].hook(Hook::Revert) {
            let rc = self.call_hook(i, h)?;
            self.collect_fstate(i)?;
            return Ok((rc != 0).then(|| Errno::from_rc(rc)));
        }
        match self.native_revert(i) {
            Ok(()) => Ok(None),
            Err(Fail::Xen(e)) => Ok(Some(e)),
            Err(crash) => Err(crash),
        }
    }

    fn finish_revert(&mut self, i: usize, rc: Option<Errno>) {
        let p = &mut self.payloads[i];
        p.rc = rc;
        if rc.is_none() {
            p.state = State::Checked;
            p.reverted = true;
            let name = p.name.clone();
            self.applied.retain(|n| *n != name);
        }
    }

    /// REPLACE (C-124, C-129): reverts every applied payload, newest first,
    /// then applies this one.
    pub fn replace(&mut self, name: &str) -> Result<(), Fail> {
        let i = self.find(name)?;
        if self.payloads[i].state != State::Checked {
            return Ok(());
        }
        let Some(xen_id) = self.image.build_id().map(<[u8]>::to_vec) else {
            return Err(Fail::Xen(Errno::Enodata));
        };
        if self.payloads[i].depends != xen_id {
            let msg = format!(
                "depends on build-id {}, but replace needs the hypervisor's {}",
                hex(&self.payloads[i].depends),
                hex(&xen_id)
            );
            self.log(name, msg);
            return Err(Fail::Xen(Errno::Einval));
        }
        let vetoing = self.payloads[i].has_vetoing_hooks()
            || self.applied.iter().any(|n| {
                self.payloads
                    .iter()
                    .any(|p| p.name == *n && p.has_vetoing_hooks())
            });
        if vetoing {
            self.log(
                name,
                "replace is not supported with pre- or post- action hooks",
            );
            return Err(Fail::Xen(Errno::Eopnotsupp));
        }
        for other in self.applied.clone().into_iter().rev() {
            let j = self.find(&other)?;
            let rc = self.revert_action(j)?;
            self.check_consistent(j, false, rc)?;
            self.finish_revert(j, rc);
            if rc.is_some() {
                self.payloads[i].rc = Some(Errno::Einval);
                return Ok(());
            }
        }
        if let Err(e) = self.check_expectations(i) {
            match e {
                Fail::Xen(errno) => {
                    self.payloads[i].rc = Some(errno);
                    return Ok(());
                }
                crash => return Err(crash),
            }
        }
        let rc = self.apply_action(i)?;
        self.check_consistent(i, true, rc)?;
        self.finish_apply(i, rc);
        Ok(())
    }

    /// UNLOAD (C-121): only a CHECKED payload; unload hooks are not run.
    pub fn unload(&mut self, name: &str) -> Result<(), Fail> {
        let i = self.find(name)?;
        if self.payloads[i].state != State::Checked {
            return Err(Fail::Xen(Errno::Einval));
        }
        let p = self.payloads.remove(i);
        self.host.borrow_mut().unmap(p.base, p.mapped)?;
        Ok(())
    }

    /// Names `addr` as a symbol of the image or of a loaded payload.
    pub fn symbolise(&self, addr: u64) -> String {
        if let Some(s) = symbolise(&self.image.ranges, addr) {
            return format!("{s} in {}", self.image.file);
        }
        for p in &self.payloads {
            if addr >= p.base && addr < p.base + p.mapped {
                return match symbolise(&p.symbols, addr) {
                    Some(s) => format!("{s} in payload {}", p.name),
                    None => format!("{:#x} bytes into payload {}", addr - p.base, p.name),
                };
            }
        }
        if self.image.segment_of(addr).is_some() {
            return format!("in {}", self.image.file);
        }
        "not in the hypervisor or a payload".to_string()
    }
}

/// The image's exception table and bug frames, between the markers its
/// linker script defines as Xen's does (`__start___ex_table`,
/// `__start_bug_frames`, `__stop_bug_frames_N`); empty for an image
/// without them.
fn core_tables(image: &Image<'_>, host: &mut Host) -> Tables {
    let mut tables = Tables {
        text: image
            .segments
            .iter()
            .filter(|s| s.prot == Prot::Rx)
            .map(|s| (s.start, s.start + s.len))
            .collect(),
        ..Tables::default()
    };
    let sym = |n: &str| image.symbol(n).ok();
    let mut read = |from: u64, to: u64| {
        to.checked_sub(from)
            .filter(|&n| n < 1 << 20)
            .and_then(|n| host.read(from, n as usize).ok())
    };
    if let (Some(a), Some(b)) = (sym("__start___ex_table"), sym("__stop___ex_table"))
        && let Some(bytes) = read(a, b)
    {
        tables.extable = traps::decode_ex_table(&bytes, a);
    }
    let mut start = sym("__start_bug_frames");
    let mut raw = Vec::new();
    for (n, kind) in BugKind::ALL.into_iter().enumerate() {
        let stop = sym(&format!("__stop_bug_frames_{n}"));
        if let (Some(a), Some(b)) = (start, stop)
            && let Some(bytes) = read(a, b)
        {
            raw.push((kind, a, bytes));
        }
        start = stop;
    }
    // Strings of the image are in its file bytes, as mapped.
    let string = |addr: u64| -> Option<String> {
        let seg = image.segment_of(addr)?;
        let off = usize::try_from(addr.checked_sub(seg.vaddr)?).ok()?;
        let tail = seg.bytes.get(off..)?;
        let end = tail.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&tail[..end]).into_owned())
    };
    for (kind, at, bytes) in raw {
        tables.bugs.extend(place::frames(kind, &bytes, at, &string));
    }
    tables
}
