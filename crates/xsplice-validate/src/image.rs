//! A `xen-syms` file as a [`TargetImage`], read with `xsplice-symbols`.
//!
//! A hypervisor image has around a million symbols in the benchmark, and a
//! payload may resolve thousands of names, so the name index and the
//! address index are built once, lazily, over borrowed names; the linear
//! `ElfFile::lookup` would be quadratic here.

use std::cell::OnceCell;
use std::collections::HashMap;

use xsplice_symbols::{ElfFile, SymbolSection};

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
const STB_LOCAL: u8 = 0;
const SHF_EXECINSTR: u64 = 4;
const SHT_NOBITS: u32 = 8;

/// A parsed hypervisor image.
pub struct XenImage<'data> {
    elf: ElfFile<'data>,
    /// Name (and `file#name` for statics) to symbol index.
    names: OnceCell<HashMap<Vec<u8>, u32>>,
    /// Function symbols sorted by address.
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
            elf,
            names: OnceCell::new(),
            functions: OnceCell::new(),
        })
    }

    fn names(&self) -> &HashMap<Vec<u8>, u32> {
        self.names.get_or_init(|| {
            let mut map = HashMap::with_capacity(self.elf.symbol_count());
            for s in self.elf.symbols() {
                if !s.is_defined() || s.is_debugging() || s.bad_name {
                    continue;
                }
                map.entry(s.name.to_vec()).or_insert(s.index);
                if s.binding == STB_LOCAL
                    && let Some(file) = s.file_hint
                {
                    let mut q = Vec::with_capacity(file.len() + 1 + s.name.len());
                    q.extend_from_slice(file);
                    q.push(b'#');
                    q.extend_from_slice(s.name);
                    map.entry(q).or_insert(s.index);
                }
            }
            map
        })
    }

    fn functions(&self) -> &Vec<(u64, u32)> {
        self.functions.get_or_init(|| {
            let mut v: Vec<(u64, u32)> = self
                .elf
                .symbols()
                .filter(|s| {
                    matches!(s.section, SymbolSection::Section(_))
                        && (s.kind == STT_FUNC || s.kind == STT_GNU_IFUNC)
                })
                .map(|s| (s.value, s.index))
                .collect();
            v.sort_unstable();
            v
        })
    }

    fn symbol(&self, index: u32) -> Option<TargetSymbol> {
        let s = self.elf.symbol(index as usize)?;
        Some(TargetSymbol {
            name: s.qualified_name(),
            addr: s.value,
            size: s.size,
            is_function: s.kind == STT_FUNC || s.kind == STT_GNU_IFUNC,
        })
    }

    /// The highest address the image occupies.
    fn end(&self) -> u64 {
        self.elf
            .sections()
            .iter()
            .filter(|s| s.sh_flags & 2 != 0)
            .map(|s| s.sh_addr.saturating_add(s.sh_size))
            .max()
            .unwrap_or(0)
    }
}

impl TargetImage for XenImage<'_> {
    fn build_id(&self) -> Option<&[u8]> {
        self.elf.build_id()
    }

    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        let i = *self.names().get(name.as_bytes())?;
        self.symbol(i)
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
        let s = self.elf.sections().iter().find(|s| {
            s.sh_flags & 2 != 0
                && s.sh_type != SHT_NOBITS
                && addr >= s.sh_addr
                && addr - s.sh_addr < s.sh_size
        })?;
        let _ = SHF_EXECINSTR;
        let data = self.elf.section_data(s)?;
        let start = usize::try_from(addr - s.sh_addr).ok()?;
        data.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
    }

    fn payload_base(&self) -> u64 {
        default_payload_base(self.end())
    }
}
