//! What the hypervisor does when its code, or an applied payload's, faults
//! or traps: the exception tables and the bug frames of x86 Xen 4.17.
//!
//! Xen resumes a faulting instruction that has an entry in an exception
//! table at the entry's fixup (`search_exception_table`: the core table for
//! hypervisor text, a payload's table for its text, from UPLOAD to UNLOAD,
//! while its virtual region is registered), and
//! decodes the `ud2` of `BUG()`, `WARN()` and `ASSERT()` through the frame
//! in `.bug_frames.N` whose location is the trapping address
//! (`do_bug_frame`). The tables are decoded here, in the parent, when the
//! image boots and when a payload is uploaded; the child's signal handler
//! asks the parent what to do and resumes or dies as told.
//!
//! A `run_fn` frame (`.bug_frames.0`, Xen's `run_in_exception_handler`)
//! makes the child call the frame's function with the trap's registers in
//! Xen's `struct cpu_user_regs` layout, take back the general registers it
//! changed, and go on after the `ud2`, as `do_bug_frame` does.

/// One exception-table entry at absolute addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExEntry {
    pub insn: u64,
    pub fixup: u64,
}

/// The frame types, by the `N` of `.bug_frames.N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BugKind {
    RunFn,
    Warn,
    Bug,
    Assert,
}

impl BugKind {
    pub const ALL: [BugKind; 4] = [BugKind::RunFn, BugKind::Warn, BugKind::Bug, BugKind::Assert];
}

/// One decoded bug frame, its strings already read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BugFrame {
    pub kind: BugKind,
    /// The address of the `ud2`.
    pub loc: u64,
    /// The frame's pointer: the file name, or a `run_fn` frame's function.
    pub ptr: u64,
    /// The file name, or `None` when its pointer is outside the hypervisor
    /// and every loaded payload (Xen then treats the trap as unhandled).
    pub file: Option<String>,
    pub line: u32,
    /// The predicate of an assert frame (`<unknown>` when out of range).
    pub msg: Option<String>,
}

/// The tables of the hypervisor or of one payload, with the text they cover.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    /// Code ranges whose faults these tables handle: `[start, end)`.
    pub text: Vec<(u64, u64)>,
    pub extable: Vec<ExEntry>,
    pub bugs: Vec<BugFrame>,
}

/// What to do with a trap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Resume at this address.
    Resume(u64),
    /// Call the function at `func` with the trap's registers (Xen's
    /// `struct cpu_user_regs *`), then resume at `resume`.
    Run { func: u64, resume: u64 },
    /// The hypervisor dies; with the panic message when it panics.
    Die(Option<String>),
}

/// The x86 exception-table entries of `bytes`, the table at `addr`: each is
/// `{s32 addr, s32 cont}`, each field relative to itself (Xen's `ex_addr`
/// and `ex_cont`).
pub fn decode_ex_table(bytes: &[u8], addr: u64) -> Vec<ExEntry> {
    bytes
        .chunks_exact(8)
        .enumerate()
        .map(|(n, e)| {
            let at = addr + 8 * n as u64;
            let field =
                |o: usize| i64::from(i32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]));
            ExEntry {
                insn: at.wrapping_add_signed(field(0)),
                fixup: (at + 4).wrapping_add_signed(field(4)),
            }
        })
        .collect()
}

/// Width of the displacements in an x86 frame; the line number's high and
/// low 7 bits sit above them, in the first and the second word.
const DISP_WIDTH: u32 = 24;
const LINE_LO_WIDTH: u32 = 31 - DISP_WIDTH;

/// A raw x86 bug frame: the `ud2` address, the file pointer, the line and,
/// for an assert frame, the message pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub loc: u64,
    pub file: u64,
    pub line: u32,
    pub msg: Option<u64>,
}

