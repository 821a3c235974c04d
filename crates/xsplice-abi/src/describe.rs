//! A canonical text dump of everything this crate knows about one ABI on
//! one architecture.
//!
//! It is what a reviewer reads against the specification (the snapshot
//! tests commit one per supported pair), and what tools can print when they
//! explain a payload's format.

use std::fmt::Write as _;

use crate::abi::{Abi, SectionRole};
use crate::arch::Arch;
use crate::hooks::HookKind;
use crate::reloc::Overflow;

/// Bytes as space-separated hex pairs, the way the dump shows code.
pub(crate) fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn size(bytes: i128) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// The dump for `abi` on `arch`. Works for any pair, including ones no
/// hypervisor shipped (see [`Abi::arches`]); the header line says so.
pub fn describe(abi: Abi, arch: Arch) -> String {
    let mut o = String::new();
    let word = arch.word_size();
    let ptr = arch.pointer_size();
    let shipped = if abi.arches().contains(&arch) {
        ""
    } else {
        " (no hypervisor of this abi ran on this arch)"
    };
    let _ = writeln!(o, "abi {abi} on {arch}{shipped}");
    let _ = writeln!(
        o,
        "  version byte: {}",
        abi.payload_version()
            .map_or("none (byte is padding, 0)".to_string(), |v| v.to_string())
    );
    let _ = writeln!(o, "  file suffix: {}", abi.file_suffix());
    let _ = writeln!(
        o,
        "  xen releases: {}",
        match (abi.xen_releases(), abi.patch_series()) {
            (Some(r), _) => r.to_string(),
            (None, Some(series)) => format!("none; loaded only by {series}"),
            (None, None) => "none".to_string(),
        }
    );
    let _ = writeln!(o, "sections");
    for s in abi.special_sections() {
        let unit = match s.role {
            SectionRole::Funcs => format!("{}-byte entries", abi.entry_size(word)),
            SectionRole::Depends | SectionRole::XenDepends | SectionRole::BuildId => {
                "gnu build-id note".to_string()
            }
            SectionRole::Hook(h) => match h.kind() {
                HookKind::Multi => format!("array of {ptr}-byte pointers"),
                HookKind::Single => format!("one {ptr}-byte pointer"),
            },
            SectionRole::Modinfo => "key=value\\0 strings, last byte nul".to_string(),
        };
        let _ = writeln!(
            o,
            "  {:<28} {:<15} align {} {unit}",
            s.name,
            s.requirement.name(),
            s.role.align(arch)
        );
    }
    let flags = |write: bool| if write { "alloc+write" } else { "alloc" };
    let _ = writeln!(
        o,
        "  .funcs flags for every release: {}",
        flags(abi.funcs_must_be_writable(None))
    );
    let layout = abi.layout(word);
    let _ = writeln!(
        o,
        ".funcs entry: {} bytes, align {}",
        layout.size, layout.align
    );
    for f in layout.fields {
        let _ = writeln!(o, "  {:>3} {:>2} {}", f.offset, f.size, f.name);
    }
    let reloc = arch.pointer_relocation();
    let pointers: Vec<&str> = layout.pointer_fields().map(|f| f.name).collect();
    let _ = writeln!(o, "  pointers by {}: {}", reloc.name, pointers.join(", "));
    let _ = writeln!(o, "arch {arch}");
    let _ = writeln!(
        o,
        "  e_machine {}, elf class {}, pointer {ptr} bytes",
        arch.e_machine(),
        arch.elf_class()
    );
    if let Some((mask, value)) = arch.required_e_flags() {
        let _ = writeln!(o, "  e_flags & {mask:#010x} == {value:#010x}");
    }
    let _ = writeln!(
        o,
        "  relocation sections: {}",
        if arch.supports_rel() {
            "rel, rela"
        } else {
            "rela"
        }
    );
    let sample = arch.branch(0x1000, 0x2000).expect("in range");
    let _ = writeln!(
        o,
        "  branch: {} bytes, 0x1000 -> 0x2000 is {}, old - new in [-{r}, {r})",
        arch.patch_insn_size(),
        spaced_hex(&sample),
        r = size(arch.branch_range())
    );
    let _ = writeln!(o, "  live patching since xen {}", arch.first_xen());
    let plain = arch.min_old_size(&[]);
    let endbr = arch.min_old_size(&crate::arch::ENDBR64);
    if endbr == plain {
        let _ = writeln!(o, "  min old_size: {plain}");
    } else {
        let _ = writeln!(o, "  min old_size: {plain} ({endbr} after endbr64)");
    }
    let nop_unit = if arch == Arch::X86_64 { 1 } else { 4 };
    let _ = writeln!(
        o,
        "  nops: multiples of {nop_unit} up to {} bytes, {} bytes are {}",
        crate::arch::MAX_NOP_LEN,
        4 * nop_unit,
        spaced_hex(&arch.nops(4 * nop_unit).expect("valid length"))
    );
    let opt = |v: Option<usize>| v.map_or("none".to_string(), |v| v.to_string());
    let alt_now = arch.alt_instr_size(None);
    let alt_old = arch.alt_instr_size(Some(&crate::XenVersion::series(4, 10)));
    let alt = if alt_now == alt_old {
        alt_now.to_string()
    } else {
        format!("{alt_now} (4.10 and before: {alt_old})")
    };
    let _ = writeln!(
        o,
        "  struct sizes: alt_instr {alt}, bug_frame {}, ex_table {}, alt_call {}",
        arch.bug_frame_size(),
        opt(arch.ex_table_entry_size()),
        opt(arch.alt_call_size())
    );
    let _ = writeln!(o, "  sections (entry size / align)");
    for s in arch.arch_sections(None) {
        let entry = s.entry_size.map_or("code".to_string(), |n| n.to_string());
        let since = s.since.map_or(String::new(), |v| format!(", xen {v}+"));
        let _ = writeln!(o, "    {:<22} {entry} / {}{since}", s.name, s.align);
    }
    let _ = writeln!(
        o,
        "  relocations (number name width xen-bound safe-bound check)"
    );
    for r in arch.relocations() {
        let check = match r.overflow {
            Overflow::None => "none".to_string(),
            Overflow::Signed(bits) => format!("signed {bits}-bit"),
            Overflow::Data(bits) => format!("{bits}-bit data"),
            Overflow::MovwUnsigned => "movw unsigned".to_string(),
            Overflow::MovwSigned => "movw signed".to_string(),
            Overflow::Range(r) => format!("[-{r}, {r})", r = size(i128::from(r))),
        };
        let bound = r.xen_bound.map_or("-".to_string(), |b| b.to_string());
        let pc = if r.pc_relative { " pc-relative" } else { "" };
        let _ = writeln!(
            o,
            "    {:>3} {:<31} {} {} {} {check}{pc}",
            r.number, r.name, r.width, bound, r.safe_bound
        );
    }
    o
}
