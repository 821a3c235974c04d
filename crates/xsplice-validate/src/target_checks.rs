//! The checks that need the hypervisor image and the payloads loaded before
//! this one: build-ids (C-37, C-38, C-101, C-123 depends), symbol resolution
//! (C-46, C-94, C-115), and what `old_addr` points at (C-95 ENDBR64, C-97,
//! C-98, C-123 expectations).

use xsplice_abi::arch::starts_with_endbr;
use xsplice_abi::note::hex;
use xsplice_abi::{Arch, XenVersion};

use crate::checker::Checker;
use crate::elf;
use crate::finding::{CheckId as C, Location};
use crate::model::{Func, Value};
use crate::symbols::display_name;

impl Checker<'_, '_> {
    /// Address a pointer field holds once loaded, if it can be known.
    fn value_address(&self, v: &Value) -> Option<u64> {
        match v {
            Value::Zero => Some(0),
            Value::Const { value } => Some(*value),
            Value::Symbol { index, addend, .. } => self
                .symbol_address(*index as usize)
                .map(|a| a.wrapping_add(*addend as u64)),
        }
    }

    pub(crate) fn check_target(&mut self) {
        let Some(target) = self.env.target else {
            return;
        };
        let Some(arch) = self.arch else { return };
        let Some(payload) = self.payload.clone() else {
            return;
        };

        // C-37, C-38.
        if let Some(xd) = &self.xen_depends {
            match target.build_id() {
                None => self.error(
                    C::C37,
                    Location::file(),
                    "the target has no build-id to check `.livepatch.xen_depends` against".into(),
                ),
                Some(id) if id != xd.as_slice() => self.error(
                    C::C38,
                    Location::section(".livepatch.xen_depends"),
                    format!("build-id {} differs from the target's {}", hex(xd), hex(id)),
                ),
                Some(_) => {}
            }
        }
        // C-101, C-123 (depends).
        if let Some(own) = &payload.build_id
            && let Some(p) = self.env.loaded.iter().find(|p| &p.build_id == own)
        {
            self.error(
                C::C101,
                Location::section(".note.gnu.build-id"),
                format!(
                    "build-id {} is already that of loaded payload `{}`",
                    hex(own),
                    p.name
                ),
            );
        }
        if let Some(dep) = &payload.depends {
            let (what, want) = match self.env.loaded.last() {
                Some(p) => (format!("payload `{}`", p.name), Some(p.build_id.as_slice())),
                None => ("the target".to_string(), target.build_id()),
            };
            let section = payload
                .abi
                .map_or(".livepatch.depends", |a| a.depends_section());
            // Without a target build-id, C-37 has said it all.
            let unknown = want.is_none() && self.xen_depends.is_some();
            if !unknown && want != Some(dep.as_slice()) {
                self.error(
                    C::C123,
                    Location::section(section),
                    format!(
                        "depends on build-id {}, but it would be applied on {what} ({})",
                        hex(dep),
                        want.map_or("no build-id".to_string(), hex)
                    ),
                );
            }
        }

        // C-46: every undefined symbol resolves.
        for s in self.symbols.clone().iter().skip(1) {
            if s.shndx == elf::SHN_UNDEF
                && !s.name.is_empty()
                && self.env.resolve(&s.name).is_none()
            {
                self.error(
                    C::C46,
                    Location::symbol(s.name.clone()),
                    "undefined symbol not found in the target nor among the loaded payloads' new symbols"
                        .into(),
                );
            }
        }

        // C-115: new symbols must be unique. Xen checks every kept symbol,
        // local or global, by its bare name; the target's statics are
        // `file#name` in its table, so only a payload global or a payload
        // local named like a Xen global clashes with the target.
        for (name, _) in payload.new_symbols() {
            if self.env.target_symbol(&name).is_some() {
                self.error(
                    C::C115,
                    Location::symbol(name.clone()),
                    "new symbol has the name of a target symbol".into(),
                );
            } else if let Some(p) = self.env.loaded_definer(&name) {
                self.error(
                    C::C115,
                    Location::symbol(name.clone()),
                    format!(
                        "new symbol is already a new symbol of loaded payload `{}`",
                        p.name
                    ),
                );
            }
        }

        let funcs_section = payload
            .abi
            .map_or(".livepatch.funcs", |a| a.funcs_section());
        let mut ranges: Vec<(u64, u64, String, u64)> = Vec::new();
        for f in &payload.funcs {
            self.check_func_target(arch, funcs_section, f, &mut ranges);
        }
        // C-98: two entries patching overlapping bytes. Sorted by start, an
        // entry overlaps an earlier one iff it starts before the furthest end.
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_by_key(|&i| ranges[i].0);
        let mut furthest: Option<usize> = None;
        for i in order {
            let (start, end, ref name, offset) = ranges[i];
            if let Some(j) = furthest
                && start < ranges[j].1
            {
                let other = ranges[j].2.clone();
                self.warning(
                    C::C98,
                    Location::in_section(funcs_section, offset).with_symbol(name.clone()),
                    format!("patches bytes {start:#x}..{end:#x}, which `{other}` patches too"),
                );
            }
            if furthest.is_none_or(|j| end > ranges[j].1) {
                furthest = Some(i);
            }
        }
    }