/// The x86 frames of `.bug_frames.N` in `bytes`, the section at `addr`
/// (Xen 4.17's `struct bug_frame`: signed 24-bit displacements from the
/// frame to the `ud2` and to the file name, the line folded into the bits
/// above them; an assert frame has two more words, the second the
/// displacement to the message).
pub fn decode_bug_frames(kind: BugKind, bytes: &[u8], addr: u64) -> Vec<RawFrame> {
    let unit = if kind == BugKind::Assert { 16 } else { 8 };
    let word = |e: &[u8], o: usize| u32::from_le_bytes([e[o], e[o + 1], e[o + 2], e[o + 3]]);
    // The low 24 bits, sign-extended.
    let disp = |w: u32| i64::from(((w << 8) as i32) >> 8);
    bytes
        .chunks_exact(unit)
        .enumerate()
        .map(|(n, e)| {
            let at = addr + (unit * n) as u64;
            let (w0, w1) = (word(e, 0), word(e, 4));
            let (loc_disp, ptr_disp) = (disp(w0), disp(w1));
            // A negative displacement borrowed one from the line bits above
            // it when the assembler added the two: give it back.
            let hi = ((w0 >> DISP_WIDTH) + u32::from(loc_disp < 0)) & 0x7f;
            let lo = ((w1 >> DISP_WIDTH) + u32::from(ptr_disp < 0)) & 0x7f;
            RawFrame {
                loc: at.wrapping_add_signed(loc_disp),
                file: at.wrapping_add_signed(ptr_disp),
                line: (hi << LINE_LO_WIDTH) + lo,
                msg: (unit == 16).then(|| at.wrapping_add_signed(i64::from(word(e, 12) as i32))),
            }
        })
        .collect()
}

/// The signals of the faults an exception table can fix up.
const SIGSEGV: i32 = 11;
const SIGBUS: i32 = 7;
const SIGILL: i32 = 4;

