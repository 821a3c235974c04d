//! A `xen-syms` file as a [`TargetImage`], read with `xsplice-symbols`.
//!
//! Names are looked up in the hypervisor's runtime symbol table
//! ([`RuntimeTable`]), as the hypervisor does, where a static is only
//! `file#name`; functions are found by address in the ELF symbol table.
//! A hypervisor image has around a million symbols in the benchmark, and a
//! payload may resolve thousands of names, so both indexes are built once,
//! lazily, over names borrowed from the file.

use std::cell::OnceCell;

use xsplice_symbols::{ElfFile, RuntimeTable, SymbolSection};

use crate::target::{TargetImage, TargetSymbol, default_payload_base};

/// Why a target image cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("`{file}` is not a readable hypervisor image: {source}")]
pub struct ImageError {
    pub file: String,
    #[source]
    pub source: xsplice_symbols::Error,
}

const STT_FUNC: u8 = 2;
const STT_GNU_IFUNC: u8 = 10;
const SHT_NOBITS: u32 = 8;

/// A parsed hypervisor image.
pub struct XenImage<'data> {
    table: RuntimeTable<'data>,
    /// (address, symbol index) of every function symbol, sorted.
    functions: OnceCell<Vec<(u64, u32)>>,
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
            functions: OnceCell::new(),
        })
    }

    fn elf(&self) -> &ElfFile<'data> {
        self.table.elf()
    }

    fn functions(&self) -> &[(u64, u32)] {
        self.functions.get_or_init(|| {
            let mut functions: Vec<(u64, u32)> = self
                .elf()
                .symbols()
                .filter(|s| {
                    matches!(s.section, SymbolSection::Section(_))
                        && (s.kind == STT_FUNC || s.kind == STT_GNU_IFUNC)
                })
                .map(|s| (s.value, s.index))
                .collect();
            // Images are usually in address order already.
            if !functions.is_sorted() {
                functions.sort_unstable();
            }
            functions
        })
    }

    /// The symbol at `index`, named as the runtime table names it (a symbol
    /// the table leaves out keeps its `file#name` spelling).
    fn symbol(&self, index: u32) -> Option<TargetSymbol> {
        let s = self.elf().symbol(index as usize)?;
        let name = match self.table.by_symbol_index(index) {
            Some(r) => r.name(),
            None => s.qualified_name(),
        };
        Some(TargetSymbol {
            name,
            addr: s.value,
            size: s.size,
            is_function: s.kind == STT_FUNC || s.kind == STT_GNU_IFUNC,
        })
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

impl<'data> TargetImage for XenImage<'data> {
    fn build_id(&self) -> Option<&[u8]> {
        self.elf().build_id()
    }

    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        let s = self.table.lookup(name)?;
        Some(TargetSymbol {
            name: s.name(),
            addr: s.addr(),
            size: s.symbol.size,
            is_function: s.symbol.kind == STT_FUNC || s.symbol.kind == STT_GNU_IFUNC,
        })
    }

    fn function_at(&self, addr: u64) -> Option<TargetSymbol> {
        let f = self.functions();
        let start = f.partition_point(|&(a, _)| a < addr);
        f[start..]
            .iter()
            .take_while(|&&(a, _)| a == addr)
            .filter_map(|&(_, i)| self.symbol(i))
            .max_by_key(|s| (s.size, std::cmp::Reverse(s.name.clone())))
    }

    fn bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let s = self.elf().sections().iter().find(|s| {
            s.sh_flags & 2 != 0
                && s.sh_type != SHT_NOBITS
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
