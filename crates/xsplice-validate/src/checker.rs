//! The driver: runs the check groups in hypervisor order over one payload
//! and collects findings, the payload model and the release summary.
//!
//! Each group lives in its own module as `impl Checker` methods; this file
//! holds the shared state, the ABI decision and the placement (§1.3), which
//! every later group uses.

use std::collections::HashSet;

use xsplice_abi::{Abi, Arch, Errno, XenVersion};

use crate::elf::{self, Class, Header};
use crate::finding::{CheckId, Finding, Location, Response, Severity, Summary};
use crate::model::{Payload, Region, Section, Symbol};
use crate::release::{Release, ReleaseSet};
use crate::target::Environment;
use crate::{Options, Report};

pub(crate) struct Checker<'a, 'e> {
    pub data: &'a [u8],
    pub env: &'e Environment<'e>,
    /// `--xen`: the one release whose rules apply, if narrowed.
    pub xen: Option<XenVersion>,
    pub findings: Vec<Finding>,
    pub class: Class,
    pub arch: Option<Arch>,
    pub header: Option<Header>,
    pub sections: Vec<Section>,
    /// Per section: header sane and contents inside the file.
    pub sane: Vec<bool>,
    pub symtab: Option<usize>,
    pub symbols: Vec<Symbol>,
    pub abi: Option<Abi>,
    /// Releases whose rules apply: the ABI's, the arch's, narrowed by `--xen`.
    pub releases: ReleaseSet,
    /// All releases, or the one `--xen` names.
    pub requested: ReleaseSet,
    pub payload: Option<Payload>,
    /// Where the payload's memory block starts, for range and overflow checks.
    pub load_address: u64,
    /// Symbols (by index) defined in a section the hypervisor does not load.
    pub ignored: HashSet<usize>,
    /// Descriptor of `.livepatch.xen_depends`, once parsed.
    pub xen_depends: Option<Vec<u8>>,
    /// Named symbols by (section, value), built on first use.
    pub by_place: Option<std::collections::HashMap<(u16, u64), usize>>,
}

impl<'a, 'e> Checker<'a, 'e> {
    pub fn new(data: &'a [u8], opts: &Options, env: &'e Environment<'e>) -> Self {
        let releases = match opts.xen.as_ref().and_then(Release::of) {
            Some(r) => [r].into_iter().collect(),
            None if opts.xen.is_some() => ReleaseSet::NONE,
            None => ReleaseSet::all(),
        };
        Checker {
            requested: releases,
            data,
            env,
            xen: opts.xen,
            findings: Vec::new(),
            class: Class::Elf64,
            arch: None,
            header: None,
            sections: Vec::new(),
            sane: Vec::new(),
            symtab: None,
            symbols: Vec::new(),
            abi: None,
            releases,
            payload: None,
            load_address: 0,
            ignored: HashSet::new(),
            xen_depends: None,
            by_place: None,
        }
    }

    /// An error with the check's usual errno ([`CheckId::response`]).
    pub fn error(&mut self, check: CheckId, location: Location, message: String) {
        self.push(
            check,
            Severity::Error,
            ReleaseSet::all(),
            None,
            location,
            message,
        );
    }

    /// An error of a check whose errno depends on the cause: `errno` is
    /// the one this cause gets (spec §2).
    pub fn error_errno(
        &mut self,
        check: CheckId,
        errno: Errno,
        location: Location,
        message: String,
    ) {
        self.error_on_errno(ReleaseSet::all(), check, errno, location, message);
    }

    pub fn warning(&mut self, check: CheckId, location: Location, message: String) {
        self.push(
            check,
            Severity::Warning,
            ReleaseSet::all(),
            None,
            location,
            message,
        );
    }

    /// An error that only some releases act on.
    pub fn error_on(
        &mut self,
        releases: ReleaseSet,
        check: CheckId,
        location: Location,
        message: String,
    ) {
        self.push(check, Severity::Error, releases, None, location, message);
    }

    /// [`Checker::error_on`] with the errno of this cause.
    pub fn error_on_errno(
        &mut self,
        releases: ReleaseSet,
        check: CheckId,
        errno: Errno,
        location: Location,
        message: String,
    ) {
        self.push(
            check,
            Severity::Error,
            releases,
            Some(errno),
            location,
            message,
        );
    }

