//! GNU nm 2.40 output, byte for byte, for the options build scripts use.
//!
//! Xen's build and the seed's Makefile parse nm output with `grep` and
//! `awk`, so `xsplice-nm` must print exactly what GNU nm prints under
//! `LC_ALL=C`: the same letters, widths, order, headers, messages and exit
//! status. The rules come from `docs` notes on binutils 2.40 and were
//! checked against the real tool; the differential test in
//! `tests/differential.rs` keeps them honest.
//!
//! Inputs arrive as bytes (or as the reason a file could not be read);
//! output goes to two writers. The exit status is GNU's: the number of
//! command-line files that could not be read or recognised.
//!
//! Besides ELF, the files are those the host's (x86) GNU nm reads from
//! Xen's x86 build: COFF objects and PE images of i386 and x86-64 (see
//! [`crate::coff`]), alone or in archives, for which BFD keeps no sizes and
//! prints COFF's own sysv `Type` column. As in GNU nm, a COFF symbol table
//! that cannot be read ends the whole run (`bfd_fatal`) with status 1.
//!
//! Not covered: `-D` (dynamic symbols), demangling, `--size-sort` and the
//! other options build scripts do not use; thin archives (their members
//! live in other files, and this module reads bytes only); objects only a
//! linker plugin understands (LTO IR), which GNU nm hands to its plugins;
//! the other formats GNU BFD also reads (`pe-bigobj-x86-64`, Microsoft
//! import libraries, srec, ihex, ...). Target rules follow
//! the file's machine, as the target's own nm does (ARM and AArch64
//! mapping symbols hidden, ARM Thumb bit cleared), not the host nm's
//! generic view of foreign files; small-data letters (`g`, `s`, `G`, `S`)
//! of MIPS and PowerPC are not produced.

use std::io::{self, Write};

use object::elf::{
    EM_AARCH64, EM_ARM, EM_X86_64, Machine, STB_GLOBAL, STB_GNU_UNIQUE, STB_LOCAL, STB_WEAK,
    STT_COMMON, STT_FILE, STT_FUNC, STT_NOTYPE, STT_OBJECT, STT_SECTION, STT_TLS, SymbolBind,
    SymbolType,
};

use crate::Error;
use crate::coff::{self, CoffFile, CoffSymbolSection, CoffSymbols};
use crate::elf::{ElfFile, SHN_X86_64_LCOMMON, SymbolSection, is_elf};

/// Output layout (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Bsd,
    Sysv,
    Posix,
    /// One JSON object per symbol and line (ours, not GNU's).
    Json,
}

/// Symbol order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// By name, byte order (GNU under `LC_ALL=C`); ties keep table order.
    #[default]
    Name,
    /// By address, undefined symbols first, then by name (`-n`).
    Numeric,
    /// Symbol-table order (`-p`).
    None,
}

/// What to print (GNU nm's options of the same names).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub format: Format,
    pub sort: Sort,
    /// `-r`: reverse the sort (ties still keep table order).
    pub reverse: bool,
    /// `--defined-only`.
    pub defined_only: bool,
    /// `-u`.
    pub undefined_only: bool,
    /// `-g`.
    pub extern_only: bool,
    /// `-a`: also STT_FILE and STT_SECTION symbols.
    pub debug_syms: bool,
    /// `-S`.
    pub print_size: bool,
    /// `--special-syms`: also ARM/AArch64 mapping symbols.
    pub special_syms: bool,
}

/// One command-line file: its name as given, and its bytes or why there
/// are none.
pub struct Input<'a> {
    pub name: &'a str,
    pub data: Result<&'a [u8], InputError>,
}

/// Why a command-line file has no bytes to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// It does not exist.
    Missing,
    /// It is a directory.
    Directory,
    /// It exists but is not a regular file (a device, a FIFO).
    NotOrdinary,
    /// Any other I/O error, with its text.
    Io(String),
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::Missing => f.write_str("no such file"),
            InputError::Directory => f.write_str("is a directory"),
            InputError::NotOrdinary => f.write_str("is not an ordinary file"),
            InputError::Io(e) => f.write_str(e),
        }
    }
}