    fn check_func_target(
        &mut self,
        arch: Arch,
        section: &str,
        f: &Func,
        ranges: &mut Vec<(u64, u64, String, u64)>,
    ) {
        let Some(target) = self.env.target else {
            return;
        };
        let label = f
            .name_str
            .clone()
            .unwrap_or_else(|| format!("entry at {:#x}", f.offset));
        let loc = Location::in_section(section, f.offset).with_symbol(label.clone());
        // C-94: old_addr 0 resolves by name.
        let old = if f.old_addr.is_zero() {
            let Some(name) = &f.name_str else { return };
            match self.env.resolve(name) {
                Some(a) => a,
                None => {
                    self.error(
                        C::C94,
                        loc,
                        format!(
                            "old_addr is 0 and `{name}` is not a target or loaded-payload symbol"
                        ),
                    );
                    return;
                }
            }
        } else {
            match self.value_address(&f.old_addr) {
                Some(a) => a,
                // An unresolvable symbol is reported by C-46.
                None => return,
            }
        };
        let code = target.bytes(old, 32);
        let func = target.function_at(old);
        let in_payload = self
            .env
            .loaded
            .iter()
            .any(|p| p.new_symbols.iter().any(|&(_, a)| a == old));
        if func.is_none() && !in_payload {
            self.error(
                C::C98,
                loc.clone(),
                format!("old_addr {old:#x} is not the start of a function of the target"),
            );
        } else if func.is_none() && arch != Arch::X86_64 {
            // ARM only makes the Xen image writable while patching.
            self.error(
                C::C98,
                loc.clone(),
                format!(
                    "old_addr {old:#x} is in a loaded payload, which the {arch} hypervisor cannot patch"
                ),
            );
        }
        if let Some(func) = &func
            && func.size != 0
            && u64::from(f.old_size) != func.size
        {
            self.warning(
                C::V06,
                loc.clone(),
                format!(
                    "old_size {} differs from the {}-byte size of `{}`",
                    f.old_size, func.size, func.name
                ),
            );
        }
        // Only the releases that skip a leading ENDBR64 need room for it
        // (4.17+ and the 4.14.5, 4.15.3, 4.16.1 backports); older ones
        // write their branch or NOPs over it.
        let skipping = self.releases_where(|v| v.skips_endbr(arch));
        let endbr = code.as_deref().is_some_and(starts_with_endbr) && !skipping.is_empty();
        let skip = |c: &[u8]| {
            if skipping.is_empty() {
                0
            } else {
                arch.patch_offset(&XenVersion::NEWEST, c)
            }
        };
        let nop = f.new_addr.is_zero();
        if endbr && nop && f.new_size < 4 {
            self.error_on(
                skipping,
                C::C98,
                loc.clone(),
                format!(
                    "NOP mode with new_size {} on a function starting with ENDBR64: the hypervisor's length underflows",
                    f.new_size
                ),
            );
        }
        if let Some(code) = &code
            && !nop
            && f.old_size != 0
            && (f.old_size as usize) >= arch.patch_insn_size()
            && (f.old_size as usize) < skip(code) + arch.patch_insn_size()
        {
            self.error_on(
                skipping,
                C::C95,
                loc.clone(),
                format!(
                    "old_size {} cannot hold ENDBR64 and the {}-byte branch ({} bytes)",
                    f.old_size,
                    arch.patch_insn_size(),
                    skip(code) + arch.patch_insn_size()
                ),
            );
        }
        // C-97: branch distance and encodability from the payload's load address.
        if !nop && let Some(new) = self.value_address(&f.new_addr) {
            let at = old.wrapping_add(code.as_deref().map_or(0, skip) as u64);
            if let Err(e) = arch.verify_distance(old, new) {
                self.error(C::C97, loc.clone(), e.to_string());
            } else if let Err(e) = arch.branch(at, new) {
                self.error(
                    C::C97,
                    loc.clone(),
                    format!("{e}: the hypervisor cannot encode it"),
                );
            }
        }
        // C-123: expectations against the target's bytes.
        if let Some(x) = &f.expect
            && x.enabled
            && x.rsv == 0
            && u32::from(x.len) <= f.old_size
        {
            match target.bytes(old, usize::from(x.len)) {
                Some(actual) if actual != x.data => self.error(
                    C::C123,
                    loc.clone(),
                    format!(
                        "expects {} at {old:#x}, the target has {}",
                        hex(&x.data),
                        hex(&actual)
                    ),
                ),
                _ => {}
            }
        }
        // C-98: overlapping entries.
        let len = if nop {
            u64::from(f.new_size)
        } else {
            arch.patch_insn_size() as u64 + if endbr { 4 } else { 0 }
        };
        ranges.push((
            old,
            old.saturating_add(len),
            display_name(&label, 0),
            f.offset,
        ));
    }
}
