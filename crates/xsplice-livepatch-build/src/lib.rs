//! `xsplice-build`: a source patch and an already built Xen tree to a
//! validated live-patch payload, without building the tree again.
//!
//! livepatch-build-tools builds the whole hypervisor twice and captures the
//! objects that changed through a compiler wrapper. A built tree already
//! says how each object was made: Kbuild leaves the exact command and the
//! headers it read in `.<obj>.cmd`. So this tool applies the patch in a
//! shadow of the tree (links, made real only where it writes), recompiles
//! just the objects that read a patched file with their recorded commands,
//! diffs each against the tree's own object with `xsplice-diff`, links the
//! results with `xsplice-link` and checks the payload with
//! `xsplice-validate` against the tree's `xen-syms`. Every step is printed
//! as a command that can be pasted into a shell; the payload's path is the
//! last line.
//!
//! Like the `xsplice-build` automation library it uses, this crate runs
//! processes and writes files: it is a driver, not a tool library.

#![forbid(unsafe_code)]

pub mod depends;
pub mod kbuild;
pub mod patch;
mod shadow;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;
use xsplice_abi::Abi;
use xsplice_abi::note::hex;
use xsplice_build::shell_quote;
use xsplice_diff::{Input, Verdict};

pub use depends::Depends;
pub use kbuild::Recorded;

#[derive(Debug, Error)]
pub enum Error {
    #[error("{what} `{path}`: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Patch { path: PathBuf, detail: String },
    #[error("{0}")]
    Usage(String),
    #[error("{step} failed: {detail}\n  command: {command}")]
    Step {
        step: String,
        command: String,
        detail: String,
    },
    #[error("the patch changes nothing that runs: every rebuilt object is the same ({0})")]
    NoChange(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Diff(#[from] xsplice_diff::DiffError),
}

impl Error {
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.to_owned(),
            source,
        }
    }
}

/// What to build.
#[derive(Clone, Debug)]
pub struct Options {
    /// The top of the built tree (`-s`): the directory patch paths start
    /// from (`xen/common/version.c` for Xen, `version.c` for the stand-in).
    pub srcdir: PathBuf,
    /// The source patch (`-p`), applied with `patch -p1`.
    pub patch: PathBuf,
    /// Where the shadow, the diffed objects and the payload go (`-o`).
    pub outdir: PathBuf,
    /// The hypervisor the payload is for; default: the tree's `xen-syms`.
    pub xen_syms: Option<PathBuf>,
    /// The payload this one stacks on, as a file or a build-id; default:
    /// the hypervisor.
    pub depends: Option<Depends>,
    pub abi: Abi,
    /// Parallel compiles and diffs.
    pub jobs: usize,
    /// The `xsplice-link` and `xsplice-validate` binaries.
    pub link: PathBuf,
    pub validate: PathBuf,
}