/// Renders every input the way GNU nm would, and returns GNU nm's exit
/// status (the number of inputs that failed). Only errors writing to `out`
/// or `err` are returned as `Err`.
pub fn render(
    inputs: &[Input<'_>],
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<i32> {
    let mut r = Renderer {
        opts,
        buf: Vec::with_capacity(1 << 16),
        out,
        err,
        per_file: inputs.len() > 1,
    };
    let mut failed = 0;
    for input in inputs {
        match r.file(input)? {
            Status::Listed => {}
            Status::Failed => failed += 1,
            // BFD's fatal errors end nm at once, with status 1.
            Status::Fatal => {
                r.flush()?;
                return Ok(1);
            }
        }
    }
    r.flush()?;
    Ok(failed)
}

/// One object file, in whichever format BFD recognised it.
enum Object<'d> {
    Elf(ElfFile<'d>),
    Coff(CoffFile<'d>),
}

impl<'d> Object<'d> {
    /// ELF first, then BFD's COFF and PE targets; `Err` carries the
    /// messages BFD prints before `file format not recognized`.
    fn parse(data: &'d [u8]) -> Result<Self, Vec<String>> {
        if is_elf(data) || !coff::is_coff_candidate(data) {
            return ElfFile::parse(data)
                .map(Object::Elf)
                .map_err(|_| Vec::new());
        }
        match CoffFile::parse(data) {
            Ok(c) => Ok(Object::Coff(c)),
            Err(Error::CoffFormat { notes }) => Err(notes),
            Err(_) => Err(Vec::new()),
        }
    }
}

fn status(listed: bool) -> Status {
    if listed {
        Status::Listed
    } else {
        Status::Failed
    }
}

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Listed (possibly as "no symbols").
    Listed,
    /// Not read or not recognised: counts towards the exit status.
    Failed,
    /// GNU nm gives up on the whole run (`bfd_fatal`).
    Fatal,
}

struct Renderer<'o, 'w> {
    opts: &'o Options,
    buf: Vec<u8>,
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
    per_file: bool,
}

/// One symbol kept for printing, compact so that sorting moves little.
#[derive(Clone, Copy)]
struct Entry<'d> {
    /// The first eight name bytes, big-endian: most comparisons end here.
    key: u64,
    /// Name bytes 8..16: the name sort starts on sixteen bytes, which
    /// separates most mangled names (`_ZN4llvm...`) at no extra cache
    /// misses, since the name was just read to find its end.
    key2: u64,
    name: &'d [u8],
    value: u64,
    size: u64,
    index: u32,
    letter: u8,
}

fn name_key(name: &[u8]) -> u64 {
    // The common case is one unaligned load; short names are padded with
    // zeros byte by byte (a variable-length copy would call memmove).
    if let Some(head) = name.first_chunk::<8>() {
        return u64::from_be_bytes(*head);
    }
    let mut k = 0u64;
    for (i, &b) in name.iter().enumerate() {
        k |= u64::from(b) << (56 - 8 * i);
    }
    k
}

fn cmp_name(a: &Entry<'_>, b: &Entry<'_>) -> std::cmp::Ordering {
    // `key` holds the first eight bytes here (only the name sort reuses
    // it). Names hold no NUL, so equal keys mean equal first eight bytes
    // (or equal short names).
    a.key
        .cmp(&b.key)
        .then_with(|| a.name[a.name.len().min(8)..].cmp(&b.name[b.name.len().min(8)..]))
}

fn is_undefined_letter(l: u8) -> bool {
    matches!(l, b'U' | b'w' | b'v')
}

fn cmp_numeric(a: &Entry<'_>, b: &Entry<'_>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    // BFD's rule is on the section (SHN_UNDEF), which is what these
    // letters mean.
    match (is_undefined_letter(a.letter), is_undefined_letter(b.letter)) {
        (true, false) => Less,
        (false, true) => Greater,
        (true, true) => cmp_name(a, b),
        (false, false) => a.value.cmp(&b.value).then_with(|| cmp_name(a, b)),
    }
}

impl Renderer<'_, '_> {
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes `nm: MESSAGE` on stderr, after everything printed so far.
    fn warn(&mut self, msg: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.flush()?;
        self.err.write_fmt(format_args!("nm: {msg}\n"))
    }

    fn file(&mut self, input: &Input<'_>) -> io::Result<Status> {
        let name = input.name;
        let data = match &input.data {
            Ok(d) => *d,
            Err(InputError::Missing) => {
                self.warn(format_args!("'{name}': No such file"))?;
                return Ok(Status::Failed);
            }
            Err(InputError::Directory) => {
                self.warn(format_args!("Warning: '{name}' is a directory"))?;
                return Ok(Status::Failed);
            }
            Err(InputError::NotOrdinary) => {
                self.warn(format_args!("Warning: '{name}' is not an ordinary file"))?;
                return Ok(Status::Failed);
            }
            Err(InputError::Io(e)) => {
                self.warn(format_args!("{name}: {e}"))?;
                return Ok(Status::Failed);
            }
        };
        // GNU nm gives up silently on an empty file.
        if data.is_empty() {
            return Ok(Status::Failed);
        }
        if data.starts_with(b"!<arch>\n") {
            return self.archive(name, data);
        }
        match Object::parse(data) {
            Ok(Object::Elf(elf)) => {
                self.object_header(name, elf.class().hex_width());
                Ok(status(self.dump(&elf, name, name)?))
            }
            Ok(Object::Coff(coff)) => {
                self.notes(name, coff.notes())?;
                self.object_header(name, coff.target().hex_width());
                self.dump_coff(&coff, name, name)
            }
            Err(notes) => {
                self.notes(name, &notes)?;
                self.warn(format_args!("{name}: file format not recognized"))?;
                Ok(Status::Failed)
            }
        }
    }

    /// Prints BFD's own messages about a file (each follows its name).
    fn notes(&mut self, bfd_name: &str, notes: &[String]) -> io::Result<()> {
        for note in notes {
            self.warn(format_args!("{bfd_name}{note}"))?;
        }
        Ok(())
    }

    fn archive(&mut self, name: &str, data: &[u8]) -> io::Result<Status> {
        let archive = match object::read::archive::ArchiveFile::parse(data) {
            Ok(a) => a,
            Err(_) => {
                self.warn(format_args!("{name}: file format not recognized"))?;
                return Ok(Status::Failed);
            }
        };
        if self.per_file && self.opts.format == Format::Bsd {
            self.buf.extend_from_slice(b"\n");
            self.buf.extend_from_slice(name.as_bytes());
            self.buf.extend_from_slice(b":\n");
        }
        for member in archive.members() {
            let member = match member {
                Ok(m) => m,
                Err(_) => {
                    self.warn(format_args!("{name}: malformed archive"))?;
                    return Ok(Status::Failed);
                }
            };
            let mname = String::from_utf8_lossy(member.name()).into_owned();
            let bfd_name = format!("{name}({mname})");
            let parsed = member
                .data(data)
                .map_err(|_| Vec::new())
                .and_then(Object::parse);
            match parsed {
                Ok(Object::Elf(elf)) => {
                    self.member_header(name, &mname, elf.class().hex_width());
                    self.dump(&elf, &mname, &bfd_name)?;
                }
                Ok(Object::Coff(coff)) => {
                    self.notes(&bfd_name, coff.notes())?;
                    self.member_header(name, &mname, coff.target().hex_width());
                    if self.dump_coff(&coff, &mname, &bfd_name)? == Status::Fatal {
                        return Ok(Status::Fatal);
                    }
                }
                Err(notes) => {
                    self.notes(&bfd_name, &notes)?;
                    self.warn(format_args!("{mname}: file format not recognized"))?;
                }
            }
        }
        Ok(Status::Listed)
    }

    fn object_header(&mut self, name: &str, width: usize) {
        match self.opts.format {
            Format::Bsd if self.per_file => {
                self.buf.extend_from_slice(b"\n");
                self.buf.extend_from_slice(name.as_bytes());
                self.buf.extend_from_slice(b":\n");
            }
            Format::Posix if self.per_file => {
                self.buf.extend_from_slice(name.as_bytes());
                self.buf.extend_from_slice(b":\n");
            }
            Format::Sysv => {
                self.buf.extend_from_slice(b"\n\nSymbols from ");
                self.buf.extend_from_slice(name.as_bytes());
                self.buf.extend_from_slice(b":\n\n");
                self.sysv_columns(width);
            }
            _ => {}
        }
    }

    fn member_header(&mut self, archive: &str, member: &str, width: usize) {
        match self.opts.format {
            Format::Bsd => {
                self.buf.extend_from_slice(b"\n");
                self.buf.extend_from_slice(member.as_bytes());
                self.buf.extend_from_slice(b":\n");
            }
            Format::Posix => {
                self.buf.extend_from_slice(archive.as_bytes());
                self.buf.push(b'[');
                self.buf.extend_from_slice(member.as_bytes());
                self.buf.extend_from_slice(b"]:\n");
            }
            Format::Sysv => {
                self.buf.extend_from_slice(b"\n\nSymbols from ");
                self.buf.extend_from_slice(archive.as_bytes());
                self.buf.push(b'[');
                self.buf.extend_from_slice(member.as_bytes());
                self.buf.extend_from_slice(b"]:\n\n");
                self.sysv_columns(width);
            }
            Format::Json => {}
        }
    }

    fn sysv_columns(&mut self, width: usize) {
        self.buf.extend_from_slice(if width == 8 {
            b"Name                  Value   Class        Type         Size     Line  Section\n\n".as_slice()
        } else {
            b"Name                  Value           Class        Type         Size             Line  Section\n\n"
                .as_slice()
        });
    }

    /// Prints the symbols of one object. `name` is what GNU calls it in
    /// its own messages, `bfd_name` what BFD calls it (`lib.a(m.o)`).
    fn dump(&mut self, elf: &ElfFile<'_>, name: &str, bfd_name: &str) -> io::Result<bool> {
        if elf.has_section_past_end() {
            self.warn(format_args!(
                "warning: {bfd_name} has a section extending past end of file"
            ))?;
        }
        if elf.symbol_count() <= 1 {
            self.warn(format_args!("{name}: no symbols"))?;
            return Ok(elf.symtab_error().is_none());
        }
        let opts = *self.opts;
        let strtab = elf.symbol_strtab();
        let mut entries: Vec<Entry<'_>> = Vec::with_capacity(elf.symbol_count());
        let mut bad_names = Vec::new();
        let machine_has_special = matches!(Machine(elf.e_machine()), EM_ARM | EM_AARCH64);
        for sym in elf.symbols() {
            if sym.bad_name {
                bad_names.push(sym.st_name);
            }
            let undefined = sym.section == SymbolSection::Undefined;
            let keep = if opts.undefined_only {
                undefined
            } else if opts.extern_only {
                matches!(
                    SymbolBind(sym.binding),
                    STB_GLOBAL | STB_WEAK | STB_GNU_UNIQUE
                ) || undefined
                    || sym.section == SymbolSection::Common
            } else {
                true
            };
            if !keep
                || (!opts.debug_syms && sym.is_debugging())
                || (opts.defined_only && undefined)
                || (!opts.special_syms && machine_has_special && elf.is_special(&sym))
            {
                continue;
            }
            let size = if sym.kind == STT_SECTION.0 {
                0
            } else {
                sym.size
            };
            entries.push(Entry {
                key: name_key(sym.name),
                key2: name_key_at(sym.name, 8),
                name: sym.name,
                value: sym.value,
                size,
                index: sym.index,
                letter: sym.letter,
            });
        }
        if let Some((section, Some(table))) = strtab {
            for off in bad_names {
                let sname = String::from_utf8_lossy(section.name);
                self.warn(format_args!(
                    "{bfd_name}: invalid string offset {off} >= {} for section `{sname}'",
                    table.len()
                ))?;
            }
        }
        sort_entries(&mut entries, opts.sort, opts.reverse);
        let width = elf.class().hex_width();
        match opts.format {
            Format::Bsd => self.lines_bsd(&entries, width)?,
            Format::Posix => self.lines_posix(&entries, width),
            Format::Sysv => self.lines_sysv(elf, &entries, width),
            Format::Json => self.lines_json(elf, &entries, bfd_name),
        }
        if self.buf.len() > CHUNK {
            self.flush()?;
        }
        Ok(true)
    }

    fn lines_bsd(&mut self, entries: &[Entry<'_>], width: usize) -> io::Result<()> {
        let print_size = self.opts.print_size;
        if entries.len() < PARALLEL_MIN {
            bsd_lines(&mut self.buf, entries, width, print_size);
            return Ok(());
        }
        // Large tables: format blocks in two halves on two threads, and
        // write each block before formatting the next, so memory stays
        // bounded by the block size.
        let mut second = Vec::new();
        for block in entries.chunks(FORMAT_BLOCK) {
            let (a, b) = block.split_at(block.len() / 2);
            let first = &mut self.buf;
            std::thread::scope(|s| {
                s.spawn(|| bsd_lines(&mut second, b, width, print_size));
                bsd_lines(first, a, width, print_size);
            });
            self.flush()?;
            self.out.write_all(&second)?;
            second.clear();
        }
        Ok(())
    }

    fn lines_posix(&mut self, entries: &[Entry<'_>], _width: usize) {
        let buf = &mut self.buf;
        for e in entries {
            buf.extend_from_slice(e.name);
            buf.extend_from_slice(&[b' ', e.letter, b' ']);
            if is_undefined_letter(e.letter) {
                buf.extend_from_slice(&SPACES[..8]);
            } else {
                push_hex(buf, e.value, 0);
                buf.push(b' ');
                if e.size != 0 {
                    push_hex(buf, e.size, 0);
                }
            }
            buf.push(b'\n');
        }
    }

    fn lines_sysv(&mut self, elf: &ElfFile<'_>, entries: &[Entry<'_>], width: usize) {
        let buf = &mut self.buf;
        for e in entries {
            let Some(sym) = elf.symbol(e.index as usize) else {
                continue;
            };
            sysv_name_value_class(buf, e, width);
            // BFD gives section symbols no ELF details: blank type and
            // section columns.
            let elf_details = sym.kind != STT_SECTION.0;
            if elf_details {
                let kind = type_name(sym.kind);
                if kind.len() < 18 {
                    buf.extend_from_slice(&SPACES[..18 - kind.len()]);
                }
                buf.extend_from_slice(kind.as_bytes());
                buf.push(b'|');
            } else {
                buf.extend_from_slice(&SPACES[..18]);
                buf.push(b'|');
            }
            if e.size != 0 {
                push_hex(buf, e.size, width);
            } else {
                buf.extend_from_slice(&SPACES[..width]);
            }
            buf.extend_from_slice(b"|     |");
            if elf_details {
                buf.extend_from_slice(bfd_section_name(elf, &sym));
            }
            buf.push(b'\n');
        }
    }

    /// Prints the symbols of a COFF object or PE image. A symbol table BFD
    /// cannot read ends the whole run, as `bfd_fatal` does.
    fn dump_coff(&mut self, coff: &CoffFile<'_>, name: &str, bfd_name: &str) -> io::Result<Status> {
        if coff.symbol_count() == 0 {
            self.warn(format_args!("{name}: no symbols"))?;
            return Ok(Status::Listed);
        }
        let table = match coff.symbols() {
            Ok(t) => t,
            Err(e) => {
                if let Error::CoffSymbols { notes } = e {
                    self.notes(bfd_name, &notes)?;
                }
                self.warn(format_args!("{name}: no symbols"))?;
                return Ok(Status::Fatal);
            }
        };
        let opts = *self.opts;
        let mut entries: Vec<Entry<'_>> = Vec::with_capacity(table.symbols.len());
        for (i, sym) in table.symbols.iter().enumerate() {
            let undefined = sym.section == CoffSymbolSection::Undefined;
            let keep = if opts.undefined_only {
                undefined
            } else if opts.extern_only {
                sym.flags & (coff::flags::GLOBAL | coff::flags::WEAK) != 0
                    || undefined
                    || sym.section == CoffSymbolSection::Common
            } else {
                true
            };
            if !keep || (!opts.debug_syms && sym.is_debugging()) || (opts.defined_only && undefined)
            {
                continue;
            }
            // BFD keeps no size for COFF symbols: `-S` prints none.
            entries.push(Entry {
                key: name_key(sym.name),
                key2: name_key_at(sym.name, 8),
                name: sym.name,
                value: sym.value,
                size: 0,
                index: i as u32,
                letter: sym.letter,
            });
        }
        sort_entries(&mut entries, opts.sort, opts.reverse);
        let width = coff.target().hex_width();
        match opts.format {
            Format::Bsd => self.lines_bsd(&entries, width)?,
            Format::Posix => self.lines_posix(&entries, width),
            Format::Sysv => self.lines_sysv_coff(coff, &table, &entries, width),
            Format::Json => self.lines_json_coff(coff, &table, &entries, bfd_name),
        }
        if self.buf.len() > CHUNK {
            self.flush()?;
        }
        Ok(Status::Listed)
    }

    fn lines_sysv_coff(
        &mut self,
        coff: &CoffFile<'_>,
        table: &CoffSymbols<'_>,
        entries: &[Entry<'_>],
        width: usize,
    ) {
        let buf = &mut self.buf;
        for e in entries {
            let sym = &table.symbols[e.index as usize];
            sysv_name_value_class(buf, e, width);
            let kind = sym.type_name();
            if kind.len() < 18 {
                buf.extend_from_slice(&SPACES[..18 - kind.len()]);
            }
            buf.extend_from_slice(kind.as_bytes());
            buf.push(b'|');
            buf.extend_from_slice(&SPACES[..width]);
            buf.extend_from_slice(b"|     |");
            buf.extend_from_slice(coff.section_name_in(sym.section, &table.extra_sections));
            buf.push(b'\n');
        }
    }

    fn lines_json_coff(
        &mut self,
        coff: &CoffFile<'_>,
        table: &CoffSymbols<'_>,
        entries: &[Entry<'_>],
        object: &str,
    ) {
        // The `.file` symbol before each local, as for ELF's STT_FILE.
        let mut hints = Vec::with_capacity(table.symbols.len());
        let mut file: Option<&[u8]> = None;
        for sym in &table.symbols {
            if sym.storage_class == coff::class::C_FILE {
                file = Some(sym.name);
            }
            hints.push(if sym.flags & coff::flags::LOCAL != 0 {
                file
            } else {
                None
            });
        }
        let width = coff.target().hex_width();
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        for e in entries {
            let sym = &table.symbols[e.index as usize];
            // From the storage class: BFD gives an undefined external no
            // flags at all.
            let binding = match sym.storage_class {
                coff::class::C_NT_WEAK | coff::class::C_WEAKEXT => "WEAK",
                coff::class::C_EXT | coff::class::C_SYSTEM | coff::class::C_STATLAB => "GLOBAL",
                _ if sym.flags & coff::flags::LOCAL != 0 => "LOCAL",
                _ => "DEBUG",
            };
            let value = JsonSymbol {
                object,
                name: lossy(e.name),
                value: format!("0x{:0width$x}", e.value),
                size: 0,
                letter: (e.letter as char).to_string(),
                binding: binding.into(),
                kind: sym.type_name(),
                section: lossy(coff.section_name_in(sym.section, &table.extra_sections)),
                file_hint: hints[e.index as usize].map(lossy),
            };
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.buf, &value);
            self.buf.push(b'\n');
        }
    }

    fn lines_json(&mut self, elf: &ElfFile<'_>, entries: &[Entry<'_>], object: &str) {
        let hints: Vec<Option<&[u8]>> = {
            let mut v = vec![None; elf.symbol_count()];
            for s in elf.symbols() {
                v[s.index as usize] = s.file_hint;
            }
            v
        };
        let width = elf.class().hex_width();
        for e in entries {
            let Some(sym) = elf.symbol(e.index as usize) else {
                continue;
            };
            let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let value = JsonSymbol {
                object,
                name: lossy(e.name),
                value: format!("0x{:0width$x}", e.value),
                size: e.size,
                letter: (e.letter as char).to_string(),
                binding: binding_name(sym.binding),
                kind: type_name(sym.kind),
                section: lossy(bfd_section_name(elf, &sym)),
                file_hint: hints[e.index as usize].map(lossy),
            };
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.buf, &value);
            self.buf.push(b'\n');
        }
    }
}

/// One line of `--format json`. Values are hex strings (64-bit addresses
/// do not fit a JSON number exactly); `file_hint` is the STT_FILE name
/// before a local symbol.
#[derive(serde::Serialize)]
struct JsonSymbol<'a> {
    object: &'a str,
    name: String,
    value: String,
    size: u64,
    letter: String,
    binding: std::borrow::Cow<'static, str>,
    #[serde(rename = "type")]
    kind: std::borrow::Cow<'static, str>,
    section: String,
    file_hint: Option<String>,
}

