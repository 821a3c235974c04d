//! The special sections, C-80 to C-109: mandatory sections, `.funcs`
//! entries, hooks, build-id notes, and the arch tables (`prepare_payload`,
//! `check_special_sections`).
//!
//! Pointer fields are decoded symbolically: a field filled by a relocation is
//! "symbol + addend", which is what the inspector prints and what the target
//! checks resolve.

use std::collections::HashMap;

use xsplice_abi::hooks::{HookKind, check_modinfo};
use xsplice_abi::{Abi, Arch, BuildIdNote, Errno, FuncEntry, XenVersion};

use crate::checker::Checker;
use crate::elf;
use crate::finding::{CheckId as C, Location};
use crate::model::{Expect, Func, HookSection, Relocation, Value};
use crate::release::ReleaseSet;

/// The arch tables a payload may carry, by exact name (§1.6).
const ARCH_TABLES: &[&str] = &[
    ".altinstructions",
    ".altinstr_replacement",
    ".alt_call_sites",
    ".ex_table",
    ".bug_frames.0",
    ".bug_frames.1",
    ".bug_frames.2",
    ".bug_frames.3",
];

impl Checker<'_, '_> {
    /// The relocations of section `target`, by offset.
    fn relocs_of(&self, target: usize) -> HashMap<u64, Relocation> {
        let mut out = HashMap::new();
        if let Some(p) = &self.payload {
            for rs in p.relocations.iter().filter(|r| r.target == target) {
                for r in rs
                    .entries
                    .iter()
                    .filter(|r| !is_none_type(self.arch, r.kind))
                {
                    out.insert(r.offset, *r);
                }
            }
        }
        out
    }

    /// Named symbols by (section, value): the first one of each place.
    fn index_places(&mut self) {
        if self.by_place.is_none() {
            let mut map = std::collections::HashMap::new();
            for s in self.symbols.iter().skip(1) {
                if !s.name.is_empty() && s.kind != elf::STT_SECTION && s.kind != elf::STT_FILE {
                    map.entry((s.shndx, s.value)).or_insert(s.index);
                }
            }
            self.by_place = Some(map);
        }
    }

    /// The pointer-sized field at `off` of section `sec`, as the hypervisor sees it.
    fn pointer(&self, sec: usize, off: u64, relocs: &HashMap<u64, Relocation>) -> Value {
        if let Some(r) = relocs.get(&off)
            && let Some(sym) = self.symbols.get(r.sym as usize)
        {
            let section = (sym.shndx != elf::SHN_UNDEF && sym.shndx < elf::SHN_LORESERVE)
                .then_some(usize::from(sym.shndx));
            if sym.kind == elf::STT_SECTION
                && let Some(target) = sym.value.checked_add_signed(r.addend)
                && let Some(&named) = self
                    .by_place
                    .as_ref()
                    .and_then(|m| m.get(&(sym.shndx, target)))
                && let Some(named) = self.symbols.get(named)
            {
                // A section symbol plus an addend that lands on a named
                // symbol reads better as that symbol; the address is equal.
                return Value::Symbol {
                    symbol: named.name.clone(),
                    index: named.index as u32,
                    addend: 0,
                    section,
                    value: named.value,
                };
            }
            let name = if sym.name.is_empty() && sym.kind == elf::STT_SECTION {
                section.map_or_else(String::new, |s| self.name(s))
            } else {
                sym.name.clone()
            };
            return Value::Symbol {
                symbol: name,
                index: r.sym,
                addend: r.addend,
                section,
                value: sym.value,
            };
        }
        let s = &self.sections[sec];
        let raw = elf::Bytes(s.data(self.data))
            .word(self.class, off)
            .unwrap_or(0);
        if raw == 0 {
            Value::Zero
        } else {
            Value::Const { value: raw }
        }
    }

