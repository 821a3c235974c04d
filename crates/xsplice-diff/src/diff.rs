//! Correlate, compare, include, check: the object diff itself.
//!
//! Every element of the patched object gets a twin in the original (or
//! none: NEW), a status (NEW, CHANGED, SAME) with the first difference that
//! made it CHANGED, and an include flag. The closure of the changed
//! functions is what the output holds; what it references and did not
//! change stays in the running hypervisor and is referenced by name.

use std::collections::HashMap;

use xsplice_abi::Arch;
use xsplice_symbols::{ElfFile, RuntimeTable};

use crate::elf::{self, Object, Reloc, Section, normalized, parent_name};
use crate::report::{FuncEntryReport, Refusal, Report, SectionReport, SymbolReport};
use crate::{DiffError, Input, Options, arm32, special, write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    New,
    Changed,
    Same,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Changed => "changed",
            Status::Same => "same",
        }
    }
}

/// What became of the diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// An output object was produced.
    Written,
    /// A difference cannot be live-patched; the report says why.
    Refused,
    /// Nothing that runs changed.
    NoChange,
}

impl Verdict {
    /// `create-diff-object`'s exit code: 0 written, 2 refused, 3 no change.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Written => 0,
            Verdict::Refused => 2,
            Verdict::NoChange => 3,
        }
    }
}

/// The result of [`diff`]: the verdict, the report, and the output object
/// when one was written.
#[derive(Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    pub report: Report,
    pub object: Option<Vec<u8>>,
}

/// What a diff that `st` refused returns: its refusals and warnings in
/// `report`, and no object.
fn refused(st: &mut State<'_>, mut report: Report) -> Outcome {
    report.refusals = std::mem::take(&mut st.refusals);
    report.warnings = std::mem::take(&mut st.warnings);
    report.verdict = "refused".into();
    Outcome {
        verdict: Verdict::Refused,
        report,
        object: None,
    }
}

/// The state of the diff over the patched object.
pub(crate) struct State<'d> {
    pub orig: Object<'d>,
    pub patched: Object<'d>,
    /// Patched section index → original section index.
    pub sec_twin: Vec<Option<usize>>,
    /// Patched symbol index → original symbol index.
    pub sym_twin: Vec<Option<usize>>,
    orig_sec_taken: Vec<bool>,
    orig_sym_taken: Vec<bool>,
    pub sec_status: Vec<Status>,
    pub sec_reason: Vec<Option<String>>,
    pub sym_status: Vec<Status>,
    pub sym_reason: Vec<Option<String>>,
    /// Sub-function → parent (§5).
    pub parent: Vec<Option<usize>>,
    pub children: Vec<Vec<usize>>,
    pub sec_include: Vec<bool>,
    pub sym_include: Vec<bool>,
    /// Special sections rebuilt from their kept elements.
    pub rebuilt: HashMap<usize, special::Rebuilt>,
    /// Companion sections cut to their kept pieces.
    pub cuts: HashMap<usize, special::Cut>,
    pub refusals: Vec<Refusal>,
    pub warnings: Vec<String>,
}

/// Diffs `orig` against `patched` and, when something changed, builds the
/// output object, resolving names against `target` (the hypervisor's
/// `xen-syms`). Without a target only the comparison runs: a change is then
/// refused, since no `.funcs` entry can be checked.
pub fn diff(
    orig: Input<'_>,
    patched: Input<'_>,
    target: Option<Input<'_>>,
    options: &Options,
) -> Result<Outcome, DiffError> {
    if let Some(xen) = &options.xen
        && !options.abi.accepts_xen(xen)
    {
        return Err(DiffError::unsupported(
            patched.path,
            format!(
                "Xen {xen} does not load payloads of ABI {}; pick the ABI of that release",
                options.abi.name()
            ),
        ));
    }
    let o = elf::parse(orig.path, orig.data)?;
    let p = elf::parse(patched.path, patched.data)?;
    if o.header_key != p.header_key {
        return Err(DiffError::Mismatch {
            orig: orig.path.to_owned(),
            patched: patched.path.to_owned(),
            detail: "their ELF headers differ (class, machine, flags or version)".into(),
        });
    }
    let mut st = State::new(o, p);
    st.retarget_section_references();
    st.link_subfunctions();
    st.correlate();
    st.compare();
    if st.refusals.is_empty() {
        st.include();
        special::filter(&mut st, options);
        st.verify();
    }

    let roots = st.changed_parents();
    let new_globals = st.new_globals();
    let mut report = st.report(patched.path);
    if !st.refusals.is_empty() {
        return Ok(refused(&mut st, report));
    }
    let init = st.changed_init_code();
    if roots.is_empty() && new_globals == 0 && !init.is_empty() {
        // Init code ran at boot and is freed after it: a patch that changes
        // only that would load, do nothing, and look like a fix.
        for what in init {
            report.refusals.push(Refusal {
                object: patched.path.to_owned(),
                what,
                reason: "only boot-time (init) code changed; it ran when the hypervisor booted \
                         and never runs again, so a live patch cannot change what it did"
                    .into(),
                advice: Some(
                    "change the code that runs after boot too, or ship the fix for the next reboot"
                        .into(),
                ),
            });
        }
        report.warnings = std::mem::take(&mut st.warnings);
        report.verdict = "refused".into();
        return Ok(Outcome {
            verdict: Verdict::Refused,
            report,
            object: None,
        });
    }
    for what in init {
        st.warnings.push(format!(
            "init code `{what}` changed too; it has already run and is left out"
        ));
    }
    if roots.is_empty() && new_globals == 0 {
        report.verdict = "no-change".into();
        report.warnings = std::mem::take(&mut st.warnings);
        return Ok(Outcome {
            verdict: Verdict::NoChange,
            report,
            object: None,
        });
    }

    let Some(target) = target else {
        report.refusals.push(Refusal {
            object: patched.path.to_owned(),
            what: "--target".into(),
            reason: "functions changed, and no target hypervisor was given to resolve them in"
                .into(),
            advice: Some("pass the `xen-syms` the payload is for".into()),
        });
        report.verdict = "refused".into();
        return Ok(Outcome {
            verdict: Verdict::Refused,
            report,
            object: None,
        });
    };
    let image = ElfFile::parse(target.data)
        .map_err(|e| DiffError::malformed(target.path, e.to_string()))?;
    let table = RuntimeTable::new(image);
    let entries = st.resolve_entries(&roots, &table, patched.path);
    st.check_undefined(&table, patched.path);
    report.funcs = entries
        .iter()
        .map(|e| FuncEntryReport {
            name: e.name.clone(),
            old_addr: e.old_addr,
            old_size: e.old_size,
            new_size: st.patched.symbols[e.sym].size,
        })
        .collect();
    if !st.refusals.is_empty() {
        return Ok(refused(&mut st, report));
    }
    let object = write::write(&st, &entries, options)?;
    report.warnings = std::mem::take(&mut st.warnings);
    report.verdict = "written".into();
    Ok(Outcome {
        verdict: Verdict::Written,
        report,
        object: Some(object),
    })
}

