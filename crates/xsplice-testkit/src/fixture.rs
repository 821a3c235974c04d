//! Symbols of the small objects that tests write in memory with the
//! `object` crate, so that they need no compiler.
//!
//! Each fixture lists its symbols as one table row apiece; this is the one
//! place that turns such a row into an `object::write::Symbol`.

use object::write::{Object, SectionId, Symbol, SymbolId, SymbolSection};
use object::{SectionKind, SymbolFlags, SymbolKind, SymbolScope};

/// One symbol of a fixture: name, value, size, kind, scope, weak, section.
pub type FixtureSymbol<'a> = (
    &'a str,
    u64,
    u64,
    SymbolKind,
    SymbolScope,
    bool,
    SymbolSection,
);

/// Adds `symbols` to `obj` in order, without format-specific flags, and
/// returns their ids.
pub fn add_symbols(obj: &mut Object<'_>, symbols: &[FixtureSymbol<'_>]) -> Vec<SymbolId> {
    symbols
        .iter()
        .map(|&(name, value, size, kind, scope, weak, section)| {
            obj.add_symbol(Symbol {
                name: name.as_bytes().to_vec(),
                value,
                size,
                kind,
                scope,
                weak,
                section,
                flags: SymbolFlags::None,
            })
        })
        .collect()
}

/// Adds a `.note.gnu.build-id` section holding `id` as GNU's
/// `NT_GNU_BUILD_ID` note (little-endian, the descriptor padded to 4 bytes).
pub fn add_build_id_note(obj: &mut Object<'_>, id: &[u8]) -> SectionId {
    let note = obj.add_section(
        Vec::new(),
        b".note.gnu.build-id".to_vec(),
        SectionKind::Note,
    );
    let descsz = u32::try_from(id.len()).expect("a build-id of sane length");
    let mut bytes = Vec::new();
    for word in [4, descsz, 3] {
        bytes.extend_from_slice(&u32::to_le_bytes(word));
    }
    bytes.extend_from_slice(b"GNU\0");
    bytes.extend_from_slice(id);
    bytes.resize(bytes.len().next_multiple_of(4), 0);
    obj.append_section_data(note, &bytes, 4);
    note
}
