//! Xen's runtime symbol table: the names the hypervisor itself looks up.
//!
//! The hypervisor does not read its ELF symbol table. Its build pipes
//! `nm -pa --format=sysv` of the linked image through `xen/tools/symbols`,
//! which compiles a table of its own into the image; `symbols_lookup_by_name`
//! searches that table when a payload is loaded (undefined symbols, C-46;
//! `old_addr` by name, §3; duplicate new symbols, C-115). That table is not
//! the ELF symbol table:
//!
//! * a symbol whose nm letter is lower case (a local, but also an IFUNC)
//!   that follows an `STT_FILE` symbol is named `FILE#name`, e.g.
//!   `common/version.c#__func__.0`; upper case (global, weak) keeps its bare
//!   name, and so does a local before any file symbol;
//! * symbols of letter `A`/`a` (absolute; `__gp` is kept), `U`/`u`
//!   (undefined, unique) and `N`/`n` (debugging, other non-loaded sections)
//!   are left out, as are names starting with `$` (ARM mapping symbols and
//!   MIPS local labels) and names that contain `_compiled.`; the six bounds
//!   `_stext`, `_etext`, `_sinittext`, `_einittext`, `_sextratext` and
//!   `_eextratext` are kept whatever their letter;
//! * the tool's parser skips the lines of nm's sysv listing it cannot read:
//!   undefined symbols (weak ones too: nm prints no value for them), empty
//!   names (so an empty file symbol does not change the file prefix), names
//!   with a space, names longer than 499 bytes; names with a `|` are
//!   misread by it (Xen has none) and left out here;
//! * without `--all-symbols` (a hypervisor built without CONFIG_LIVEPATCH)
//!   only symbols inside the text bounds are kept.
//!
//! Lookups compare whole names, so a payload's local `__func__.0` does not
//! clash with a Xen static of the same bare name, and a reference to a Xen
//! static must spell it `file#name`.
//!
//! The table is indexed lazily by a hash of the bare names, borrowing them
//! from the file, as images can have a million symbols.

use std::cell::OnceCell;

use crate::elf::consts::STT_FILE;
use crate::elf::{ElfFile, Symbol};

/// How the hypervisor's build ran `xen/tools/symbols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// `--all-symbols`: every symbol, not only text. Set when the
    /// hypervisor is built with CONFIG_LIVEPATCH, so for every hypervisor
    /// that loads payloads.
    pub all_symbols: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions { all_symbols: true }
    }
}

/// One entry of the runtime table.
#[derive(Clone, Copy, Debug)]
pub struct RuntimeSymbol<'data> {
    /// The ELF symbol it comes from; its `value` is the entry's address.
    pub symbol: Symbol<'data>,
    /// The file prefix, for a lower-case symbol after a file symbol.
    pub file: Option<&'data [u8]>,
}

impl RuntimeSymbol<'_> {
    /// The name as the hypervisor has it: `file#name` or `name`.
    pub fn name(&self) -> String {
        let bare = String::from_utf8_lossy(self.symbol.name);
        match self.file {
            Some(file) => format!("{}#{bare}", String::from_utf8_lossy(file)),
            None => bare.into_owned(),
        }
    }

    /// The address the table holds (nm's value: ARM's Thumb bit cleared).
    pub fn addr(&self) -> u64 {
        self.symbol.value
    }

    /// The nm type letter the table records with the name.
    pub fn letter(&self) -> u8 {
        self.symbol.letter
    }

    /// True when the entry is called exactly `name`.
    fn is_named(&self, name: &[u8]) -> bool {
        match self.file {
            None => self.symbol.name == name,
            Some(file) => {
                name.len() == file.len() + 1 + self.symbol.name.len()
                    && name.starts_with(file)
                    && name[file.len()] == b'#'
                    && name.ends_with(self.symbol.name)
            }
        }
    }
}

/// The hypervisor's runtime symbol table, over a parsed image.
pub struct RuntimeTable<'data> {
    elf: ElfFile<'data>,
    options: RuntimeOptions,
    index: OnceCell<Index>,
}

/// Which symbols are in the table, and a name index over them.
struct Index {
    /// In symbol-table order.
    entries: Vec<Entry>,
    /// (hash of the bare name, entry), sorted.
    names: Vec<(u64, u32)>,
}

#[derive(Clone, Copy)]
struct Entry {
    /// Index of the symbol in `.symtab`.
    symbol: u32,
    /// Index of the file symbol that prefixes its name, or [`NO_FILE`].
    file: u32,
}

const NO_FILE: u32 = 0;

/// The bounds `xen/tools/symbols` records (and keeps whatever their letter).
const BOUNDS: [&[u8]; 6] = [
    b"_stext",
    b"_etext",
    b"_sinittext",
    b"_einittext",
    b"_sextratext",
    b"_eextratext",
];

/// The longest name the tool's `%499[^ |]` conversion reads whole.
const MAX_NAME: usize = 499;

impl<'data> RuntimeTable<'data> {
    /// The table of a hypervisor built with CONFIG_LIVEPATCH.
    pub fn new(elf: ElfFile<'data>) -> Self {
        Self::with_options(elf, RuntimeOptions::default())
    }

    /// The table `xen/tools/symbols` builds with `options`.
    pub fn with_options(elf: ElfFile<'data>, options: RuntimeOptions) -> Self {
        RuntimeTable {
            elf,
            options,
            index: OnceCell::new(),
        }
    }

