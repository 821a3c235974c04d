//! The stand-in hypervisor: `test-payloads/xen/` compiled and linked into an
//! ET_EXEC `xen-syms` shaped like Xen's (full `.symtab`, a GNU build-id note
//! in an allocated `.note.gnu.build-id`, one PT_LOAD per permission).
//!
//! The build is a pure function of the sources, the flags and the compiler,
//! so its content hash decides whether it runs. It holds a lock on its
//! output directory, compiles into `obj/`, links `xen-syms.new` and renames
//! it into place, so tests running in parallel never see a half-written
//! image and every printed command can be replayed.

use std::path::{Path, PathBuf};

use crate::hash::{InputHash, up_to_date, write_atomic};
use crate::{Arch, BASE_CFLAGS, BuildError, CommandLine, OutLock};

/// Sources in link order. The version functions come first, as the functions
/// payloads patch; `cet.c` is the one built with `-fcf-protection=branch`.
const SOURCES: [&str; 7] = [
    "version.c",
    "cet.c",
    "console.c",
    "hooklog.c",
    "info.c",
    "traps.c",
    "lib.c",
];

/// The headers and the linker script: with [`SOURCES`], every file whose
/// bytes can change the image.
const HEADERS: [&str; 3] = ["xen.h", "bug.h", "xen.lds"];

/// Every file whose bytes can change the image, in hashing order.
fn inputs() -> impl Iterator<Item = &'static str> {
    SOURCES.into_iter().chain(HEADERS)
}

/// The source-patch suite's probes, linked only into the Kbuild-style tree
/// of [`build_stand_in_tree`], so that the payload suite's image (and the
/// build-ids its snapshots record) stay as they are.
const TREE_SOURCES: [&str; 2] = ["probes.c", "probes2.c"];

/// The C sources of the Kbuild-style tree, in link order: the image's and
/// the probes.
pub fn stand_in_tree_sources() -> impl Iterator<Item = &'static str> {
    SOURCES.into_iter().chain(TREE_SOURCES)
}

/// Files copied into that tree besides [`inputs`].
const TREE_FILES: [&str; 4] = ["probes.c", "probes2.c", "probes.h", "README.md"];

/// Bumped when the recipe below changes in a way the hash would not see.
const RECIPE: &str = "stand-in-1";

/// The stand-in's flags beyond [`BASE_CFLAGS`]: no system headers, and
/// `-fpie` keeps code position-independent so that the high link address
/// needs no large code model; the link itself is static and non-PIE, giving
/// ET_EXEC.
const STAND_IN_CFLAGS: [&str; 4] = [
    "-nostdinc",
    // Keeps lib.c's loops from being turned into calls to memcpy/memset.
    "-fno-tree-loop-distribute-patterns",
    "-fpie",
    "-Wall",
];

/// Link flags: a static, non-PIE ET_EXEC laid out by our linker script,
/// with a SHA-1 build-id note.
const LDFLAGS: [&str; 7] = [
    "-nostdlib",
    "-static",
    "-no-pie",
    "-Wl,-T,xen.lds",
    "-Wl,--build-id=sha1",
    "-Wl,-z,max-page-size=4096",
    "-Wl,-z,noexecstack",
];

/// A built stand-in hypervisor.
#[derive(Debug, Clone)]
pub struct StandIn {
    pub arch: Arch,
    /// The linked `xen-syms`.
    pub path: PathBuf,
    /// False when the existing image was already up to date.
    pub rebuilt: bool,
    /// The commands run (empty when nothing was rebuilt).
    pub commands: Vec<CommandLine>,
}

/// Where the stand-in for `arch` lives under an output root
/// (`<out>/xen/<arch>/xen-syms`).
pub fn stand_in_path(out_root: &Path, arch: Arch) -> PathBuf {
    out_root.join("xen").join(arch.name()).join("xen-syms")
}

