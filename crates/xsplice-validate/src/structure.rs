//! The file-structure checks, C-05 to C-33: ELF header, section headers,
//! string tables and symbol table, in the order the hypervisor's ELF loader
//! makes them (`livepatch_elf.c`).
//!
//! Unlike the hypervisor, which stops at the first error, these checks go on
//! as far as the structure allows, skipping what depends on a broken part,
//! so that one mutation gives one finding rather than a cascade.

use xsplice_abi::Arch;

use xsplice_abi::limits::{MAX_NOBITS_SIZE, MAX_PAYLOAD_SIZE, MAX_SECTIONS};

use crate::checker::Checker;
use crate::elf::{self, Class};
use crate::finding::{CheckId as C, Location};
use crate::model::{Section, Symbol};

impl Checker<'_, '_> {
    /// C-05 and C-10..C-19. Returns false when nothing more can be read.
    pub(crate) fn check_header(&mut self) -> bool {
        let len = self.data.len() as u64;
        if len == 0 || len > MAX_PAYLOAD_SIZE as u64 {
            self.error(
                C::C05,
                Location::file(),
                format!("file size {len} is not between 1 byte and 2 MiB"),
            );
        }
        // The class decides the header size; an unknown class is an arch
        // mismatch (C-13), reported once the magic is known to be right.
        let class = match self.data.get(4) {
            Some(1) => Class::Elf32,
            _ => Class::Elf64,
        };
        if len < class.ehdr_size() {
            self.error(
                C::C10,
                Location::file(),
                format!(
                    "file of {len} bytes is shorter than the {}-byte ELF header",
                    class.ehdr_size()
                ),
            );
            return false;
        }
        if self.data[..4] != *b"\x7fELF" {
            self.error(
                C::C11,
                Location::at(0),
                "not an ELF file (bad magic)".into(),
            );
            return false;
        }
        let Some(h) = elf::header(self.data, class) else {
            return false;
        };
        if h.version != 1 || h.ident_version != 1 {
            self.error(
                C::C12,
                Location::at(6),
                format!(
                    "ELF version is {} (e_ident) and {} (e_version), not 1",
                    h.ident_version, h.version
                ),
            );
        }
        if h.abiversion != 0 {
            self.error(
                C::C12,
                Location::at(8),
                format!("EI_ABIVERSION is {}, not 0", h.abiversion),
            );
        }
        if h.osabi != 0 && h.osabi != 9 {
            self.error(
                C::C12,
                Location::at(7),
                format!("EI_OSABI is {}, not 0 (System V) or 9 (FreeBSD)", h.osabi),
            );
        }
        if h.e_type != elf::ET_REL {
            self.error(
                C::C12,
                Location::at(16),
                format!("e_type is {}, not ET_REL (1)", h.e_type),
            );
        }
        if h.phnum != 0 {
            self.error(
                C::C12,
                Location::file(),
                format!("e_phnum is {}, a payload has no program headers", h.phnum),
            );
        }

        let Some(arch) = Arch::from_e_machine(h.machine) else {
            self.error(
                C::C13,
                Location::at(18),
                format!(
                    "e_machine {} is not x86-64 (62), aarch64 (183) or arm (40)",
                    h.machine
                ),
            );
            return false;
        };
        let class_byte = self.data[4];
        if class_byte != arch.elf_class() {
            self.error(
                C::C13,
                Location::at(4),
                format!(
                    "ELF class {class_byte} does not match {arch}, which needs class {}",
                    arch.elf_class()
                ),
            );
            return false;
        }
        if h.data != 1 {
            if arch == Arch::X86_64 {
                self.error(
                    C::C13,
                    Location::at(5),
                    format!(
                        "EI_DATA is {}, x86-64 payloads must be little-endian",
                        h.data
                    ),
                );
                return false;
            }
            self.warning(
                C::V01,
                Location::at(5),
                format!(
                    "EI_DATA is {}; {arch} hypervisors ignore it and read the payload little-endian",
                    h.data
                ),
            );
        }
        if let Some((mask, value)) = arch.required_e_flags()
            && h.flags & mask != value
        {
            self.error(
                C::C13,
                Location::at(36),
                format!("e_flags {:#x} is not EABI version 5", h.flags),
            );
        }
        self.arch = Some(arch);
        self.class = class;

        let mut ok = true;
        if h.shstrndx == 0 {
            self.error(
                C::C14,
                Location::file(),
                "e_shstrndx is 0: no section-name table".into(),
            );
            ok = false;
        }
        if usize::from(h.shnum) >= MAX_SECTIONS {
            self.error(
                C::C15,
                Location::file(),
                format!(
                    "e_shnum is {}, the hypervisor takes fewer than {MAX_SECTIONS} sections",
                    h.shnum
                ),
            );
            return false;
        }
        if h.shstrndx != 0 && h.shstrndx >= h.shnum {
            self.error(
                C::C16,
                Location::file(),
                format!("e_shstrndx {} is not below e_shnum {}", h.shstrndx, h.shnum),
            );
            ok = false;
        }
        if h.shoff >= len {
            self.error(
                C::C17,
                Location::file(),
                format!("e_shoff {:#x} is not inside the {len}-byte file", h.shoff),
            );
            return false;
        }
        if u64::from(h.shentsize) < class.shdr_size() {
            self.error(
                C::C18,
                Location::file(),
                format!(
                    "e_shentsize {} is smaller than a section header ({} bytes)",
                    h.shentsize,
                    class.shdr_size()
                ),
            );
            return false;
        }
        if (len - h.shoff) / u64::from(h.shentsize) < u64::from(h.shnum) {
            self.error(
                C::C19,
                Location::at(h.shoff),
                format!(
                    "{} section headers of {} bytes at {:#x} do not fit in the {len}-byte file",
                    h.shnum, h.shentsize, h.shoff
                ),
            );
            return false;
        }
        self.header = Some(h);
        ok
    }

