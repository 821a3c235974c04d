//! UPLOAD without a hypervisor process: every check Xen's loader makes
//! (the validator's, one implementation), then the placement of the
//! payload's memory block, symbol resolution, relocation and the special
//! sections, for any architecture Xen live-patches.
//!
//! The simulator's [`Hypervisor`](crate::Hypervisor) runs this against its
//! live image before it maps the block into the hypervisor process; [`place`]
//! runs it against a `xen-syms` file alone (the fuzz target, the arm
//! payloads, whose code cannot run here). What each architecture gets:
//!
//! * x86-64: relocations (C-61), `.altinstructions` applied against the CPU
//!   features, `.alt_call_sites` made direct calls (4.21+), `.ex_table`
//!   and `.bug_frames.0-3` decoded at their load addresses.
//! * arm64: relocations as `arch/arm/arm64/livepatch.c` applies them
//!   (C-66, C-67, with Xen's TSTBR14 range), `.altinstructions` applied as
//!   `arch/arm/alternative.c` does (branches in a replacement re-aimed;
//!   a callback alternative is not executed and refused), `.bug_frames.0-3`
//!   decoded (16-byte ARM frames).
//! * arm32: relocations as `arch/arm/arm32/livepatch.c` applies them, REL
//!   addends read from the place (C-70..C-74), bug frames decoded.
//!
//! On ARM nothing runs: the hooks, the patched functions, a trapping bug
//! frame and an alternative callback are not executed. [`Placement::patch_sites`]
//! says what APPLY would write at each `old_addr` (the `B` or NOPs) over
//! the image's bytes, without writing anything.

use xsplice_abi::{Abi, Arch, Expectation, Hook, XenVersion};
use xsplice_validate::model::Payload;
use xsplice_validate::{Environment, LoadedPayload, Options, TargetImage, validate};

use crate::alternatives;
use crate::arm;
use crate::errno::Errno;
use crate::loader::{self, LoadError, Placed};
use crate::traps::{self, BugFrame, BugKind, Tables};

/// How to place a payload without a hypervisor process.
#[derive(Clone, Debug, Default)]
pub struct PlaceOptions {
    /// Behave as this Xen release; `None`: the newest release that loads
    /// the payload's ABI.
    pub xen: Option<XenVersion>,
    /// The simulated CPU's features: `X86_FEATURE_*` numbers on x86, ARM
    /// capability numbers (`cpu_hwcaps` bits, below `ARM_NCAPS` = 18) on arm64.
    pub cpu_features: Vec<u16>,
    /// The block's load address; `None`: the target's
    /// [`TargetImage::payload_base`].
    pub base: Option<u64>,
    /// Payloads loaded before this one, oldest first.
    pub loaded: Vec<LoadedPayload>,
}

/// Why the hypervisor refuses the payload at UPLOAD.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({})", errno.name())]
pub struct Refusal {
    /// What the hypercall returns.
    pub errno: Errno,
    /// The validator's check id (`C-67`), when the refusal is one of its
    /// findings or a loader check the spec numbers.
    pub check: Option<String>,
    /// What the hypervisor logs.
    pub message: String,
}

impl From<LoadError> for Refusal {
    fn from(e: LoadError) -> Refusal {
        let check = e
            .message
            .rsplit_once('[')
            .and_then(|(_, id)| id.strip_suffix(']'))
            .filter(|id| id.starts_with("C-") || id.starts_with("V-"))
            .map(str::to_string);
        Refusal {
            errno: e.errno,
            check,
            message: e.message,
        }
    }
}

/// One `.funcs` entry as UPLOAD leaves it: `old_addr` resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedFunc {
    pub name: Option<String>,
    pub old_addr: u64,
    pub new_addr: u64,
    pub new_size: u32,
    pub old_size: u32,
    /// The v2 expectation (checked at APPLY, C-123).
    pub expect: Option<Expectation>,
}

