//! The parsed payload: what the validator learnt from the bytes, in a form
//! the inspector prints and the simulator places, resolves and relocates.
//!
//! Everything here is plain owned data with no reference to the input, so a
//! caller can keep the model after the bytes are gone; section contents are
//! read back from the caller's bytes with [`Section::data`].

use serde::Serialize;
use xsplice_abi::{Abi, Arch};

use crate::elf::{self, Class};

/// Where the hypervisor places an SHF_ALLOC section (§1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// Executable, read-only after load.
    Text,
    /// Writable data.
    Rw,
    /// Read-only data.
    Ro,
}

/// One section header, with its name resolved.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    pub index: usize,
    /// The name from the section-name table; `[N]` when unreadable.
    pub name: String,
    /// `sh_name`: offset of the name in the section-name table.
    pub sh_name: u32,
    pub sh_type: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub addralign: u64,
    pub entsize: u64,
    /// Offset inside its region once placed, for loaded sections that are
    /// not W+X; `None` otherwise.
    pub placed: Option<u64>,
}

impl Section {
    /// True if the hypervisor loads the section.
    pub fn is_alloc(&self) -> bool {
        self.flags & elf::SHF_ALLOC != 0
    }
    /// True for SHT_NOBITS.
    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS
    }
    /// The region a loaded section goes to; `None` for unloaded and W+X sections.
    pub fn region(&self) -> Option<Region> {
        if !self.is_alloc() {
            return None;
        }
        let w = self.flags & elf::SHF_WRITE != 0;
        let x = self.flags & elf::SHF_EXECINSTR != 0;
        match (w, x) {
            (false, true) => Some(Region::Text),
            (true, false) => Some(Region::Rw),
            (false, false) => Some(Region::Ro),
            (true, true) => None,
        }
    }
    /// The section's bytes in `file` (empty for NOBITS or when out of bounds).
    pub fn data<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        if self.is_nobits() || self.sh_type == elf::SHT_NULL {
            return &[];
        }
        elf::Bytes(file)
            .slice(self.offset, self.size)
            .unwrap_or(&[])
    }
}

/// One symbol-table entry, with its name resolved.
#[derive(Clone, Debug, Serialize)]
pub struct Symbol {
    pub index: usize,
    pub name: String,
    pub value: u64,
    pub size: u64,
    pub bind: u8,
    pub kind: u8,
    pub shndx: u16,
}

impl Symbol {
    /// True if the hypervisor resolves the symbol by name.
    pub fn is_undefined(&self) -> bool {
        self.shndx == elf::SHN_UNDEF
    }
}

/// One relocation.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Relocation {
    pub offset: u64,
    pub sym: u32,
    pub kind: u32,
    /// `r_addend` for RELA; for REL, the addend the hypervisor reads from the place.
    pub addend: i64,
}

/// A relocation section the hypervisor applies.
#[derive(Clone, Debug, Serialize)]
pub struct RelocSection {
    /// Index of the SHT_REL/SHT_RELA section.
    pub index: usize,
    /// Index of the section it patches (`sh_info`).
    pub target: usize,
    pub rela: bool,
    pub entries: Vec<Relocation>,
}

/// A pointer-sized field of the payload as the hypervisor will see it after relocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Value {
    /// Zero and no relocation.
    Zero,
    /// A constant written in the file, with no relocation.
    Const { value: u64 },
    /// Filled in by a relocation against `symbol` plus `addend`.
    Symbol {
        symbol: String,
        /// Index in the payload's symbol table.
        index: u32,
        addend: i64,
        /// Section the symbol is defined in; `None` if it is undefined or absolute.
        section: Option<usize>,
        /// The symbol's value in that section (or its absolute value).
        value: u64,
    },
}

impl Value {
    /// True for a field the hypervisor reads as 0.
    pub fn is_zero(&self) -> bool {
        matches!(self, Value::Zero)
    }
}

/// The enabled expectation of a `.funcs` entry (v2 only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expect {
    pub enabled: bool,
    pub len: u8,
    pub rsv: u8,
    pub data: Vec<u8>,
}

/// One `struct livepatch_func`, decoded.
#[derive(Clone, Debug, Serialize)]
pub struct Func {
    /// Offset of the entry in the funcs section.
    pub offset: u64,
    pub name: Value,
    /// The string `name` points at, when it points into the payload.
    pub name_str: Option<String>,
    pub new_addr: Value,
    pub old_addr: Value,
    pub new_size: u32,
    pub old_size: u32,
    pub version: u8,
    /// `None` for v1 entries, which have no expectation.
    pub expect: Option<Expect>,
}