    /// C-20..C-29: every section header, then the symbol table.
    pub(crate) fn check_sections(&mut self) -> bool {
        let Some(h) = self.header.clone() else {
            return false;
        };
        let len = self.data.len() as u64;
        let ehdr = self.class.ehdr_size();
        for i in 0..usize::from(h.shnum) {
            let off = h.shoff + i as u64 * u64::from(h.shentsize);
            let Some(s) = elf::shdr(self.data, self.class, off, i) else {
                return false;
            };
            self.sections.push(Section {
                index: i,
                name: format!("[{i}]"),
                sh_name: s.name,
                sh_type: s.sh_type,
                flags: s.flags,
                addr: s.addr,
                offset: s.offset,
                size: s.size,
                link: s.link,
                info: s.info,
                addralign: s.addralign,
                entsize: s.entsize,
                placed: None,
            });
            self.sane.push(i != 0);
        }
        self.lenient_names(&h);
        let mut symtabs = Vec::new();
        for i in 1..self.sections.len() {
            let s = self.sections[i].clone();
            let loc = Location::section(s.name.clone());
            if s.offset < ehdr {
                self.error(
                    C::C20,
                    loc.clone(),
                    format!("sh_offset {:#x} lies inside the ELF header", s.offset),
                );
                self.sane[i] = false;
            }
            if !s.is_nobits() {
                let end = s.offset.checked_add(s.size);
                if s.offset > len || end.is_none_or(|e| e > len) {
                    self.error(
                        C::C21,
                        loc.clone(),
                        format!(
                            "contents at {:#x} of size {:#x} run past the end of the {len}-byte file",
                            s.offset, s.size
                        ),
                    );
                    self.sane[i] = false;
                }
            }
            if s.addralign != 0 && !s.addralign.is_power_of_two() {
                self.error(
                    C::C22,
                    loc.clone(),
                    format!("sh_addralign {} is not a power of two", s.addralign),
                );
                self.sane[i] = false;
            } else if s.addralign != 0 && s.addr % s.addralign != 0 {
                self.error(
                    C::C23,
                    loc.clone(),
                    format!(
                        "sh_addr {:#x} is not a multiple of sh_addralign {}",
                        s.addr, s.addralign
                    ),
                );
            }
            if s.is_nobits()
                && s.flags & (elf::SHF_WRITE | elf::SHF_ALLOC) != 0
                && s.size > MAX_NOBITS_SIZE
            {
                self.error(
                    C::C24,
                    loc.clone(),
                    format!("NOBITS section of {:#x} bytes is over 2 MiB", s.size),
                );
            }
            if s.sh_type == elf::SHT_SYMTAB {
                symtabs.push(i);
            }
        }
        if symtabs.len() > 1 {
            for &i in &symtabs[1..] {
                let name = self.name(i);
                self.error(
                    C::C25,
                    Location::section(name),
                    format!(
                        "a second symbol table (section {i}; the first is section {})",
                        symtabs[0]
                    ),
                );
            }
            return false;
        }
        let Some(&symtab) = symtabs.first() else {
            self.error(C::C27, Location::file(), "no symbol table".into());
            return false;
        };
        self.symtab = Some(symtab);
        let st = self.sections[symtab].clone();
        let loc = Location::section(self.name(symtab));
        if usize::try_from(st.link).map_or(true, |l| l >= self.sections.len()) {
            self.error(
                C::C26,
                loc,
                format!(
                    "symbol table sh_link {} is not below e_shnum {}",
                    st.link, h.shnum
                ),
            );
            return false;
        }
        if st.link == 0 {
            self.error(
                C::C26,
                loc,
                "symbol table sh_link is 0 (the hypervisor would use a null section)".into(),
            );
            return false;
        }
        if st.size == 0 || st.entsize < self.class.sym_size() || st.size % st.entsize != 0 {
            self.error(
                C::C28,
                loc,
                format!(
                    "symbol table size {:#x} with entry size {} is not a whole number of {}-byte symbols",
                    st.size,
                    st.entsize,
                    self.class.sym_size()
                ),
            );
            return false;
        }
        if !self.sane[symtab] {
            return false;
        }
        if let Err(why) = self.strtab_ok(st.link as usize) {
            self.error(
                C::C29,
                Location::section(self.name(st.link as usize)),
                format!("symbol string table {why}"),
            );
            return false;
        }
        true
    }