/// Output is written in pieces of about this size, so that a large table
/// never holds its whole output in memory.
const CHUNK: usize = 1 << 20;

const SPACES: [u8; 32] = [b' '; 32];

/// BSD lines: `VALUE[ SIZE] L NAME`, blanks for the value of undefined
/// symbols.
fn bsd_lines(buf: &mut Vec<u8>, entries: &[Entry<'_>], width: usize, print_size: bool) {
    for e in entries {
        if is_undefined_letter(e.letter) {
            buf.extend_from_slice(&SPACES[..width]);
        } else {
            push_hex(buf, e.value, width);
            if print_size && e.size != 0 {
                buf.push(b' ');
                push_hex(buf, e.size, width);
            }
        }
        buf.extend_from_slice(&[b' ', e.letter, b' ']);
        buf.extend_from_slice(e.name);
        buf.push(b'\n');
    }
}

/// The columns a SysV line starts with: the name padded to 20, the value
/// (blank for an undefined symbol) and the class letter.
#[inline]
fn sysv_name_value_class(buf: &mut Vec<u8>, e: &Entry<'_>, width: usize) {
    buf.extend_from_slice(e.name);
    if e.name.len() < 20 {
        buf.extend_from_slice(&SPACES[..20 - e.name.len()]);
    }
    buf.push(b'|');
    if is_undefined_letter(e.letter) {
        buf.extend_from_slice(&SPACES[..width]);
    } else {
        push_hex(buf, e.value, width);
    }
    buf.extend_from_slice(b"|   ");
    buf.push(e.letter);
    buf.extend_from_slice(b"  |");
}

/// Lower-case hex, zero-padded to `width` digits (more if needed).
fn push_hex(buf: &mut Vec<u8>, v: u64, width: usize) {
    // All sixteen digits at once, two per byte from a table, then the
    // leading zeros beyond `width` (and beyond the value) are dropped.
    let digits = hex16(v);
    let needed = if v == 0 {
        1
    } else {
        16 - (v.leading_zeros() as usize) / 4
    };
    let n = needed.max(width);
    if n <= 16 {
        buf.extend_from_slice(&digits[16 - n..]);
    } else {
        buf.resize(buf.len() + n - 16, b'0');
        buf.extend_from_slice(&digits);
    }
}

fn hex16(v: u64) -> [u8; 16] {
    const PAIRS: [[u8; 2]; 256] = {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [DIGITS[i >> 4], DIGITS[i & 0xf]];
            i += 1;
        }
        t
    };
    let mut out = [0u8; 16];
    for (i, byte) in v.to_be_bytes().iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&PAIRS[*byte as usize]);
    }
    out
}