/// A payload placed and relocated, with its special sections processed.
pub struct Placement {
    pub arch: Arch,
    pub abi: Abi,
    /// The release whose rules were applied.
    pub release: XenVersion,
    /// The block's load address.
    pub base: u64,
    /// The block: `PAGE_ALIGN(text) + PAGE_ALIGN(rw) + ro` bytes, as Xen
    /// leaves it before it maps the regions.
    pub bytes: Vec<u8>,
    /// Page-rounded sizes of the text and rw regions, and the ro size.
    pub text: u64,
    pub rw: u64,
    pub ro: u64,
    /// Every section in the block: name, load address, size.
    pub sections: Vec<(String, u64, u64)>,
    pub funcs: Vec<PlacedFunc>,
    /// Hook pointers by hook, after relocation.
    pub hooks: Vec<(Hook, Vec<u64>)>,
    /// How many alternatives took their replacement.
    pub alternatives: usize,
    /// How many alternative-call sites became direct calls.
    pub alt_calls: usize,
    /// The exception table (x86) at load addresses: (instruction, fixup).
    pub ex_table: Vec<(u64, u64)>,
    /// The bug frames at load addresses, their strings read.
    pub bug_frames: Vec<PlacedFrame>,
    /// Its `.note.gnu.build-id` and `.livepatch.depends` descriptors.
    pub build_id: Vec<u8>,
    pub depends: Vec<u8>,
    /// What a payload loaded after this one sees of it (build-id, new
    /// symbols), under the name it gets with [`Placement::loaded`].
    info: LoadedPayload,
    /// What Xen would run that this placement did not (ARM hooks, callback
    /// alternatives, bug frames), one line each; empty on x86-64, whose
    /// code the simulator runs.
    pub not_executed: Vec<String>,
}

/// A decoded bug frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedFrame {
    /// `run_fn`, `warn`, `bug` or `assert` (`.bug_frames.0` to `.3`).
    pub kind: &'static str,
    /// The address of the trapping instruction.
    pub loc: u64,
    pub file: Option<String>,
    pub line: u32,
    pub msg: Option<String>,
}

/// What APPLY writes for one `.funcs` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchSite {
    /// Where the bytes go: `old_addr` plus the ENDBR64 skip on x86.
    pub addr: u64,
    /// The bytes there now, which REVERT puts back.
    pub old: Vec<u8>,
    /// The branch or NOPs.
    pub new: Vec<u8>,
}

impl Placement {
    /// This payload as loaded under `name`, for the [`PlaceOptions::loaded`]
    /// of a payload placed after it.
    pub fn loaded(&self, name: &str) -> LoadedPayload {
        LoadedPayload {
            name: name.to_string(),
            ..self.info.clone()
        }
    }

    /// What APPLY would write at each entry's `old_addr`, over the bytes of
    /// `target` (the branch of §4 or the NOPs), and the bytes it saves;
    /// nothing is written. A refusal is what APPLY would return (the
    /// branch not encodable, `old_addr` not in the image).
    pub fn patch_sites(&self, target: &dyn TargetImage) -> Result<Vec<PatchSite>, Refusal> {
        let mut sites = Vec::new();
        for f in &self.funcs {
            let head = target.bytes(f.old_addr, 4).unwrap_or_default();
            let head = if self.release.skips_endbr(self.arch) {
                head
            } else {
                Vec::new()
            };
            let site = if f.new_addr == 0 {
                self.arch.nop_patch(&self.release, f.new_size, &head)
            } else {
                self.arch
                    .trampoline(&self.release, f.old_addr, f.new_addr, &head)
            }
            .map_err(|e| Refusal {
                errno: if f.new_addr == 0 {
                    Errno::Eopnotsupp
                } else {
                    Errno::Eoverflow
                },
                check: Some(if f.new_addr == 0 { "C-96" } else { "C-97" }.into()),
                message: e.to_string(),
            })?;
            let at = f.old_addr.checked_add(site.offset as u64);
            let old = at.and_then(|a| target.bytes(a, site.bytes.len()));
            let (Some(addr), Some(old)) = (at, old) else {
                return Err(Refusal {
                    errno: Errno::Efault,
                    check: Some("C-98".into()),
                    message: format!("old_addr {:#x} is not in the hypervisor image", f.old_addr),
                });
            };
            sites.push(PatchSite {
                addr,
                old,
                new: site.bytes,
            });
        }
        Ok(sites)
    }
}

