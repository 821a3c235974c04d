//! Fuzz target: the symbol reader as `xsplice-nm`, `xsplice-config` and the
//! validator use it. Any bytes (an ELF32/64 file of either byte order, an
//! archive, a COFF object or PE image) are rendered as GNU nm would, looked
//! up by exact name and `file#name`, and read as Xen's runtime symbol
//! table; each must give output or an error, never a panic or a hang.
//!
//! The nm options come from the input's length, so that every layout and
//! filter is reached without a per-input cost a real run would not pay;
//! output goes to a sink.

#![no_main]

use std::io::sink;

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use xsplice_symbols::nm::{self, Field, Format, Input, Options, Sort};
use xsplice_symbols::{ElfFile, RuntimeTable};

/// The option sets build scripts and tests use (see `xsplice-nm --help`).
const OPTIONS: [Options; 8] = [
    Options {
        format: Format::Bsd,
        sort: Sort::Name,
        reverse: false,
        defined_only: true,
        undefined_only: false,
        extern_only: false,
        debug_syms: false,
        print_size: true,
        special_syms: false,
    },
    Options {
        format: Format::Bsd,
        sort: Sort::Name,
        reverse: false,
        defined_only: false,
        undefined_only: false,
        extern_only: false,
        debug_syms: false,
        print_size: false,
        special_syms: false,
    },
    Options {
        format: Format::Sysv,
        sort: Sort::None,
        reverse: false,
        defined_only: false,
        undefined_only: false,
        extern_only: false,
        debug_syms: true,
        print_size: false,
        special_syms: false,
    },
    Options {
        format: Format::Posix,
        sort: Sort::Numeric,
        reverse: true,
        defined_only: false,
        undefined_only: false,
        extern_only: false,
        debug_syms: true,
        print_size: true,
        special_syms: true,
    },
    Options {
        format: Format::Json,
        sort: Sort::Name,
        reverse: false,
        defined_only: false,
        undefined_only: false,
        extern_only: false,
        debug_syms: true,
        print_size: true,
        special_syms: false,
    },
    Options {
        format: Format::Bsd,
        sort: Sort::Numeric,
        reverse: false,
        defined_only: false,
        undefined_only: true,
        extern_only: false,
        debug_syms: false,
        print_size: false,
        special_syms: false,
    },
    Options {
        format: Format::Bsd,
        sort: Sort::Name,
        reverse: true,
        defined_only: false,
        undefined_only: false,
        extern_only: true,
        debug_syms: false,
        print_size: true,
        special_syms: false,
    },
    Options {
        format: Format::Sysv,
        sort: Sort::Numeric,
        reverse: false,
        defined_only: true,
        undefined_only: false,
        extern_only: false,
        debug_syms: true,
        print_size: true,
        special_syms: true,
    },
];

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    xsplice_fuzz::mutate(data, size, max_size, seed)
});

fuzz_target!(|data: &[u8]| {
    if data.len() > xsplice_fuzz::MAX_INPUT {
        return;
    }
    let opts = &OPTIONS[data.len() % OPTIONS.len()];
    let input = [Input {
        name: "fuzz.o",
        data: Ok(data),
    }];
    nm::render(&input, opts, &mut sink(), &mut sink()).unwrap();

    let Ok(elf) = ElfFile::parse(data) else {
        return;
    };
    // Look up names the file has, first and last, as `xsplice-config` does:
    // a global by name, a static by `file#name`.
    let first = elf.symbols().find(|s| s.is_defined() && !s.name.is_empty());
    let last = elf.symbols().filter(|s| !s.name.is_empty()).last();
    let _ = elf.build_id();
    for sym in [first, last].into_iter().flatten() {
        let Ok(name) = std::str::from_utf8(sym.name) else {
            continue;
        };
        let _ = nm::lookup_line(&elf, name, Field::Size);
        if let Ok(found) = elf.lookup(&sym.qualified_name()) {
            let _ = elf.symbol_bytes(&found, 16);
        }
    }
    let table = RuntimeTable::new(elf);
    if let Some(sym) = first
        && let Ok(name) = std::str::from_utf8(sym.name)
    {
        let _ = table.lookup(name);
        let _ = table.lookup(&sym.qualified_name());
        let _ = table.functions_at(sym.value).count();
    }
    let _ = table.iter().count();
});
