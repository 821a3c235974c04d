//! What the diff decided and why, for people (text) and scripts (JSON).

use std::io::{self, Write};

use serde::Serialize;

/// Everything the diff found about one object pair.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// The patched object's path.
    pub object: String,
    /// Its `STT_FILE` name, the `file#` prefix of its statics.
    pub file: Option<String>,
    /// `written`, `refused` or `no-change`.
    pub verdict: String,
    /// Functions and objects that changed, are new, or were included.
    pub symbols: Vec<SymbolReport>,
    /// Sections that changed or are new, and whether they were included.
    pub sections: Vec<SectionReport>,
    /// The `.livepatch.funcs` entries written.
    pub funcs: Vec<FuncEntryReport>,
    /// Why the patch was refused (empty unless the verdict is `refused`).
    pub refusals: Vec<Refusal>,
    /// Hazards that do not stop the patch.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SymbolReport {
    pub name: String,
    /// `function` or `object`.
    pub kind: String,
    /// `changed`, `new` or `same`.
    pub status: String,
    /// Copied into the output; a `same` symbol that is not copied is
    /// referenced, and resolved in the running hypervisor.
    pub included: bool,
    /// Why it is changed or included.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SectionReport {
    pub name: String,
    pub status: String,
    pub included: bool,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FuncEntryReport {
    /// The name Xen's runtime table knows the old function by.
    pub name: String,
    /// Its address in the target (the entry itself holds 0: Xen resolves
    /// by name).
    pub old_addr: u64,
    pub old_size: u64,
    pub new_size: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    /// The object concerned.
    pub object: String,
    /// The symbol or section concerned.
    pub what: String,
    /// What is wrong.
    pub reason: String,
    /// What to do about it.
    pub advice: Option<String>,
}

impl Report {
    /// The human-readable form: one line per decision.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        let obj = &self.object;
        for s in &self.symbols {
            let what = match (s.status.as_str(), s.included) {
                ("same", true) => "included",
                ("same", false) => "referenced",
                (status, _) => status,
            };
            write!(out, "{obj}: {what} {} `{}`", s.kind, s.name)?;
            if let Some(r) = &s.reason {
                write!(out, ": {r}")?;
            }
            writeln!(out)?;
        }
        for f in &self.funcs {
            writeln!(
                out,
                "{obj}: patch `{}` at {:#x} (old size {}, new size {})",
                f.name, f.old_addr, f.old_size, f.new_size
            )?;
        }
        for w in &self.warnings {
            writeln!(out, "{obj}: warning: {w}")?;
        }
        for r in &self.refusals {
            write!(out, "{}: refused: `{}`: {}", r.object, r.what, r.reason)?;
            if let Some(a) = &r.advice {
                write!(out, " ({a})")?;
            }
            writeln!(out)?;
        }
        match self.verdict.as_str() {
            "no-change" => writeln!(out, "{obj}: no functional change")?,
            "refused" => writeln!(
                out,
                "{obj}: refused, {} reason{}",
                self.refusals.len(),
                if self.refusals.len() == 1 { "" } else { "s" }
            )?,
            _ => {}
        }
        Ok(())
    }

    /// The JSON form.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }
}