/// Builds the stand-in hypervisor for `arch` from `<workspace>/test-payloads/xen`
/// into `<out_root>/xen/<arch>/xen-syms`, unless it is up to date.
pub fn build_stand_in(
    workspace: &Path,
    out_root: &Path,
    arch: Arch,
    force: bool,
) -> Result<StandIn, BuildError> {
    let src = workspace.join("test-payloads").join("xen");
    let cc = arch.find_compiler()?;
    let out = stand_in_path(out_root, arch);
    let dir = out.parent().expect("xen-syms has a parent").to_path_buf();
    std::fs::create_dir_all(&dir).map_err(|e| BuildError::io("cannot create", &dir, e))?;

    let mut hash = InputHash::new();
    hash.str(RECIPE)
        .str(arch.name())
        .str(&compiler_identity(&cc)?);
    for flag in BASE_CFLAGS
        .iter()
        .chain(&STAND_IN_CFLAGS)
        .chain(arch.arch_cflags())
        .chain(&LDFLAGS)
    {
        hash.str(flag);
    }
    hash.str(&format!("{:#x}", arch.stand_in_base()));
    for f in inputs() {
        hash.str(f).file(&src.join(f))?;
    }
    let hash = hash.hex();
    // Held while checking and building, so that tests and xtask in other
    // processes wait for one build instead of writing the same objects.
    let _lock = OutLock::acquire(&dir)?;
    let stamp = dir.join("xen-syms.inputs");
    if !force && up_to_date(&stamp, &hash, &[&out]) {
        return Ok(StandIn {
            arch,
            path: out,
            rebuilt: false,
            commands: Vec::new(),
        });
    }

    let objdir = dir.join("obj");
    std::fs::create_dir_all(&objdir).map_err(|e| BuildError::io("cannot create", &objdir, e))?;
    let mut commands = Vec::new();
    let mut objects = Vec::new();
    for source in SOURCES {
        let obj = objdir.join(source.replace(".c", ".o"));
        let mut cmd = CommandLine::new(&cc);
        cmd.dir(&src)
            .args(BASE_CFLAGS)
            .args(STAND_IN_CFLAGS)
            .args(arch.arch_cflags());
        if source == "cet.c" && arch == Arch::X86_64 {
            cmd.arg("-fcf-protection=branch");
        }
        cmd.arg("-c").arg(source).arg("-o").arg(&obj);
        cmd.run(&format!("compiling `{source}`"))?;
        commands.push(cmd);
        objects.push(obj);
    }
    // Linked beside the image and renamed over it, so a failed link keeps
    // the previous image; the rename is shown as the `mv` it amounts to.
    let linked = dir.join("xen-syms.new");
    let mut link = CommandLine::new(&cc);
    link.dir(&src)
        .args(arch.arch_cflags())
        .args(LDFLAGS)
        .arg(format!("-Wl,-Ttext-segment={:#x}", arch.stand_in_base()))
        .arg("-o")
        .arg(&linked)
        .args(&objects);
    link.run("linking `xen-syms`")?;
    commands.push(link);
    let mut mv = CommandLine::new("mv");
    mv.arg(&linked).arg(&out);
    commands.push(mv);

    std::fs::rename(&linked, &out).map_err(|e| BuildError::io("cannot write", &out, e))?;
    write_atomic(&stamp, format!("{hash}\n").as_bytes())?;
    Ok(StandIn {
        arch,
        path: out,
        rebuilt: true,
        commands,
    })
}

/// The compiler's path and version banner: a different compiler is a
/// different input even when the sources are the same.
pub(crate) fn compiler_identity(cc: &Path) -> Result<String, BuildError> {
    let mut cmd = CommandLine::new(cc);
    cmd.arg("--version");
    let out = cmd.run("asking the C compiler for its version")?;
    let banner = String::from_utf8_lossy(&out);
    Ok(format!(
        "{}\n{}",
        cc.display(),
        banner.lines().next().unwrap_or_default()
    ))
}