/// One `.livepatch.funcs` entry to write.
pub(crate) struct Entry {
    /// The patched function symbol.
    pub sym: usize,
    /// Its name in Xen's runtime table.
    pub name: String,
    pub old_addr: u64,
    pub old_size: u64,
}

/// Sections that never go into a payload and are not compared: debugging
/// and compiler metadata, and init code that already ran (§8).
pub(crate) fn ignored_section(name: &[u8]) -> bool {
    const PREFIXES: [&[u8]; 12] = [
        b".debug",
        // ARM unwind tables and build attributes: Xen unwinds no payload.
        b".ARM.exidx",
        b".ARM.extab",
        b".ARM.attributes",
        b".note",
        b".comment",
        b".discard",
        b".init",
        b".text.init",
        b".eh_frame",
        b".livepatch.ignore",
        b".group",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || name == b".symtab"
        || name == b".strtab"
        || name == b".shstrtab"
}

impl<'d> State<'d> {
    fn new(orig: Object<'d>, patched: Object<'d>) -> Self {
        let ns = patched.sections.len();
        let ny = patched.symbols.len();
        State {
            sec_twin: vec![None; ns],
            sym_twin: vec![None; ny],
            orig_sec_taken: vec![false; orig.sections.len()],
            orig_sym_taken: vec![false; orig.symbols.len()],
            sec_status: vec![Status::Same; ns],
            sec_reason: vec![None; ns],
            sym_status: vec![Status::Same; ny],
            sym_reason: vec![None; ny],
            parent: vec![None; ny],
            children: vec![Vec::new(); ny],
            sec_include: vec![false; ns],
            sym_include: vec![false; ny],
            rebuilt: HashMap::new(),
            cuts: HashMap::new(),
            refusals: Vec::new(),
            warnings: Vec::new(),
            orig,
            patched,
        }
    }

    pub(crate) fn arch(&self) -> Arch {
        self.patched.arch
    }

    fn refuse(&mut self, what: impl Into<String>, reason: impl Into<String>, advice: Option<&str>) {
        self.refusals.push(Refusal {
            object: self.patched.path.clone(),
            what: what.into(),
            reason: reason.into(),
            advice: advice.map(str::to_owned),
        });
    }

    /// §6: a reference to `section+offset` becomes a reference to the
    /// symbol at that offset, so that the comparison sees names and the
    /// output references the running copy of unchanged code and data.
    fn retarget_section_references(&mut self) {
        for obj in [&mut self.orig, &mut self.patched] {
            let arch = obj.arch;
            // Per section: its function and object symbols by address.
            let mut covering: Vec<Vec<(u64, u64, usize)>> = vec![Vec::new(); obj.sections.len()];
            for (i, s) in obj.symbols.iter().enumerate() {
                if let Some(sec) = s.section
                    && (s.is_func() || s.is_object())
                {
                    covering[sec].push((s.value, s.size, i));
                }
            }
            for c in &mut covering {
                c.sort_unstable();
            }
            for r in 0..obj.sections.len() {
                let Some(base) = obj.sections[r].base else {
                    continue;
                };
                let from_code = obj.sections[base].is_exec();
                for k in 0..obj.sections[r].relocs.len() {
                    let rel = obj.sections[r].relocs[k];
                    // A field the diff cannot decode keeps its target.
                    if obj.rel && !arm32::knows(rel.r_type) {
                        continue;
                    }
                    let target = obj.symbols[rel.sym];
                    let Some(sec) = target.section else { continue };
                    // A section anchor (`.LANCHOR0`, ARM's gcc) is the
                    // section symbol moved by its value.
                    let anchor = target.is_label() && target.kind == object::elf::STT_NOTYPE.0;
                    if !target.is_section() && !anchor {
                        continue;
                    }
                    let tsec = &obj.sections[sec];
                    if tsec.is_strings() || tsec.is_merge() {
                        continue;
                    }
                    let rel = if anchor {
                        let Some(addend) = rel.addend.checked_add_unsigned(target.value) else {
                            continue;
                        };
                        Reloc { addend, ..rel }
                    } else {
                        rel
                    };
                    if let Some(b) = tsec.bundled {
                        obj.sections[r].relocs[k].sym = b;
                        obj.sections[r].relocs[k].addend = rel.addend;
                        continue;
                    }
                    // An arm32 PC-relative literal (`.word sym - (.LPIC + 8)`)
                    // folds in a distance only its instruction knows: the
                    // reference stays on the section.
                    if arch == Arch::Arm32
                        && from_code
                        && pc_bias(arch, rel.r_type, from_code) == 0
                        && matches!(rel.r_type, 3 | 45 | 46 | 49 | 50)
                    {
                        continue;
                    }
                    let bias = pc_bias(arch, rel.r_type, from_code);
                    let at = rel.addend.wrapping_add(bias);
                    let Ok(at) = u64::try_from(at) else { continue };
                    let list = &covering[sec];
                    let hit = list
                        .iter()
                        .find(|&&(v, size, _)| at >= v && at - v < size.max(1))
                        .or_else(|| {
                            list.iter()
                                .rev()
                                .find(|&&(v, size, _)| at >= v && at - v == size)
                        });
                    if let Some(&(v, _, s)) = hit {
                        obj.sections[r].relocs[k].sym = s;
                        obj.sections[r].relocs[k].addend = rel.addend.wrapping_sub(v as i64);
                    }
                }
            }
        }
    }

    /// §5: `foo.cold`, `foo.part.0` and friends belong to `foo`.
    fn link_subfunctions(&mut self) {
        let p = &self.patched;
        let mut by_name: HashMap<&[u8], usize> = HashMap::new();
        for (i, s) in p.symbols.iter().enumerate() {
            if s.is_func() && s.section.is_some() {
                by_name.entry(s.name).or_insert(i);
            }
        }
        for (i, s) in p.symbols.iter().enumerate() {
            if !s.is_func() || s.section.is_none() {
                continue;
            }
            if let Some(parent) = parent_name(s.name).and_then(|n| by_name.get(n))
                && *parent != i
            {
                self.parent[i] = Some(*parent);
                self.children[*parent].push(i);
            }
        }
    }

    fn twin_symbols(&mut self, p: usize, o: usize) {
        self.sym_twin[p] = Some(o);
        self.orig_sym_taken[o] = true;
    }

    fn twin_sections(&mut self, p: usize, o: usize) {
        self.sec_twin[p] = Some(o);
        self.orig_sec_taken[o] = true;
        if let (Some(pr), Some(or)) = (self.patched.sections[p].rela, self.orig.sections[o].rela) {
            self.sec_twin[pr] = Some(or);
            self.orig_sec_taken[or] = true;
        }
        if let (Some(ps), Some(os)) = (
            self.patched.sections[p].secsym,
            self.orig.sections[o].secsym,
        ) {
            self.twin_symbols(ps, os);
        }
    }

    /// §7: twins by reference for function-scope statics, by name for the
    /// rest.
    fn correlate(&mut self) {
        // Statics first: `count.1` may be `count.2` in the other build, and
        // two of one name are told apart only by who references them.
        let mut orig_by_name: HashMap<&[u8], usize> = HashMap::new();
        for (os, o) in self.orig.sections.iter().enumerate().skip(1) {
            orig_by_name.entry(o.name).or_insert(os);
        }
        for ps in 0..self.patched.sections.len() {
            let sec = &self.patched.sections[ps];
            if ps == 0 || sec.base.is_some() || sec.rela.is_none() {
                continue;
            }
            let Some(&os) = orig_by_name.get(sec.name) else {
                continue;
            };
            let (Some(pr), Some(or)) =
                (self.patched.sections[ps].rela, self.orig.sections[os].rela)
            else {
                continue;
            };
            let orig_relocs = self.orig.sections[or].relocs.clone();
            for orel in orig_relocs {
                let ot = self.orig.symbols[orel.sym];
                if !ot.is_static_local() || self.orig_sym_taken[orel.sym] {
                    continue;
                }
                let key = normalized(ot.name);
                let found = self.patched.sections[pr]
                    .relocs
                    .iter()
                    .map(|r| r.sym)
                    .find(|&t| {
                        let pt = self.patched.symbols[t];
                        self.sym_twin[t].is_none()
                            && pt.is_static_local()
                            && pt.kind == ot.kind
                            && pt.size == ot.size
                            && normalized(pt.name) == key
                    });
                if let Some(t) = found {
                    self.twin_symbols(t, orel.sym);
                    let (Some(psec), Some(osec)) = (self.patched.symbols[t].section, ot.section)
                    else {
                        continue;
                    };
                    if self.patched.sections[psec].bundled == Some(t)
                        && self.orig.sections[osec].bundled == Some(orel.sym)
                        && self.sec_twin[psec].is_none()
                        && !self.orig_sec_taken[osec]
                    {
                        self.twin_sections(psec, osec);
                    }
                }
            }
        }

        // Sections by exact name, then by name without GCC's numbers;
        // candidates are indexed by name, as a linked object can have tens
        // of thousands.
        let key_of = |name: &[u8], exact: bool| -> Vec<u8> {
            if exact {
                name.to_vec()
            } else {
                normalized(name)
            }
        };
        for exact in [true, false] {
            let mut candidates: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
            for os in 1..self.orig.sections.len() {
                let o = &self.orig.sections[os];
                if self.orig_sec_taken[os]
                    || o.base.is_some()
                    || o.bundled
                        .is_some_and(|b| self.orig.symbols[b].is_static_local())
                {
                    continue;
                }
                candidates
                    .entry(key_of(o.name, exact))
                    .or_default()
                    .push(os);
            }
            for ps in 1..self.patched.sections.len() {
                let sec = &self.patched.sections[ps];
                if self.sec_twin[ps].is_some() || sec.base.is_some() {
                    continue;
                }
                if sec
                    .bundled
                    .is_some_and(|b| self.patched.symbols[b].is_static_local())
                {
                    continue;
                }
                if !exact && sec.is_strings() {
                    continue;
                }
                let found = candidates
                    .get(&key_of(sec.name, exact))
                    .and_then(|list| list.iter().copied().find(|&os| !self.orig_sec_taken[os]));
                if let Some(os) = found {
                    self.twin_sections(ps, os);
                }
            }
        }

        // Symbols by name and type: exact, then without GCC's numbers.
        for exact in [true, false] {
            let mut candidates: HashMap<(Vec<u8>, u8, bool), Vec<usize>> = HashMap::new();
            for os in 1..self.orig.symbols.len() {
                let o = self.orig.symbols[os];
                // Statics left over from the pass by reference keep an
                // exact name only.
                if self.orig_sym_taken[os]
                    || o.is_section()
                    || o.is_mapping()
                    || (!exact && o.is_static_local())
                {
                    continue;
                }
                candidates
                    .entry((key_of(o.name, exact), o.kind, o.section.is_some()))
                    .or_default()
                    .push(os);
            }
            for ps in 1..self.patched.symbols.len() {
                let s = self.patched.symbols[ps];
                if self.sym_twin[ps].is_some()
                    || s.is_section()
                    || s.is_label()
                    || s.is_mapping()
                    || (!exact && s.is_static_local())
                {
                    continue;
                }
                let key = (key_of(s.name, exact), s.kind, s.section.is_some());
                let found = candidates
                    .get(&key)
                    .and_then(|list| list.iter().copied().find(|&os| !self.orig_sym_taken[os]));
                if let Some(os) = found {
                    self.twin_symbols(ps, os);
                    // A function's section follows its function.
                    if let (Some(psec), Some(osec)) = (s.section, self.orig.symbols[os].section)
                        && self.patched.sections[psec].bundled == Some(ps)
                        && self.orig.sections[osec].bundled == Some(os)
                        && self.sec_twin[psec].is_none()
                        && !self.orig_sec_taken[osec]
                    {
                        self.twin_sections(psec, osec);
                    }
                }
            }
        }
    }

    /// The functions (or, without one, the sections) of init code that
    /// differ from the original: compared only to say so, never included.
    fn changed_init_code(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ps in 1..self.patched.sections.len() {
            let sec = &self.patched.sections[ps];
            if sec.base.is_some()
                || !sec.is_exec()
                || !(sec.name.starts_with(b".init") || sec.name.starts_with(b".text.init"))
            {
                continue;
            }
            let changed = match self.sec_twin[ps] {
                None => true,
                Some(os) => self.section_difference(ps, os).is_some(),
            };
            if !changed {
                continue;
            }
            let funcs: Vec<String> = (1..self.patched.symbols.len())
                .map(|i| self.patched.symbols[i])
                .filter(|s| s.section == Some(ps) && s.is_func())
                .map(|s| s.name())
                .collect();
            if funcs.is_empty() {
                out.push(sec.name());
            } else {
                out.extend(funcs);
            }
        }
        out
    }

    /// §9: statuses, with the first difference as the reason.
    fn compare(&mut self) {
        for ps in 1..self.patched.sections.len() {
            let sec = &self.patched.sections[ps];
            if sec.base.is_some() || ignored_section(sec.name) {
                continue;
            }
            match self.sec_twin[ps] {
                None => {
                    self.sec_status[ps] = Status::New;
                }
                Some(os) => {
                    if let Some(why) = self.section_difference(ps, os) {
                        self.sec_status[ps] = Status::Changed;
                        self.sec_reason[ps] = Some(why);
                    }
                }
            }
            if let Some(r) = self.patched.sections[ps].rela {
                self.sec_status[r] = self.sec_status[ps];
            }
        }

        for i in 1..self.patched.symbols.len() {
            let s = self.patched.symbols[i];
            let Some(sec) = s.section else { continue };
            if s.is_file() {
                continue;
            }
            let Some(o) = self.sym_twin[i] else {
                self.sym_status[i] = Status::New;
                continue;
            };
            let os = self.orig.symbols[o];
            if s.is_section() || self.patched.sections[sec].bundled == Some(i) {
                self.sym_status[i] = self.sec_status[sec];
                self.sym_reason[i] = self.sec_reason[sec].clone();
            } else if s.is_func() || s.is_object() {
                if let Some(why) = self.range_difference(i, o) {
                    self.sym_status[i] = Status::Changed;
                    self.sym_reason[i] = Some(why);
                }
            }
            if s.is_object()
                && os.size != s.size
                && !ignored_section(self.patched.sections[sec].name)
            {
                self.refuse(
                    s.name(),
                    format!(
                        "the size of this object changed from {} to {}",
                        os.size, s.size
                    ),
                    Some(
                        "a live patch cannot change data layout; keep the layout and use a \
                         load hook or a shadow variable for new state",
                    ),
                );
            }
        }

        // Reading a changed constant changes the reader (§9).
        loop {
            let mut more = false;
            for ps in 1..self.patched.sections.len() {
                let sec = &self.patched.sections[ps];
                if self.sec_status[ps] != Status::Same || sec.base.is_some() {
                    continue;
                }
                let Some(r) = sec.rela else { continue };
                let hit = self.patched.sections[r].relocs.iter().find(|rel| {
                    let t = self.patched.symbols[rel.sym];
                    self.sym_status[rel.sym] == Status::Changed
                        && t.is_object()
                        && t.section
                            .is_some_and(|ts| !self.patched.sections[ts].flags_writable())
                });
                if let Some(rel) = hit {
                    let why = format!(
                        "reads `{}`, whose contents changed",
                        self.patched.symbols[rel.sym].name()
                    );
                    self.sec_status[ps] = Status::Changed;
                    self.sec_reason[ps] = Some(why.clone());
                    self.sec_status[r] = Status::Changed;
                    if let Some(b) = sec.bundled {
                        self.sym_status[b] = Status::Changed;
                        self.sym_reason[b] = Some(why);
                    }
                    more = true;
                }
            }
            if !more {
                break;
            }
        }

        // A changed part changes its parent (§5).
        for i in 0..self.patched.symbols.len() {
            if self.sym_status[i] == Status::Same {
                continue;
            }
            let mut child = i;
            while let Some(p) = self.parent[child] {
                if self.sym_status[p] == Status::Same {
                    self.sym_status[p] = Status::Changed;
                    self.sym_reason[p] = Some(format!(
                        "its part `{}` changed",
                        self.patched.symbols[i].name()
                    ));
                }
                child = p;
            }
        }

        for ps in 1..self.patched.sections.len() {
            let sec = &self.patched.sections[ps];
            if self.sec_status[ps] == Status::Changed && sec.grouped && sec.base.is_none() {
                let name = sec.name();
                self.refuse(
                    name,
                    "a section in a COMDAT group changed",
                    Some("grouped sections are shared between objects and cannot be patched"),
                );
            }
            let sec = &self.patched.sections[ps];
            if let Some(os) = self.sec_twin[ps] {
                let o = &self.orig.sections[os];
                if sec.base.is_none()
                    && !ignored_section(sec.name)
                    && (o.sh_type != sec.sh_type
                        || o.flags != sec.flags
                        || o.entsize != sec.entsize)
                {
                    let name = sec.name();
                    self.refuse(
                        name,
                        "the section's type, flags or entry size changed",
                        None,
                    );
                }
            }
        }
    }

    /// Why patched section `ps` differs from original section `os`.
    fn section_difference(&self, ps: usize, os: usize) -> Option<String> {
        let p = &self.patched.sections[ps];
        let o = &self.orig.sections[os];
        if p.size != o.size {
            return Some(format!("its size changed from {} to {}", o.size, p.size));
        }
        if !p.is_nobits() {
            let (pd, od) = (
                compared_bytes(&self.patched, p),
                compared_bytes(&self.orig, o),
            );
            if let Some(at) = pd.iter().zip(od.iter()).position(|(a, b)| a != b) {
                return Some(format!(
                    "byte {at:#x} changed from {:#04x} to {:#04x}",
                    od[at], pd[at]
                ));
            }
        }
        let pr = p
            .rela
            .map(|r| &self.patched.sections[r].relocs[..])
            .unwrap_or(&[]);
        let or = o
            .rela
            .map(|r| &self.orig.sections[r].relocs[..])
            .unwrap_or(&[]);
        self.relocs_difference(ps, pr, or, 0, 0)
    }

    /// The first difference between two relocation lists, whose offsets are
    /// taken relative to `pbase` and `obase`.
    fn relocs_difference(
        &self,
        ps: usize,
        pr: &[Reloc],
        or: &[Reloc],
        pbase: u64,
        obase: u64,
    ) -> Option<String> {
        let from_code = self.patched.sections[ps].is_exec();
        for (k, (a, b)) in pr.iter().zip(or).enumerate() {
            if a.offset - pbase != b.offset - obase || a.r_type != b.r_type {
                return Some(format!(
                    "relocation {k} moved or changed type (at {:#x}, was at {:#x})",
                    a.offset - pbase,
                    b.offset - obase
                ));
            }
            if let Some(why) = self.reloc_target_difference(a, b, from_code) {
                return Some(format!("relocation {k} at {:#x}: {why}", a.offset - pbase));
            }
        }
        if pr.len() != or.len() {
            return Some(format!("it has {} relocations, was {}", pr.len(), or.len()));
        }
        None
    }

    fn reloc_target_difference(&self, a: &Reloc, b: &Reloc, from_code: bool) -> Option<String> {
        let pt = self.patched.symbols[a.sym];
        let ot = self.orig.symbols[b.sym];
        let psec = pt.section.map(|s| &self.patched.sections[s]);
        let osec = ot.section.map(|s| &self.orig.sections[s]);
        if let (Some(ps), Some(os)) = (psec, osec)
            && ps.is_strings()
            && os.is_strings()
        {
            let sa = string_at(&self.patched, ps, pt.value, a, from_code);
            let sb = string_at(&self.orig, os, ot.value, b, from_code);
            return (sa != sb).then(|| {
                format!(
                    "the string changed from {:?} to {:?}",
                    String::from_utf8_lossy(sb.unwrap_or_default()),
                    String::from_utf8_lossy(sa.unwrap_or_default())
                )
            });
        }
        let same_target = match self.sym_twin[a.sym] {
            Some(t) => t == b.sym,
            None => {
                // Labels (`.LC3`) and untwinned section symbols compare by
                // name; the contents of their sections are compared there.
                (pt.is_label() || pt.is_section())
                    && normalized(pt.name) == normalized(ot.name)
                    && pt.kind == ot.kind
            }
        };
        if !same_target {
            return Some(format!(
                "its target changed from `{}` to `{}`",
                ot.name(),
                pt.name()
            ));
        }
        if a.addend != b.addend {
            return Some(format!(
                "the addend of `{}` changed from {} to {}",
                pt.name(),
                b.addend,
                a.addend
            ));
        }
        // A label in a merged constant section stands for its contents.
        if let Some(ps) = pt.section
            && pt.is_label()
            && self.patched.sections[ps].is_merge()
            && self.sec_status[ps] == Status::Changed
        {
            return Some(format!("the constants of `{}` changed", pt.name()));
        }
        None
    }

    /// Compares a function or object that shares its section with others.
    fn range_difference(&self, p: usize, o: usize) -> Option<String> {
        let ps = self.patched.symbols[p];
        let os = self.orig.symbols[o];
        if ps.size != os.size {
            return Some(format!("its size changed from {} to {}", os.size, ps.size));
        }
        let (Some(psec), Some(osec)) = (ps.section, os.section) else {
            return None;
        };
        let pd = &self.patched.sections[psec];
        let od = &self.orig.sections[osec];
        if !pd.is_nobits() && !od.is_nobits() {
            let (pdata, odata) = (
                compared_bytes(&self.patched, pd),
                compared_bytes(&self.orig, od),
            );
            // A range past the end of the address space is past the end of
            // the section too: no bytes, on either side.
            let a = pdata.get(ps.value as usize..ps.value.saturating_add(ps.size) as usize);
            let b = odata.get(os.value as usize..os.value.saturating_add(os.size) as usize);
            if a != b {
                return Some("its bytes changed".into());
            }
        }
        let inside = |sec: &Section<'_>, obj: &Object<'_>, v: u64, n: u64| -> Vec<Reloc> {
            sec.rela
                .map(|r| {
                    obj.sections[r]
                        .relocs
                        .iter()
                        .filter(|x| x.offset >= v && x.offset < v.saturating_add(n))
                        .copied()
                        .collect()
                })
                .unwrap_or_default()
        };
        let pr = inside(pd, &self.patched, ps.value, ps.size);
        let or = inside(od, &self.orig, os.value, os.size);
        self.relocs_difference(psec, &pr, &or, ps.value, os.value)
    }

    /// Changed functions that get a `.funcs` entry: parents only, in
    /// symbol order, outside ignored sections.
    pub(crate) fn changed_parents(&self) -> Vec<usize> {
        (1..self.patched.symbols.len())
            .filter(|&i| {
                let s = self.patched.symbols[i];
                s.is_func()
                    && self.sym_status[i] == Status::Changed
                    && self.parent[i].is_none()
                    && s.section
                        .is_some_and(|sec| !ignored_section(self.patched.sections[sec].name))
            })
            .collect()
    }

    fn new_globals(&self) -> usize {
        (1..self.patched.symbols.len())
            .filter(|&i| self.is_new_global(i))
            .count()
    }

    fn is_new_global(&self, i: usize) -> bool {
        let s = self.patched.symbols[i];
        !s.is_local()
            && (s.is_func() || s.is_object())
            && self.sym_status[i] == Status::New
            && s.section
                .is_some_and(|sec| !ignored_section(self.patched.sections[sec].name))
    }

    /// §10: the closure of the changed functions and new globals.
    fn include(&mut self) {
        let mut work: Vec<Item> = Vec::new();
        for i in self.changed_parents() {
            work.push(Item::Sym(i));
        }
        for i in 1..self.patched.symbols.len() {
            if self.is_new_global(i) {
                work.push(Item::Sym(i));
            }
        }
        for (i, s) in self.patched.sections.iter().enumerate() {
            if s.name.starts_with(b".livepatch.hooks.") && s.base.is_none() {
                work.push(Item::Sec(i));
            }
        }
        self.run_closure(work);
    }

    pub(crate) fn run_closure(&mut self, mut work: Vec<Item>) {
        while let Some(item) = work.pop() {
            match item {
                Item::Sym(i) => {
                    if self.sym_include[i] {
                        continue;
                    }
                    self.sym_include[i] = true;
                    let s = self.patched.symbols[i];
                    if let Some(sec) = s.section {
                        let tsec = &self.patched.sections[sec];
                        if s.is_section()
                            || self.sym_status[i] != Status::Same
                            || tsec.is_strings()
                            || tsec.is_merge()
                            || s.is_label()
                            || s.kind == object::elf::STT_NOTYPE.0
                        {
                            work.push(Item::Sec(sec));
                        }
                    }
                    // A split part jumps back into its parent's body: a new
                    // parent needs its own parts.
                    if self.sym_status[i] != Status::Same || self.parent[i].is_none() {
                        for &c in &self.children[i] {
                            if let Some(sec) = self.patched.symbols[c].section
                                && self.sym_status[i] != Status::Same
                            {
                                work.push(Item::Sym(c));
                                work.push(Item::Sec(sec));
                            }
                        }
                    }
                }
                Item::Sec(i) => {
                    if self.sec_include[i] {
                        continue;
                    }
                    self.sec_include[i] = true;
                    let sec = &self.patched.sections[i];
                    if let Some(s) = sec.secsym {
                        work.push(Item::Sym(s));
                    }
                    if let Some(b) = sec.bundled {
                        work.push(Item::Sym(b));
                    }
                    if let Some(r) = sec.rela {
                        self.sec_include[r] = true;
                        if !special::is_table(sec.name) {
                            for rel in &self.patched.sections[r].relocs {
                                work.push(Item::Sym(rel.sym));
                            }
                        }
                    }
                }
            }
        }
    }

    /// §12: everything that makes the patch wrong, collected.
    fn verify(&mut self) {
        for ps in 1..self.patched.sections.len() {
            let sec = &self.patched.sections[ps];
            if sec.base.is_some() || ignored_section(sec.name) || special::is_table(sec.name) {
                continue;
            }
            let name = sec.name();
            let status = self.sec_status[ps];
            let included = self.sec_include[ps];
            if status == Status::Changed
                && !included
                && sec.is_alloc()
                && !sec.is_strings()
                && !special::is_companion(sec.name)
            {
                let why = self.sec_reason[ps].clone().unwrap_or_default();
                let advice = if sec.is_exec() {
                    None
                } else {
                    Some(
                        "changed data cannot be patched in place; keep the data as it is and \
                         change the code, or initialise new state from a load hook or a \
                         shadow variable",
                    )
                };
                self.refuse(
                    name,
                    format!("changed, but nothing that changed uses it ({why})"),
                    advice,
                );
                continue;
            }
            // Hook pointers are the payload author's own, never Xen's data.
            if included
                && status != Status::New
                && sec.flags_writable()
                && !sec.is_exec()
                && !sec.name.starts_with(b".livepatch.")
            {
                self.refuse(
                    name,
                    "changed code uses this writable data section through a section \
                     reference, so it would be copied and the running copy forgotten",
                    Some(
                        "give the data a symbol of its own (-fdata-sections) or a shadow variable",
                    ),
                );
            }
        }
        // A relocation to symbol 0, or to a section left out.
        for ps in 1..self.patched.sections.len() {
            if !self.sec_include[ps] || self.patched.sections[ps].base.is_none() {
                continue;
            }
            let base = self.patched.sections[ps].base.unwrap_or(0);
            let relocs = match self.rebuilt.get(&base) {
                Some(r) => r.relocs.clone(),
                None => self.patched.sections[ps].relocs.clone(),
            };
            for rel in relocs {
                let t = self.patched.symbols[rel.sym];
                if rel.sym == 0 {
                    let name = self.patched.sections[ps].name();
                    self.refuse(
                        name,
                        format!("a relocation at {:#x} names no symbol", rel.offset),
                        None,
                    );
                } else if t.is_section()
                    && let Some(sec) = t.section
                    && !self.sec_include[sec]
                {
                    let name = self.patched.sections[base].name();
                    let target = self.patched.sections[sec].name();
                    self.refuse(
                        name,
                        format!("it references section `{target}`, which is not in the payload and has no symbol to reach it by"),
                        None,
                    );
                }
            }
        }
        // Xen's arm32 loader refuses a payload with a `$t` symbol (C-33),
        // and the branch it writes over an old function is an ARM one.
        if self.arch() == Arch::Arm32 {
            let mut thumb: Vec<usize> = (1..self.patched.symbols.len())
                .filter_map(|i| {
                    let s = self.patched.symbols[i];
                    let sec = s.section?;
                    let code = s.thumb || (s.is_mapping() && s.name.starts_with(b"$t"));
                    (code
                        && self.sec_include[sec]
                        && !ignored_section(self.patched.sections[sec].name))
                    .then_some(sec)
                })
                .collect();
            thumb.dedup();
            for sec in thumb {
                let name = self.patched.sections[sec].name();
                self.refuse(
                    name,
                    "it holds Thumb code: Xen's arm32 loader refuses a payload with Thumb \
                     mapping symbols (C-33) and patches with an ARM branch",
                    Some(
                        "build the hypervisor and the patch with -marm, as Xen's arm32 build does",
                    ),
                );
            }
        }
        for i in 1..self.patched.symbols.len() {
            let s = self.patched.symbols[i];
            if self.sym_include[i] && s.is_static_local() && self.sym_status[i] == Status::New {
                self.warnings.push(format!(
                    "`{}` is a new static variable: it starts zeroed (or at its initial value) in the payload, not with the running hypervisor's state",
                    s.name()
                ));
            }
        }
    }

    /// §13: the name Xen's runtime table has for patched symbol `i` (its
    /// original twin's name, which the running image carries).
    pub(crate) fn xen_name(&self, i: usize) -> String {
        let s = self.patched.symbols[i];
        let name = match self.sym_twin[i] {
            Some(o) => self.orig.symbols[o].name(),
            None => s.name(),
        };
        match (s.is_local(), self.orig.file.or(self.patched.file)) {
            (true, Some(file)) => format!("{}#{name}", String::from_utf8_lossy(file)),
            _ => name,
        }
    }

    fn resolve_entries(
        &mut self,
        roots: &[usize],
        table: &RuntimeTable<'_>,
        path: &str,
    ) -> Vec<Entry> {
        let arch = self.arch();
        let mut out = Vec::new();
        for &i in roots {
            let name = self.xen_name(i);
            if self.sym_twin[i].is_none() {
                continue;
            }
            let Some(old) = table.lookup(&name) else {
                self.refusals.push(Refusal {
                    object: path.to_owned(),
                    what: name.clone(),
                    reason: "the changed function is not in the target's runtime symbol table"
                        .into(),
                    advice: Some(
                        "check that the object was built from the tree the target was built from"
                            .into(),
                    ),
                });
                continue;
            };
            let code = image_bytes(table.elf(), old.addr(), 4);
            let need = arch.min_old_size(code.unwrap_or_default()) as u64;
            let size = old.symbol.size;
            if size < need {
                self.refusals.push(Refusal {
                    object: path.to_owned(),
                    what: name.clone(),
                    reason: format!(
                        "the function is {size} bytes long, too small for the {need}-byte jump Xen writes"
                    ),
                    advice: Some("patch its callers instead".into()),
                });
                continue;
            }
            out.push(Entry {
                sym: i,
                name,
                old_addr: old.addr(),
                old_size: size,
            });
        }
        out
    }

    /// Every reference the output leaves undefined must be in the target.
    fn check_undefined(&mut self, table: &RuntimeTable<'_>, path: &str) {
        let mut missing = Vec::new();
        for i in 1..self.patched.symbols.len() {
            if !self.sym_include[i] || !write::is_undefined_in_output(self, i) {
                continue;
            }
            let name = self.xen_name(i);
            if table.lookup(&name).is_none() {
                missing.push(name);
            }
        }
        missing.sort();
        missing.dedup();
        for name in missing {
            self.refusals.push(Refusal {
                object: path.to_owned(),
                what: name,
                reason: "unchanged code or data the patch uses is not in the target's runtime symbol table".into(),
                advice: Some("the target must be the hypervisor built from the original tree".into()),
            });
        }
    }

    fn report(&self, path: &str) -> Report {
        let p = &self.patched;
        let mut symbols = Vec::new();
        for i in 1..p.symbols.len() {
            let s = p.symbols[i];
            if !(s.is_func() || s.is_object()) || s.section.is_none() {
                continue;
            }
            if s.section
                .is_some_and(|sec| ignored_section(p.sections[sec].name))
            {
                continue;
            }
            let status = self.sym_status[i];
            if status == Status::Same && !self.sym_include[i] {
                continue;
            }
            let reason = match status {
                Status::Same
                    if self.sym_include[i] && !s.section.is_some_and(|x| self.sec_include[x]) =>
                {
                    Some("unchanged: resolved in the running hypervisor".into())
                }
                Status::Same if self.sym_include[i] => Some("part of what changed".into()),
                _ => self.sym_reason[i].clone(),
            };
            symbols.push(SymbolReport {
                name: self.xen_name(i),
                kind: if s.is_func() { "function" } else { "object" }.into(),
                status: status.as_str().into(),
                included: self.sym_include[i] && s.section.is_some_and(|sec| self.sec_include[sec]),
                reason,
            });
        }
        let mut sections = Vec::new();
        for (i, s) in p.sections.iter().enumerate().skip(1) {
            if s.base.is_some() || ignored_section(s.name) {
                continue;
            }
            if self.sec_status[i] == Status::Same && !self.sec_include[i] {
                continue;
            }
            sections.push(SectionReport {
                name: s.name(),
                status: self.sec_status[i].as_str().into(),
                included: self.sec_include[i],
                reason: self.sec_reason[i].clone(),
            });
        }
        Report {
            object: path.to_owned(),
            file: p.file.map(|f| String::from_utf8_lossy(f).into_owned()),
            symbols,
            sections,
            ..Report::default()
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Item {
    Sym(usize),
    Sec(usize),
}

impl Section<'_> {
    fn flags_writable(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// How far a PC-relative field is from the end of its instruction, which
/// the addend folds in: x86 code usually ends its instruction with the
/// 4-byte field (an immediate after it would add more, which a compare of
/// both sides with the same bias still treats alike). Data and other
/// arches: no bias.
pub(crate) fn pc_bias(arch: Arch, r_type: u32, from_code: bool) -> i64 {
    match arch {
        Arch::X86_64 if from_code && arch.relocation(r_type).is_some_and(|t| t.pc_relative) => 4,
        // arm32 branches read the PC two instructions ahead: the addend of
        // an ARM `bl` (PC24, PLT32, CALL, JUMP24) holds -8, of a Thumb-2
        // one (THM_CALL, THM_JUMP24, THM_JUMP19) -4.
        Arch::Arm32 if from_code => match r_type {
            1 | 27 | 28 | 29 => 8,
            10 | 30 | 51 => 4,
            _ => 0,
        },
        _ => 0,
    }
}

/// The bytes of section `sec` of `obj` as the diff compares them: with
/// arm32's implicit addends cleared, since the relocations are compared
/// on their targets and addends (a reference to `.rodata+0x40` that became
/// `.rodata+0x48` because an object before it grew is the same reference
/// once retargeted to that object).
fn compared_bytes<'a>(obj: &Object<'a>, sec: &Section<'a>) -> std::borrow::Cow<'a, [u8]> {
    let relocs = match sec.rela {
        Some(r) if obj.rel && !sec.is_nobits() => &obj.sections[r].relocs,
        _ => return std::borrow::Cow::Borrowed(sec.data),
    };
    let mut data = sec.data.to_vec();
    for rel in relocs {
        if let Some(field) = usize::try_from(rel.offset)
            .ok()
            .and_then(|o| data.get_mut(o..))
        {
            // Known types were read at load, so clearing cannot fail; an
            // unknown one stays as bytes.
            let _ = arm32::write(rel.r_type, field, 0);
        }
    }
    std::borrow::Cow::Owned(data)
}

/// The NUL-terminated string a relocation points at in a string section.
fn string_at<'d>(
    obj: &Object<'d>,
    sec: &Section<'d>,
    value: u64,
    rel: &Reloc,
    from_code: bool,
) -> Option<&'d [u8]> {
    let at = (value as i64)
        .checked_add(rel.addend)?
        .checked_add(pc_bias(obj.arch, rel.r_type, from_code))?;
    let at = usize::try_from(at).ok()?;
    let rest = sec.data.get(at..)?;
    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// `len` bytes of the image at virtual address `addr`, if a section with
/// contents holds them.
fn image_bytes<'a>(elf: &ElfFile<'a>, addr: u64, len: u64) -> Option<&'a [u8]> {
    let sec = elf.sections().iter().find(|s| {
        s.sh_type != 8 && s.sh_addr != 0 && addr >= s.sh_addr && addr + len <= s.sh_addr + s.sh_size
    })?;
    let data = elf.section_data(sec)?;
    let start = (addr - sec.sh_addr) as usize;
    data.get(start..start + len as usize)
}