/// The payload name livepatch-build derives from the patch file: its name
/// without `.patch`/`.diff`, other characters than `[A-Za-z0-9_-]` as `-`.
pub fn payload_name(patch: &Path) -> String {
    let file = patch.file_name().unwrap_or_default().to_string_lossy();
    let stem = file
        .strip_suffix(".patch")
        .or_else(|| file.strip_suffix(".diff"))
        .unwrap_or(&file);
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Where commands run: `xen/` under a Xen source top, else the top itself.
pub fn build_dir(srcdir: &Path) -> PathBuf {
    let xen = srcdir.join("xen");
    if xen.join("Rules.mk").is_file() {
        xen
    } else {
        srcdir.to_owned()
    }
}

/// The Xen release a Kbuild tree builds (`4.17.5`), from its Makefile.
pub fn xen_release(build_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(build_dir.join("Makefile")).ok()?;
    let var = |name: &str| {
        text.lines().find_map(|l| {
            let l = l.trim_start_matches("export").trim();
            let rest = l.strip_prefix(name)?.trim_start();
            let value = rest.strip_prefix("?=").or_else(|| rest.strip_prefix('='))?;
            Some(value.trim().to_owned())
        })
    };
    let major = var("XEN_VERSION")?;
    let minor = var("XEN_SUBVERSION")?;
    let extra = var("XEN_EXTRAVERSION").unwrap_or_default();
    let patch: String = extra
        .strip_prefix('.')
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let patch = if patch.is_empty() { "0".into() } else { patch };
    Some(format!("{major}.{minor}.{patch}"))
}

fn q(p: &Path) -> String {
    shell_quote(p.as_os_str())
}

fn say(log: &mut dyn Write, line: impl AsRef<str>) {
    let _ = writeln!(log, "{}", line.as_ref());
    let _ = log.flush();
}

/// Runs the whole build; returns the payload's path.
pub fn build(opts: &Options, log: &mut dyn Write) -> Result<PathBuf, Error> {
    let src = std::fs::canonicalize(&opts.srcdir)
        .map_err(|e| Error::io("cannot read", &opts.srcdir, e))?;
    let patch_path =
        std::fs::canonicalize(&opts.patch).map_err(|e| Error::io("cannot read", &opts.patch, e))?;
    let text = std::fs::read_to_string(&patch_path)
        .map_err(|e| Error::io("cannot read", &patch_path, e))?;
    let touched = patch::touched_files(&text, &patch_path)?;
    let bdir = build_dir(&src);
    let brel = bdir.strip_prefix(&src).unwrap_or(Path::new("")).to_owned();
    let xen_syms = match &opts.xen_syms {
        Some(p) => p.clone(),
        None => bdir.join("xen-syms"),
    };
    if !xen_syms.is_file() {
        return Err(Error::Usage(format!(
            "no hypervisor image `{}`: is the tree built? (or pass --xen-syms)",
            xen_syms.display()
        )));
    }
    let release = xen_release(&bdir);
    let name = payload_name(&patch_path);
    std::fs::create_dir_all(&opts.outdir)
        .map_err(|e| Error::io("cannot create", &opts.outdir, e))?;
    let out = std::fs::canonicalize(&opts.outdir)
        .map_err(|e| Error::io("cannot read", &opts.outdir, e))?;
    if out.starts_with(&src) {
        return Err(Error::Usage(format!(
            "the output directory `{}` is inside the tree, which is never written",
            out.display()
        )));
    }
    say(
        log,
        format!(
            "# xsplice-build: payload `{name}` from {} on {}",
            q(&patch_path),
            q(&src)
        ),
    );

    // Which recorded objects read a patched file.
    let records = kbuild::scan(&bdir)?;
    if records.is_empty() {
        return Err(Error::Usage(format!(
            "no Kbuild `.<obj>.cmd` records under `{}`: the tree must be built (by Kbuild, or `cargo xtask livepatch-build` for the stand-in)",
            bdir.display()
        )));
    }
    let in_build: Vec<PathBuf> = touched
        .iter()
        .filter_map(|t| t.strip_prefix(&brel).ok().map(Path::to_path_buf))
        .collect();
    let affected: Vec<&Recorded> = records
        .iter()
        .filter(|r| in_build.iter().any(|t| r.reads(t)))
        .collect();
    say(
        log,
        format!(
            "# {} file(s) patched; {} object(s) read them: {}",
            touched.len(),
            affected.len(),
            affected
                .iter()
                .map(|r| r.object.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ),
    );
    if affected.is_empty() {
        return Err(Error::NoChange(
            "no built object reads a patched file".into(),
        ));
    }

    // The shadow: object directories without their outputs, then copies of
    // the patched files.
    let root = out.join("shadow");
    let mut shadow = shadow::Shadow::create(&src, &root, log)?;
    let mut outputs: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for r in &affected {
        let obj = brel.join(&r.object);
        let dir = obj.parent().unwrap_or(Path::new("")).to_owned();
        let file = obj
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let set = outputs.entry(dir).or_default();
        for n in [
            file.clone(),
            format!(".{file}.tmp"),
            format!(".{file}.d"),
            format!(".{file}.cmd"),
        ] {
            set.insert(n);
        }
    }
    for (dir, skip) in &outputs {
        shadow.unfold(dir, skip, log)?;
    }
    for t in &touched {
        shadow.copy_file(t, log)?;
    }
    let mut p = Command::new("patch");
    p.args([
        "-p1",
        "--batch",
        "--forward",
        "--no-backup-if-mismatch",
        "-s",
        "-d",
    ])
    .arg(&root)
    .arg("-i")
    .arg(&patch_path);
    run(log, "applying the patch", &mut p, false)?;

    // Recompile, `jobs` at a time.
    let sdir = root.join(&brel);
    let total = affected.len();
    let mut failures = Vec::new();
    for (chunk_no, chunk) in affected.chunks(opts.jobs.max(1)).enumerate() {
        let results: Vec<Result<Vec<String>, Error>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|r| s.spawn(|| compile(r, &sdir)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Refused("a compile thread panicked".into())))
                })
                .collect()
        });
        for (k, (r, res)) in chunk.iter().zip(results).enumerate() {
            say(
                log,
                format!(
                    "# [{}/{total}] CC {}",
                    chunk_no * opts.jobs.max(1) + k + 1,
                    r.object.display()
                ),
            );
            match res {
                Ok(lines) => lines.iter().for_each(|l| say(log, l)),
                Err(e) => failures.push(e.to_string()),
            }
        }
    }
    if !failures.is_empty() {
        return Err(Error::Refused(failures.join("\n")));
    }

    // Diff each rebuilt object against the tree's.
    let target_data =
        std::fs::read(&xen_syms).map_err(|e| Error::io("cannot read", &xen_syms, e))?;
    let diff_dir = out.join("diff");
    if diff_dir.exists() {
        std::fs::remove_dir_all(&diff_dir).map_err(|e| Error::io("cannot remove", &diff_dir, e))?;
    }
    let xs = xen_syms.display().to_string();
    let xen_version: Option<xsplice_abi::XenVersion> =
        release.as_deref().and_then(|v| v.parse().ok());
    let outcomes: Vec<Result<(PathBuf, PathBuf, xsplice_diff::Outcome), Error>> =
        std::thread::scope(|s| {
            let handles: Vec<_> = affected
                .iter()
                .map(|r| {
                    let (bdir, sdir, target_data, xs, diff_dir) =
                        (&bdir, &sdir, &target_data, &xs, &diff_dir);
                    s.spawn(move || -> Result<_, Error> {
                        let orig = bdir.join(&r.object);
                        let patched = sdir.join(&r.object);
                        let a =
                            std::fs::read(&orig).map_err(|e| Error::io("cannot read", &orig, e))?;
                        let b = std::fs::read(&patched)
                            .map_err(|e| Error::io("cannot read", &patched, e))?;
                        let (an, bn) = (orig.display().to_string(), patched.display().to_string());
                        let outcome = xsplice_diff::diff(
                            Input {
                                path: &an,
                                data: &a,
                            },
                            Input {
                                path: &bn,
                                data: &b,
                            },
                            Some(Input {
                                path: xs,
                                data: target_data,
                            }),
                            &xsplice_diff::Options {
                                abi: opts.abi,
                                // The tree's release decides the layouts of
                                // its tables (and whether `.funcs` is written).
                                xen: xen_version,
                            },
                        )?;
                        Ok((orig, diff_dir.join(&r.object), outcome))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Refused("a diff thread panicked".into())))
                })
                .collect()
        });
    let mut objects = Vec::new();
    let mut refused = Vec::new();
    for (r, res) in affected.iter().zip(outcomes) {
        let (orig, dest, outcome) = res?;
        let patched = sdir.join(&r.object);
        say(
            log,
            format!(
                "{} {} {} --target {} -o {}",
                "xsplice-diff",
                q(&orig),
                q(&patched),
                q(&xen_syms),
                q(&dest)
            ),
        );
        let mut text = Vec::new();
        let _ = outcome.report.write_text(&mut text);
        for l in String::from_utf8_lossy(&text).lines() {
            say(log, format!("# {l}"));
        }
        match outcome.verdict {
            Verdict::Written => {
                let obj = outcome.object.unwrap_or_default();
                if let Some(d) = dest.parent() {
                    std::fs::create_dir_all(d).map_err(|e| Error::io("cannot create", d, e))?;
                }
                write_atomic(&dest, &obj)?;
                objects.push(dest);
            }
            Verdict::NoChange => {}
            Verdict::Refused => refused.push(String::from_utf8_lossy(&text).into_owned()),
        }
    }
    if !refused.is_empty() {
        return Err(Error::Refused(format!(
            "xsplice-diff refused the patch:\n{}",
            refused.join("")
        )));
    }
    if objects.is_empty() {
        return Err(Error::NoChange(format!("{total} object(s) rebuilt")));
    }

    // Link and validate.
    let payload = out.join(format!("{name}{}", opts.abi.file_suffix()));
    // What the payload stacks on, and whether the validator can see it.
    let (depends, after, against_target) = match &opts.depends {
        None => (xen_syms.clone(), None, true),
        Some(Depends::Payload(p)) => (p.clone(), Some(p.clone()), true),
        Some(Depends::BuildId(id)) => {
            let note = out.join(format!("{name}.depends.o"));
            let obj = depends::note_object(id, &target_data)
                .map_err(|e| Error::Usage(format!("--depends {}: {e}", hex(id))))?;
            write_atomic(&note, &obj)?;
            say(
                log,
                format!(
                    "# --depends {}: written as a build-id note in {}",
                    hex(id),
                    q(&note)
                ),
            );
            let own = depends::build_id_of(&target_data).ok();
            let on_hypervisor = own.as_deref() == Some(id.as_slice());
            if !on_hypervisor {
                say(
                    log,
                    format!(
                        "# build-id {} is not the hypervisor's ({}): the payload it names is not here, \
                         so the payload is validated on its own, without --target (pass that payload's \
                         file to --depends to check the symbols it resolves against it)",
                        hex(id),
                        own.as_deref().map_or("none".to_owned(), hex)
                    ),
                );
            }
            (note, None, on_hypervisor)
        }
    };
    let mut link = Command::new(&opts.link);
    link.arg("-o")
        .arg(&payload)
        .arg("--build-id")
        .arg("--depends")
        .arg(&depends)
        .arg("--abi")
        .arg(opts.abi.name());
    if opts.abi.xen_depends_section().is_some() {
        link.arg("--xen-depends").arg(&xen_syms);
    }
    if let Some(v) = &release {
        link.arg("--xen").arg(v);
    }
    link.args(&objects);
    run(log, "linking the payload", &mut link, false)?;
    let mut validate = Command::new(&opts.validate);
    validate.arg(&payload);
    if against_target {
        validate.arg("--target").arg(&xen_syms);
    }
    if let Some(d) = &after {
        validate.arg("--after").arg(d);
    }
    if let Some(v) = &release {
        validate.arg("--xen").arg(v);
    }
    run(log, "validating the payload", &mut validate, true)?;
    say(log, payload.display().to_string());
    Ok(payload)
}