    /// A feature some in-scope releases lack: not an error (the payload is
    /// fine for the others), but those releases drop out of the summary.
    pub fn warning_on(
        &mut self,
        releases: ReleaseSet,
        check: CheckId,
        location: Location,
        message: String,
    ) {
        self.push(check, Severity::Warning, releases, None, location, message);
    }

    /// Records a finding; an error gets `errno`, else the check's usual
    /// one, unless the check is advice.
    fn push(
        &mut self,
        check: CheckId,
        severity: Severity,
        releases: ReleaseSet,
        errno: Option<Errno>,
        location: Location,
        message: String,
    ) {
        // A finding about releases outside the ones in scope is no finding.
        let scope = self.in_scope().intersect(releases);
        if !self.in_scope().is_empty() && scope.is_empty() {
            return;
        }
        let releases = if releases.is_all() { releases } else { scope };
        let errno = match (severity, check.response()) {
            (Severity::Warning, _) | (_, Response::Advise) => None,
            (Severity::Error, Response::Refuse(usual) | Response::RefuseApply(usual)) => {
                Some(errno.unwrap_or(usual))
            }
        };
        self.findings.push(Finding {
            check,
            severity,
            location,
            message,
            releases,
            errno,
        });
    }

    /// The releases findings are about: those whose rules apply, or, when
    /// none does (a `--xen` release that cannot load the payload at all),
    /// the release that was asked for.
    fn in_scope(&self) -> ReleaseSet {
        if self.releases.is_empty() {
            self.requested
        } else {
            self.releases
        }
    }

    /// The in-scope releases for which a release rule of `xsplice-abi`
    /// holds: with `--xen`, every release if it holds for that exact
    /// version and none otherwise; else each series for which it holds at
    /// some point release ([`Release::ends`]).
    pub fn releases_where(&self, rule: impl Fn(&XenVersion) -> bool) -> ReleaseSet {
        match &self.xen {
            Some(v) if rule(v) => ReleaseSet::all(),
            Some(_) => ReleaseSet::NONE,
            None => self
                .in_scope()
                .iter()
                .filter(|r| r.ends().iter().any(&rule))
                .collect(),
        }
    }

    /// The section's name for messages.
    pub fn name(&self, i: usize) -> String {
        self.sections
            .get(i)
            .map_or_else(|| format!("[{i}]"), |s| s.name.clone())
    }

