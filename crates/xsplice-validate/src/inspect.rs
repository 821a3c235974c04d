//! The canonical dump of what a payload means: ABI, arch, build-ids,
//! `.modinfo`, every `.funcs` entry with its pointers shown symbolically,
//! hooks, and a section summary.
//!
//! The dump is deterministic (no paths, no hash order) because the snapshot
//! tests of every test payload compare it byte for byte.

use std::fmt::Write as _;
use std::io::{self, Write};

use xsplice_abi::note::hex;

use crate::model::{Payload, Value};
use crate::target::Environment;
use crate::{Options, Report, validate};

/// Why a payload cannot be dumped.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The structure is too broken to describe.
    #[error("`{file}` cannot be read as a payload: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("cannot write the dump of `{file}`")]
    Write {
        file: String,
        #[source]
        source: io::Error,
    },
}

fn spaced(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A pointer field, symbolically; with a target, constants get the target
/// symbol they point at.
fn value(p: &Payload, v: &Value, env: &Environment<'_>) -> String {
    match v {
        Value::Zero => "0".to_string(),
        Value::Const { value } => {
            let sym = env.target.and_then(|t| t.function_at(*value));
            match sym {
                Some(s) => format!("{value:#x} <{}>", s.name),
                None => format!("{value:#x}"),
            }
        }
        Value::Symbol {
            symbol,
            addend,
            section,
            ..
        } => {
            let mut out = symbol.clone();
            if *addend > 0 {
                let _ = write!(out, "+{addend:#x}");
            } else if *addend < 0 {
                let _ = write!(out, "-{:#x}", addend.unsigned_abs());
            }
            match section {
                Some(s) => {
                    let name = p.sections.get(*s).map_or("?", |s| s.name.as_str());
                    let _ = write!(out, " (in {name})");
                }
                None => {
                    let addr = env.resolve(symbol);
                    match addr {
                        Some(a) => {
                            let _ = write!(out, " (undefined, target {a:#x})");
                        }
                        None => out.push_str(" (undefined)"),
                    }
                }
            }
            out
        }
    }
}

fn flags(f: u64) -> String {
    let mut s = String::new();
    for (bit, c) in [(0x1, 'W'), (0x2, 'A'), (0x4, 'X'), (0x10, 'M'), (0x20, 'S')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

fn type_name(t: u32) -> String {
    match t {
        0 => "NULL".into(),
        1 => "PROGBITS".into(),
        2 => "SYMTAB".into(),
        3 => "STRTAB".into(),
        4 => "RELA".into(),
        7 => "NOTE".into(),
        8 => "NOBITS".into(),
        9 => "REL".into(),
        n => format!("{n:#x}"),
    }
}

/// Renders the dump of an already validated payload.
fn render(p: &Payload, report: &Report, env: &Environment<'_>) -> String {
    let mut o = String::new();
    let abi = p.abi.map_or("unknown".to_string(), |a| a.to_string());
    let _ = writeln!(o, "abi: {abi}");
    let _ = writeln!(o, "arch: {}", p.arch);
    let id = |v: &Option<Vec<u8>>| v.as_deref().map_or("none".to_string(), hex);
    let _ = writeln!(o, "build-id: {}", id(&p.build_id));
    let _ = writeln!(o, "depends: {}", id(&p.depends));
    if p.abi == Some(xsplice_abi::Abi::LivepatchV2) {
        let _ = writeln!(o, "xen_depends: {}", id(&p.xen_depends));
    }
    match &p.modinfo {
        Some(m) => {
            let _ = writeln!(o, "modinfo:");
            for entry in m.split(|&b| b == 0).filter(|e| !e.is_empty()) {
                let _ = writeln!(o, "  {}", String::from_utf8_lossy(entry));
            }
        }
        None => {
            let _ = writeln!(o, "modinfo: none");
        }
    }
    let _ = writeln!(o, "funcs: {}", p.funcs.len());
    for (i, f) in p.funcs.iter().enumerate() {
        let name = match &f.name_str {
            Some(n) => format!("\"{n}\""),
            None => value(p, &f.name, env),
        };
        let _ = writeln!(o, "  [{i}] {name}");
        let mode = if f.new_addr.is_zero() { " (nop)" } else { "" };
        let _ = writeln!(o, "    new_addr: {}{mode}", value(p, &f.new_addr, env));
        let old = if f.old_addr.is_zero() {
            "0 (resolved by name)".to_string()
        } else {
            value(p, &f.old_addr, env)
        };
        let _ = writeln!(o, "    old_addr: {old}");
        let _ = writeln!(
            o,
            "    new_size: {} old_size: {} version: {}",
            f.new_size, f.old_size, f.version
        );
        match &f.expect {
            Some(x) if x.enabled => {
                let _ = writeln!(o, "    expect: {} bytes: {}", x.len, spaced(&x.data));
            }
            Some(_) => {
                let _ = writeln!(o, "    expect: none");
            }
            None => {}
        }
    }
    let _ = writeln!(o, "hooks: {}", p.hooks.len());
    for h in &p.hooks {
        let targets: Vec<String> = h.pointers.iter().map(|v| value(p, v, env)).collect();
        let _ = writeln!(o, "  {}: {}", h.section, targets.join(", "));
    }
    let _ = writeln!(
        o,
        "memory: text {:#x} rw {:#x} ro {:#x}",
        p.region_sizes[0], p.region_sizes[1], p.region_sizes[2]
    );
    let _ = writeln!(o, "sections:");
    for s in p.sections.iter().skip(1) {
        let region = match (s.region(), s.placed) {
            (Some(r), Some(at)) => format!(
                " {}+{at:#x}",
                serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "  {:<36} {:<8} {:<4} size {:#x} align {}{region}",
            s.name,
            type_name(s.sh_type),
            flags(s.flags),
            s.size,
            s.addralign
        );
    }
    let relocs: usize = p.relocations.iter().map(|r| r.entries.len()).sum();
    let _ = writeln!(o, "relocations: {relocs}");
    let _ = writeln!(o, "new symbols:");
    let mut news = p.new_symbols();
    news.sort();
    for (n, off) in news {
        let _ = writeln!(o, "  {n} @ {off:#x}");
    }
    let s = &report.summary;
    let accepted = crate::release::accepted_by_text(s.accepted_by.iter().copied().collect());
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let _ = writeln!(
        o,
        "validation: {}, {}; accepted by {accepted}",
        plural(s.errors, "error"),
        plural(s.warnings, "warning")
    );
    o
}

/// Writes the canonical text dump of `payload` (`file` names it in errors).
pub fn inspect(
    out: &mut dyn Write,
    file: &str,
    payload: &[u8],
    env: &Environment<'_>,
) -> Result<(), InspectError> {
    with_model(file, payload, env, |p, report| {
        out.write_all(render(p, report, env).as_bytes())
    })
}

/// Writes the payload model and validation summary as JSON.
pub fn inspect_json(
    out: &mut dyn Write,
    file: &str,
    payload: &[u8],
    env: &Environment<'_>,
) -> Result<(), InspectError> {
    with_model(file, payload, env, |p, report| {
        let value = serde_json::json!({ "payload": p, "summary": report.summary });
        serde_json::to_writer_pretty(&mut *out, &value).map_err(io::Error::from)?;
        writeln!(out)
    })
}

/// Validates `payload` and hands the decoded model and the report to
/// `write`: a payload too broken to decode is `Unreadable`, and a failed
/// write names `file`.
fn with_model(
    file: &str,
    payload: &[u8],
    env: &Environment<'_>,
    write: impl FnOnce(&Payload, &Report) -> io::Result<()>,
) -> Result<(), InspectError> {
    let report = validate(payload, &Options::default(), env);
    let Some(p) = &report.payload else {
        return Err(unreadable(file, &report));
    };
    write(p, &report).map_err(|source| InspectError::Write {
        file: file.to_string(),
        source,
    })
}

fn unreadable(file: &str, report: &Report) -> InspectError {
    let reason = report
        .findings
        .iter()
        .find(|f| f.severity == crate::Severity::Error)
        .map_or("its structure is broken".to_string(), |f| {
            format!("{} ({})", f.message, f.check)
        });
    InspectError::Unreadable {
        file: file.to_string(),
        reason,
    }
}
