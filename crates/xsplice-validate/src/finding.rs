//! What a check reports: the finding model, the catalogue of check ids, and
//! the two renderings (compiler-style text and JSON).
//!
//! Check ids are the `C-nn` numbers of the payload-format specification (§2,
//! hypervisor order) so that a finding can be looked up there; checks the
//! specification lacks use our own `V-nn` ids. The catalogue says for every
//! id whether it can be decided from files alone, which the mutation corpus
//! uses to prove that every such check has a test, and whether the
//! hypervisor refuses a payload that fails it, with which errno, or only
//! advises ([`Response`]); each error finding carries the errno of its own
//! cause ([`Finding::errno`]), which the simulator returns.

use std::fmt;
use std::io::{self, Write};

use serde::Serialize;
use xsplice_abi::Errno;

use crate::release::{Release, ReleaseSet, accepted_by_text};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A hazard: the hypervisor would accept the payload, but it is wrong or fragile.
    Warning,
    /// The hypervisor would refuse the payload, or crash on it.
    Error,
}

/// When a check can be decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// From the payload file alone.
    Payload,
    /// Needs the target image (`--target`), and maybe the `--after` payloads.
    Target,
    /// Only a running hypervisor knows (memory, names, concurrent state).
    Runtime,
}

/// What the hypervisor does about a failed check: the column of the
/// `checks!` table that the simulator acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response {
    /// The upload is refused with this errno (spec §2). For the hazards Xen
    /// does not check itself (the spec's ⚠ items and our own `V-nn` errors)
    /// it is the errno the simulator refuses them with in Xen's place.
    /// A check that returns different errnos for different causes sets the
    /// one that applies on the finding; this is the usual one.
    Refuse(Errno),
    /// Checked when the payload is applied, not when it is uploaded (C-123).
    RefuseApply(Errno),
    /// Advice only: the hypervisor loads such a payload, and the simulator
    /// shows the consequence.
    Advise,
}

macro_rules! checks {
    ($($variant:ident $id:literal $needs:ident $response:ident $(($errno:ident))? $title:literal;)*) => {
        /// A check id from the specification (`C-nn`) or our own (`V-nn`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CheckId { $($variant,)* }

        impl CheckId {
            /// Every check, in hypervisor order, ours last.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant,)*];
            /// The id as written in the specification, e.g. `C-13`.
            pub fn as_str(self) -> &'static str {
                match self { $(CheckId::$variant => $id,)* }
            }
            /// A one-line description of what is checked.
            pub fn title(self) -> &'static str {
                match self { $(CheckId::$variant => $title,)* }
            }
            /// What the check needs to be decided.
            pub fn needs(self) -> Needs {
                match self { $(CheckId::$variant => Needs::$needs,)* }
            }
            /// Whether the hypervisor refuses a payload that fails the
            /// check (and with which errno, as a rule), or only advises.
            pub fn response(self) -> Response {
                match self { $(CheckId::$variant => Response::$response $((Errno::$errno))?,)* }
            }
            /// Parses `C-13` or `V-01`.
            pub fn parse(s: &str) -> Option<CheckId> {
                match s { $($id => Some(CheckId::$variant),)* _ => None }
            }
        }
    };
}