    /// The first section called `name` (the hypervisor's lookup, §1.2).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.sections
            .iter()
            .skip(1)
            .position(|s| s.name == name)
            .map(|p| p + 1)
    }

    pub fn ptr(&self) -> u64 {
        self.class.ptr_size()
    }

    pub fn run(&mut self) {
        if !self.check_header() {
            return;
        }
        if !self.check_sections() {
            return;
        }
        if !self.check_names() {
            return;
        }
        self.decide_abi();
        self.check_xen_depends();
        self.place();
        self.check_symbols();
        self.check_relocations();
        self.check_special_sections();
        self.check_target();
    }

    /// Picks the ABI from section names and the first entry's version byte
    /// (V-05 when nothing fits), and narrows the releases in scope.
    fn decide_abi(&mut self) {
        let arch = self.arch.unwrap_or(Arch::X86_64);
        let word = arch.word_size();
        let version_byte = [".livepatch.funcs", ".xsplice.funcs"]
            .iter()
            .find_map(|n| self.find(n))
            .and_then(|i| {
                let s = &self.sections[i];
                // The version byte sits right after the two u32 sizes in
                // every layout; ask the v1 layout where.
                let off = Abi::LivepatchV1.layout(word).offset_of("version") as u64;
                (self.sane[i] && s.size > off)
                    .then(|| elf::Bytes(self.data).u8(s.offset.checked_add(off)?))
                    .flatten()
            });
        let names: Vec<&str> = self
            .sections
            .iter()
            .skip(1)
            .map(|s| s.name.as_str())
            .collect();
        match Abi::detect(names, version_byte) {
            Ok(abi) => self.abi = Some(abi),
            Err(e) => {
                // An unknown version byte is the hypervisor's C-92; leave
                // it to the funcs checks, against the ABI the names suggest.
                let livepatch = self.find(".livepatch.funcs").is_some()
                    || self
                        .sections
                        .iter()
                        .any(|s| s.name.starts_with(".livepatch."));
                let xsplice = self
                    .sections
                    .iter()
                    .any(|s| s.name.starts_with(".xsplice."));
                self.abi = match (livepatch, xsplice) {
                    (true, false) => Some(
                        self.xen
                            .as_ref()
                            .and_then(Abi::for_xen)
                            .filter(|a| a.prefix() == ".livepatch")
                            .unwrap_or(Abi::LivepatchV2),
                    ),
                    (false, true) => Some(Abi::Xsplice),
                    _ => {
                        self.error(CheckId::V05, Location::file(), e.to_string());
                        None
                    }
                };
            }
        }
        let abi_releases = match self.abi {
            Some(Abi::Xsplice) => ReleaseSet::xsplice_rc(),
            Some(Abi::LivepatchV1) => ReleaseSet::series(7, 13),
            Some(Abi::LivepatchV2) => ReleaseSet::series(14, 22),
            Some(Abi::XspliceV4) => ReleaseSet::xsplice_v4_series(),
            None => ReleaseSet::NONE,
        };
        // ARM came in 4.8; the xSplice v4 series, like every `.xsplice.*`
        // hypervisor, was x86-64 only.
        let arch_releases = match Release::of(&arch.first_xen()) {
            Some(Release::Series(m)) => ReleaseSet::series(m, 22),
            _ => ReleaseSet::all(),
        };
        if let Some(v) = self.xen
            && let Some(abi) = self.abi
            && !abi.accepts_xen(&v)
        {
            let want = Abi::for_xen(&v);
            // Only the seed's layout needs saying why: it has no version
            // byte, and every release reads its byte 32 as version 0.
            let why = if abi == Abi::XspliceV4 {
                ", which reads byte 32 of each entry as version 0"
            } else {
                ""
            };
            self.error(
                CheckId::C92,
                Location::file(),
                format!(
                    "payload is {abi}, but Xen {v} loads {}{why}",
                    want.map_or("no payload ABI".to_string(), |a| a.to_string())
                ),
            );
        }
        if let Some(abi) = self.abi
            && abi_releases.intersect(arch_releases).is_empty()
        {
            self.error(
                CheckId::V05,
                Location::file(),
                format!("no Xen release loads {abi} payloads on {arch}"),
            );
        }
        self.releases = self
            .releases
            .intersect(abi_releases.union(if self.abi.is_none() {
                ReleaseSet::released()
            } else {
                ReleaseSet::NONE
            }))
            .intersect(arch_releases);
        // The seed's own layout, checked against its own era's rules: fine
        // for the series it was written for, refused by every release.
        if self.releases.contains(Release::XspliceV4Series) {
            self.warning(
                CheckId::V07,
                Location::section(".xsplice.funcs"),
                "the xSplice v4 series layout (pad[32], no version byte): no released Xen loads it; 4.7.0-rc1 and later read byte 32 as version 0 and refuse it with C-92".into(),
            );
        }
        if let Some(v) = self.xen
            && self.releases.is_empty()
            && !self.findings.iter().any(|f| f.check == CheckId::C92)
        {
            self.error(
                CheckId::V05,
                Location::file(),
                format!("Xen {v} has no live patching on {arch}"),
            );
        }
    }

    /// C-40, C-42 and the layout of §1.3.
    fn place(&mut self) {
        let mut sizes = [0u64; 3];
        for i in 1..self.sections.len() {
            let s = self.sections[i].clone();
            if !s.is_alloc() {
                continue;
            }
            let w = s.flags & elf::SHF_WRITE != 0;
            let x = s.flags & elf::SHF_EXECINSTR != 0;
            if w && x {
                self.error(
                    CheckId::C40,
                    Location::section(s.name.clone()),
                    "loaded section is both writable and executable".into(),
                );
                continue;
            }
            if s.addralign == 0 {
                self.error(
                    CheckId::C42,
                    Location::section(s.name.clone()),
                    "sh_addralign 0 on a loaded section: the hypervisor places it over earlier sections"
                        .into(),
                );
            }
            let Some(region) = s.region() else { continue };
            let r = match region {
                Region::Text => 0,
                Region::Rw => 1,
                Region::Ro => 2,
            };
            let align = s.addralign.max(1);
            let at = sizes[r].checked_next_multiple_of(align).unwrap_or(u64::MAX);
            self.sections[i].placed = Some(at);
            sizes[r] = at.saturating_add(s.size);
        }
        let page = |n: u64| n.div_ceil(4096).saturating_mul(4096);
        let block = page(sizes[0])
            .saturating_add(page(sizes[1]))
            .saturating_add(sizes[2]);
        if matches!(self.arch, Some(Arch::Aarch64 | Arch::Arm32)) && block > 2 << 20 {
            self.error(
                CheckId::C41,
                Location::file(),
                format!(
                    "the payload needs {block:#x} bytes of memory, more than the 2 MiB arm payload window"
                ),
            );
        }
        self.load_address = self
            .env
            .load_address
            .unwrap_or_else(|| match self.env.target {
                Some(t) => t.payload_base(),
                None => 0,
            });
        // On arm the 2 MiB window holds every loaded payload together.
        if let Some(t) = self.env.target
            && matches!(self.arch, Some(Arch::Aarch64 | Arch::Arm32))
            && block <= 2 << 20
            && !self.env.loaded.is_empty()
        {
            let used = self.load_address.saturating_sub(t.payload_base());
            if used.saturating_add(block) > 2 << 20 {
                self.error(
                    CheckId::C41,
                    Location::file(),
                    format!(
                        "the payload needs {block:#x} bytes of memory and the loaded payloads use {used:#x}: more than the 2 MiB arm payload window"
                    ),
                );
            }
        }
        self.payload = Some(Payload {
            arch: self.arch.unwrap_or(Arch::X86_64),
            class: self.class,
            abi: self.abi,
            sections: self.sections.clone(),
            symbols: self.symbols.clone(),
            relocations: Vec::new(),
            funcs: Vec::new(),
            hooks: Vec::new(),
            build_id: None,
            depends: None,
            xen_depends: None,
            modinfo: None,
            region_sizes: sizes,
        });
    }

    /// Absolute address of a placed section, if the payload is placed.
    pub fn section_address(&self, i: usize) -> Option<u64> {
        let p = self.payload.as_ref()?;
        Some(self.load_address.wrapping_add(p.block_offset(i)?))
    }

    pub fn finish(mut self) -> Report {
        // Findings made before names were read name sections `[N]`.
        for f in &mut self.findings {
            if let Some(s) = &f.location.section
                && let Some(i) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']'))
                && let Ok(i) = i.parse::<usize>()
                && let Some(sec) = self.sections.get(i)
                && !sec.name.starts_with('[')
            {
                f.location.section = Some(sec.name.clone());
            }
        }
        let mut payload = self.payload.take();
        if let Some(p) = &mut payload {
            p.sections = std::mem::take(&mut self.sections);
            p.symbols = std::mem::take(&mut self.symbols);
            p.xen_depends = self.xen_depends.take();
        }
        // Findings name the in-scope releases they concern; one that
        // concerns only some of them narrows the summary even as a warning.
        let scope = self.in_scope();
        let mut refused = ReleaseSet::NONE;
        for f in &mut self.findings {
            let partial = !f.releases.is_all();
            if !scope.is_empty() {
                f.releases = f.releases.intersect(scope);
            }
            if f.severity == Severity::Error || partial {
                refused = refused.union(f.releases);
            }
        }
        let accepted = if self.arch.is_none() || self.header.is_none() {
            ReleaseSet::NONE
        } else {
            self.releases.minus(refused)
        };
        let summary = Summary {
            errors: self
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count(),
            warnings: self
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count(),
            checked: scope.iter().collect(),
            accepted_by: accepted.iter().collect(),
        };
        Report {
            findings: self.findings,
            summary,
            payload,
        }
    }
}