fn sort_entries(entries: &mut [Entry<'_>], sort: Sort, reverse: bool) {
    match (sort, reverse) {
        (Sort::None, _) => {}
        (Sort::Name, false) => sort_by_name(entries, false),
        (Sort::Name, true) => sort_by_name(entries, true),
        (Sort::Numeric, false) => parallel_stable_sort(entries, &cmp_numeric),
        (Sort::Numeric, true) => parallel_stable_sort(entries, &|a, b| cmp_numeric(b, a)),
    }
}

/// The eight name bytes at `offset`, big-endian, zero-padded.
fn name_key_at(name: &[u8], offset: usize) -> u64 {
    name_key(name.get(offset..).unwrap_or(&[]))
}

/// Byte-order sort by name that keeps table order among equal names, as
/// GNU nm's does, written as an MSD radix sort: sort by the first sixteen
/// bytes (integer compares, no pointer chasing into the string table),
/// then each run of equal prefixes by the next eight bytes, and so on,
/// with small runs finished by one comparison sort. Comparison sorts spend
/// most of their time on cache misses in the string table, since mangled
/// names share long prefixes; this touches each name about once per digit.
/// Every sort breaks ties by symbol index, so unstable (in-place) sorts
/// give the stable order.
fn sort_by_name(entries: &mut [Entry<'_>], reverse: bool) {
    if entries.len() < PARALLEL_MIN {
        sort_by_name_here(entries, reverse);
        return;
    }
    // Split around the median in place (no copy, no merge), sort both
    // sides on two threads, then re-sort the one run of equal sixteen-byte
    // prefixes that may straddle the split.
    let mid = entries.len() / 2;
    entries.select_nth_unstable_by_key(mid, |e| rank(e.key, e.key2, e.index, reverse));
    let prefix = (entries[mid].key, entries[mid].key2);
    {
        let (left, right) = entries.split_at_mut(mid);
        std::thread::scope(|s| {
            s.spawn(|| sort_by_name_here(left, reverse));
            sort_by_name_here(right, reverse);
        });
    }
    // The refinement reused `key` as a deeper digit: compare on the name.
    let same = |e: &Entry<'_>| (name_key(e.name), e.key2) == prefix;
    let mut a = mid;
    while a > 0 && same(&entries[a - 1]) {
        a -= 1;
    }
    if a < mid {
        let mut b = mid;
        while b < entries.len() && same(&entries[b]) {
            b += 1;
        }
        let straddle = &mut entries[a..b];
        for e in straddle.iter_mut() {
            e.key = name_key(e.name);
        }
        sort_by_name_here(straddle, reverse);
    }
}

/// Sort key of the first level: the sixteen-byte prefix (bit-inverted for
/// a reverse sort), then the symbol index, which is unique and in table
/// order. So unstable sorts, which need no scratch memory, give exactly
/// the order of a stable one.
fn rank(key: u64, key2: u64, index: u32, reverse: bool) -> (u64, u64, u32) {
    if reverse {
        (!key, !key2, index)
    } else {
        (key, key2, index)
    }
}

fn sort_by_name_here(entries: &mut [Entry<'_>], reverse: bool) {
    entries.sort_unstable_by_key(|e| rank(e.key, e.key2, e.index, reverse));
    let mut i = 0;
    while i < entries.len() {
        let first = (entries[i].key, entries[i].key2);
        let mut j = i + 1;
        while j < entries.len() && (entries[j].key, entries[j].key2) == first {
            j += 1;
        }
        refine_run(&mut entries[i..j], 16, reverse);
        i = j;
    }
}

/// Lines formatted per block on two threads: small enough that the two
/// block buffers stay a few hundred kilobytes (fresh memory costs a page
/// fault per 4 KiB), large enough to pay for starting a thread.
const FORMAT_BLOCK: usize = 8 * 1024;

/// Runs of equal digits up to this size are finished with a comparison
/// sort.
const SMALL_RUN: usize = 48;

/// Tables smaller than this are sorted and formatted on one thread.
const PARALLEL_MIN: usize = 32 * 1024;

/// Sorts each run of equal `key` (the digit at `offset`) by the next digit.
/// Within a run either every name is longer than the digit, or all are
/// identical (names hold no NUL, so padding never equals a real byte).
fn refine(entries: &mut [Entry<'_>], offset: usize, reverse: bool) {
    let next = offset + 8;
    let mut i = 0;
    while i < entries.len() {
        let key = entries[i].key;
        let mut j = i + 1;
        while j < entries.len() && entries[j].key == key {
            j += 1;
        }
        refine_run(&mut entries[i..j], next, reverse);
        i = j;
    }
}

/// `run` agrees on every byte before `offset` and is in table order where
/// names are equal: sort it by the rest of the names, unless all its names
/// are identical. Ties are broken by symbol index (table order).
fn refine_run(run: &mut [Entry<'_>], offset: usize, reverse: bool) {
    if run.len() < 2 {
        return;
    }
    // Small runs: one comparison sort on the rest of the names. Their bytes
    // stay in cache across comparisons, whereas one more digit per level
    // would cost a cache miss per name per level, and mangled names share
    // prefixes of a hundred bytes and more.
    if run.len() <= SMALL_RUN {
        let rest = |e: &Entry<'_>| -> usize { e.name.len().min(offset) };
        run.sort_unstable_by(|a, b| {
            let by_name = a.name[rest(a)..].cmp(&b.name[rest(b)..]);
            let by_name = if reverse { by_name.reverse() } else { by_name };
            by_name.then(a.index.cmp(&b.index))
        });
        return;
    }
    if run.iter().any(|e| e.name.len() > offset) {
        for e in run.iter_mut() {
            e.key = name_key_at(e.name, offset);
        }
        run.sort_unstable_by_key(|e| (if reverse { !e.key } else { e.key }, e.index));
        refine(run, offset, reverse);
    }
}

/// Stable sort, split over two threads for large tables: each half is
/// sorted on its own, then merged with ties going to the left half, which
/// keeps the whole sort stable.
fn parallel_stable_sort<'d, F>(entries: &mut [Entry<'d>], cmp: &F)
where
    F: Fn(&Entry<'d>, &Entry<'d>) -> std::cmp::Ordering + Sync,
{
    if entries.len() < PARALLEL_MIN {
        entries.sort_by(cmp);
        return;
    }
    let mid = entries.len() / 2;
    {
        let (left, right) = entries.split_at_mut(mid);
        std::thread::scope(|s| {
            s.spawn(|| left.sort_by(cmp));
            right.sort_by(cmp);
        });
    }
    merge_halves(entries, mid, cmp);
}

/// Merges the sorted `entries[..mid]` and `entries[mid..]` in place (with a
/// copy of the left half); on ties the left element goes first, which keeps
/// a stable sort stable.
fn merge_halves<'d, F>(entries: &mut [Entry<'d>], mid: usize, cmp: &F)
where
    F: Fn(&Entry<'d>, &Entry<'d>) -> std::cmp::Ordering,
{
    let left: Vec<Entry<'d>> = entries[..mid].to_vec();
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < left.len() && j < entries.len() {
        if cmp(&entries[j], &left[i]) == std::cmp::Ordering::Less {
            entries[k] = entries[j];
            j += 1;
        } else {
            entries[k] = left[i];
            i += 1;
        }
        k += 1;
    }
    while i < left.len() {
        entries[k] = left[i];
        i += 1;
        k += 1;
    }
}

/// The section name BFD reports for a symbol (`*UND*`, `*ABS*`, `*COM*`,
/// or the ELF section's name).
fn bfd_section_name<'d>(elf: &ElfFile<'d>, sym: &crate::Symbol<'d>) -> &'d [u8] {
    match sym.section {
        SymbolSection::Undefined => b"*UND*",
        SymbolSection::Absolute => b"*ABS*",
        SymbolSection::Common => {
            if elf.e_machine() == EM_X86_64.0 && sym.st_shndx == SHN_X86_64_LCOMMON {
                b"LARGE_COMMON"
            } else {
                b"*COM*"
            }
        }
        SymbolSection::Section(_) => sym.section_name,
    }
}

/// GNU nm's sysv name of an ELF symbol type.
fn type_name(kind: u8) -> std::borrow::Cow<'static, str> {
    match SymbolType(kind) {
        STT_NOTYPE => "NOTYPE".into(),
        STT_OBJECT => "OBJECT".into(),
        STT_FUNC => "FUNC".into(),
        STT_SECTION => "SECTION".into(),
        STT_FILE => "FILE".into(),
        STT_COMMON => "COMMON".into(),
        STT_TLS => "TLS".into(),
        SymbolType(13..=15) => format!("<processor specific>: {kind}").into(),
        SymbolType(10..=12) => format!("<OS specific>: {kind}").into(),
        _ => format!("<unknown>: {kind}").into(),
    }
}

