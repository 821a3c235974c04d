//! One `xsplice-nm` command line: GNU nm's precedence between options, the
//! default input, `--lookup`, and the exit status.
//!
//! The binary parses arguments and maps the files; every decision about
//! what they mean is made here, where unit tests reach it, so the binary
//! cannot drift from the library's idea of GNU nm.

use std::io::{self, Write};

use crate::ElfFile;
use crate::nm::{self, Field, Format, Input, Options, Sort};

/// The file GNU nm reads when none is named.
pub const DEFAULT_INPUT: &str = "a.out";

/// The flags of one command line as given, before GNU nm's precedence
/// rules (see [`Flags::options`]).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `-a`.
    pub debug_syms: bool,
    /// `--defined-only`.
    pub defined_only: bool,
    /// `-u`.
    pub undefined_only: bool,
    /// `-g`.
    pub extern_only: bool,
    /// `-S`.
    pub print_size: bool,
    /// `-p`.
    pub no_sort: bool,
    /// `-n`.
    pub numeric_sort: bool,
    /// `-r`.
    pub reverse_sort: bool,
    /// `--format`.
    pub format: Format,
    /// `-P`.
    pub portability: bool,
    /// `--special-syms`.
    pub special_syms: bool,
    /// `--lookup NAME`: print one symbol's address or size instead of a
    /// listing.
    pub lookup: Option<String>,
    /// `--field`: what `--lookup` prints.
    pub field: Field,
}

impl Flags {
    /// The listing options, read as GNU nm reads its flags: `-P` is
    /// `--format=posix` whatever `--format` says, and `-p` wins over `-n`.
    pub fn options(&self) -> Options {
        Options {
            format: if self.portability {
                Format::Posix
            } else {
                self.format
            },
            sort: if self.no_sort {
                Sort::None
            } else if self.numeric_sort {
                Sort::Numeric
            } else {
                Sort::Name
            },
            reverse: self.reverse_sort,
            defined_only: self.defined_only,
            undefined_only: self.undefined_only,
            extern_only: self.extern_only,
            debug_syms: self.debug_syms,
            print_size: self.print_size,
            special_syms: self.special_syms,
        }
    }
}

/// The files to read: the ones named, or [`DEFAULT_INPUT`].
pub fn input_names(files: Vec<String>) -> Vec<String> {
    if files.is_empty() {
        vec![DEFAULT_INPUT.to_owned()]
    } else {
        files
    }
}

/// Runs one command line over its inputs, which the caller has read, and
/// returns the exit status.
///
/// A listing exits with GNU nm's status: the number of inputs that could
/// not be read or were not recognised (at most 255). `--lookup` takes
/// exactly one input and exits 0 when the symbol is found, 1 when it is
/// not found, only undefined or ambiguous, and 2 when the input cannot be
/// read or is not ELF. Writing output that fails exits 2 with a message on
/// `err`, except a closed pipe (`xsplice-nm ... | head`), which is success.
pub fn run(flags: &Flags, inputs: &[Input<'_>], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let status = match &flags.lookup {
        Some(name) => lookup(inputs, name, flags.field, out, err),
        None => nm::render(inputs, &flags.options(), out, err)
            .map(|failed| u8::try_from(failed.clamp(0, 255)).unwrap_or(u8::MAX)),
    };
    match status.and_then(|status| out.flush().map(|()| status)) {
        Ok(status) => status,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let _ = writeln!(err, "xsplice-nm: write error: {e}");
            2
        }
    }
}

