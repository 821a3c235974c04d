//! The payload pipeline, strictly in the seed's order:
//!
//! 1. compile the new function(s);
//! 2. `xsplice-config` writes `config.h` from exact lookups in `xen-syms`
//!    and in the new object;
//! 3. compile the `.funcs` C file against `config.h`;
//! 4. `xsplice-link` with the build-id, depends, xen_depends and modinfo;
//! 5. `xsplice-validate` against the target, after the payloads it stacks on.
//!
//! Every step is a separate process whose exact command line is printed, so
//! the build can be replayed by hand in a shell. A step runs again only when
//! the content hash of its command line and inputs (files, compiler, tool
//! binaries) changed; its stamp is removed before it runs and written after
//! it succeeds, and the tools and the compiler leave the previous outputs in
//! place when they fail.

use std::io::Write;
use std::path::{Path, PathBuf};

use xsplice_abi::Abi;

use crate::hash::{InputHash, write_atomic};
use crate::manifest::Payload;
use crate::standin::compiler_identity;
use crate::{Arch, BASE_CFLAGS, BuildError, CommandLine};

/// The tool binaries the pipeline runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub config: PathBuf,
    pub link: PathBuf,
    pub validate: PathBuf,
}

/// One build: which ABI, architecture and target, and where outputs go.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The workspace root (for `test-payloads/include`).
    pub workspace: &'a Path,
    pub abi: Abi,
    pub arch: Arch,
    /// The hypervisor image the payload is built against.
    pub xen_syms: &'a Path,
    /// Outputs go to `<out_root>/<abi>/<arch>/<name>/`.
    pub out_root: &'a Path,
    /// Run every step even when its inputs did not change.
    pub force: bool,
    pub tools: &'a Tools,
}

/// How validation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No errors.
    Valid,
    /// A must-fail payload failed with exactly its expected check.
    FailedAsExpected(String),
}

/// A built payload.
#[derive(Debug, Clone)]
pub struct Built {
    pub name: String,
    /// `<out_root>/<abi>/<arch>/<name>/`.
    pub dir: PathBuf,
    /// `xen_<name>.livepatch` or `.xsplice`.
    pub payload: PathBuf,
    pub config_h: PathBuf,
    /// The validator's text report.
    pub report: PathBuf,
    pub outcome: Outcome,
    /// Steps that ran (0 when everything was up to date), this payload only.
    pub steps_run: usize,
    /// The payloads loaded before this one, in order (its stack).
    pub stack: Vec<PathBuf>,
}

/// x86 payloads are position-independent with hidden visibility, which
/// leaves only R_X86_64_64, PC32 and PLT32; ARM payloads are not PIC (no GOT
/// relocations, which the ARM loaders do not accept).
fn pic_flags(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86_64 => &["-fpic", "-fvisibility=hidden"],
        Arch::Aarch64 | Arch::Arm32 => &["-fno-pic"],
    }
}

/// The macro `test-payloads/include/xsplice.h` selects the ABI with.
pub fn abi_macro(abi: Abi) -> String {
    format!(
        "XSPLICE_ABI_{}",
        abi.name().to_ascii_uppercase().replace('-', "_")
    )
}

/// `<out_root>/<abi>/<arch>/<name>`.
pub fn payload_out_dir(out_root: &Path, abi: Abi, arch: Arch, name: &str) -> PathBuf {
    out_root.join(abi.name()).join(arch.name()).join(name)
}

/// `xen_<name>.livepatch` or `xen_<name>.xsplice`, as Xen names its test payloads.
pub fn payload_file_name(abi: Abi, name: &str) -> String {
    format!("xen_{name}{}", abi.file_suffix())
}

/// A step: its command, the files whose bytes it depends on, its outputs.
struct Step {
    key: String,
    what: String,
    cmd: CommandLine,
    inputs: Vec<PathBuf>,
    extra: Vec<String>,
    outputs: Vec<PathBuf>,
    /// Standard output goes to this file (the validation report).
    stdout_to: Option<PathBuf>,
}