/// Runs UPLOAD's checks and placement of `file` against the hypervisor
/// image `target`, without a hypervisor process: the validator's refusals
/// (with their check ids and errnos), then the loader (placement,
/// symbols, relocations), then the special sections as Xen processes them
/// at load. No payload code runs.
pub fn place(
    file: &[u8],
    target: &dyn TargetImage,
    opts: &PlaceOptions,
) -> Result<Placement, Refusal> {
    let base = opts.base.unwrap_or_else(|| target.payload_base());
    let env = Environment {
        target: Some(target),
        loaded: opts.loaded.clone(),
        load_address: Some(base),
    };
    let prepared = prepare(file, &env, base, opts.xen, &opts.cpu_features)?;
    let sections = prepared.sections.clone();
    let Prepared {
        arch,
        abi,
        release,
        placed,
        funcs,
        traps,
        alternatives,
        alt_calls,
        info,
        build_id,
        depends,
        ..
    } = prepared;
    let mut not_executed = Vec::new();
    if arch != Arch::X86_64 {
        for (hook, ptrs) in &placed.hooks {
            for p in ptrs.iter().filter(|&&p| p != 0) {
                not_executed.push(format!("{} hook at {p:#x}", hook.section()));
            }
        }
        for f in &traps.bugs {
            not_executed.push(format!(
                "{} frame at {:#x}: a trap there is not taken",
                kind_name(f.kind),
                f.loc
            ));
        }
        for f in &funcs {
            if f.new_addr != 0 {
                not_executed.push(format!("new code at {:#x}", f.new_addr));
            }
        }
    }
    Ok(Placement {
        arch,
        abi,
        release,
        base,
        text: placed.text,
        rw: placed.rw,
        ro: placed.ro,
        sections,
        bytes: placed.bytes,
        funcs,
        hooks: placed.hooks,
        alternatives,
        alt_calls,
        ex_table: traps.extable.iter().map(|e| (e.insn, e.fixup)).collect(),
        bug_frames: traps
            .bugs
            .into_iter()
            .map(|f| PlacedFrame {
                kind: kind_name(f.kind),
                loc: f.loc,
                file: f.file,
                line: f.line,
                msg: f.msg,
            })
            .collect(),
        build_id,
        depends,
        info,
        not_executed,
    })
}

fn kind_name(kind: BugKind) -> &'static str {
    match kind {
        BugKind::RunFn => "run_fn",
        BugKind::Warn => "warn",
        BugKind::Bug => "bug",
        BugKind::Assert => "assert",
    }
}

/// Everything UPLOAD decides before the payload touches the hypervisor.
pub(crate) struct Prepared {
    pub arch: Arch,
    pub abi: Abi,
    pub release: XenVersion,
    pub placed: Placed,
    pub funcs: Vec<PlacedFunc>,
    pub info: LoadedPayload,
    pub build_id: Vec<u8>,
    pub depends: Vec<u8>,
    pub modinfo: Option<Vec<u8>>,
    pub traps: Tables,
    pub alternatives: usize,
    pub alt_calls: usize,
    /// Every section in the block: name, load address, size.
    pub sections: Vec<(String, u64, u64)>,
}

