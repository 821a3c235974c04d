//! A `xen-syms` file as a [`TargetImage`], read with `xsplice-symbols`.
//!
//! A hypervisor image has around a million symbols in the benchmark, and a
//! payload may resolve thousands of names, so the name index and the
//! address index are built once, lazily, over borrowed names; the linear
//! `ElfFile::lookup` would be quadratic here.

use std::cell::OnceCell;

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
const SHT_NOBITS: u32 = 8;

/// A parsed hypervisor image.
pub struct XenImage<'data> {
    elf: ElfFile<'data>,
    index: OnceCell<Index>,
}

/// Both indexes, built in one pass over the symbol table.
struct Index {
    /// (hash of the name, symbol index) of every defined, non-debugging
    /// symbol, sorted; equal hashes are told apart by comparing names.
    names: Vec<(u64, u32)>,
    /// (address, symbol index) of every function symbol, sorted.
    functions: Vec<(u64, u32)>,
}

/// FxHash-style hash of a name: fast on the short names of symbol tables,
/// and collisions only cost a name comparison.
fn name_hash(name: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K)
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
            index: OnceCell::new(),
        })
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut names = Vec::with_capacity(self.elf.symbol_count());
            let mut functions = Vec::new();
            for s in self.elf.symbols() {
                if !s.is_defined() || s.is_debugging() || s.bad_name {
                    continue;
                }
                names.push((name_hash(s.name), s.index));
                if matches!(s.section, SymbolSection::Section(_))
                    && (s.kind == STT_FUNC || s.kind == STT_GNU_IFUNC)
                {
                    functions.push((s.value, s.index));
                }
            }
            names.sort_unstable();
            // Images are usually in address order already.
            if !functions.is_sorted() {
                functions.sort_unstable();
            }
            Index { names, functions }
        })
    }

    /// The first defined symbol called exactly `name`.
    fn find_name(&self, name: &[u8]) -> Option<u32> {
        let names = &self.index().names;
        let h = name_hash(name);
        let start = names.partition_point(|&(x, _)| x < h);
        names[start..]
            .iter()
            .take_while(|&&(x, _)| x == h)
            .map(|&(_, i)| i)
            .find(|&i| self.elf.symbol(i as usize).is_some_and(|s| s.name == name))
    }

    /// `file#name`: the static `name` that follows the STT_FILE symbol `file`
    /// (rare enough in lookups to scan for).
    fn lookup_static(&self, file: &str, name: &str) -> Option<u32> {
        self.elf
            .symbols()
            .find(|s| {
                s.is_defined()
                    && !s.is_debugging()
                    && s.binding == STB_LOCAL
                    && s.name == name.as_bytes()
                    && s.file_hint == Some(file.as_bytes())
            })
            .map(|s| s.index)
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

impl<'data> TargetImage for XenImage<'data> {
    fn build_id(&self) -> Option<&[u8]> {
        self.elf.build_id()
    }

    fn lookup(&self, name: &str) -> Option<TargetSymbol> {
        if let Some(i) = self.find_name(name.as_bytes()) {
            return self.symbol(i);
        }
        let (file, bare) = name.split_once('#')?;
        self.symbol(self.lookup_static(file, bare)?)
    }

    fn function_at(&self, addr: u64) -> Option<TargetSymbol> {
        let f = &self.index().functions;
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
        let data = self.elf.section_data(s)?;
        let start = usize::try_from(addr - s.sh_addr).ok()?;
        data.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
    }

    fn payload_base(&self) -> u64 {
        default_payload_base(self.end())
    }
}