checks! {
    C04 "C-04" Runtime Refuse(Einval) "payload name passed to the upload";
    C05 "C-05" Payload Refuse(Einval) "file size is 0 or above 2 MiB";
    C06 "C-06" Runtime Refuse(Eexist) "a payload with the same name is loaded";
    C10 "C-10" Payload Refuse(Einval) "file shorter than the ELF header";
    C11 "C-11" Payload Refuse(Einval) "ELF magic";
    C12 "C-12" Payload Refuse(Eopnotsupp) "ELF version, OS ABI, type and program headers";
    C13 "C-13" Payload Refuse(Eopnotsupp) "machine, class, data encoding and EABI";
    C14 "C-14" Payload Refuse(Einval) "e_shstrndx is 0";
    C15 "C-15" Payload Refuse(Eopnotsupp) "e_shnum is 0 or at least 1024";
    C16 "C-16" Payload Refuse(Einval) "e_shstrndx out of range";
    C17 "C-17" Payload Refuse(Einval) "e_shoff beyond the file";
    C18 "C-18" Payload Refuse(Einval) "e_shentsize too small";
    C19 "C-19" Payload Refuse(Einval) "section header table beyond the file";
    C20 "C-20" Payload Refuse(Einval) "sh_offset inside the ELF header";
    C21 "C-21" Payload Refuse(Einval) "section contents beyond the file";
    C22 "C-22" Payload Refuse(Eopnotsupp) "sh_addralign not a power of two";
    C23 "C-23" Payload Refuse(Einval) "sh_addr not aligned";
    C24 "C-24" Payload Refuse(Einval) "NOBITS section above 2 MiB";
    C25 "C-25" Payload Refuse(Eopnotsupp) "more than one symbol table";
    C26 "C-26" Payload Refuse(Einval) "symbol table sh_link";
    C27 "C-27" Payload Refuse(Einval) "no symbol table";
    C28 "C-28" Payload Refuse(Einval) "symbol table size and entry size";
    C29 "C-29" Payload Refuse(Einval) "symbol string table";
    C30 "C-30" Payload Refuse(Einval) "section-name string table";
    C31 "C-31" Payload Refuse(Einval) "sh_name beyond the section-name table";
    C32 "C-32" Payload Refuse(Einval) "st_name beyond the string table";
    C33 "C-33" Payload Refuse(Einval) "arm32 Thumb mapping symbol";
    C35 "C-35" Payload Refuse(Einval) ".livepatch.xen_depends missing";
    C36 "C-36" Payload Refuse(Einval) ".livepatch.xen_depends is not a build-id note";
    C37 "C-37" Target Refuse(Enodata) "target has no build-id";
    C38 "C-38" Target Refuse(Einval) ".livepatch.xen_depends differs from the target build-id";
    C40 "C-40" Payload Refuse(Eopnotsupp) "section both writable and executable";
    C41 "C-41" Payload Refuse(Enomem) "payload does not fit the arm payload window";
    C42 "C-42" Payload Refuse(Einval) "sh_addralign 0 on a loaded section";
    C45 "C-45" Payload Refuse(Einval) "common symbol";
    C46 "C-46" Target Refuse(Enoent) "undefined symbol does not resolve";
    C47 "C-47" Payload Refuse(Eopnotsupp) "reserved st_shndx";
    C48 "C-48" Payload Refuse(Einval) "st_shndx out of range";
    C50 "C-50" Payload Refuse(Einval) "relocation section sh_info";
    C52 "C-52" Payload Refuse(Einval) "relocation section sh_link";
    C53 "C-53" Payload Refuse(Einval) "relocation section size and entry size";
    C55 "C-55" Payload Refuse(Eopnotsupp) "relocation against STN_UNDEF";
    C56 "C-56" Payload Refuse(Einval) "relocation symbol index out of range";
    C57 "C-57" Payload Refuse(Einval) "relocation against a symbol of an unloaded section";
    C60 "C-60" Payload Refuse(Eopnotsupp) "REL relocations on x86-64";
    C61 "C-61" Payload Refuse(Eopnotsupp) "x86-64 relocation type, bounds and overflow";
    C65 "C-65" Payload Refuse(Enosys) "REL relocations on arm64";
    C66 "C-66" Payload Refuse(Einval) "arm64 relocation bounds";
    C67 "C-67" Payload Refuse(Eopnotsupp) "arm64 relocation type and overflow";
    C71 "C-71" Payload Refuse(Eopnotsupp) "arm32 relocation type and overflow";
    C72 "C-72" Payload Refuse(Einval) "arm32 relocation bounds";
    C73 "C-73" Payload Refuse(Einval) "arm32 MOVW/MOVT addend dropped";
    C74 "C-74" Payload Refuse(Einval) "arm32 branch with an odd word offset";
    C80 "C-80" Payload Refuse(Einval) ".livepatch.depends missing or empty";
    C81 "C-81" Payload Refuse(Einval) ".note.gnu.build-id missing or empty";
    C82 "C-82" Payload Refuse(Einval) "empty funcs or hook section";
    C83 "C-83" Payload Refuse(Einval) "nothing to patch";
    C84 "C-84" Payload Refuse(Einval) "duplicate special section";
    C85 "C-85" Payload Refuse(Einval) "special section not loaded";
    C90 "C-90" Payload Refuse(Einval) ".livepatch.funcs size";
    C92 "C-92" Payload Refuse(Eopnotsupp) "funcs entry version";
    C93 "C-93" Payload Refuse(Einval) "funcs entry old_size 0";
    C94 "C-94" Target Refuse(Enoent) "funcs entry old_addr 0 and name does not resolve";
    C95 "C-95" Payload Refuse(Einval) "x86 NOP size and patch size";
    C96 "C-96" Payload Refuse(Eopnotsupp) "arm NOP size and patch size";
    C97 "C-97" Target Refuse(Eoverflow) "branch distance";
    C98 "C-98" Target Refuse(Einval) "patch site, ENDBR64 NOP size, overlapping entries";
    C99 "C-99" Payload Refuse(Einval) "hook section sizes and pointers";
    C100 "C-100" Payload Refuse(Einval) ".note.gnu.build-id is not a build-id note";
    C101 "C-101" Target Refuse(Eexist) "build-id equals a loaded payload's";
    C102 "C-102" Payload Refuse(Einval) ".livepatch.depends is not a build-id note";
    C105 "C-105" Payload Refuse(Einval) "bug frame section size";
    C106 "C-106" Payload Refuse(Einval) "alternatives";
    C107 "C-107" Payload Refuse(Einval) "alternative call sites";
    C108 "C-108" Payload Refuse(Einval) "exception table";
    C109 "C-109" Payload Refuse(Einval) ".modinfo termination";
    C115 "C-115" Target Refuse(Eexist) "new symbol clashes with a target or loaded payload symbol";
    C119 "C-119" Runtime Refuse(Einval) "page permissions";
    C123 "C-123" Target RefuseApply(Einval) "apply: depends and expectations";
    V01 "V-01" Payload Refuse(Einval) "arm payload is not little-endian";
    V02 "V-02" Payload Advise "funcs entry bytes the hypervisor owns are not zero";
    V03 "V-03" Payload Advise "read-only .livepatch.funcs on releases that write to it";
    V04 "V-04" Payload Advise "symbol name longer than the hypervisor keeps";
    V05 "V-05" Payload Refuse(Einval) "payload ABI not recognised";
    V06 "V-06" Target Advise "old_size differs from the size of the target function";
    V07 "V-07" Payload Refuse(Einval) "xsplice-v4 layout: loaded by the unreleased xSplice v4 series only";
    V08 "V-08" Payload Refuse(Einval) "xsplice-v4 pad[32] is not zero";
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where a finding is: any of a section, an offset in it (or in the file
/// when there is no section), and a symbol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
}

impl Location {
    /// Nowhere in particular (the file as a whole).
    pub fn file() -> Location {
        Location::default()
    }
    /// A file offset.
    pub fn at(offset: u64) -> Location {
        Location {
            offset: Some(offset),
            ..Location::default()
        }
    }
    /// A section.
    pub fn section(name: impl Into<String>) -> Location {
        Location {
            section: Some(name.into()),
            ..Location::default()
        }
    }
    /// An offset inside a section.
    pub fn in_section(name: impl Into<String>, offset: u64) -> Location {
        Location {
            section: Some(name.into()),
            offset: Some(offset),
            symbol: None,
        }
    }
    /// A symbol.
    pub fn symbol(name: impl Into<String>) -> Location {
        Location {
            symbol: Some(name.into()),
            ..Location::default()
        }
    }
    /// Adds a symbol to a location.
    pub fn with_symbol(mut self, name: impl Into<String>) -> Location {
        self.symbol = Some(name.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        match (&self.section, self.offset) {
            (Some(s), Some(o)) => {
                write!(f, "{s}+{o:#x}")?;
                wrote = true;
            }
            (Some(s), None) => {
                write!(f, "{s}")?;
                wrote = true;
            }
            (None, Some(o)) => {
                write!(f, "file offset {o:#x}")?;
                wrote = true;
            }
            (None, None) => {}
        }
        if let Some(sym) = &self.symbol {
            if wrote {
                f.write_str(" ")?;
            }
            write!(f, "(`{sym}`)")?;
        }
        Ok(())
    }
}

/// One result of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: CheckId,
    pub severity: Severity,
    pub location: Location,
    /// Lower-case, names the thing concretely, no final period.
    pub message: String,
    /// The releases whose hypervisor would act on this finding (refuse the
    /// payload for an error); most findings hold for every release.
    pub releases: ReleaseSet,
    /// What the hypervisor returns when it refuses the payload for this
    /// finding, set where the check is made; `None` for a warning and for
    /// advice ([`Response::Advise`]). Not part of the text or JSON output.
    #[serde(skip)]
    pub errno: Option<Errno>,
}

impl Finding {
    /// The errno the upload fails with because of this finding, if the
    /// hypervisor refuses the upload for it.
    pub fn refuses_upload(&self) -> Option<Errno> {
        match self.check.response() {
            Response::Refuse(_) => self.errno,
            Response::RefuseApply(_) | Response::Advise => None,
        }
    }

    /// The errno the apply fails with because of this finding, for the
    /// checks made at apply (C-123).
    pub fn refuses_apply(&self) -> Option<Errno> {
        match self.check.response() {
            Response::RefuseApply(_) => self.errno,
            Response::Refuse(_) | Response::Advise => None,
        }
    }
}

/// The outcome of validating one payload.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    /// Releases whose rules were applied: those loading the payload's ABI
    /// on its arch, or the one `--xen` named.
    pub checked: Vec<Release>,
    /// Releases whose hypervisor would accept the payload.
    pub accepted_by: Vec<Release>,
}

/// Writes findings like a compiler's diagnostics, then the summary line.
pub fn write_text(
    out: &mut dyn Write,
    file: &str,
    findings: &[Finding],
    summary: &Summary,
) -> io::Result<()> {
    for f in findings {
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(out, "{sev}[{}]: {}", f.check, f.message)?;
        let loc = f.location.to_string();
        if loc.is_empty() {
            writeln!(out, "  --> {file}")?;
        } else {
            writeln!(out, "  --> {file}: {loc}")?;
        }
        let checked: ReleaseSet = summary.checked.iter().copied().collect();
        if f.releases != checked && !f.releases.is_empty() {
            writeln!(out, "  = note: applies to Xen {}", f.releases)?;
        }
    }
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let accepted = accepted_by_text(summary.accepted_by.iter().copied().collect());
    writeln!(
        out,
        "{file}: {}, {}; accepted by {accepted}",
        plural(summary.errors, "error"),
        plural(summary.warnings, "warning"),
    )
}