/// UPLOAD's checks and placement at `base`: the validator against
/// `env` (its target is the image, live or a file), then the loader and
/// the special sections. A refusal carries the errno the hypercall returns
/// and the line the hypervisor logs.
pub(crate) fn prepare(
    file: &[u8],
    env: &Environment<'_>,
    base: u64,
    xen: Option<XenVersion>,
    cpu_features: &[u16],
) -> Result<Prepared, LoadError> {
    let refuse = |errno: Errno, message: String| LoadError { errno, message };
    let mut report = validate(file, &Options { xen }, env);
    let detected = report.payload.as_ref().and_then(|p| p.abi);
    if xen.is_none()
        && let Some(release) = detected.and_then(|a| a.xen_releases())
    {
        report = validate(
            file,
            &Options {
                xen: Some(release.last),
            },
            env,
        );
    }
    // The hypervisor's own refusals, each with the errno its check
    // set; C-123 (depends, expectations) is checked at APPLY, and the
    // validator's advice (`Response::Advise`: what a loaded payload
    // will do) is no refusal: Xen loads such payloads and the simulator
    // shows the consequence. An `xsplice-v4` payload is checked against
    // its own era, the xSplice v4 series, which loads it (V-07 is only
    // a warning); with `--as-xen` naming a release, that release's C-92
    // refuses it, as the real one would.
    if let Some((f, errno)) = report
        .findings
        .iter()
        .find_map(|f| f.refuses_upload().map(|errno| (f, errno)))
    {
        let loc = f.location.to_string();
        let message = if loc.is_empty() {
            format!("{} [{}]", f.message, f.check)
        } else {
            format!("{}: {} [{}]", loc, f.message, f.check)
        };
        return Err(refuse(errno, message));
    }
    let Some(payload) = report.payload.as_ref() else {
        return Err(refuse(
            Errno::Einval,
            "not a payload the loader can place".into(),
        ));
    };
    let abi = payload.abi.unwrap_or(Abi::LivepatchV2);
    let release = xen.unwrap_or_else(|| abi.rules_release());
    let arch = payload.arch;
    let mut placed = loader::place(payload, abi, file, base, env)?;
    let target = env.target;
    let read = |addr: u64, len: usize| target.and_then(|t| t.bytes(addr, len));
    let alternatives = match arch {
        Arch::X86_64 => {
            let outside = |addr: u64| {
                let w = read(addr, 8)?;
                Some(u64::from_le_bytes(w.try_into().ok()?))
            };
            // Every x86-64 CPU has LM, Xen's X86_FEATURE_ALWAYS.
            let mut features = cpu_features.to_vec();
            features.push(alternatives::X86_FEATURE_ALWAYS);
            x86_alternatives(payload, &release, &mut placed, base, &features, &outside)
                .map_err(|e| refuse(Errno::Einval, e))?
        }
        Arch::Aarch64 => {
            let text = |n: &str| env.target_symbol(n).map(|s| s.addr);
            let core = (text("_stext").unwrap_or(0), text("_etext").unwrap_or(0));
            arm64_alternatives(payload, &mut placed, base, cpu_features, core)
                .map_err(|e| refuse(Errno::Einval, e))?
        }
        // Xen's arm32 has no alternatives: the validator refuses the section.
        Arch::Arm32 => 0,
    };
    let alt_calls = if arch == Arch::X86_64 && release.has_alt_calls() {
        let outside = |addr: u64| {
            let w = read(addr, 8)?;
            Some(u64::from_le_bytes(w.try_into().ok()?))
        };
        x86_alt_calls(payload, &mut placed, base, &outside).map_err(|e| refuse(Errno::Einval, e))?
    } else {
        0
    };
    let traps = payload_tables(payload, &placed, base, &|a| read_c_string(&read, a));
    let mut funcs = Vec::new();
    for (f, fname) in placed.funcs.iter().zip(&placed.func_names) {
        let old_addr = match f.old_addr {
            0 => fname
                .as_deref()
                .and_then(|n| env.resolve(n))
                .ok_or_else(|| {
                    let n = fname.clone().unwrap_or_default();
                    refuse(
                        Errno::Enoent,
                        format!("could not resolve old address of {n}"),
                    )
                })?,
            a => a,
        };
        funcs.push(PlacedFunc {
            name: fname.clone(),
            old_addr,
            new_addr: f.new_addr,
            new_size: f.new_size,
            old_size: f.old_size,
            expect: (abi == Abi::LivepatchV2).then_some(f.expect),
        });
    }
    let sections = payload
        .sections
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let off = payload.block_offset(i)?;
            Some((s.name.clone(), base.wrapping_add(off), s.size))
        })
        .collect();
    Ok(Prepared {
        arch,
        abi,
        release,
        funcs,
        sections,
        info: report.loaded("", base).unwrap_or_default(),
        build_id: payload.build_id.clone().unwrap_or_default(),
        depends: payload.depends.clone().unwrap_or_default(),
        modinfo: payload.modinfo.clone(),
        placed,
        traps,
        alternatives,
        alt_calls,
    })
}