/// A hook section and the pointers it holds.
#[derive(Clone, Debug, Serialize)]
pub struct HookSection {
    pub section: String,
    pub pointers: Vec<Value>,
}

/// Everything the validator decoded from a payload.
#[derive(Clone, Debug, Serialize)]
pub struct Payload {
    #[serde(serialize_with = "crate::model::display")]
    pub arch: Arch,
    pub class: Class,
    /// The ABI the payload was checked against; `None` when it fits none.
    #[serde(serialize_with = "crate::model::display_opt")]
    pub abi: Option<Abi>,
    pub sections: Vec<Section>,
    pub symbols: Vec<Symbol>,
    pub relocations: Vec<RelocSection>,
    pub funcs: Vec<Func>,
    pub hooks: Vec<HookSection>,
    /// Descriptor of `.note.gnu.build-id`.
    pub build_id: Option<Vec<u8>>,
    /// Descriptor of `.livepatch.depends`.
    pub depends: Option<Vec<u8>>,
    /// Descriptor of `.livepatch.xen_depends`.
    pub xen_depends: Option<Vec<u8>>,
    /// Contents of `.modinfo`.
    pub modinfo: Option<Vec<u8>>,
    /// Sizes of the text, rw and ro regions once placed (§1.3).
    pub region_sizes: [u64; 3],
}

impl Payload {
    /// The first section with this exact name, as the hypervisor finds it.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().skip(1).find(|s| s.name == name)
    }

    /// Offset of a placed section from the start of the payload's memory
    /// block, laid out as `PAGE_ALIGN(text) + PAGE_ALIGN(rw) + ro`.
    pub fn block_offset(&self, section: usize) -> Option<u64> {
        let s = self.sections.get(section)?;
        let page = |n: u64| n.div_ceil(4096).saturating_mul(4096);
        let base = match s.region()? {
            Region::Text => 0,
            Region::Rw => page(self.region_sizes[0]),
            Region::Ro => page(self.region_sizes[0]).saturating_add(page(self.region_sizes[1])),
        };
        Some(base.saturating_add(s.placed?))
    }

    /// Size of the payload's memory block.
    pub fn block_size(&self) -> u64 {
        let page = |n: u64| n.div_ceil(4096).saturating_mul(4096);
        page(self.region_sizes[0])
            .saturating_add(page(self.region_sizes[1]))
            .saturating_add(self.region_sizes[2])
    }

    /// The symbols the hypervisor keeps for this payload (§1.4).
    pub fn kept_symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.symbols.iter().skip(1).filter(move |s| self.is_kept(s))
    }

    fn is_kept(&self, s: &Symbol) -> bool {
        let Some(sec) = self.sections.get(usize::from(s.shndx)) else {
            return false;
        };
        if s.shndx == elf::SHN_UNDEF || s.shndx >= elf::SHN_LORESERVE || !sec.is_alloc() {
            return false;
        }
        if s.name.is_empty() || (s.name.starts_with(".L") && sec.flags & elf::SHF_MERGE != 0) {
            return false;
        }
        let mapping = |prefixes: &[&str]| {
            prefixes
                .iter()
                .any(|p| s.name == *p || s.name.starts_with(&format!("{p}.")))
        };
        match self.arch {
            Arch::Aarch64 => !mapping(&["$x", "$d"]),
            Arch::Arm32 => !mapping(&["$a", "$d"]),
            _ => true,
        }
    }

    /// The kept symbols that do not override a patched function: the names
    /// the payload exports to the hypervisor and to later payloads (§1.4),
    /// with their offsets in the payload's memory block.
    pub fn new_symbols(&self) -> Vec<(String, u64)> {
        let overriding: std::collections::HashSet<(usize, u64)> = self
            .funcs
            .iter()
            .filter_map(|f| match &f.new_addr {
                Value::Symbol {
                    section: Some(sec),
                    value,
                    addend,
                    ..
                } => Some((*sec, value.wrapping_add(*addend as u64))),
                _ => None,
            })
            .collect();
        self.kept_symbols()
            .filter(|s| !overriding.contains(&(usize::from(s.shndx), s.value)))
            .filter_map(|s| {
                let off = self.block_offset(usize::from(s.shndx))?;
                Some((s.name.clone(), off.wrapping_add(s.value)))
            })
            .collect()
    }
}

/// Serialises a value by its `Display` text.
pub(crate) fn display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Serialises an optional value by its `Display` text.
pub(crate) fn display_opt<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}