/// Decides a trap at `pc` with signal `sig`, given the hypervisor's tables
/// and those of the loaded payloads: a fixup for a fault, the frame's
/// action for a `ud2`. `log` receives what the hypervisor prints.
pub fn decide(
    core: &Tables,
    loaded: &[&Tables],
    sig: i32,
    pc: u64,
    log: &mut Vec<String>,
) -> Action {
    let owner = std::iter::once(core)
        .chain(loaded.iter().copied())
        .find(|t| t.text.iter().any(|&(s, e)| pc >= s && pc < e));
    let Some(tables) = owner else {
        return Action::Die(None);
    };
    match sig {
        SIGSEGV | SIGBUS => tables
            .extable
            .iter()
            .find(|e| e.insn == pc)
            .map_or(Action::Die(None), |e| Action::Resume(e.fixup)),
        SIGILL => {
            let Some(frame) = tables.bugs.iter().find(|b| b.loc == pc) else {
                return Action::Die(None);
            };
            let kind = frame.kind;
            if kind == BugKind::RunFn {
                return Action::Run {
                    func: frame.ptr,
                    resume: pc.wrapping_add(2),
                };
            }
            let Some(file) = &frame.file else {
                return Action::Die(None);
            };
            // Xen shortens long paths to their last 47 bytes.
            let shown = if file.len() > 50 {
                format!(
                    "...{}",
                    String::from_utf8_lossy(&file.as_bytes()[file.len() - 47..])
                )
            } else {
                file.clone()
            };
            let line = frame.line;
            if kind == BugKind::Warn {
                log.push(format!("(XEN) Xen WARN at {shown}:{line}"));
                // Past the two bytes of `ud2`.
                return Action::Resume(pc.wrapping_add(2));
            }
            let m = if kind == BugKind::Bug {
                format!("Xen BUG at {shown}:{line}")
            } else {
                let pred = frame.msg.as_deref().unwrap_or("<unknown>");
                format!("Assertion '{pred}' failed at {shown}:{line}")
            };
            log.push(format!("(XEN) {m}"));
            Action::Die(Some(m))
        }
        _ => Action::Die(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ex_table_fields_are_self_relative() {
        // At 0x1000: insn at 0x1000 - 0x10, fixup at 0x1004 + 0x20.
        let mut b = Vec::new();
        b.extend_from_slice(&(-0x10i32).to_le_bytes());
        b.extend_from_slice(&0x20i32.to_le_bytes());
        assert_eq!(
            decode_ex_table(&b, 0x1000),
            vec![ExEntry {
                insn: 0xff0,
                fixup: 0x1024
            }]
        );
    }

    /// The words an assembler writes for a frame at `at` whose `ud2` is at
    /// `loc` and file at `file`, line `line`: displacement plus the line
    /// bits, added (so a negative displacement borrows from them).
    fn frame(at: u64, loc: u64, file: u64, line: u32) -> Vec<u8> {
        let w0 = (loc.wrapping_sub(at) as u32).wrapping_add((line >> 7) << 24);
        let w1 = (file.wrapping_sub(at) as u32).wrapping_add((line & 0x7f) << 24);
        [w0.to_le_bytes(), w1.to_le_bytes()].concat()
    }

    #[test]
    fn bug_frame_lines_survive_negative_displacements() {
        for (loc, file, line) in [
            (0x100u64, 0x3000u64, 1u32),
            (0x100, 0x3000, 4242),
            (0x5000, 0x20, 127),
            (0x5000, 0x20, 128),
            (0x5000, 0x20, 16383),
        ] {
            let f = decode_bug_frames(BugKind::Warn, &frame(0x1000, loc, file, line), 0x1000);
            assert_eq!(
                f,
                vec![RawFrame {
                    loc,
                    file,
                    line,
                    msg: None
                }],
                "loc {loc:#x} file {file:#x} line {line}"
            );
        }
    }

    #[test]
    fn decisions() {
        let core = Tables {
            text: vec![(0x1000, 0x2000)],
            extable: vec![ExEntry {
                insn: 0x1010,
                fixup: 0x1800,
            }],
            bugs: vec![
                BugFrame {
                    kind: BugKind::Warn,
                    ptr: 0,
                    loc: 0x1020,
                    file: Some("warn.c".into()),
                    line: 7,
                    msg: None,
                },
                BugFrame {
                    kind: BugKind::Bug,
                    ptr: 0,
                    loc: 0x1030,
                    file: Some("x".repeat(60)),
                    line: 9,
                    msg: None,
                },
                BugFrame {
                    kind: BugKind::Warn,
                    ptr: 0,
                    loc: 0x1040,
                    file: None,
                    line: 1,
                    msg: None,
                },
                BugFrame {
                    kind: BugKind::RunFn,
                    ptr: 0x1900,
                    loc: 0x1050,
                    file: None,
                    line: 0,
                    msg: None,
                },
            ],
        };
        let mut log = Vec::new();
        assert_eq!(
            decide(&core, &[], SIGSEGV, 0x1010, &mut log),
            Action::Resume(0x1800)
        );
        assert_eq!(
            decide(&core, &[], SIGSEGV, 0x1011, &mut log),
            Action::Die(None)
        );
        assert_eq!(
            decide(&core, &[], SIGILL, 0x1020, &mut log),
            Action::Resume(0x1022)
        );
        let long = format!("Xen BUG at ...{}:9", "x".repeat(47));
        assert_eq!(
            decide(&core, &[], SIGILL, 0x1030, &mut log),
            Action::Die(Some(long.clone()))
        );
        // A file name outside every image: unhandled.
        assert_eq!(
            decide(&core, &[], SIGILL, 0x1040, &mut log),
            Action::Die(None)
        );
        // A run_fn frame: its function, then on after the `ud2`.
        assert_eq!(
            decide(&core, &[], SIGILL, 0x1050, &mut log),
            Action::Run {
                func: 0x1900,
                resume: 0x1052
            }
        );
        // Outside the text the tables cover: no fixup.
        assert_eq!(
            decide(&core, &[], SIGSEGV, 0x3010, &mut log),
            Action::Die(None)
        );
        assert_eq!(
            log,
            vec![
                "(XEN) Xen WARN at warn.c:7".to_string(),
                format!("(XEN) {long}")
            ]
        );
    }
}