/// Runs a step unless its stamp matches; returns (ran, exit code).
fn run_step(
    dir: &Path,
    step: &Step,
    force: bool,
    log: &mut dyn Write,
) -> Result<(bool, i32), BuildError> {
    let mut hash = InputHash::new();
    hash.str(&step.cmd.to_string());
    for e in &step.extra {
        hash.str(e);
    }
    for input in &step.inputs {
        hash.file(input)?;
    }
    let hash = hash.hex();
    let stamp = dir.join(".stamps").join(&step.key);
    let printed = match &step.stdout_to {
        Some(to) => format!("{} > {}", step.cmd, crate::shell_quote(to.as_os_str())),
        None => step.cmd.to_string(),
    };
    if !force && step.outputs.iter().all(|o| o.exists()) {
        if let Some(code) = std::fs::read_to_string(&stamp)
            .ok()
            .and_then(|s| s.strip_prefix(&format!("{hash} exit ")).map(str::to_owned))
            .and_then(|c| c.trim().parse::<i32>().ok())
        {
            let _ = writeln!(log, "# up to date: {}", step.what);
            return Ok((false, code));
        }
    }
    let _ = std::fs::remove_file(&stamp);
    let _ = writeln!(log, "{printed}");
    let out = step.cmd.output()?;
    let code = out.status.code().unwrap_or(-1);
    let accepted = match &step.stdout_to {
        // The validator exits 1 when it found errors: a result, not a failure.
        Some(_) => code == 0 || code == 1,
        None => code == 0,
    };
    if !accepted {
        return Err(BuildError::Failed {
            step: step.what.clone(),
            command: printed,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
        });
    }
    // Warnings, and the validator's report, are shown as shell comments so
    // that the log stays a script that replays the build.
    let mut shown = String::from_utf8_lossy(&out.stderr).into_owned();
    if let Some(to) = &step.stdout_to {
        write_atomic(to, &out.stdout)?;
        shown.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    for line in shown.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(log, "#   {line}");
    }
    write_atomic(&stamp, format!("{hash} exit {code}\n").as_bytes())?;
    Ok((true, code))
}

/// Headers a payload's C files can include: `test-payloads/include/*.h` and
/// the `.h` files next to each source.
fn headers(include: &Path, sources: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<&Path> = vec![include];
    dirs.extend(sources.iter().filter_map(|s| s.parent()));
    let mut out = Vec::new();
    for d in dirs {
        if let Ok(entries) = std::fs::read_dir(d) {
            out.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "h")),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The command that compiles one payload C file (steps 1 and 3): run from
/// the source's directory, with `include` (`test-payloads/include`) on the
/// include path and, for step 3, `config_dir` (where `config.h` is) quoted.
pub fn compile_command(
    cc: &Path,
    abi: Abi,
    arch: Arch,
    include: &Path,
    source: &Path,
    obj: &Path,
    config_dir: Option<&Path>,
) -> CommandLine {
    let mut cmd = CommandLine::new(cc);
    if let Some(dir) = source.parent() {
        // Compiling from the source's directory keeps the STT_FILE symbol a
        // bare file name, whatever the checkout's path.
        cmd.dir(dir);
    }
    // The `.comment` compiler banner is dropped, so that a payload's bytes
    // do not change with the compiler's patch release when its code does not.
    cmd.args(BASE_CFLAGS)
        .arg("-fno-ident")
        .args(arch.arch_cflags())
        .args(pic_flags(arch))
        .arg("-Wall")
        .arg(format!("-D{}", abi_macro(abi)))
        .arg("-I")
        .arg(include);
    if let Some(d) = config_dir {
        cmd.arg("-iquote").arg(d);
    }
    let file = source.file_name().unwrap_or(source.as_os_str());
    cmd.arg("-c").arg(file).arg("-o").arg(obj);
    cmd
}

fn stem(source: &str) -> String {
    Path::new(source)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_owned())
}

/// Builds `payload` (and first the payload it stacks on, if any) for one
/// ABI and architecture against `req.xen_syms`, printing each command that
/// runs to `log`.
pub fn build_payload(
    payload: &Payload,
    req: &Request<'_>,
    log: &mut dyn Write,
) -> Result<Built, BuildError> {
    build_in_stack(payload, req, log, &mut Vec::new())
}