fn binding_name(binding: u8) -> std::borrow::Cow<'static, str> {
    match SymbolBind(binding) {
        STB_LOCAL => "LOCAL".into(),
        STB_GLOBAL => "GLOBAL".into(),
        STB_WEAK => "WEAK".into(),
        STB_GNU_UNIQUE => "UNIQUE".into(),
        b => format!("{b}").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: u64, width: usize, expect: &str) {
        let mut buf = Vec::new();
        push_hex(&mut buf, v, width);
        assert_eq!(String::from_utf8(buf).unwrap(), expect);
    }

    /// The radix name sort must equal a stable comparison sort on names,
    /// also around the 8-byte digit boundaries and for high bytes.
    #[test]
    fn name_sort_matches_stable_comparison_sort() {
        let alphabet: &[&[u8]] = &[
            b"",
            b"a",
            b"ab",
            b"abcdefgh",
            b"abcdefghi",
            b"abcdefgh\x01",
            b"\xff",
            b"_ZN4core3ptr",
            b"7",
        ];
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut state = 1u64;
        // More than the two-thread threshold, so the merge is covered too.
        for _ in 0..40_000 {
            let mut name = Vec::new();
            for _ in 0..3 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                name.extend_from_slice(alphabet[(state >> 33) as usize % alphabet.len()]);
            }
            names.push(name);
        }
        for reverse in [false, true] {
            let mut entries: Vec<Entry<'_>> = names
                .iter()
                .enumerate()
                .map(|(i, n)| Entry {
                    key: name_key(n),
                    key2: name_key_at(n, 8),
                    name: n,
                    value: 0,
                    size: 0,
                    index: i as u32,
                    letter: b'T',
                })
                .collect();
            let mut expect: Vec<(&[u8], u32)> = entries.iter().map(|e| (e.name, e.index)).collect();
            if reverse {
                expect.sort_by(|a, b| b.0.cmp(a.0));
            } else {
                expect.sort_by(|a, b| a.0.cmp(b.0));
            }
            sort_by_name(&mut entries, reverse);
            let got: Vec<(&[u8], u32)> = entries.iter().map(|e| (e.name, e.index)).collect();
            assert_eq!(got, expect, "reverse={reverse}");
        }
    }

    #[test]
    fn hex() {
        check(0, 0, "0");
        check(0, 8, "00000000");
        check(0x1a, 16, "000000000000001a");
        check(0x1_2345_6789, 8, "123456789");
        check(u64::MAX, 0, "ffffffffffffffff");
        check(0xdead_beef, 20, "000000000000deadbeef");
        check(0x0123_4567_89ab_cdef, 16, "0123456789abcdef");
    }
}

/// Which number `--lookup` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    /// The value nm prints (the address).
    #[default]
    Addr,
    /// st_size.
    Size,
}

/// `--lookup NAME`: `0x` and the symbol's address or size, zero-padded to
/// 16 hex digits for ELF64 and 8 for ELF32 (the form the seed's Makefile
/// extracts with awk), with a newline.
pub fn lookup_line(elf: &ElfFile<'_>, name: &str, field: Field) -> Result<String, crate::Error> {
    let sym = elf.lookup(name)?;
    let v = match field {
        Field::Addr => sym.value,
        Field::Size => sym.size,
    };
    Ok(format!("0x{v:0w$x}\n", w = elf.class().hex_width()))
}
