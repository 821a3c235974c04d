//! One `xsplice-link` command line: what its options mean, the order in
//! which they are checked, and the exit status.
//!
//! The binary parses arguments into a [`Command`] and supplies the file
//! access ([`Files`]: memory maps, the heap set-up, the atomic write);
//! [`run`] makes every decision, so that unit tests reach them and the
//! library still reads and writes no files itself.

use std::io::{self, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use xsplice_abi::{Abi, XenVersion};

use crate::{Emulation, Input, LinkError, LinkOptions, PayloadOptions};

/// One command line, as typed values.
#[derive(Clone, Debug, Default)]
pub struct Command {
    /// `-o OUT`.
    pub output: Option<PathBuf>,
    /// `-v`: print the version first (and only that, without inputs).
    pub print_version: bool,
    /// `-m EMULATION`.
    pub emulation: Option<Emulation>,
    /// `--build-id[=STYLE]`: `sha1` adds the note, `none` (or no option)
    /// adds none.
    pub build_id: Option<String>,
    /// `-S`.
    pub strip_debug: bool,
    /// `--abi`.
    pub abi: Option<Abi>,
    /// `--xen`.
    pub xen: Option<XenVersion>,
    /// `--depends FILE`.
    pub depends: Option<PathBuf>,
    /// `--xen-depends FILE`.
    pub xen_depends: Option<PathBuf>,
    /// `--modinfo KEY=VALUE`, in order.
    pub modinfo: Vec<String>,
    /// The input objects, in order.
    pub inputs: Vec<PathBuf>,
}

/// The file access a run needs, supplied by the caller.
pub trait Files {
    /// A file's bytes.
    type Data: Deref<Target = [u8]>;
    /// A file of which only a few pages are read (the image or payload a
    /// build-id note is copied from).
    fn read_sparse(&mut self, path: &Path) -> io::Result<Self::Data>;
    /// An input object, read whole.
    fn read_input(&mut self, path: &Path) -> io::Result<Self::Data>;
    /// Called once the inputs are read and before the link, with their
    /// total size.
    fn before_link(&mut self, input_bytes: u64);
    /// Writes the output whole or not at all.
    fn write_output(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()>;
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The inputs cannot be linked (or the payload options cannot be met).
    #[error(transparent)]
    Link(#[from] LinkError),
    /// No `-o`.
    #[error("no output file: give -o OUT")]
    NoOutput,
    /// A `--modinfo` without `=`.
    #[error("--modinfo takes KEY=VALUE")]
    Modinfo,
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The output could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// The version could not be printed.
    #[error("cannot print the version: {0}")]
    Print(io::Error),
}

impl CommandError {
    /// The exit status: 1 when the inputs cannot be linked, 2 for a usage
    /// or I/O error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Link(_) => 1,
            _ => 2,
        }
    }
}

impl Command {
    /// True when any payload option is given: without one the link is a
    /// plain `ld -r`.
    pub fn is_payload(&self) -> bool {
        self.abi.is_some()
            || self.xen.is_some()
            || self.depends.is_some()
            || self.xen_depends.is_some()
            || !self.modinfo.is_empty()
    }

    /// The `--modinfo` pairs, split at the first `=`.
    pub fn modinfo_pairs(&self) -> Result<Vec<(String, String)>, CommandError> {
        self.modinfo
            .iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or(CommandError::Modinfo)
            })
            .collect()
    }
}