/// `--lookup`: the status, or the error writing to `out` or `err`.
fn lookup(
    inputs: &[Input<'_>],
    name: &str,
    field: Field,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let [input] = inputs else {
        writeln!(err, "xsplice-nm: --lookup takes exactly one file")?;
        return Ok(2);
    };
    let data = match &input.data {
        Ok(data) => *data,
        Err(e) => {
            writeln!(err, "xsplice-nm: {}: {e}", input.name)?;
            return Ok(2);
        }
    };
    let elf = match ElfFile::parse(data) {
        Ok(elf) => elf,
        Err(e) => {
            writeln!(err, "xsplice-nm: {}: {e}", input.name)?;
            return Ok(2);
        }
    };
    match nm::lookup_line(&elf, name, field) {
        Ok(line) => {
            out.write_all(line.as_bytes())?;
            Ok(0)
        }
        Err(e) => {
            writeln!(err, "xsplice-nm: {}: {e}", input.name)?;
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use object::write::{Object, StandardSection, Symbol, SymbolSection};
    use object::{Architecture, BinaryFormat, Endianness, SymbolFlags, SymbolKind, SymbolScope};

    use super::*;
    use crate::nm::InputError;

    /// An x86-64 object defining `answer` (8 bytes at offset 0x10 of
    /// `.data`) and referring to `elsewhere`.
    fn object_file() -> Vec<u8> {
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let data = obj.section_id(StandardSection::Data);
        obj.append_section_data(data, &[0; 0x18], 8);
        for (name, section, value, size) in [
            ("answer", SymbolSection::Section(data), 0x10, 8),
            ("elsewhere", SymbolSection::Undefined, 0, 0),
        ] {
            obj.add_symbol(Symbol {
                name: name.as_bytes().to_vec(),
                value,
                size,
                kind: SymbolKind::Data,
                scope: SymbolScope::Linkage,
                weak: false,
                section,
                flags: SymbolFlags::None,
            });
        }
        obj.write().expect("write object")
    }

    /// Runs `flags` over `inputs`; checks the status and what was written.
    fn check(flags: &Flags, inputs: &[Input<'_>], status: u8, stdout: &str, stderr: &str) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let got = run(flags, inputs, &mut out, &mut err);
        let (out, err) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
        assert_eq!((got, &*out, &*err), (status, stdout, stderr), "{flags:?}");
    }

    fn lookup(name: &str, field: Field) -> Flags {
        Flags {
            lookup: Some(name.to_owned()),
            field,
            ..Flags::default()
        }
    }

    #[test]
    fn options_follow_gnu_precedence() {
        let o = Flags::default().options();
        assert_eq!(
            (o.format, o.sort, o.reverse),
            (Format::Bsd, Sort::Name, false)
        );
        let posix = Flags {
            format: Format::Json,
            portability: true,
            ..Flags::default()
        };
        assert_eq!(posix.options().format, Format::Posix);
        let sysv = Flags {
            format: Format::Sysv,
            ..Flags::default()
        };
        assert_eq!(sysv.options().format, Format::Sysv);
        let both_sorts = Flags {
            no_sort: true,
            numeric_sort: true,
            ..Flags::default()
        };
        assert_eq!(both_sorts.options().sort, Sort::None);
        let numeric = Flags {
            numeric_sort: true,
            reverse_sort: true,
            ..Flags::default()
        };
        assert_eq!(
            (numeric.options().sort, numeric.options().reverse),
            (Sort::Numeric, true)
        );
        let filters = Flags {
            debug_syms: true,
            defined_only: true,
            undefined_only: true,
            extern_only: true,
            print_size: true,
            special_syms: true,
            ..Flags::default()
        }
        .options();
        assert!(
            filters.debug_syms
                && filters.defined_only
                && filters.undefined_only
                && filters.extern_only
                && filters.print_size
                && filters.special_syms
        );
    }

    #[test]
    fn default_input_is_a_out() {
        assert_eq!(input_names(Vec::new()), ["a.out"]);
        assert_eq!(
            input_names(vec!["x.o".into(), "y.o".into()]),
            ["x.o", "y.o"]
        );
    }

    #[test]
    fn listing_status_counts_unreadable_files() {
        let bytes = object_file();
        let good = Input {
            name: "good.o",
            data: Ok(&bytes),
        };
        let missing = Input {
            name: "missing.o",
            data: Err(InputError::Missing),
        };
        let defined = Flags {
            defined_only: true,
            ..Flags::default()
        };
        check(&defined, &[good], 0, "0000000000000010 D answer\n", "");
        let good = Input {
            name: "good.o",
            data: Ok(&bytes),
        };
        check(
            &defined,
            &[missing, good],
            1,
            "\ngood.o:\n0000000000000010 D answer\n",
            "nm: 'missing.o': No such file\n",
        );
    }

    #[test]
    fn lookup_statuses() {
        let bytes = object_file();
        let one = |data| [Input { name: "f.o", data }];
        check(
            &lookup("answer", Field::Addr),
            &one(Ok(&bytes)),
            0,
            "0x0000000000000010\n",
            "",
        );
        check(
            &lookup("answer", Field::Size),
            &one(Ok(&bytes)),
            0,
            "0x0000000000000008\n",
            "",
        );
        check(
            &lookup("nowhere", Field::Addr),
            &one(Ok(&bytes)),
            1,
            "",
            "xsplice-nm: f.o: symbol `nowhere` not found\n",
        );
        check(
            &lookup("elsewhere", Field::Addr),
            &one(Ok(&bytes)),
            1,
            "",
            "xsplice-nm: f.o: symbol `elsewhere` is undefined\n",
        );
        check(
            &lookup("answer", Field::Addr),
            &one(Err(InputError::Directory)),
            2,
            "",
            "xsplice-nm: f.o: is a directory\n",
        );
        check(
            &lookup("answer", Field::Addr),
            &one(Ok(b"text")),
            2,
            "",
            "xsplice-nm: f.o: file format not recognized\n",
        );
        let two = [
            Input {
                name: "a.o",
                data: Ok(&bytes[..]),
            },
            Input {
                name: "b.o",
                data: Ok(&bytes[..]),
            },
        ];
        check(
            &lookup("answer", Field::Addr),
            &two,
            2,
            "",
            "xsplice-nm: --lookup takes exactly one file\n",
        );
    }

    /// A writer that fails with `kind` on every write.
    struct Failing(io::ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(self.0.into())
        }
    }

    #[test]
    fn write_errors_exit_2_and_a_closed_pipe_is_success() {
        let bytes = object_file();
        for flags in [Flags::default(), lookup("answer", Field::Addr)] {
            let input = [Input {
                name: "f.o",
                data: Ok(&bytes),
            }];
            let mut err = Vec::new();
            let status = run(
                &flags,
                &input,
                &mut Failing(io::ErrorKind::BrokenPipe),
                &mut err,
            );
            assert_eq!((status, err.len()), (0, 0), "{flags:?}");
            let status = run(&flags, &input, &mut Failing(io::ErrorKind::Other), &mut err);
            assert_eq!(status, 2, "{flags:?}");
            assert!(
                String::from_utf8_lossy(&err).starts_with("xsplice-nm: write error: "),
                "{flags:?}: {}",
                String::from_utf8_lossy(&err)
            );
        }
    }
}
