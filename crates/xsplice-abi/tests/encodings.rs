//! The trampoline and NOP bytes of `xsplice_abi::Arch`, decoded by GNU
//! objdump for each architecture.
//!
//! The unit tests pin the bytes; this test checks what they mean with a
//! disassembler that does not share our code: every branch decodes as an
//! unconditional jump to the intended target (at both ends of the range),
//! and every NOP run decodes as NOP instructions covering exactly the
//! asked length.

use std::process::Command;

use xsplice_abi::Arch;
use xsplice_testkit::{require_tool, run};

/// objdump binary and its `-m` machine for raw binary input.
fn objdump(arch: Arch) -> (&'static str, &'static str) {
    let gnu = xsplice_testkit::gnu(arch.name());
    (gnu.objdump, gnu.bfd_arch)
}

/// One decoded instruction: address, length, mnemonic and operands.
struct Insn {
    addr: u64,
    len: usize,
    text: String,
}

/// Disassembles `bytes` loaded at `vma`, or `None` after a skip.
fn disassemble(arch: Arch, bytes: &[u8], vma: u64) -> Option<Vec<Insn>> {
    let (tool, machine) = objdump(arch);
    let tool = require_tool(tool, &format!("decodes {arch} trampolines and nops"))?;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.bin");
    std::fs::write(&path, bytes).unwrap();
    let mut cmd = Command::new(tool);
    cmd.args(["-D", "-b", "binary", "-m", machine, "--insn-width=16"])
        .arg(format!("--adjust-vma={vma:#x}"))
        .arg(&path);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{cmd:?}: {}", String::from_utf8_lossy(&err));
    let text = String::from_utf8(out).unwrap();
    let insns = text
        .lines()
        .filter_map(|line| {
            let (addr, rest) = line.trim_start().split_once(":\t")?;
            let addr = u64::from_str_radix(addr, 16).ok()?;
            let (hex, text) = rest.split_once('\t').unwrap_or((rest, ""));
            // x86 prints bytes ("e9 fb 00 00 00"), ARM whole words ("14000001").
            let len = hex.split_whitespace().map(|h| h.len() / 2).sum();
            Some(Insn {
                addr,
                len,
                text: text.trim().to_string(),
            })
        })
        .collect();
    Some(insns)
}

/// Branch cases: (at, target) pairs, including both ends of the range.
fn branch_cases(arch: Arch, base: u64) -> Vec<(u64, u64)> {
    let (lo, hi): (i64, i64) = match arch {
        // rel32 = target - (at + 5)
        Arch::X86_64 => (i64::from(i32::MIN) + 5, i64::from(i32::MAX) + 5),
        // target - at in [-128 MiB, 128 MiB)
        Arch::Aarch64 => (-(128 << 20), (128 << 20) - 4),
        // target - (at + 8) in [-32 MiB, 32 MiB)
        Arch::Arm32 => (-(32 << 20) + 8, (32 << 20) + 4),
    };
    [0, 4, -4, 0x1000, -0x1000, 0x12_3454, lo, hi]
        .iter()
        .enumerate()
        .map(|(i, &delta)| {
            let at = base + (i * arch.patch_insn_size()) as u64;
            (at, at.wrapping_add_signed(delta))
        })
        .collect()
}

#[test]
fn branches_decode_to_their_targets() {
    for arch in Arch::ALL {
        let base = if arch == Arch::Arm32 {
            0x4000_0000
        } else {
            0xffff_82d0_4000_0000
        };
        let cases = branch_cases(arch, base);
        let mut blob = Vec::new();
        for &(at, target) in &cases {
            assert_eq!(base + blob.len() as u64, at);
            blob.extend(
                arch.branch(at, target)
                    .unwrap_or_else(|e| panic!("{arch}: {e}")),
            );
        }
        let Some(insns) = disassemble(arch, &blob, base) else {
            continue;
        };
        assert_eq!(
            insns.len(),
            cases.len(),
            "{arch}: one instruction per branch"
        );
        for (insn, &(at, target)) in insns.iter().zip(&cases) {
            assert_eq!(insn.addr, at);
            assert_eq!(
                insn.len,
                arch.patch_insn_size(),
                "{arch} at {at:#x}: {}",
                insn.text
            );
            let mnemonic = if arch == Arch::X86_64 { "jmp" } else { "b" };
            let mut words = insn.text.split_whitespace();
            assert_eq!(
                words.next(),
                Some(mnemonic),
                "{arch} at {at:#x}: {}",
                insn.text
            );
            let decoded = words
                .next()
                .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok());
            assert_eq!(
                decoded,
                Some(target),
                "{arch} branch at {at:#x}: objdump says `{}`",
                insn.text
            );
        }
    }
}

#[test]
fn nops_decode_as_nops_of_the_asked_length() {
    for arch in Arch::ALL {
        let step = if arch == Arch::X86_64 { 1 } else { 4 };
        for len in (step..=xsplice_abi::arch::MAX_NOP_LEN).step_by(step) {
            let bytes = arch.nops(len).unwrap();
            let Some(insns) = disassemble(arch, &bytes, 0x1000) else {
                break;
            };
            assert_eq!(
                insns.iter().map(|i| i.len).sum::<usize>(),
                len,
                "{arch} nops({len})"
            );
            for insn in &insns {
                let is_nop = insn.text.starts_with("nop") || insn.text == "xchg   %ax,%ax";
                assert!(
                    is_nop,
                    "{arch} nops({len}): `{}` at {:#x} is not a nop",
                    insn.text, insn.addr
                );
            }
        }
    }
}