    /// Names for messages, read without judging the name table, so that
    /// findings made before C-30/C-31 can name their section. Sections whose
    /// name cannot be read keep `[N]`; C-31 later replaces every name with
    /// the checked one.
    fn lenient_names(&mut self, h: &elf::Header) {
        let Some(names) = self.sections.get(usize::from(h.shstrndx)).cloned() else {
            return;
        };
        if names.is_nobits() {
            return;
        }
        let end = names.offset.saturating_add(names.size);
        for s in self.sections.iter_mut().skip(1) {
            let Some(start) = names.offset.checked_add(u64::from(s.sh_name)) else {
                continue;
            };
            if let Some(bytes) = elf::Bytes(self.data).cstr(start, end)
                && !bytes.is_empty()
            {
                s.name = String::from_utf8_lossy(bytes).into_owned();
            }
        }
    }

    /// `elf_verify_strtab`: SHT_STRTAB, non-empty, NUL first and last.
    fn strtab_ok(&self, i: usize) -> Result<(), String> {
        let s = &self.sections[i];
        if s.sh_type != elf::SHT_STRTAB {
            return Err(format!(
                "(section {i}) is of type {}, not SHT_STRTAB",
                s.sh_type
            ));
        }
        if s.size == 0 {
            return Err(format!("(section {i}) is empty"));
        }
        if !self.sane[i] {
            return Err(format!("(section {i}) is not inside the file"));
        }
        let d = s.data(self.data);
        if d.first() != Some(&0) || d.last() != Some(&0) {
            return Err(format!(
                "(section {i}) does not start and end with a NUL byte"
            ));
        }
        Ok(())
    }

    /// C-30..C-33: section names, then symbol names.
    pub(crate) fn check_names(&mut self) -> bool {
        let Some(h) = self.header.clone() else {
            return false;
        };
        let shstrndx = usize::from(h.shstrndx);
        if let Err(why) = self.strtab_ok(shstrndx) {
            self.error(
                C::C30,
                Location::section(self.name(shstrndx)),
                format!("section-name table {why}"),
            );
            return false;
        }
        let names = self.sections[shstrndx].clone();
        let mut ok = true;
        for i in 1..self.sections.len() {
            let off = u64::from(self.sections[i].sh_name);
            if off >= names.size {
                self.error(
                    C::C31,
                    Location::section(format!("[{i}]")),
                    format!(
                        "sh_name {off:#x} is beyond the {}-byte section-name table",
                        names.size
                    ),
                );
                ok = false;
                continue;
            }
            let bytes = elf::Bytes(self.data)
                .cstr(names.offset + off, names.offset + names.size)
                .unwrap_or(b"");
            self.sections[i].name = String::from_utf8_lossy(bytes).into_owned();
        }
        if !ok {
            return false;
        }

        let symtab = self.sections[self.symtab.unwrap_or(0)].clone();
        let strtab = self.sections[symtab.link as usize].clone();
        let count = symtab.size / symtab.entsize;
        self.symbols.reserve(count as usize);
        let mut names_ok = true;
        for i in 0..count {
            let Some(s) = elf::sym(self.data, self.class, symtab.offset + i * symtab.entsize)
            else {
                return false;
            };
            let mut name = String::new();
            if i > 0 {
                if u64::from(s.name) >= strtab.size {
                    self.error(
                        C::C32,
                        Location::in_section(symtab.name.clone(), i * symtab.entsize),
                        format!(
                            "symbol {i}: st_name {:#x} is beyond the {}-byte string table",
                            s.name, strtab.size
                        ),
                    );
                    names_ok = false;
                } else {
                    let bytes = elf::Bytes(self.data)
                        .cstr(
                            strtab.offset + u64::from(s.name),
                            strtab.offset + strtab.size,
                        )
                        .unwrap_or(b"");
                    name = String::from_utf8_lossy(bytes).into_owned();
                }
            }
            if self.arch == Some(Arch::Arm32) && (name == "$t" || name.starts_with("$t.")) {
                self.error(
                    C::C33,
                    Location::symbol(name.clone()),
                    "Thumb mapping symbol: the arm32 hypervisor only patches ARM code".into(),
                );
            }
            if name.len() > 127 {
                self.warning(
                    C::V04,
                    Location::symbol(name.clone()),
                    format!(
                        "symbol name of {} bytes; the hypervisor keeps only the first 127",
                        name.len()
                    ),
                );
            }
            self.symbols.push(Symbol {
                index: i as usize,
                name,
                value: s.value,
                size: s.size,
                bind: s.bind,
                kind: s.kind,
                shndx: s.shndx,
            });
        }
        names_ok
    }
}
