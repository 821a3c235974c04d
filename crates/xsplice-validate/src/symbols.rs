//! Symbol resolution, C-45 to C-48 (`livepatch_elf_resolve_symbols`), and the
//! Xen build-id check C-35/C-36 that runs before placement since 4.20.
//!
//! Undefined symbols are resolved against the target only when one is given
//! (C-46); without a target the check is left to `--target` runs, except for
//! an empty name, which can never resolve.

use xsplice_abi::BuildIdNote;

use crate::checker::Checker;
use crate::elf;
use crate::finding::{CheckId as C, Location};

impl Checker<'_, '_> {
    /// C-35, C-36 (C-37 and C-38 need the target and run with the target checks).
    pub(crate) fn check_xen_depends(&mut self) {
        let Some(abi) = self.abi else { return };
        let Some(name) = abi.xen_depends_section() else {
            return;
        };
        let Some(i) = self.find(name) else {
            self.error(C::C35, Location::file(), format!("no `{name}` section"));
            return;
        };
        let data = self.sections[i].data(self.data).to_vec();
        match BuildIdNote::parse(&data).map(|n| n.desc) {
            Ok(desc) => {
                if let Some(p) = &mut self.payload {
                    p.xen_depends = Some(desc.clone());
                }
                self.xen_depends = Some(desc);
            }
            Err(why) => self.error(
                C::C36,
                Location::section(name),
                format!("not a build-id note: {why}"),
            ),
        }
    }

    /// C-45..C-48, and the set of ignored symbols C-57 refers to.
    pub(crate) fn check_symbols(&mut self) {
        let shnum = self.sections.len();
        for i in 1..self.symbols.len() {
            let s = self.symbols[i].clone();
            let loc = Location::symbol(display_name(&s.name, i));
            match s.shndx {
                elf::SHN_UNDEF => {
                    if s.name.is_empty() {
                        self.error(
                            C::C46,
                            Location::symbol(format!("#{i}")),
                            format!("undefined symbol {i} has an empty name and cannot resolve"),
                        );
                    }
                }
                elf::SHN_ABS => {}
                elf::SHN_COMMON => self.error(
                    C::C45,
                    loc,
                    "common symbol: the hypervisor does not allocate them (build with -fno-common)"
                        .into(),
                ),
                n if n >= elf::SHN_LORESERVE => self.error(
                    C::C47,
                    loc,
                    format!("st_shndx {n:#x} is a reserved index the hypervisor does not handle"),
                ),
                n if usize::from(n) >= shnum => self.error(
                    C::C48,
                    loc,
                    format!("st_shndx {n} is not below e_shnum {shnum}"),
                ),
                n => {
                    if !self.sections[usize::from(n)].is_alloc() {
                        self.ignored.insert(i);
                    }
                }
            }
        }
    }
}

/// A symbol's name for messages: `#N` for an unnamed one.
pub(crate) fn display_name(name: &str, index: usize) -> String {
    if name.is_empty() {
        format!("#{index}")
    } else {
        name.to_string()
    }
}