/// Runs `cmd`: prints the version on `out` if asked, links the inputs and
/// writes the output, checking the options in GNU ld's order (no inputs
/// before no output: Xen's Makefile probes `$(LD) --build-id` and takes
/// the option as unsupported when the answer names it, which would build
/// Xen without live patching).
pub fn run<F: Files>(
    cmd: &Command,
    files: &mut F,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    if cmd.print_version {
        writeln!(out, "xsplice-link {}", env!("CARGO_PKG_VERSION")).map_err(CommandError::Print)?;
        if cmd.inputs.is_empty() {
            return Ok(());
        }
    }
    if cmd.inputs.is_empty() {
        return Err(LinkError::NoInputs.into());
    }
    let output = cmd.output.as_deref().ok_or(CommandError::NoOutput)?;
    let modinfo = cmd.modinfo_pairs()?;
    let mut note = |path: &Option<PathBuf>| -> Result<Option<Vec<u8>>, CommandError> {
        let Some(path) = path else {
            return Ok(None);
        };
        let data = files
            .read_sparse(path)
            .map_err(|source| CommandError::Read {
                path: path.clone(),
                source,
            })?;
        Ok(Some(crate::read_build_id_note(
            &path.display().to_string(),
            &data,
        )?))
    };
    let payload = PayloadOptions {
        abi: cmd.abi.unwrap_or(Abi::LivepatchV2),
        xen: cmd.xen,
        depends: note(&cmd.depends)?,
        xen_depends: note(&cmd.xen_depends)?,
        modinfo,
    };
    let mut opts = LinkOptions {
        emulation: cmd.emulation,
        build_id: cmd.build_id.as_deref() == Some("sha1"),
        strip_debug: cmd.strip_debug,
        ..LinkOptions::default()
    };
    if cmd.is_payload() {
        crate::payload_sections(&payload, &mut opts)?;
    }
    let data = cmd
        .inputs
        .iter()
        .map(|path| {
            files.read_input(path).map_err(|source| CommandError::Read {
                path: path.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    files.before_link(data.iter().map(|d| d.len() as u64).sum());
    let inputs: Vec<Input<'_>> = cmd
        .inputs
        .iter()
        .zip(&data)
        .map(|(path, data)| Input {
            name: path.display().to_string(),
            data,
        })
        .collect();
    let linked = crate::link(&inputs, &opts)?;
    files
        .write_output(output, &linked)
        .map_err(|source| CommandError::Write {
            path: output.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use object::write::{Object, StandardSection, Symbol, SymbolSection};
    use object::{Architecture, BinaryFormat, Endianness, SymbolFlags, SymbolKind, SymbolScope};

    use super::*;

    /// Files in memory; records what is read and written.
    #[derive(Default)]
    struct MemFiles {
        files: HashMap<PathBuf, Vec<u8>>,
        read: Vec<PathBuf>,
        linked_bytes: Option<u64>,
        written: Option<(PathBuf, Vec<u8>)>,
    }

    impl MemFiles {
        fn get(&mut self, path: &Path) -> io::Result<Vec<u8>> {
            self.read.push(path.to_owned());
            self.files
                .get(path)
                .cloned()
                .ok_or_else(|| io::ErrorKind::NotFound.into())
        }
    }

    impl Files for MemFiles {
        type Data = Vec<u8>;
        fn read_sparse(&mut self, path: &Path) -> io::Result<Vec<u8>> {
            self.get(path)
        }
        fn read_input(&mut self, path: &Path) -> io::Result<Vec<u8>> {
            self.get(path)
        }
        fn before_link(&mut self, input_bytes: u64) {
            self.linked_bytes = Some(input_bytes);
        }
        fn write_output(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
            self.written = Some((path.to_owned(), bytes.to_vec()));
            Ok(())
        }
    }

    /// An x86-64 object with one function, `f`.
    fn object_file() -> Vec<u8> {
        let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = obj.section_id(StandardSection::Text);
        obj.append_section_data(text, &[0xc3], 16);
        obj.add_symbol(Symbol {
            name: b"f".to_vec(),
            value: 0,
            size: 1,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
        obj.write().expect("write object")
    }

    /// `func.o` is [`object_file`]; `out.o` is the output.
    fn files() -> MemFiles {
        let mut files = MemFiles::default();
        files.files.insert("func.o".into(), object_file());
        files
    }

    fn link_func(edit: impl FnOnce(&mut Command)) -> Command {
        let mut cmd = Command {
            output: Some("out.o".into()),
            inputs: vec!["func.o".into()],
            ..Command::default()
        };
        edit(&mut cmd);
        cmd
    }

    /// Runs `cmd` and checks that it fails with `message` and `code`,
    /// having written nothing.
    fn check_error(cmd: &Command, code: u8, message: &str) -> MemFiles {
        let mut files = files();
        let err = run(cmd, &mut files, &mut Vec::new()).expect_err("the command must fail");
        assert_eq!(
            (err.exit_code(), err.to_string().as_str()),
            (code, message),
            "{cmd:?}"
        );
        assert!(files.written.is_none(), "{cmd:?} wrote an output");
        files
    }

    #[test]
    fn version_alone_prints_and_links_nothing() {
        let mut out = Vec::new();
        let mut files = files();
        let cmd = Command {
            print_version: true,
            ..Command::default()
        };
        run(&cmd, &mut files, &mut out).expect("version");
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("xsplice-link {}\n", env!("CARGO_PKG_VERSION"))
        );
        assert!(files.read.is_empty() && files.written.is_none());
        // With inputs, the version comes first and the link goes on.
        let mut out = Vec::new();
        let cmd = link_func(|c| c.print_version = true);
        run(&cmd, &mut files, &mut out).expect("version and link");
        assert!(!out.is_empty() && files.written.is_some());
    }

    #[test]
    fn usage_errors_in_gnu_ld_order() {
        // No inputs is reported before no output, and is a link error.
        check_error(&Command::default(), 1, "no input files");
        check_error(
            &link_func(|c| c.output = None),
            2,
            "no output file: give -o OUT",
        );
        // `--modinfo` is checked before any note file is read.
        let files = check_error(
            &link_func(|c| {
                c.modinfo = vec!["a=b".into(), "novalue".into()];
                c.depends = Some("missing-xen-syms".into());
            }),
            2,
            "--modinfo takes KEY=VALUE",
        );
        assert!(files.read.is_empty());
        check_error(
            &link_func(|c| c.depends = Some("missing-xen-syms".into())),
            2,
            "cannot read `missing-xen-syms`: entity not found",
        );
        check_error(
            &link_func(|c| c.inputs.push("missing.o".into())),
            2,
            "cannot read `missing.o`: entity not found",
        );
        check_error(
            &link_func(|c| c.depends = Some("func.o".into())),
            1,
            "`func.o`: no .note.gnu.build-id section",
        );
        check_error(
            &link_func(|c| {
                c.abi = Some(Abi::Xsplice);
                c.xen_depends = Some("func.o".into());
            }),
            1,
            "`func.o`: no .note.gnu.build-id section",
        );
    }

    #[test]
    fn payload_options() {
        assert!(!link_func(|c| c.build_id = Some("sha1".into())).is_payload());
        for edit in [
            (|c: &mut Command| c.abi = Some(Abi::LivepatchV1)) as fn(&mut Command),
            |c| c.xen = Some("4.17.0".parse().expect("release")),
            |c| c.depends = Some("x".into()),
            |c| c.xen_depends = Some("x".into()),
            |c| c.modinfo = vec!["k=v".into()],
        ] {
            assert!(link_func(edit).is_payload());
        }
        let pairs = link_func(|c| c.modinfo = vec!["a=b=c".into(), "d=".into()]).modinfo_pairs();
        assert_eq!(
            pairs.expect("pairs"),
            [("a".into(), "b=c".into()), ("d".into(), String::new())]
        );
    }

    /// The output is `link()`'s with the options the flags mean.
    #[test]
    fn links_with_the_options_given() {
        let object = object_file();
        let input = [Input {
            name: "func.o".into(),
            data: &object,
        }];
        for (build_id, expected) in [(None, false), (Some("none"), false), (Some("sha1"), true)] {
            let mut files = files();
            let cmd = link_func(|c| c.build_id = build_id.map(str::to_owned));
            run(&cmd, &mut files, &mut Vec::new()).expect("link");
            let opts = LinkOptions {
                build_id: expected,
                ..LinkOptions::default()
            };
            let direct = crate::link(&input, &opts).expect("link");
            let (path, bytes) = files.written.expect("output");
            assert_eq!(path, Path::new("out.o"));
            assert!(bytes == *direct, "--build-id {build_id:?}");
            assert_eq!(files.linked_bytes, Some(object.len() as u64));
        }
        // A payload option adds the payload's sections.
        let mut files = files();
        run(
            &link_func(|c| c.modinfo = vec!["version=1".into()]),
            &mut files,
            &mut Vec::new(),
        )
        .expect("payload link");
        let mut opts = LinkOptions::default();
        let payload = PayloadOptions {
            abi: Abi::LivepatchV2,
            xen: None,
            depends: None,
            xen_depends: None,
            modinfo: vec![("version".into(), "1".into())],
        };
        crate::payload_sections(&payload, &mut opts).expect("payload sections");
        let direct = crate::link(&input, &opts).expect("link");
        assert!(files.written.expect("output").1 == *direct);
    }
}