/// `build_payload`, with the names of the payloads that wait on this one,
/// so that a cycle of `depends` is an error rather than endless recursion.
fn build_in_stack(
    payload: &Payload,
    req: &Request<'_>,
    log: &mut dyn Write,
    waiting: &mut Vec<String>,
) -> Result<Built, BuildError> {
    let m = &payload.manifest;
    let fail = |message: String| BuildError::Payload {
        payload: payload.name.clone(),
        message,
    };
    if !payload.supports(req.abi, req.arch) {
        return Err(fail(format!(
            "not built for {} on {} (see its payload.json)",
            req.abi.name(),
            req.arch
        )));
    }
    if waiting.contains(&payload.name) {
        waiting.push(payload.name.clone());
        return Err(fail(format!("depends on itself: {}", waiting.join(" -> "))));
    }
    let (depends_on, stack) = match payload.dependency()? {
        None => (req.xen_syms.to_path_buf(), Vec::new()),
        Some(dep) => {
            if dep.manifest.expect_failure.is_some() {
                return Err(fail(format!(
                    "depends on `{}`, a payload that must fail validation",
                    dep.name
                )));
            }
            waiting.push(payload.name.clone());
            let built = build_in_stack(&dep, req, log, waiting)?;
            waiting.pop();
            let mut stack = built.stack.clone();
            stack.push(built.payload.clone());
            (built.payload, stack)
        }
    };

    let dir = payload_out_dir(req.out_root, req.abi, req.arch, &payload.name);
    let stamps = dir.join(".stamps");
    std::fs::create_dir_all(&stamps).map_err(|e| BuildError::io("cannot create", &stamps, e))?;
    let include = req.workspace.join("test-payloads").join("include");
    let cc = req.arch.find_compiler()?;
    let cc_id = compiler_identity(&cc)?;
    let sources: Vec<PathBuf> = m
        .new_sources
        .iter()
        .chain([&m.funcs_source])
        .map(|s| payload.dir.join(s))
        .collect();
    let hdrs = headers(&include, &sources);
    let mut steps_run = 0;
    let mut run = |step: &Step, log: &mut dyn Write| -> Result<i32, BuildError> {
        let (ran, code) = run_step(&dir, step, req.force, log)?;
        steps_run += usize::from(ran);
        Ok(code)
    };

    // Step 1: the new code.
    let mut new_objs = Vec::new();
    for (i, src) in m.new_sources.iter().enumerate() {
        let obj = dir.join(format!("{}.o", stem(src)));
        let mut inputs = vec![sources[i].clone()];
        inputs.extend(hdrs.iter().cloned());
        run(
            &Step {
                key: format!("1-{}", stem(src)),
                what: format!("step 1 (compiling `{src}`)"),
                cmd: compile_command(&cc, req.abi, req.arch, &include, &sources[i], &obj, None),
                inputs,
                extra: vec![cc_id.clone()],
                outputs: vec![obj.clone()],
                stdout_to: None,
            },
            log,
        )?;
        new_objs.push(obj);
    }

    // Step 2: config.h from exact lookups.
    let config_h = dir.join("config.h");
    let mut cfg = CommandLine::new(&req.tools.config);
    cfg.arg("-o").arg(&config_h);
    for spec in &m.config {
        let mut s = spec.replace("{xen}", &req.xen_syms.to_string_lossy());
        if let Some(new) = new_objs.first() {
            s = s.replace("{new}", &new.to_string_lossy());
        }
        cfg.arg("--define").arg(s);
    }
    let mut inputs = vec![req.tools.config.clone(), req.xen_syms.to_path_buf()];
    inputs.extend(new_objs.iter().cloned());
    run(
        &Step {
            key: "2-config".into(),
            what: "step 2 (xsplice-config)".into(),
            cmd: cfg,
            inputs,
            extra: Vec::new(),
            outputs: vec![config_h.clone()],
            stdout_to: None,
        },
        log,
    )?;

    // Step 3: the .funcs file, against config.h.
    let funcs_src = sources.last().expect("funcs source").clone();
    let funcs_obj = dir.join(format!("{}.o", stem(&m.funcs_source)));
    let mut inputs = vec![funcs_src.clone(), config_h.clone()];
    inputs.extend(hdrs.iter().cloned());
    run(
        &Step {
            key: "3-funcs".into(),
            what: format!("step 3 (compiling `{}`)", m.funcs_source),
            cmd: compile_command(
                &cc,
                req.abi,
                req.arch,
                &include,
                &funcs_src,
                &funcs_obj,
                Some(&dir),
            ),
            inputs,
            extra: vec![cc_id.clone()],
            outputs: vec![funcs_obj.clone()],
            stdout_to: None,
        },
        log,
    )?;

    // Step 4: link, with the notes and modinfo the ABI has.
    let out = dir.join(payload_file_name(req.abi, &payload.name));
    let mut link = CommandLine::new(&req.tools.link);
    link.arg("-o").arg(&out).arg("--build-id");
    if m.xen_depends && req.abi.xen_depends_section().is_some() {
        link.arg("--xen-depends").arg(req.xen_syms);
    }
    link.arg("--depends").arg(&depends_on);
    if req.abi.modinfo_section().is_some() {
        for kv in &m.modinfo {
            link.arg("--modinfo").arg(kv);
        }
    }
    link.arg("--abi").arg(req.abi.name());
    link.args(&new_objs).arg(&funcs_obj);
    let mut inputs = vec![
        req.tools.link.clone(),
        req.xen_syms.to_path_buf(),
        depends_on.clone(),
    ];
    inputs.extend(new_objs.iter().cloned());
    inputs.push(funcs_obj.clone());
    run(
        &Step {
            key: "4-link".into(),
            what: "step 4 (xsplice-link)".into(),
            cmd: link,
            inputs,
            extra: Vec::new(),
            outputs: vec![out.clone()],
            stdout_to: None,
        },
        log,
    )?;

    // Step 5: validate against the target, after the stack.
    let report = dir.join("validation.txt");
    let mut val = CommandLine::new(&req.tools.validate);
    val.arg(&out).arg("--target").arg(req.xen_syms);
    for p in &stack {
        val.arg("--after").arg(p);
    }
    let mut inputs = vec![
        req.tools.validate.clone(),
        out.clone(),
        req.xen_syms.to_path_buf(),
    ];
    inputs.extend(stack.iter().cloned());
    let code = run(
        &Step {
            key: "5-validate".into(),
            what: "step 5 (xsplice-validate)".into(),
            cmd: val,
            inputs,
            extra: Vec::new(),
            outputs: vec![report.clone()],
            stdout_to: Some(report.clone()),
        },
        log,
    )?;
    let text =
        std::fs::read_to_string(&report).map_err(|e| BuildError::io("cannot read", &report, e))?;
    // Only the manifest says a payload must fail. `xsplice-v4` builds are
    // valid: the validator checks them against their own era, the xSplice
    // v4 series, and warns (V-07) that no released Xen loads them.
    let outcome = judge(&payload.name, m.expect_failure.as_deref(), code, &text)?;
    Ok(Built {
        name: payload.name.clone(),
        dir,
        payload: out,
        config_h,
        report,
        outcome,
        steps_run,
        stack,
    })
}

