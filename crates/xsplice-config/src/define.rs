//! `--define NAME=KIND:FILE:SYMBOL`: what one macro is computed from.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use xsplice_abi::func::EXPECT_MAX_LEN;

use crate::ConfigError;

/// What to take from the symbol (or file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The symbol's address, as `nm` prints it.
    Addr,
    /// The symbol's size (`nm -S`), which must be non-zero.
    Size,
    /// The first N bytes at the symbol (1..=31), as `{0x..,...}`.
    Expect(u64),
    /// The file's GNU build-id, as `{0x..,...}`; takes no symbol.
    BuildId,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Addr => f.write_str("addr"),
            Kind::Size => f.write_str("size"),
            Kind::Expect(n) => write!(f, "expect:{n}"),
            Kind::BuildId => f.write_str("build-id"),
        }
    }
}

/// One macro computed from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    /// The C macro name.
    pub name: String,
    pub kind: Kind,
    pub file: PathBuf,
    /// Exact symbol name, `file#name` for a static; empty for `build-id`.
    pub symbol: String,
}

fn is_c_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
}

impl FromStr for Define {
    type Err = ConfigError;

    /// `NAME=addr:FILE:SYMBOL`, `NAME=size:FILE:SYMBOL`,
    /// `NAME=expect:N:FILE:SYMBOL` or `NAME=build-id:FILE`. The symbol is
    /// what follows the last `:`, so FILE may contain colons.
    fn from_str(text: &str) -> Result<Define, ConfigError> {
        let bad = |why: &str| ConfigError::BadDefine {
            text: text.to_string(),
            why: why.to_string(),
        };
        let (name, spec) = text
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=KIND:FILE:SYMBOL"))?;
        if !is_c_identifier(name) {
            return Err(bad("NAME must be a C identifier"));
        }
        let (kind_word, rest) = spec
            .split_once(':')
            .ok_or_else(|| bad("expected KIND:FILE:SYMBOL after `=`"))?;
        let (kind, rest) = match kind_word {
            "addr" => (Kind::Addr, rest),
            "size" => (Kind::Size, rest),
            "build-id" => (Kind::BuildId, rest),
            "expect" => {
                let (n, rest) = rest
                    .split_once(':')
                    .ok_or_else(|| bad("expected expect:N:FILE:SYMBOL"))?;
                let n: u64 = n
                    .parse()
                    .map_err(|_| bad("N of expect:N must be a number"))?;
                if n == 0 || n > EXPECT_MAX_LEN as u64 {
                    return Err(bad(&format!("N of expect:N must be 1 to {EXPECT_MAX_LEN}")));
                }
                (Kind::Expect(n), rest)
            }
            _ => return Err(bad("KIND must be addr, size, expect:N or build-id")),
        };
        let (file, symbol) = if kind == Kind::BuildId {
            (rest, "")
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| bad("expected FILE:SYMBOL"))?
        };
        if file.is_empty() {
            return Err(bad("FILE is empty"));
        }
        if kind != Kind::BuildId && symbol.is_empty() {
            return Err(bad("SYMBOL is empty"));
        }
        Ok(Define {
            name: name.to_string(),
            kind,
            file: PathBuf::from(file),
            symbol: symbol.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        let got = match text.parse::<Define>() {
            Ok(d) => format!("{} {} {} {}", d.name, d.kind, d.file.display(), d.symbol),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{text}");
    }

    #[test]
    fn parsing() {
        check(
            "OLD=addr:xen-syms:xen_extra_version",
            "OLD addr xen-syms xen_extra_version",
        );
        check(
            "SZ=size:a:b.o:version.c#emit",
            "SZ size a:b.o version.c#emit",
        );
        check("E=expect:8:xen-syms:f", "E expect:8 xen-syms f");
        check(
            "ID=build-id:dir:with:colons/xen-syms",
            "ID build-id dir:with:colons/xen-syms ",
        );
        check(
            "1X=addr:f:s",
            "bad --define `1X=addr:f:s`: NAME must be a C identifier",
        );
        check("X", "bad --define `X`: expected NAME=KIND:FILE:SYMBOL");
        check(
            "X=addr",
            "bad --define `X=addr`: expected KIND:FILE:SYMBOL after `=`",
        );
        check("X=addr:f", "bad --define `X=addr:f`: expected FILE:SYMBOL");
        check("X=addr:f:", "bad --define `X=addr:f:`: SYMBOL is empty");
        check("X=addr::s", "bad --define `X=addr::s`: FILE is empty");
        check(
            "X=offset:f:s",
            "bad --define `X=offset:f:s`: KIND must be addr, size, expect:N or build-id",
        );
        check(
            "X=expect:32:f:s",
            "bad --define `X=expect:32:f:s`: N of expect:N must be 1 to 31",
        );
        check(
            "X=expect:0:f:s",
            "bad --define `X=expect:0:f:s`: N of expect:N must be 1 to 31",
        );
        check(
            "X=expect:x:f:s",
            "bad --define `X=expect:x:f:s`: N of expect:N must be a number",
        );
        check("X=build-id:", "bad --define `X=build-id:`: FILE is empty");
    }
}