/// Compiles one recorded object in the shadow's build directory, as Kbuild
/// did (with the `objcopy --redefine-sym` step after a compile to `.tmp`).
/// Returns the command lines run.
fn compile(r: &Recorded, sdir: &Path) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&r.command).current_dir(sdir);
    lines.push(format!("cd {} && {}", q(sdir), r.command));
    exec(
        &format!("compiling `{}`", r.object.display()),
        &mut sh,
        &lines[0],
    )?;
    if let Some(tmp) = r.via_tmp() {
        let cc = r.command.split_whitespace().next().unwrap_or("gcc");
        let prefix = cc.strip_suffix("gcc").unwrap_or("");
        let objcopy = format!("{prefix}objcopy");
        let base = r
            .source
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let redefine = format!("{base}={}", r.source.display());
        let mut oc = Command::new(&objcopy);
        oc.arg("--redefine-sym")
            .arg(&redefine)
            .arg(&tmp)
            .arg(&r.object)
            .current_dir(sdir);
        let line = format!(
            "cd {} && {objcopy} --redefine-sym {} {} {} && rm -f {}",
            q(sdir),
            shell_quote(redefine.as_ref()),
            q(&tmp),
            q(&r.object),
            q(&tmp)
        );
        exec("renaming the file symbol", &mut oc, &line)?;
        let _ = std::fs::remove_file(sdir.join(&tmp));
        lines.push(line);
    }
    Ok(lines)
}

fn exec(step: &str, cmd: &mut Command, line: &str) -> Result<Vec<u8>, Error> {
    let out = cmd.output().map_err(|e| Error::Step {
        step: step.into(),
        command: line.into(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Step {
            step: step.into(),
            command: line.into(),
            detail: format!(
                "{}\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        });
    }
    Ok(out.stdout)
}

fn run(log: &mut dyn Write, step: &str, cmd: &mut Command, echo: bool) -> Result<(), Error> {
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ");
    say(log, &line);
    let stdout = exec(step, cmd, &line)?;
    if echo {
        for l in String::from_utf8_lossy(&stdout).lines() {
            say(log, format!("# {l}"));
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("o.new");
    std::fs::write(&tmp, data).map_err(|e| Error::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_payloads_as_livepatch_build() {
        assert_eq!(
            payload_name(Path::new("a/hello_world.patch")),
            "hello_world"
        );
        assert_eq!(payload_name(Path::new("xsa-123 v2.diff")), "xsa-123-v2");
        assert_eq!(payload_name(Path::new("fix")), "fix");
    }
}