/// The check ids of the errors in a text report (`error[C-35]: ...` lines).
pub fn error_ids(report: &str) -> Vec<String> {
    ids_after(report, "error[")
}

/// The check ids of the warnings in a text report (`warning[V-07]: ...`
/// lines).
pub fn warning_ids(report: &str) -> Vec<String> {
    ids_after(report, "warning[")
}

/// The ids between `prefix` at the start of a line and the next `]`,
/// sorted, once each.
fn ids_after(report: &str, prefix: &str) -> Vec<String> {
    let mut ids: Vec<String> = report
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| l.split_once(']').map(|(id, _)| id.to_owned()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Decides the outcome: a good payload must validate clean; a must-fail
/// payload must fail with exactly its expected check and no other error.
fn judge(name: &str, expect: Option<&str>, code: i32, report: &str) -> Result<Outcome, BuildError> {
    let ids = error_ids(report);
    let fail = |message: String| BuildError::Validation {
        payload: name.to_owned(),
        message,
        report: report.trim_end().to_owned(),
    };
    match (expect, code) {
        (None, 0) => Ok(Outcome::Valid),
        (None, _) => Err(fail(format!("validation failed with {}", ids.join(", ")))),
        (Some(want), 0) => Err(fail(format!("must fail with {want} but validated clean"))),
        (Some(want), _) if ids == [want] => Ok(Outcome::FailedAsExpected(want.to_owned())),
        (Some(want), _) => Err(fail(format!(
            "must fail with {want} alone but failed with {}",
            ids.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expect: Option<&str>, code: i32, report: &str, want: Result<Outcome, ()>) {
        let got = judge("p", expect, code, report).map_err(|_| ());
        assert_eq!(got, want, "{expect:?} {code} {report:?}");
    }

    #[test]
    fn judging() {
        let c35 =
            "error[C-35]: missing\n  --> p\np: 1 error, 0 warnings; accepted by no Xen release\n";
        let two = "error[C-35]: a\nerror[C-92]: b\n";
        check(None, 0, "p: 0 errors\n", Ok(Outcome::Valid));
        // A warning (here the xsplice-v4 era's V-07) leaves a payload valid.
        check(
            None,
            0,
            "warning[V-07]: no released Xen loads it\n  --> p\np: 0 errors, 1 warning; accepted by the xSplice v4 series (unreleased); no released Xen\n",
            Ok(Outcome::Valid),
        );
        check(None, 1, c35, Err(()));
        check(
            Some("C-35"),
            1,
            c35,
            Ok(Outcome::FailedAsExpected("C-35".into())),
        );
        check(Some("C-35"), 0, "", Err(()));
        check(Some("C-35"), 1, two, Err(()));
        check(Some("C-123"), 1, c35, Err(()));
    }

    #[test]
    fn abi_macros() {
        assert_eq!(abi_macro(Abi::XspliceV4), "XSPLICE_ABI_XSPLICE_V4");
        assert_eq!(abi_macro(Abi::LivepatchV2), "XSPLICE_ABI_LIVEPATCH_V2");
        assert_eq!(payload_file_name(Abi::Xsplice, "nop"), "xen_nop.xsplice");
    }
}
