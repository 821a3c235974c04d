//! Where GNU `ld -r` puts each output section.
//!
//! GNU ld places the sections named in its default relocatable linker script
//! (`ld -r --verbose`) in script order, and every other ("orphan") section
//! right after the script statement of its class: code after `.text`,
//! read-only data after `.rodata`, TLS after `.tdata`, writable data after
//! `.data`, NOBITS after `.bss`, allocated notes after `.interp`, and
//! non-allocated non-debug sections after `.comment`. Orphans of one class
//! keep their order of first appearance. Section groups come first.
//! Non-allocated debugging orphans go last. The script statements are the
//! same on x86_64, aarch64 and arm apart from a few machine sections, listed
//! below per machine.

use std::sync::OnceLock;

use object::elf;

use crate::hash::FxHashMap;

/// Statements of the relocatable script common to the three machines, in order.
const COMMON_HEAD: &[&str] = &[
    ".interp",
    ".note.gnu.build-id",
    ".hash",
    ".gnu.hash",
    ".dynsym",
    ".dynstr",
    ".gnu.version",
    ".gnu.version_d",
    ".gnu.version_r",
    ".init",
    ".plt",
    ".plt.got",
    ".plt.sec",
    ".iplt",
    ".text",
    ".stub",
    ".fini",
    ".rodata",
    ".rodata1",
    ".ARM.extab",
    ".ARM.exidx",
    ".eh_frame_hdr",
    ".eh_frame",
    ".sframe",
    ".gcc_except_table",
    ".gnu_extab",
    ".exception_ranges",
    ".tdata",
    ".tbss",
    ".jcr",
    ".dynamic",
    ".got",
    ".got.plt",
    ".data",
    ".data1",
    ".bss",
    ".lbss",
    ".lrodata",
    ".ldata",
    ".stab",
    ".stabstr",
    ".stab.excl",
    ".stab.exclstr",
    ".stab.index",
    ".stab.indexstr",
    ".comment",
    ".gnu.build.attributes",
    ".debug",
    ".line",
    ".debug_srcinfo",
    ".debug_sfnames",
    ".debug_aranges",
    ".debug_pubnames",
    ".debug_info",
    ".debug_abbrev",
    ".debug_line",
    ".debug_frame",
    ".debug_str",
    ".debug_loc",
    ".debug_macinfo",
    ".debug_weaknames",
    ".debug_funcnames",
    ".debug_typenames",
    ".debug_varnames",
    ".debug_pubtypes",
    ".debug_ranges",
    ".debug_addr",
    ".debug_line_str",
    ".debug_loclists",
    ".debug_macro",
    ".debug_names",
    ".debug_rnglists",
    ".debug_str_offsets",
    ".debug_sup",
];

/// Machine-specific statements after the debug sections.
fn tail(machine: u16) -> &'static [&'static str] {
    match machine {
        m if m == elf::EM_AARCH64.0 => &[".ARM.attributes", ".note.gnu.arm.ident"],
        m if m == elf::EM_ARM.0 => &[".gnu.attributes", ".note.gnu.arm.ident"],
        _ => &[".gnu.attributes"],
    }
}

/// Whether a script statement exists for this machine (the ARM ones only on ARM, ...).
fn in_script(machine: u16, name: &str) -> bool {
    match name {
        ".ARM.extab" | ".ARM.exidx" | ".iplt" => machine == elf::EM_ARM.0,
        ".plt.got" | ".plt.sec" | ".lbss" | ".lrodata" | ".ldata" => machine == elf::EM_X86_64.0,
        _ => true,
    }
}

/// The rank of the script statement named `name`, if there is one.
pub(crate) fn script_rank(machine: u16, name: &[u8]) -> Option<usize> {
    type Ranks = FxHashMap<&'static [u8], usize>;
    static RANKS: OnceLock<[Ranks; 3]> = OnceLock::new();
    let machines = [elf::EM_X86_64.0, elf::EM_AARCH64.0, elf::EM_ARM.0];
    let ranks = RANKS.get_or_init(|| {
        machines.map(|m| {
            let mut r = Ranks::default();
            for (i, s) in COMMON_HEAD.iter().enumerate() {
                if in_script(m, s) {
                    r.insert(s.as_bytes(), i);
                }
            }
            for (i, s) in tail(m).iter().enumerate() {
                r.insert(s.as_bytes(), COMMON_HEAD.len() + i);
            }
            r
        })
    });
    let m = machines.iter().position(|&m| m == machine)?;
    ranks[m].get(name).copied()
}

/// Sort key of an output section: (anchor rank, 0 for script sections or 1 for
/// orphans). Ties keep creation order.
pub(crate) fn sort_key(
    machine: u16,
    name: &[u8],
    sh_type: u32,
    flags: u64,
    unique: bool,
) -> (usize, u8) {
    if sh_type == elf::SHT_GROUP.0 {
        return (0, 0);
    }
    if !unique {
        if let Some(rank) = script_rank(machine, name) {
            return (rank + 1, 0);
        }
    }
    orphan_key(machine, name, sh_type, flags)
}

/// Sort key of an orphan section placed by its flags. Section groups are
/// placed this way in GNU's section list, which decides the order of the
/// section-name table, even though their headers are then moved first.
pub(crate) fn orphan_key(machine: u16, name: &[u8], sh_type: u32, flags: u64) -> (usize, u8) {
    let anchor = orphan_anchor(name, sh_type, flags);
    match anchor.and_then(|a| script_rank(machine, a.as_bytes())) {
        Some(rank) => (rank + 1, 1),
        None => (usize::MAX, 1),
    }
}

/// The script statement an orphan is placed after, or `None` for the end.
fn orphan_anchor(name: &[u8], sh_type: u32, flags: u64) -> Option<&'static str> {
    let alloc = flags & elf::SHF_ALLOC.0 != 0;
    if !alloc {
        return if is_debugging(name) {
            None
        } else {
            Some(".comment")
        };
    }
    if sh_type == elf::SHT_NOTE.0 {
        return Some(".interp");
    }
    let tls = flags & elf::SHF_TLS.0 != 0;
    if sh_type == elf::SHT_NOBITS.0 && !tls {
        return Some(".bss");
    }
    if tls {
        return Some(".tdata");
    }
    if flags & elf::SHF_WRITE.0 != 0 {
        return Some(".data");
    }
    if flags & elf::SHF_EXECINSTR.0 != 0 {
        return Some(".text");
    }
    Some(".rodata")
}

/// Names BFD treats as debugging information.
pub(crate) fn is_debugging(name: &[u8]) -> bool {
    [
        &b".debug"[..],
        b".zdebug",
        b".gnu.linkonce.wi.",
        b".line",
        b".stab",
        b".gdb_index",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}