/// Builds the stand-in hypervisor the way Kbuild builds Xen: a copy of its
/// sources in `tree`, with the source-patch suite's probes, each object
/// compiled beside its source by a command recorded in a Kbuild-style
/// `.<obj>.cmd` file (`cmd_`, `source_` and `deps_` lines; the headers are
/// the ones the compiler reported through `-MMD`, as Kbuild's are), and
/// `xen-syms` linked in the same directory. Source patches and
/// `xsplice-build` then treat it like a built Xen tree.
/// Returns the commands run; `tree` is emptied of old objects first.
pub fn build_stand_in_tree(
    workspace: &Path,
    tree: &Path,
    arch: Arch,
) -> Result<Vec<CommandLine>, BuildError> {
    let src = workspace.join("test-payloads").join("xen");
    let cc = arch.find_compiler()?;
    std::fs::create_dir_all(tree).map_err(|e| BuildError::io("cannot create", tree, e))?;
    for f in inputs().chain(TREE_FILES) {
        let to = tree.join(f);
        std::fs::copy(src.join(f), &to).map_err(|e| BuildError::io("cannot write", &to, e))?;
    }
    let mut commands = Vec::new();
    let mut objects = Vec::new();
    for source in stand_in_tree_sources() {
        let obj = source.replace(".c", ".o");
        let depfile = format!(".{obj}.d");
        let mut cmd = CommandLine::new(&cc);
        cmd.dir(tree)
            .args(BASE_CFLAGS)
            .args(STAND_IN_CFLAGS)
            .args(arch.arch_cflags());
        if source == "cet.c" && arch == Arch::X86_64 {
            cmd.arg("-fcf-protection=branch");
        }
        cmd.args(["-MMD", "-MP", "-MF"]).arg(&depfile);
        cmd.arg("-c").arg(source).arg("-o").arg(&obj);
        cmd.run(&format!("compiling `{source}`"))?;
        let words: Vec<String> = std::iter::once(cc.as_os_str())
            .chain(cmd.args.iter().map(|a| a.as_os_str()))
            .map(crate::shell_quote)
            .collect();
        let dep_path = tree.join(&depfile);
        let made = std::fs::read_to_string(&dep_path)
            .map_err(|e| BuildError::io("cannot read", &dep_path, e))?;
        // Kbuild's fixdep turns the compiler's dependency file into the
        // record and removes it; so do we.
        let _ = std::fs::remove_file(&dep_path);
        let deps: String = depfile_inputs(&made)
            .iter()
            .map(|d| format!("  {d} \\\n"))
            .collect();
        let record = format!(
            "cmd_{obj} := {}\n\nsource_{obj} := {source}\n\ndeps_{obj} := \\\n{deps}\n{obj}: $(deps_{obj})\n\n$(deps_{obj}):\n",
            words.join(" ")
        );
        let cmd_file = tree.join(format!(".{obj}.cmd"));
        write_atomic(&cmd_file, record.as_bytes())?;
        commands.push(cmd);
        objects.push(obj);
    }
    let mut link = CommandLine::new(&cc);
    link.dir(tree)
        .args(arch.arch_cflags())
        .args(LDFLAGS)
        .arg(format!("-Wl,-Ttext-segment={:#x}", arch.stand_in_base()))
        .arg("-o")
        .arg("xen-syms")
        .args(&objects);
    link.run("linking `xen-syms`")?;
    commands.push(link);
    Ok(commands)
}

/// The inputs of the first rule of a make dependency file written by
/// `-MMD` (`obj: a.c b.h \` continued over lines), in order.
fn depfile_inputs(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let first = joined.lines().next().unwrap_or_default();
    let inputs = first.split_once(':').map_or("", |(_, rest)| rest);
    inputs.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::depfile_inputs;

    #[test]
    fn reads_a_compiler_dependency_file() {
        let text = "probes.o: probes.c probes.h \\\n xen.h\nprobes.h:\nxen.h:\n";
        assert_eq!(depfile_inputs(text), ["probes.c", "probes.h", "xen.h"]);
    }
}
