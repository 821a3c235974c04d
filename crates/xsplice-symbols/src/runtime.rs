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
//! from the file, as images can have a million symbols; the same pass
//! indexes the image's functions by address, which the validator needs for
//! `old_addr`.

use std::cell::OnceCell;

use object::elf::{STT_FILE, STT_FUNC, STT_GNU_IFUNC};

use crate::elf::{ElfFile, Symbol, SymbolSection};

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

/// Both indexes, built in one pass over the symbols.
struct Index {
    /// The table's entries by the hash of their bare name, sorted.
    names: Vec<Keyed>,
    /// Every function symbol of the image (in the table or not) by
    /// address, sorted.
    functions: Vec<Keyed>,
}

/// A symbol under a sort key, with the file that prefixes its name.
#[derive(Clone, Copy)]
struct Keyed {
    key: u64,
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
        self.index().names.len()
    }

    /// True when no symbol made it into the table.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, in symbol-table order.
    pub fn iter(&self) -> impl Iterator<Item = RuntimeSymbol<'data>> + '_ {
        let mut order = self.index().names.clone();
        order.sort_unstable_by_key(|k| k.symbol);
        order.into_iter().filter_map(|k| self.entry(k))
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
            let start = names.partition_point(|k| k.key < h);
            for &k in names[start..].iter().take_while(|k| k.key == h) {
                let Some(s) = self.entry(k) else { continue };
                if s.is_named(name) && best.is_none_or(|b| rank(&s) < rank(&b)) {
                    best = Some(s);
                }
            }
        }
        best
    }

    /// The function symbols of the image (`STT_FUNC` or `STT_GNU_IFUNC`, in
    /// a section) that start at `addr`, whether the table has them or not,
    /// named the way the table names a symbol of their letter and place.
    pub fn functions_at(&self, addr: u64) -> impl Iterator<Item = RuntimeSymbol<'data>> + '_ {
        let functions = &self.index().functions;
        let start = functions.partition_point(|k| k.key < addr);
        functions[start..]
            .iter()
            .take_while(move |k| k.key == addr)
            .filter_map(|&k| self.entry(k))
    }

    fn entry(&self, k: Keyed) -> Option<RuntimeSymbol<'data>> {
        let symbol = self.elf.symbol(k.symbol as usize)?;
        let file = match k.file {
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
        let mut names: Vec<Keyed> = Vec::with_capacity(self.elf.symbol_count());
        let mut functions: Vec<Keyed> = Vec::new();
        let mut file = NO_FILE;
        let mut file_compiled = false;
        let mut bounds = [None; 6];
        for s in self.elf.symbols() {
            let prefix = if s.letter.is_ascii_lowercase() {
                file
            } else {
                NO_FILE
            };
            if matches!(s.section, SymbolSection::Section(_))
                && (s.kind == STT_FUNC.0 || s.kind == STT_GNU_IFUNC.0)
            {
                functions.push(Keyed {
                    key: s.value,
                    symbol: s.index,
                    file: prefix,
                });
            }
            if !s.is_defined() || s.name.is_empty() || s.name.len() > MAX_NAME {
                continue;
            }
            let scanned = scan(s.name);
            if scanned.unreadable || self.elf.is_special(&s) {
                continue;
            }
            if s.kind == STT_FILE.0 {
                file = s.index;
                file_compiled = scanned.compiled;
                continue;
            }
            if let Some(i) = BOUNDS.iter().position(|&b| b == s.name) {
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
            // The tool drops names with `_compiled.` in them, prefix included.
            if scanned.compiled || (prefix != NO_FILE && file_compiled) {
                continue;
            }
            names.push(Keyed {
                key: scanned.hash,
                symbol: s.index,
                file: prefix,
            });
        }
        if !self.options.all_symbols {
            names.retain(|&k| self.in_text(k, &bounds));
        }
        names.sort_unstable_by_key(|k| (k.key, k.symbol));
        // Images are usually in address order already.
        if !functions.is_sorted_by_key(|k| k.key) {
            functions.sort_unstable_by_key(|k| (k.key, k.symbol));
        }
        Index { names, functions }
    }

    /// Without `--all-symbols`, the tool keeps the symbols inside the text
    /// bounds (inclusive), but drops those at an end bound other than the
    /// bound itself, which may move between the link passes.
    fn in_text(&self, k: Keyed, bounds: &[Option<u64>; 6]) -> bool {
        let Some(s) = self.elf.symbol(k.symbol as usize) else {
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
        let full_is = |bound: &[u8]| k.file == NO_FILE && s.name == bound;
        ![1, 3, 5]
            .iter()
            .any(|&i| addr == b(i) && !full_is(BOUNDS[i]))
    }
}

/// What the table needs to know of a name, from one pass over its bytes.
struct Scan {
    /// [`name_hash`] of the name.
    hash: u64,
    /// It holds a byte that stops the tool's parser (a space or `|`).
    unreadable: bool,
    /// It contains `_compiled.`.
    compiled: bool,
}

/// Every name of a million-symbol image goes through here, so it looks at
/// eight bytes at a time, the words [`name_hash`] hashes; a `.` is rare, so
/// the search for `_compiled.` runs only on names that have one.
fn scan(name: &[u8]) -> Scan {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // True when a byte of `word` is `c` (zero padding never matches).
    let has = |word: u64, c: u8| {
        let v = word ^ (ONES * u64::from(c));
        v.wrapping_sub(ONES) & !v & HIGH != 0
    };
    let mut unreadable = false;
    let mut dot = false;
    let hash = hash_words(name, |word| {
        unreadable |= has(word, b' ') | has(word, b'|');
        dot |= has(word, b'.');
    });
    let compiled = dot
        && name
            .iter()
            .enumerate()
            .any(|(i, &c)| c == b'.' && name[..i].ends_with(b"_compiled"));
    Scan {
        hash,
        unreadable,
        compiled,
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

/// FxHash-style hash of a name: fast on the short names of symbol tables,
/// and collisions only cost a name comparison.
fn name_hash(name: &[u8]) -> u64 {
    hash_words(name, |_| {})
}

/// [`name_hash`], showing `each` every little-endian word it hashes (the
/// last one zero-padded).
fn hash_words(name: &[u8], mut each: impl FnMut(u64)) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        each(w);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    // Assembled byte by byte: a copy into a padded buffer costs a memcpy
    // call per name.
    let w = chunks
        .remainder()
        .iter()
        .rev()
        .fold(0u64, |w, &b| (w << 8) | u64::from(b));
    each(w);
    (h.rotate_left(5) ^ w).wrapping_mul(K)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scan` against the byte-by-byte definition, for every position of
    /// the interesting bytes in and across the eight-byte words.
    fn check(name: &[u8]) {
        let s = scan(name);
        let compiled = name.windows(10).any(|w| w == b"_compiled.");
        assert_eq!(s.hash, name_hash(name), "{name:?}");
        assert_eq!(
            s.unreadable,
            name.iter().any(|&c| c == b' ' || c == b'|'),
            "{name:?}"
        );
        assert_eq!(s.compiled, compiled, "{name:?}");
    }

    #[test]
    fn scan_finds_what_stops_the_tool() {
        for len in 1..=24 {
            let base = vec![b'a'; len];
            check(&base);
            for i in 0..len {
                for c in [b' ', b'|', b'.', 0x20 ^ 0x80, 0xa0] {
                    let mut name = base.clone();
                    name[i] = c;
                    check(&name);
                }
            }
        }
        for at in 0..12 {
            let mut name = vec![b'x'; at];
            name.extend_from_slice(b"_compiled.3");
            check(&name);
            check(&name[..name.len() - 2]);
        }
    }

    #[test]
    fn the_hash_sees_every_byte() {
        let names: [&[u8]; 6] = [b"", b"a", b"a\0", b"abcdefgh", b"abcdefgh\0", b"abcdefghi"];
        let mut hashes: Vec<u64> = names.iter().map(|n| name_hash(n)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), names.len());
    }
}
