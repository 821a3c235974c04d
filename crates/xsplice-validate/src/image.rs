//! A `xen-syms` file as a [`TargetImage`], read with `xsplice-symbols`.
//!
//! Names are looked up in the hypervisor's runtime symbol table
//! ([`RuntimeTable`]), as the hypervisor does, where a static is only
//! `file#name`; functions are found by address among the ELF function
//! symbols, which the table indexes in the same pass. A hypervisor image
//! has around a million symbols in the benchmark, and a payload may resolve
//! thousands of names, so the indexes are built once, lazily, over names
//! borrowed from the file.

use object::elf::{SHT_NOBITS, STT_FUNC, STT_GNU_IFUNC};
use xsplice_symbols::{ElfFile, RuntimeSymbol, RuntimeTable};

use crate::target::{TargetImage, TargetSymbol, default_payload_base};

/// Why a target image cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("`{file}` is not a readable hypervisor image: {source}")]
pub struct ImageError {
    pub file: String,
    #[source]
    pub source: xsplice_symbols::Error,
}

/// A parsed hypervisor image.
pub struct XenImage<'data> {
    table: RuntimeTable<'data>,
}

impl<'data> XenImage<'data> {
    /// Parses the image; `file` names it in errors.
    pub fn parse(file: &str, data: &'data [u8]) -> Result<Self, ImageError> {
        let elf = ElfFile::parse(data).map_err(|source| ImageError {
            file: file.to_string(),
            source,
        })?;
        Ok(XenImage {
            table: RuntimeTable::new(elf),
        })
    }

    fn elf(&self) -> &ElfFile<'data> {
        self.table.elf()
    }

    /// The highest address the image occupies.
    fn end(&self) -> u64 {
        self.elf()
            .sections()
            .iter()
            .filter(|s| s.sh_flags & 2 != 0)
            .map(|s| s.sh_addr.saturating_add(s.sh_size))
            .max()
            .unwrap_or(0)
    }
}

fn target_symbol(s: &RuntimeSymbol<'_>) -> TargetSymbol {
    TargetSymbol {
        name: s.name(),
        addr: s.addr(),
        size: s.symbol.size,
        is_function: s.symbol.kind == STT_FUNC.0 || s.symbol.kind == STT_GNU_IFUNC.0,
    }
}

impl<'data> TargetImage for XenImage<'data> {
    fn build_id(&self) -> Option<&[u8]> {
        self.elf().build_id()
    }

    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        self.table.lookup(name).map(|s| target_symbol(&s))
    }

    fn function_at(&self, addr: u64) -> Option<TargetSymbol> {
        self.table
            .functions_at(addr)
            .map(|s| target_symbol(&s))
            .max_by_key(|s| (s.size, std::cmp::Reverse(s.name.clone())))
    }

    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let s = self.elf().sections().iter().find(|s| {
            s.sh_flags & 2 != 0
                && s.sh_type != SHT_NOBITS.0
                && addr >= s.sh_addr
                && addr - s.sh_addr < s.sh_size
        })?;
        let data = self.elf().section_data(s)?;
        let start = usize::try_from(addr - s.sh_addr).ok()?;
        data.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
    }

    fn payload_base(&self) -> u64 {
        default_payload_base(self.end())
    }
}
