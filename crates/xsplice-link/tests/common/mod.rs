//! Shared fixtures of the linker's integration tests: the three target
//! architectures and their GNU tools, compiling sources, running GNU ld and
//! our binary, and comparing outputs through the canonical dump.

#![allow(dead_code)]

pub mod dump;

use std::path::{Path, PathBuf};
use std::process::Command;

use xsplice_testkit::{GNU_AARCH64, GNU_ARM32, GNU_X86_64, Gnu};

use xsplice_testkit::{require_tool, run, tool_binary};

/// One target architecture: its row of the testkit's GNU table (`gcc`,
/// `ld`, `objcopy`, the BFD names, the runner, through `Deref`) and the
/// `-m` emulations of `ld` for it that we accept.
#[derive(Clone, Copy, Debug)]
pub struct Arch {
    pub name: &'static str,
    pub gnu: Gnu,
    pub emulations: &'static [&'static str],
}

impl std::ops::Deref for Arch {
    type Target = Gnu;
    fn deref(&self) -> &Gnu {
        &self.gnu
    }
}

const fn arch(gnu: Gnu, emulations: &'static [&'static str]) -> Arch {
    Arch {
        name: gnu.arch,
        gnu,
        emulations,
    }
}

pub const X86_64: Arch = arch(GNU_X86_64, &["elf_x86_64"]);
pub const AARCH64: Arch = arch(GNU_AARCH64, &["aarch64linux", "aarch64elf"]);
pub const ARM32: Arch = arch(GNU_ARM32, &["armelf_linux_eabi"]);
pub const ARCHES: [Arch; 3] = [X86_64, AARCH64, ARM32];

impl Arch {
    /// True if the compiler, linker and objcopy are installed (else prints or panics under CI).
    pub fn available(&self) -> bool {
        [self.gcc, self.ld, self.objcopy]
            .iter()
            .all(|t| require_tool(t, &format!("{} differential tests", self.name)).is_some())
    }
}

/// Runs `cmd`, panicking with the command line and its output on failure.
pub fn must(cmd: &mut Command) -> Vec<u8> {
    xsplice_testkit::run_ok(cmd)
}

/// Writes `src` to `dir/name` and compiles it to `dir/<stem>.o`.
pub fn compile(arch: &Arch, dir: &Path, name: &str, src: &str, flags: &[&str]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, src).expect("write source");
    let obj = path.with_extension("o");
    must(
        Command::new(arch.gcc)
            .current_dir(dir)
            .args(flags)
            .arg("-c")
            .arg(name)
            .arg("-o")
            .arg(&obj),
    );
    obj
}

/// Runs GNU `ld -r`; returns its stderr on failure.
pub fn gnu_link(
    arch: &Arch,
    dir: &Path,
    out: &Path,
    inputs: &[PathBuf],
    extra: &[&str],
) -> Result<(), String> {
    let mut cmd = Command::new(arch.ld);
    cmd.arg("-r").args(extra);
    link(&mut cmd, dir, out, inputs).map_err(|(_, err)| err)
}

/// Runs GNU ld as Xen's payload rule does (`-r --build-id=sha1`), then its
/// `objcopy --set-section-flags .livepatch.funcs=alloc,readonly`; returns
/// the bytes ld wrote, whose build-id covers them before objcopy's edit.
pub fn gnu_payload_link(arch: &Arch, dir: &Path, out: &Path, inputs: &[PathBuf]) -> Vec<u8> {
    gnu_link(arch, dir, out, inputs, &["--build-id=sha1"])
        .unwrap_or_else(|e| panic!("GNU ld failed for `{}`: {e}", out.display()));
    let linked = std::fs::read(out).expect("read GNU ld's output");
    must(
        Command::new(arch.objcopy)
            .current_dir(dir)
            .args(["--set-section-flags", ".livepatch.funcs=alloc,readonly"])
            .arg(out),
    );
    linked
}

/// Runs our `xsplice-link`; returns (exit code, stderr) on failure.
pub fn our_link(
    dir: &Path,
    out: &Path,
    inputs: &[PathBuf],
    extra: &[&str],
) -> Result<(), (i32, String)> {
    let mut cmd = Command::new(tool_binary("xsplice-link"));
    cmd.args(extra);
    link(&mut cmd, dir, out, inputs)
}

/// Runs the linker `cmd` in `dir` on `inputs` with `-o out`; returns (exit
/// code, stderr) on failure.
fn link(
    cmd: &mut Command,
    dir: &Path,
    out: &Path,
    inputs: &[PathBuf],
) -> Result<(), (i32, String)> {
    cmd.current_dir(dir).arg("-o").arg(out).args(inputs);
    let (code, _, err) = run(cmd);
    if code == 0 {
        Ok(())
    } else {
        Err((code, String::from_utf8_lossy(&err).into_owned()))
    }
}

/// Compares two dumps, failing with the first differing lines and `context`
/// (the commands that reproduce the comparison).
pub fn assert_same_dump(gnu: &[String], ours: &[String], context: &str) {
    if gnu == ours {
        return;
    }
    let mut report = String::new();
    let mut shown = 0;
    let (mut i, mut j) = (0, 0);
    while (i < gnu.len() || j < ours.len()) && shown < 25 {
        match (gnu.get(i), ours.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (a, b) => {
                // Resynchronise on the next common line, if any, within a window.
                let resync = a.and_then(|a| ours[j..].iter().take(200).position(|l| l == a));
                match (resync, b) {
                    (Some(k), _) if k > 0 => {
                        for l in &ours[j..j + k] {
                            report.push_str(&format!("+ ours: {l}\n"));
                            shown += 1;
                        }
                        j += k;
                    }
                    _ => {
                        if let Some(a) = a {
                            report.push_str(&format!("- gnu:  {a}\n"));
                            shown += 1;
                        }
                        if let Some(b) = b {
                            report.push_str(&format!("+ ours: {b}\n"));
                            shown += 1;
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
        }
    }
    panic!(
        "canonical dumps differ ({} lines from GNU, {} from us)\n{report}\nreproduce with:\n{context}",
        gnu.len(),
        ours.len()
    );
}

/// Turns `input` into an object holding it as `section`, as Xen's Makefile does.
pub fn binary_object(arch: &Arch, dir: &Path, input: &str, section: &str, out: &str) {
    must(Command::new(arch.objcopy).current_dir(dir).args([
        "-I",
        "binary",
        "-O",
        arch.bfd_target,
        "-B",
        arch.bfd_arch,
        &format!("--rename-section=.data={section},alloc,load,readonly,data,contents"),
        "-S",
        input,
        out,
    ]));
}
