//! Computing the values and writing them as a C header or JSON.
//!
//! Header lines are exactly what the Makefile recipes echo when the symbol
//! is found: `#define NAME 0x` plus nm's zero-padded hex (16 digits for
//! ELF64, 8 for ELF32) for addresses and sizes, and `{0x48,0x8d,...}` for
//! byte lists, as today's `EXPECT_BYTES`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Serialize;
use xsplice_symbols::{ElfFile, Error as SymError};

use crate::{ConfigError, Files, Item, Kind};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `#define NAME VALUE` lines.
    Header,
    /// A JSON array of the same values.
    Json,
}

/// One computed macro.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Value {
    pub name: String,
    /// `addr`, `size`, `expect:N`, `build-id`, or `literal`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The text after the macro name in the header.
    pub value: String,
    /// Addresses and sizes as a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// Expectation and build-id bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
}

/// `{0x48,0x8d,...}`: the byte-list form of today's `EXPECT_BYTES`.
pub fn byte_list(bytes: &[u8]) -> String {
    let inner: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
    format!("{{{}}}", inner.join(","))
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Computes every item. `files` holds the contents of every file the items
/// name. Fails on the first item that cannot be computed exactly.
pub fn evaluate(items: &[Item], files: &Files<'_>) -> Result<Vec<Value>, ConfigError> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item.name()) {
            return Err(ConfigError::DuplicateName {
                name: item.name().to_string(),
            });
        }
    }
    let mut parsed: BTreeMap<&Path, ElfFile<'_>> = BTreeMap::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let define = match item {
            Item::Literal { name, value } => {
                out.push(Value {
                    name: name.clone(),
                    kind: "literal".to_string(),
                    file: None,
                    symbol: None,
                    value: value.clone(),
                    number: None,
                    bytes: None,
                });
                continue;
            }
            Item::Lookup(d) => d,
        };
        let file = shown(&define.file);
        if !parsed.contains_key(define.file.as_path()) {
            let data = files
                .get(&define.file)
                .ok_or_else(|| ConfigError::FileNotRead { file: file.clone() })?;
            let elf = ElfFile::parse(data).map_err(|e| ConfigError::NotElf {
                file: file.clone(),
                why: e.to_string(),
            })?;
            parsed.insert(define.file.as_path(), elf);
        }
        let elf = &parsed[define.file.as_path()];
        let name = define.name.clone();
        let symbol = define.symbol.clone();
        let sym_err = |e: SymError| match e {
            SymError::NotFound { .. } => ConfigError::NotFound {
                name: name.clone(),
                symbol: symbol.clone(),
                file: file.clone(),
            },
            SymError::Undefined { .. } => ConfigError::Undefined {
                name: name.clone(),
                symbol: symbol.clone(),
                file: file.clone(),
            },
            SymError::Ambiguous { candidates, .. } => ConfigError::Ambiguous {
                name: name.clone(),
                symbol: symbol.clone(),
                file: file.clone(),
                candidates,
            },
            // The symbol's own size is checked before reading (below).
            SymError::BytesOutOfRange { want, have, .. } => ConfigError::ExpectPastSection {
                name: name.clone(),
                symbol: symbol.clone(),
                file: file.clone(),
                n: want,
                left: have,
            },
            SymError::NoBytes { why, .. } => ConfigError::NoBytes {
                name: name.clone(),
                symbol: symbol.clone(),
                file: file.clone(),
                why,
            },
            other => ConfigError::SymbolTable {
                name: name.clone(),
                file: file.clone(),
                why: other.to_string(),
            },
        };
        let width = elf.class().hex_width();
        let (value, number, bytes) = match define.kind {
            Kind::Addr => {
                let sym = elf.lookup(&define.symbol).map_err(sym_err)?;
                (format!("0x{:0width$x}", sym.value), Some(sym.value), None)
            }
            Kind::Size => {
                let sym = elf.lookup(&define.symbol).map_err(sym_err)?;
                if sym.size == 0 {
                    return Err(ConfigError::ZeroSize { name, symbol, file });
                }
                (format!("0x{:0width$x}", sym.size), Some(sym.size), None)
            }
            Kind::Expect(n) => {
                let sym = elf.lookup(&define.symbol).map_err(sym_err)?;
                if n > sym.size {
                    return Err(ConfigError::ExpectPastSymbol {
                        name,
                        symbol,
                        file,
                        n,
                        size: sym.size,
                    });
                }
                let bytes = elf.symbol_bytes(&sym, n).map_err(sym_err)?;
                (byte_list(bytes), None, Some(bytes.to_vec()))
            }
            Kind::BuildId => {
                let id = elf.build_id().ok_or_else(|| ConfigError::NoBuildId {
                    name: name.clone(),
                    file: file.clone(),
                })?;
                (byte_list(id), None, Some(id.to_vec()))
            }
        };
        let has_symbol = define.kind != Kind::BuildId;
        out.push(Value {
            name: define.name.clone(),
            kind: define.kind.to_string(),
            file: Some(file),
            symbol: has_symbol.then(|| define.symbol.clone()),
            value,
            number,
            bytes,
        });
    }
    Ok(out)
}

/// The output file's bytes.
pub fn render(values: &[Value], format: Format) -> Vec<u8> {
    match format {
        Format::Header => values
            .iter()
            .map(|v| format!("#define {} {}\n", v.name, v.value))
            .collect::<String>()
            .into_bytes(),
        // One value per line: short enough to read, easy to diff.
        Format::Json => {
            let lines: Vec<String> = values
                .iter()
                .map(|v| format!("  {}", serde_json::to_string(v).expect("values serialise")))
                .collect();
            format!("[\n{}\n]\n", lines.join(",\n")).into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_lists() {
        assert_eq!(
            byte_list(&[0x48, 0x8d, 0x05, 0x00]),
            "{0x48,0x8d,0x05,0x00}"
        );
        assert_eq!(byte_list(&[0xff]), "{0xff}");
    }

    #[test]
    fn header_lines() {
        let v = Value {
            name: "OLD_CODE".into(),
            kind: "addr".into(),
            file: None,
            symbol: None,
            value: "0x0000000000001234".into(),
            number: Some(0x1234),
            bytes: None,
        };
        assert_eq!(
            render(&[v], Format::Header),
            b"#define OLD_CODE 0x0000000000001234\n"
        );
    }
}