/// The NUL-terminated string at `addr` read through `read` (at most 4 KiB).
pub(crate) fn read_c_string(
    read: &dyn Fn(u64, usize) -> Option<Vec<u8>>,
    addr: u64,
) -> Option<String> {
    let mut bytes = Vec::new();
    for chunk in 0..64u64 {
        let at = addr.checked_add(chunk * 64)?;
        // The string may end right before an unmapped page.
        let room = 4096 - at % 4096;
        let part = read(at, 64).or_else(|| read(at, room.min(64) as usize))?;
        match part.iter().position(|&b| b == 0) {
            Some(end) => {
                bytes.extend_from_slice(&part[..end]);
                return Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            None => bytes.extend_from_slice(&part),
        }
    }
    None
}

/// The block offset and size of the first section called `name`.
fn section(payload: &Payload, name: &str) -> Option<(usize, usize)> {
    let i = payload.sections.iter().position(|s| s.name == name)?;
    let off = usize::try_from(payload.block_offset(i)?).ok()?;
    let size = usize::try_from(payload.sections[i].size).ok()?;
    Some((off, size))
}

/// Applies the x86 `.altinstructions` to the placed bytes, as
/// `prepare_payload` does before the payload is mapped; the validator
/// has checked every entry's ranges and lengths (C-106).
fn x86_alternatives(
    payload: &Payload,
    release: &XenVersion,
    placed: &mut Placed,
    base: u64,
    cpu_features: &[u16],
    outside: &dyn Fn(u64) -> Option<u64>,
) -> Result<usize, String> {
    let Some((off, size)) = section(payload, ".altinstructions") else {
        return Ok(0);
    };
    if Arch::X86_64.alt_instr_size(Some(release)) != 14 {
        return Err(format!(
            "alternatives of Xen {release} (12-byte entries) are not simulated"
        ));
    }
    alternatives::apply(&mut placed.bytes, base, off, size, cpu_features, outside).map_err(|e| e.0)
}

/// Applies the arm64 `.altinstructions` (C-106 checked by the validator).
fn arm64_alternatives(
    payload: &Payload,
    placed: &mut Placed,
    base: u64,
    caps: &[u16],
    core_text: (u64, u64),
) -> Result<usize, String> {
    let Some((off, size)) = section(payload, ".altinstructions") else {
        return Ok(0);
    };
    match arm::apply_alternatives_arm64(&mut placed.bytes, base, off, size, caps, core_text) {
        arm::AltOutcome::Applied(n) => Ok(n),
        arm::AltOutcome::Bug(m) => Err(format!("{m} [C-106]")),
    }
}

/// Rewrites the x86 `.alt_call_sites` on the releases that have them
/// (4.21+), after the alternatives, reading each function pointer now
/// (C-107 has checked the sites).
fn x86_alt_calls(
    payload: &Payload,
    placed: &mut Placed,
    base: u64,
    outside: &dyn Fn(u64) -> Option<u64>,
) -> Result<usize, String> {
    let Some((off, size)) = section(payload, ".alt_call_sites") else {
        return Ok(0);
    };
    alternatives::apply_alt_calls(&mut placed.bytes, base, off, size, outside).map_err(|e| e.0)
}

/// The exception table and bug frames of a placed payload, at their load
/// addresses, with the frames' strings read from the payload or through
/// `string` (the validator has checked the tables' sizes, C-105, C-108).
fn payload_tables(
    payload: &Payload,
    placed: &Placed,
    base: u64,
    string: &dyn Fn(u64) -> Option<String>,
) -> Tables {
    let sec = |name: &str| {
        let (off, size) = section(payload, name)?;
        let bytes = placed.bytes.get(off..off.checked_add(size)?)?;
        Some((base.wrapping_add(off as u64), bytes))
    };
    let string = |addr: u64| {
        let inside = addr
            .checked_sub(base)
            .and_then(|o| placed.bytes.get(usize::try_from(o).ok()?..));
        match inside {
            Some(tail) => {
                let end = tail.iter().position(|&b| b == 0)?;
                Some(String::from_utf8_lossy(&tail[..end]).into_owned())
            }
            None => string(addr),
        }
    };
    let mut tables = Tables {
        text: vec![(base, base.wrapping_add(placed.text))],
        ..Tables::default()
    };
    if payload.arch == Arch::X86_64
        && let Some((at, bytes)) = sec(".ex_table")
    {
        tables.extable = traps::decode_ex_table(bytes, at);
    }
    for (n, kind) in BugKind::ALL.into_iter().enumerate() {
        let Some((at, bytes)) = sec(&format!(".bug_frames.{n}")) else {
            continue;
        };
        if payload.arch == Arch::X86_64 {
            tables.bugs.extend(frames(kind, bytes, at, &string));
        } else {
            tables
                .bugs
                .extend(arm::decode_arm_bug_frames(bytes, at).into_iter().map(|f| {
                    BugFrame {
                        kind,
                        loc: f.loc,
                        ptr: f.file,
                        file: string(f.file),
                        line: f.line,
                        msg: (kind == BugKind::Assert)
                            .then(|| string(f.msg).unwrap_or_else(|| "<unknown>".into())),
                    }
                }));
        }
    }
    tables
}

/// Decodes x86 frames and reads their strings through `string`.
pub(crate) fn frames(
    kind: BugKind,
    bytes: &[u8],
    at: u64,
    string: &dyn Fn(u64) -> Option<String>,
) -> Vec<BugFrame> {
    traps::decode_bug_frames(kind, bytes, at)
        .into_iter()
        .map(|f| BugFrame {
            kind,
            loc: f.loc,
            ptr: f.file,
            file: string(f.file),
            line: f.line,
            msg: f
                .msg
                .map(|m| string(m).unwrap_or_else(|| "<unknown>".into())),
        })
        .collect()
}