    /// The image the table was built from.
    pub fn elf(&self) -> &ElfFile<'data> {
        &self.elf
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index().entries.len()
    }

    /// True when no symbol made it into the table.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, in symbol-table order.
    pub fn iter(&self) -> impl Iterator<Item = RuntimeSymbol<'data>> + '_ {
        self.index().entries.iter().filter_map(|&e| self.entry(e))
    }

    /// `symbols_lookup_by_name`: the entry called exactly `name`.
    ///
    /// When several entries share the name (Xen's build only warns about
    /// that, unless CONFIG_ENFORCE_UNIQUE_SYMBOLS), the one at the lowest
    /// address, a global before a local, is returned: the one Xen's linear
    /// search finds; its binary search (CONFIG_FAST_SYMBOL_LOOKUP) may land
    /// on any of them. An empty name is never found, as in Xen.
    pub fn lookup(&self, name: &str) -> Option<RuntimeSymbol<'data>> {
        let name = name.as_bytes();
        if name.is_empty() {
            return None;
        }
        // The bare name is `name` itself, or what follows one of its `#`.
        let bares = std::iter::once(name).chain(
            name.iter()
                .enumerate()
                .filter(|&(_, &c)| c == b'#')
                .map(|(i, _)| &name[i + 1..]),
        );
        let names = &self.index().names;
        let mut best: Option<RuntimeSymbol<'data>> = None;
        for bare in bares {
            let h = name_hash(bare);
            let start = names.partition_point(|&(x, _)| x < h);
            for &(_, e) in names[start..].iter().take_while(|&&(x, _)| x == h) {
                let Some(s) = self.entry(self.index().entries[e as usize]) else {
                    continue;
                };
                if s.is_named(name) && best.is_none_or(|b| rank(&s) < rank(&b)) {
                    best = Some(s);
                }
            }
        }
        best
    }

    /// The entry made from the `.symtab` symbol at `index`, if there is one.
    pub fn by_symbol_index(&self, index: u32) -> Option<RuntimeSymbol<'data>> {
        let entries = &self.index().entries;
        let i = entries.binary_search_by_key(&index, |e| e.symbol).ok()?;
        self.entry(entries[i])
    }

    fn entry(&self, e: Entry) -> Option<RuntimeSymbol<'data>> {
        let symbol = self.elf.symbol(e.symbol as usize)?;
        let file = match e.file {
            NO_FILE => None,
            f => Some(self.elf.symbol(f as usize)?.name),
        };
        Some(RuntimeSymbol { symbol, file })
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| self.build())
    }

    /// One pass over the symbols, as the tool reads nm's lines.
    fn build(&self) -> Index {
        // (entry, hash of its bare name), in symbol-table order.
        let mut kept: Vec<(Entry, u64)> = Vec::with_capacity(self.elf.symbol_count());
        let mut file = NO_FILE;
        let mut file_compiled = false;
        let mut bounds = [None; 6];
        for s in self.elf.symbols() {
            if !s.is_defined()
                || s.name.is_empty()
                || s.name.len() > MAX_NAME
                || s.name.iter().any(|&c| c == b' ' || c == b'|')
                || self.elf.is_special(&s)
            {
                continue;
            }
            if s.kind == STT_FILE {
                file = s.index;
                file_compiled = contains(s.name, b"_compiled.");
                continue;
            }
            let bound = BOUNDS.iter().position(|&b| b == s.name);
            if let Some(i) = bound {
                bounds[i] = Some(s.value);
            } else {
                let dropped = match s.letter.to_ascii_uppercase() {
                    b'A' => s.name != b"__gp",
                    b'U' | b'N' => true,
                    _ => s.name[0] == b'$',
                };
                if dropped {
                    continue;
                }
            }
            let prefixed = s.letter.is_ascii_lowercase() && file != NO_FILE;
            // The tool drops names with `_compiled.` in them, prefix included.
            if contains(s.name, b"_compiled.") || (prefixed && file_compiled) {
                continue;
            }
            let entry = Entry {
                symbol: s.index,
                file: if prefixed { file } else { NO_FILE },
            };
            kept.push((entry, name_hash(s.name)));
        }
        if !self.options.all_symbols {
            kept.retain(|&(e, _)| self.in_text(e, &bounds));
        }
        let mut names: Vec<(u64, u32)> = kept
            .iter()
            .enumerate()
            .map(|(i, &(_, h))| (h, i as u32))
            .collect();
        names.sort_unstable();
        let entries = kept.into_iter().map(|(e, _)| e).collect();
        Index { entries, names }
    }

    /// Without `--all-symbols`, the tool keeps the symbols inside the text
    /// bounds (inclusive), but drops those at an end bound other than the
    /// bound itself, which may move between the link passes.
    fn in_text(&self, e: Entry, bounds: &[Option<u64>; 6]) -> bool {
        let Some(s) = self.elf.symbol(e.symbol as usize) else {
            return false;
        };
        let b = |i: usize| bounds[i].unwrap_or(0);
        let addr = s.value;
        let inside = [(0, 1), (2, 3), (4, 5)]
            .iter()
            .any(|&(lo, hi)| addr >= b(lo) && addr <= b(hi));
        if !inside {
            return false;
        }
        // The full name is compared, so a local is never the bound itself.
        let full_is = |bound: &[u8]| e.file == NO_FILE && s.name == bound;
        ![1, 3, 5]
            .iter()
            .any(|&i| addr == b(i) && !full_is(BOUNDS[i]))
    }
}

/// Lookup preference among entries of the same name.
fn rank(s: &RuntimeSymbol<'_>) -> (u64, bool, u32) {
    (
        s.addr(),
        !s.symbol.letter.is_ascii_uppercase(),
        s.symbol.index,
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
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