    /// The NUL-terminated string a pointer designates inside the payload.
    fn string_at(&self, v: &Value) -> Option<String> {
        let Value::Symbol {
            section: Some(sec),
            value,
            addend,
            ..
        } = v
        else {
            return None;
        };
        let s = self.sections.get(*sec)?;
        let data = s.data(self.data);
        let off = value.checked_add_signed(*addend)?;
        let bytes = elf::Bytes(data).cstr(off, data.len() as u64)?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    pub(crate) fn check_special_sections(&mut self) {
        let Some(abi) = self.abi else { return };
        let Some(arch) = self.arch else { return };
        let specials = abi.special_sections();

        // C-80, C-81: required notes.
        let depends = abi.depends_section();
        match self.find(depends) {
            Some(i) if self.sections[i].size != 0 => {}
            Some(_) => self.error(
                C::C80,
                Location::section(depends),
                "section is empty".into(),
            ),
            None => self.error(C::C80, Location::file(), format!("no `{depends}` section")),
        }
        let bid = abi.build_id_section();
        match self.find(bid) {
            Some(i) if self.sections[i].size != 0 => {}
            Some(_) => self.error(C::C81, Location::section(bid), "section is empty".into()),
            None => self.error(C::C81, Location::file(), format!("no `{bid}` section")),
        }

        // C-82, C-83: funcs and hooks.
        let funcs_name = abi.funcs_section();
        let mut any = false;
        for name in std::iter::once(funcs_name).chain(abi.hooks().iter().map(|h| h.section())) {
            if let Some(i) = self.find(name) {
                any = true;
                if self.sections[i].size == 0 {
                    self.error(
                        C::C82,
                        Location::section(name),
                        "section is present but empty".into(),
                    );
                }
            }
        }
        if abi != Abi::LivepatchV2 && self.find(funcs_name).is_none() {
            self.error(
                C::C83,
                Location::file(),
                format!("no `{funcs_name}` section, which {abi} payloads must have"),
            );
        } else if !any {
            self.error(
                C::C83,
                Location::file(),
                format!("nothing to patch: no `{funcs_name}` and no hook section"),
            );
        }

        // C-84, C-85 over every name the hypervisor looks up.
        let mut names: Vec<&str> = specials.iter().map(|s| s.name).collect();
        names.extend_from_slice(ARCH_TABLES);
        for name in names {
            let all: Vec<usize> = (1..self.sections.len())
                .filter(|&i| self.sections[i].name == name)
                .collect();
            if all.len() > 1 {
                self.warning(
                    C::C84,
                    Location::section(name),
                    format!(
                        "{} sections with this name; the hypervisor uses section {} and silently ignores the others",
                        all.len(),
                        all[0]
                    ),
                );
            }
            if let Some(&i) = all.first()
                && !self.sections[i].is_alloc()
                && self.sections[i].size != 0
            {
                self.error(
                    C::C85,
                    Location::section(name),
                    "special section is not SHF_ALLOC: the hypervisor keeps pointers into the freed upload buffer"
                        .into(),
                );
            }
        }

        self.index_places();
        self.check_funcs(abi, arch);
        self.check_hooks(abi, arch);
        self.check_notes(abi);
        self.check_arch_tables(arch);
        if let Some(name) = abi.modinfo_section()
            && let Some(i) = self.find(name)
        {
            let data = self.sections[i].data(self.data).to_vec();
            match check_modinfo(&data) {
                Ok(()) => {
                    if let Some(p) = &mut self.payload {
                        p.modinfo = Some(data);
                    }
                }
                Err(e) => self.error(C::C109, Location::section(name), e.to_string()),
            }
        }
    }

    /// C-90, C-92..C-96 and the static parts of C-98 and C-123.
    fn check_funcs(&mut self, abi: Abi, arch: Arch) {
        let name = abi.funcs_section();
        let Some(i) = self.find(name) else { return };
        let sec = self.sections[i].clone();
        if sec.size == 0 || !self.sane[i] {
            return;
        }
        let word = arch.word_size();
        let layout = abi.layout(word);
        let esize = layout.size as u64;
        if sec.size % esize != 0 {
            self.error(
                C::C90,
                Location::section(name),
                format!(
                    "size {:#x} is not a multiple of the {esize}-byte {abi} entry",
                    sec.size
                ),
            );
            return;
        }
        if sec.flags & elf::SHF_WRITE == 0 {
            let writes = self.releases_where(|v| abi.hypervisor_writes_funcs(v));
            if !self.releases.intersect(writes).is_empty() {
                self.warning(
                    C::V03,
                    Location::section(name),
                    format!(
                        "read-only, but Xen {} writes into the entries at apply ({}); make it SHF_WRITE for those releases",
                        self.releases.intersect(writes),
                        match arch {
                            Arch::X86_64 => "4.18.0 page-faults",
                            _ => "arm releases before 4.19 fault",
                        }
                    ),
                );
            }
        }
        let relocs = self.relocs_of(i);
        let data = sec.data(self.data).to_vec();
        if data.len() as u64 != sec.size {
            // NOBITS: no entries to read (every field would read as zero,
            // which the hypervisor never sees either: it reads the file).
            return;
        }
        let expected_version = abi.payload_version();
        let mut funcs = Vec::new();
        for n in 0..sec.size / esize {
            let off = n * esize;
            let bytes = &data[off as usize..(off + esize) as usize];
            let Ok(e) = FuncEntry::decode(abi, word, bytes) else {
                continue;
            };
            let field = |f: &str| off + layout.offset_of(f) as u64;
            let name_v = self.pointer(i, field("name"), &relocs);
            let new_v = self.pointer(i, field("new_addr"), &relocs);
            let old_v = self.pointer(i, field("old_addr"), &relocs);
            let name_str = self.string_at(&name_v);
            let label = name_str.clone().unwrap_or_else(|| format!("entry {n}"));
            let loc = |f: &str| Location::in_section(name, field(f)).with_symbol(label.clone());
            if let Some(v) = expected_version
                && e.version != v
            {
                self.error(
                    C::C92,
                    loc("version"),
                    format!("version byte {}, but {abi} payloads need {v}", e.version),
                );
            }
            if e.old_size == 0 {
                self.error(C::C93, loc("old_size"), "old_size is 0".into());
            }
            if old_v.is_zero() && name_v.is_zero() {
                self.error(
                    C::C94,
                    loc("name"),
                    "old_addr and name are both 0: the hypervisor looks up a null name".into(),
                );
            }
            let nop = new_v.is_zero();
            if matches!(abi, Abi::XspliceV4 | Abi::Xsplice | Abi::LivepatchV1)
                && (nop || e.new_size == 0)
            {
                let who = if abi == Abi::XspliceV4 {
                    "the xSplice v4 series refuses"
                } else {
                    "Xen 4.7 refuses"
                };
                let without_nop = self.releases_where(|v| !v.has_nop_mode());
                self.warning_on(
                    without_nop,
                    C::C93,
                    loc(if nop { "new_addr" } else { "new_size" }),
                    format!("{who} new_addr or new_size 0 (NOP mode came in 4.8)"),
                );
            }
            match arch {
                Arch::X86_64 => {
                    if nop && e.new_size > 31 {
                        self.error_errno(
                            C::C95,
                            Errno::Eopnotsupp,
                            loc("new_size"),
                            format!("NOP mode with new_size {}, over 31 bytes", e.new_size),
                        );
                    } else if nop && e.old_size < e.new_size {
                        self.error(
                            C::C95,
                            loc("old_size"),
                            format!(
                                "NOP mode: old_size {} is smaller than new_size {}",
                                e.old_size, e.new_size
                            ),
                        );
                    } else if !nop
                        && e.old_size != 0
                        && (e.old_size as usize) < arch.patch_insn_size()
                    {
                        self.error(
                            C::C95,
                            loc("old_size"),
                            format!(
                                "old_size {} cannot hold the {}-byte branch",
                                e.old_size,
                                arch.patch_insn_size()
                            ),
                        );
                    }
                }
                Arch::Aarch64 | Arch::Arm32 => {
                    if nop && (e.new_size > 31 || e.new_size % 4 != 0) {
                        self.error(
                            C::C96,
                            loc("new_size"),
                            format!(
                                "NOP mode with new_size {}: it must be a multiple of 4 up to 28",
                                e.new_size
                            ),
                        );
                    } else if e.old_size != 0 && e.old_size < 4 {
                        self.error_errno(
                            C::C96,
                            Errno::Einval,
                            loc("old_size"),
                            format!("old_size {} is below the 4-byte instruction", e.old_size),
                        );
                    } else if nop && e.old_size < e.new_size {
                        self.warning(
                            C::C96,
                            loc("old_size"),
                            format!(
                                "NOP mode: old_size {} is smaller than new_size {} (the arm hypervisor does not check)",
                                e.old_size, e.new_size
                            ),
                        );
                    }
                }
            }
            // Bytes the hypervisor owns: build them as zero (§1.7).
            let opaque = e.opaque.iter().any(|&b| b != 0);
            if abi == Abi::XspliceV4 {
                // `pad[32]` is `version` and `opaque` here. Whether the
                // series' loader looked at it is not known (§8 question 1);
                // we hold it to zero, as the seed builds it, and byte 32
                // must read as version 0 for the ABI to be told apart.
                if let Some(k) = std::iter::once(e.version)
                    .chain(e.opaque)
                    .position(|b| b != 0)
                {
                    self.error(
                        C::V08,
                        Location::in_section(name, field("pad") + k as u64)
                            .with_symbol(label.clone()),
                        format!(
                            "pad[{k}] is {:#04x}: the xSplice v4 entry's pad[32] must be zero",
                            if k == 0 { e.version } else { e.opaque[k - 1] }
                        ),
                    );
                }
            } else if opaque || e.pad.iter().any(|&b| b != 0) {
                self.warning(
                    C::V02,
                    loc("opaque"),
                    "the hypervisor's scratch bytes (opaque/_pad) are not zero".into(),
                );
            }
            if e.applied != 0 {
                let trusting = self.releases_where(XenVersion::writes_funcs);
                self.error_on(
                    trusting,
                    C::V02,
                    loc("applied"),
                    format!(
                        "applied is {}: releases before the fstate change skip this function at apply",
                        e.applied
                    ),
                );
            }
            let expect = (abi == Abi::LivepatchV2).then(|| Expect {
                enabled: e.expect.enabled,
                len: e.expect.len,
                rsv: e.expect.rsv,
                data: e.expect.data[..usize::from(e.expect.len).min(31)].to_vec(),
            });
            if let Some(x) = &expect
                && x.enabled
            {
                if x.rsv != 0 {
                    self.error(
                        C::C123,
                        loc("expect"),
                        format!("enabled expectation with reserved bits {:#x}", x.rsv),
                    );
                } else if u32::from(x.len) > e.old_size {
                    self.error(
                        C::C123,
                        loc("expect"),
                        format!(
                            "expectation of {} bytes is longer than old_size {}",
                            x.len, e.old_size
                        ),
                    );
                } else if old_v.is_zero() {
                    self.warning(
                        C::C123,
                        loc("expect"),
                        "enabled expectation with old_addr 0: the apply may fail with EFAULT"
                            .into(),
                    );
                }
            }
            funcs.push(Func {
                offset: off,
                name: name_v,
                name_str,
                new_addr: new_v,
                old_addr: old_v,
                new_size: e.new_size,
                old_size: e.old_size,
                version: e.version,
                expect,
            });
        }
        if let Some(p) = &mut self.payload {
            p.funcs = funcs;
        }
    }

    /// C-99.
    fn check_hooks(&mut self, abi: Abi, arch: Arch) {
        let mut hooks = Vec::new();
        for &hook in abi.hooks() {
            let name = hook.section();
            let Some(i) = self.find(name) else { continue };
            let sec = self.sections[i].clone();
            if sec.size == 0 || !self.sane[i] {
                continue;
            }
            if let Err(e) = hook.check_section_size(sec.size as usize, arch.word_size()) {
                self.error(C::C99, Location::section(name), e.to_string());
                continue;
            }
            let relocs = self.relocs_of(i);
            let ptr = self.ptr();
            let count = sec.size / ptr;
            // The entries the file holds bytes for, then those past them (a
            // NOBITS array) that a relocation fills; the rest are zero and
            // are counted, not walked: a declared size is not a bound.
            let held = (sec.data(self.data).len() as u64 / ptr).min(count);
            let mut entries: Vec<u64> = (0..held).collect();
            let mut relocated: Vec<u64> = relocs
                .keys()
                .filter(|&&off| off % ptr == 0 && off / ptr >= held && off / ptr < count)
                .map(|off| off / ptr)
                .collect();
            relocated.sort_unstable();
            let unfilled = count - held - relocated.len() as u64;
            entries.extend(relocated);
            let mut pointers = Vec::new();
            for n in entries {
                let v = self.pointer(i, n * ptr, &relocs);
                if v.is_zero() && hook.kind() == HookKind::Multi {
                    self.error(
                        C::C99,
                        Location::in_section(name, n * ptr),
                        format!(
                            "null entry in the {hook} hook array: the hypervisor calls every entry"
                        ),
                    );
                }
                pointers.push(v);
            }
            if unfilled > 0 && hook.kind() == HookKind::Multi {
                self.error(
                    C::C99,
                    Location::in_section(name, held * ptr),
                    format!(
                        "{unfilled} null entries in the {hook} hook array have no bytes in the file and no relocation: the hypervisor calls every entry"
                    ),
                );
            }
            hooks.push(HookSection {
                section: name.to_string(),
                pointers,
            });
        }
        if let Some(p) = &mut self.payload {
            p.hooks = hooks;
        }
    }

    /// C-100, C-102.
    fn check_notes(&mut self, abi: Abi) {
        for (name, check) in [
            (abi.build_id_section(), C::C100),
            (abi.depends_section(), C::C102),
        ] {
            let Some(i) = self.find(name) else { continue };
            if self.sections[i].size == 0 {
                continue;
            }
            let data = self.sections[i].data(self.data).to_vec();
            match BuildIdNote::parse(&data).map(|n| n.desc) {
                Ok(desc) => {
                    if let Some(p) = &mut self.payload {
                        if check == C::C100 {
                            p.build_id = Some(desc);
                        } else {
                            p.depends = Some(desc);
                        }
                    }
                }
                // Xen's errno for the cause (-ENODATA for a wrong type or
                // name); the ⚠ padding rule, which Xen lacks, gets -EINVAL.
                Err(why) => self.error_errno(
                    check,
                    why.xen_errno().unwrap_or(Errno::Einval),
                    Location::section(name),
                    format!("not a build-id note: {why}"),
                ),
            }
        }
    }

    /// C-105..C-108.
    fn check_arch_tables(&mut self, arch: Arch) {
        for n in 0..4 {
            let name = format!(".bug_frames.{n}");
            let Some(i) = self.find(&name) else { continue };
            let unit = arch.bug_frame_size() as u64;
            if self.sections[i].size % unit != 0 {
                self.error(
                    C::C105,
                    Location::section(name.clone()),
                    format!(
                        "size {:#x} is not a multiple of the {unit}-byte {arch} bug frame",
                        self.sections[i].size
                    ),
                );
            }
        }
        if let Some(i) = self.find(".ex_table") {
            match arch.ex_table_entry_size() {
                None => self.error_errno(
                    C::C108,
                    Errno::Eopnotsupp,
                    Location::section(".ex_table"),
                    format!("the {arch} hypervisor has no exception tables"),
                ),
                Some(unit) if self.sections[i].size % unit as u64 != 0 => self.error(
                    C::C108,
                    Location::section(".ex_table"),
                    format!(
                        "size {:#x} is not a multiple of the {unit}-byte entry",
                        self.sections[i].size
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(i) = self.find(".alt_call_sites") {
            self.check_alt_calls(arch, i);
        }
        if let Some(i) = self.find(".altinstructions") {
            self.check_alternatives(arch, i);
        }
    }

    /// C-107: `.alt_call_sites`, 4.21+ on x86.
    fn check_alt_calls(&mut self, arch: Arch, i: usize) {
        let name = ".alt_call_sites";
        let Some(unit) = arch.alt_call_size() else {
            self.error_errno(
                C::C107,
                Errno::Eopnotsupp,
                Location::section(name),
                format!("the {arch} hypervisor has no alternative calls"),
            );
            return;
        };
        let size = self.sections[i].size;
        if size % unit as u64 != 0 {
            self.error_on(
                self.releases_where(XenVersion::has_alt_calls),
                C::C107,
                Location::section(name),
                format!("size {size:#x} is not a multiple of the {unit}-byte entry"),
            );
            return;
        }
        let relocs = self.relocs_of(i);
        // Only an entry with a relocation points anywhere, so walk those:
        // the declared size need not be backed by the file, and walking it
        // entry by entry would take as long as it claims.
        let mut offsets: Vec<u64> = relocs
            .keys()
            .copied()
            .filter(|off| off % unit as u64 == 0 && *off < size)
            .collect();
        offsets.sort_unstable();
        for off in offsets {
            let n = off / unit as u64;
            let Some((sec, site)) = self.self_relative(off, &relocs) else {
                continue;
            };
            let ok = self.sections.get(sec).is_some_and(|s| {
                s.region() == Some(crate::model::Region::Text)
                    && site.checked_add(6).is_some_and(|e| e <= s.size)
                    && s.data(self.data).get(site as usize..site as usize + 2)
                        == Some(&[0xff, 0x15])
            });
            if !ok {
                self.error_on(
                    self.releases_where(XenVersion::has_alt_calls),
                    C::C107,
                    Location::in_section(name, off),
                    format!(
                        "entry {n} does not point at a 6-byte `call *disp32(%rip)` (ff 15) in payload text"
                    ),
                );
            }
        }
    }

    /// Resolves a self-relative 32-bit field at `off` of a section to a
    /// (section, offset) inside the payload, through its relocation.
    fn self_relative(&self, off: u64, relocs: &HashMap<u64, Relocation>) -> Option<(usize, u64)> {
        let r = relocs.get(&off)?;
        let sym = self.symbols.get(r.sym as usize)?;
        if sym.shndx == elf::SHN_UNDEF || sym.shndx >= elf::SHN_LORESERVE {
            return None;
        }
        // S + A - P, with P the field: the target is S + A - P + P = S + A.
        Some((
            usize::from(sym.shndx),
            sym.value.checked_add_signed(r.addend)?,
        ))
    }

    /// C-106: `.altinstructions`.
    fn check_alternatives(&mut self, arch: Arch, i: usize) {
        let name = ".altinstructions";
        let size = self.sections[i].size;
        // The entry size changed in 4.11 on x86: check each era separately.
        let mut units: Vec<usize> = [XenVersion::series(4, 10), XenVersion::NEWEST]
            .iter()
            .map(|v| arch.alt_instr_size(Some(v)))
            .collect();
        units.dedup();
        let eras: Vec<(ReleaseSet, u64)> = units
            .into_iter()
            .map(|unit| {
                let era = self.releases_where(|v| arch.alt_instr_size(Some(v)) == unit);
                (era, unit as u64)
            })
            .collect();
        for (releases, unit) in eras {
            if self.releases.intersect(releases).is_empty() {
                continue;
            }
            if size % unit != 0 {
                self.error_on(
                    releases,
                    C::C106,
                    Location::section(name),
                    format!("size {size:#x} is not a multiple of the {unit}-byte alt_instr"),
                );
                continue;
            }
            if size == 0 {
                continue;
            }
            let has_text = self
                .sections
                .iter()
                .any(|s| s.region() == Some(crate::model::Region::Text) && s.size != 0);
            let Some(repl) = self.find(".altinstr_replacement") else {
                self.error_on(
                    releases,
                    C::C106,
                    Location::section(name),
                    "alternatives without an `.altinstr_replacement` section".into(),
                );
                continue;
            };
            if !has_text {
                self.error_on(
                    releases,
                    C::C106,
                    Location::section(name),
                    "alternatives in a payload without text".into(),
                );
                continue;
            }
            let relocs = self.relocs_of(i);
            let data = self.sections[i].data(self.data).to_vec();
            // Entries past the file's bytes have no fields to read.
            for n in 0..size.min(data.len() as u64) / unit {
                let off = n * unit;
                let b = elf::Bytes(&data);
                let (Some(orig_len), Some(repl_len)) = (b.u8(off + 10), b.u8(off + 11)) else {
                    continue;
                };
                let pad_len = if unit == 14 {
                    b.u8(off + 12).unwrap_or(0)
                } else {
                    0
                };
                let orig = self.self_relative(off, &relocs);
                let rep = self.self_relative(off + 4, &relocs);
                let loc = Location::in_section(name, off);
                let orig_ok = orig.is_some_and(|(s, o)| {
                    self.sections.get(s).is_some_and(|sec| {
                        sec.region() == Some(crate::model::Region::Text)
                            && o.checked_add(u64::from(orig_len))
                                .is_some_and(|e| e <= sec.size)
                    })
                });
                if !orig_ok {
                    self.error_on(
                        releases,
                        C::C106,
                        loc.clone(),
                        format!("entry {n}: the original instructions are not inside payload text"),
                    );
                    continue;
                }
                let repl_ok = rep.is_some_and(|(s, o)| {
                    s == repl
                        && o.checked_add(u64::from(repl_len))
                            .is_some_and(|e| e <= self.sections[repl].size)
                });
                if !repl_ok {
                    self.error_on(
                        releases,
                        C::C106,
                        loc.clone(),
                        format!("entry {n}: the replacement is not inside `.altinstr_replacement`"),
                    );
                    continue;
                }
                match arch {
                    Arch::X86_64 => {
                        if u16::from(orig_len) + u16::from(pad_len) > 254
                            || repl_len > orig_len.saturating_add(pad_len)
                        {
                            self.error_on_errno(
                                releases,
                                C::C106,
                                Errno::Enospc,
                                loc,
                                format!(
                                    "entry {n}: replacement of {repl_len} bytes does not fit {orig_len}+{pad_len} bytes"
                                ),
                            );
                        }
                    }
                    _ => {
                        if repl_len != orig_len || orig_len % 4 != 0 {
                            self.error_on(
                                releases,
                                C::C106,
                                loc,
                                format!(
                                    "entry {n}: original {orig_len} and replacement {repl_len} bytes must be equal multiples of 4 (the arm hypervisor BUG()s)"
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// `R_*_NONE`: applied as a no-op, so it fills no field.
fn is_none_type(arch: Option<Arch>, kind: u32) -> bool {
    match arch {
        Some(Arch::Aarch64) => kind == 0 || kind == 256,
        _ => kind == 0,
    }
}
