//! The payload ABIs: which sections a payload has, under which names, what
//! version byte its `.funcs` entries carry, and which Xen releases load it.
//!
//! Four ABIs have existed (§0 of the payload-format specification):
//! - `xsplice-v4`: the seed's patch series (March 2016, never released):
//!   `.xsplice.funcs` with a 64-byte entry ending in `pad[32]`, so byte 32
//!   (the later version byte) is 0 (§1.7 a). Its era is a
//!   [`PatchSeries`], not a range of releases: see [`XSPLICE_V4_SERIES`];
//! - `xsplice`: Xen 4.7.0-rc1..rc4: `.xsplice.*`, version 1 (§1.7 b);
//! - `livepatch-v1`: Xen 4.7.0-rc5 (so 4.7.0) to 4.13: `.livepatch.*`,
//!   version 1, load/unload hooks since 4.8;
//! - `livepatch-v2`: Xen 4.14 and later: version 2, 104/92-byte entry,
//!   `.livepatch.xen_depends`, the six single hooks and `.modinfo`.

use std::fmt;

use crate::AbiError;
use crate::arch::{Arch, WordSize};
use crate::hooks::Hook;
use crate::layout::Layout;
use crate::xen::{XenRange, XenVersion};

/// The payload's own build-id note, required by every ABI (§1.6, C-81).
pub const BUILD_ID_SECTION: &str = ".note.gnu.build-id";

/// ELF `SHF_WRITE`.
pub const SHF_WRITE: u64 = 0x1;
/// ELF `SHF_ALLOC`.
pub const SHF_ALLOC: u64 = 0x2;

/// A hypervisor patch series that loaded payloads but never shipped in a
/// Xen release: the era of an ABI that [`Abi::xen_releases`] cannot name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatchSeries {
    /// How people call it: `xSplice v4 series`.
    pub name: &'static str,
    /// When it was posted, `YYYY-MM-DD`.
    pub posted: &'static str,
}

impl fmt::Display for PatchSeries {
    /// `the xSplice v4 series (2016-03-15, unreleased)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} ({}, unreleased)", self.name, self.posted)
    }
}

/// The hypervisor of the seed: the "xSplice v1 design and implementation"
/// series, version 4 of the posting (34 patches, 2016-03-15), which was
/// never released; the code merged for 4.7.0-rc1 added the version byte
/// (§0).
///
/// What this era's loader required, and how sure we are:
/// - established from the series itself (the seed's patch 18 and the thread
///   overview): the 64-byte `struct xsplice_patch_func` ending in `pad[32]`
///   (§1.7 a), the section name `.xsplice.funcs`, and, through patch 25
///   ("build_id: Provide ld-embedded build-ids") and patch 29 ("xsplice:
///   Stacking build-id dependency checking"), the `.note.gnu.build-id` and
///   `.xsplice.depends` notes that 4.7.0-rc1 then made mandatory;
/// - our reconstruction (§8 question 1: whether that prototype looked at
///   `pad` at all is not known): `pad[32]` must be all zero, which is what
///   the seed builds and what any later reader of byte 32 needs; every
///   other rule is the 4.7.0-rc1 `xsplice` loader's, whose layout agrees
///   with this one everywhere but byte 32.
pub const XSPLICE_V4_SERIES: PatchSeries = PatchSeries {
    name: "xSplice v4 series",
    posted: "2016-03-15",
};

/// A payload ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abi {
    /// The seed's series: `.xsplice.funcs`, `pad[32]` where the version byte
    /// later went (§1.7 a). Loaded by the unreleased xSplice v4 series
    /// ([`XSPLICE_V4_SERIES`]); no released Xen accepts it (C-92).
    XspliceV4,
    /// Xen 4.7.0-rc1..rc4: `.xsplice.*`, version 1 (§0).
    Xsplice,
    /// Xen 4.7.0 to 4.13: `.livepatch.*`, version 1 (§0).
    LivepatchV1,
    /// Xen 4.14 and later: `.livepatch.*`, version 2 (§0, §1.7 c-e).
    LivepatchV2,
}

/// What a special section is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionRole {
    /// The array of `.funcs` entries (§1.7).
    Funcs,
    /// Build-id note of what the payload stacks on (§1.6, C-80, C-102).
    Depends,
    /// Build-id note of the Xen the payload was built for (C-35..C-38).
    XenDepends,
    /// The payload's own build-id note (C-81, C-100).
    BuildId,
    /// A hook pointer section (§1.6, C-99).
    Hook(Hook),
    /// `key=value\0...` metadata (C-109).
    Modinfo,
}

/// Whether a payload must have a section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    Required,
    Optional,
    /// Optional, but at least one section with this requirement must be
    /// present: `.livepatch.funcs` or a hook section (v2, C-83).
    OneOfFuncsOrHooks,
}

impl SectionRole {
    /// The `sh_addralign` to build the section with (§1.6 alignment table):
    /// the pointer size for `.funcs` and hooks, 4 for build-id notes, 1 for
    /// `.modinfo`. Xen only checks that the value is valid.
    pub fn align(self, arch: Arch) -> usize {
        match self {
            SectionRole::Funcs | SectionRole::Hook(_) => arch.pointer_size(),
            SectionRole::Depends | SectionRole::XenDepends | SectionRole::BuildId => 4,
            SectionRole::Modinfo => 1,
        }
    }
}

impl Requirement {
    /// `required`, `optional` or `funcs-or-hooks`, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Requirement::Required => "required",
            Requirement::Optional => "optional",
            Requirement::OneOfFuncsOrHooks => "funcs-or-hooks",
        }
    }
}

/// A section the hypervisor looks up by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialSection {
    pub name: &'static str,
    pub role: SectionRole,
    pub requirement: Requirement,
    /// Xen rejects the section when it is present with size 0 (C-80..C-82,
    /// C-109).
    pub non_empty: bool,
}

impl Abi {
    pub const ALL: [Abi; 4] = [
        Abi::XspliceV4,
        Abi::Xsplice,
        Abi::LivepatchV1,
        Abi::LivepatchV2,
    ];

    /// The name used on command lines: `xsplice-v4`, `xsplice`,
    /// `livepatch-v1`, `livepatch-v2`.
    pub fn name(self) -> &'static str {
        match self {
            Abi::XspliceV4 => "xsplice-v4",
            Abi::Xsplice => "xsplice",
            Abi::LivepatchV1 => "livepatch-v1",
            Abi::LivepatchV2 => "livepatch-v2",
        }
    }

    /// The value the `version` byte must hold (C-92): 1 for `xsplice` and
    /// `livepatch-v1`, 2 for `livepatch-v2`. `xsplice-v4` has no version
    /// byte; the byte at that offset is padding and must be 0.
    pub fn payload_version(self) -> Option<u8> {
        match self {
            Abi::XspliceV4 => None,
            Abi::Xsplice | Abi::LivepatchV1 => Some(1),
            Abi::LivepatchV2 => Some(2),
        }
    }

    /// The byte stored at the version offset: the version, or 0 for
    /// `xsplice-v4`.
    pub fn version_byte(self) -> u8 {
        self.payload_version().unwrap_or(0)
    }

    /// Prefix of the ABI's section names (§0: renamed in 4.7.0-rc5).
    pub fn prefix(self) -> &'static str {
        match self {
            Abi::XspliceV4 | Abi::Xsplice => ".xsplice",
            Abi::LivepatchV1 | Abi::LivepatchV2 => ".livepatch",
        }
    }

    /// Suffix of payload files: `.xsplice` or `.livepatch` (§0).
    pub fn file_suffix(self) -> &'static str {
        self.prefix()
    }

    /// `.xsplice.funcs` or `.livepatch.funcs` (§1.6).
    pub fn funcs_section(self) -> &'static str {
        match self {
            Abi::XspliceV4 | Abi::Xsplice => ".xsplice.funcs",
            Abi::LivepatchV1 | Abi::LivepatchV2 => ".livepatch.funcs",
        }
    }

    /// `.xsplice.depends` or `.livepatch.depends` (§1.6, C-80).
    pub fn depends_section(self) -> &'static str {
        match self {
            Abi::XspliceV4 | Abi::Xsplice => ".xsplice.depends",
            Abi::LivepatchV1 | Abi::LivepatchV2 => ".livepatch.depends",
        }
    }

    /// `.livepatch.xen_depends`, required since 4.14 (§1.6, C-35).
    pub fn xen_depends_section(self) -> Option<&'static str> {
        (self == Abi::LivepatchV2).then_some(".livepatch.xen_depends")
    }

    /// `.modinfo`, read since 4.14 (§1.6, C-109).
    pub fn modinfo_section(self) -> Option<&'static str> {
        (self == Abi::LivepatchV2).then_some(".modinfo")
    }

    /// The payload's own build-id section (every ABI).
    pub fn build_id_section(self) -> &'static str {
        BUILD_ID_SECTION
    }

    /// The hooks the ABI knows (§1.6): none before 4.8, so none for the
    /// `.xsplice.*` ABIs; load and unload in v1 (4.8-4.13); all eight in v2.
    pub fn hooks(self) -> &'static [Hook] {
        match self {
            Abi::XspliceV4 | Abi::Xsplice => &[],
            Abi::LivepatchV1 => &[Hook::Load, Hook::Unload],
            Abi::LivepatchV2 => &Hook::ALL,
        }
    }

    /// Every section the hypervisor looks up by name, with its requirement
    /// (§1.6, C-35, C-80..C-83, C-109).
    pub fn special_sections(self) -> Vec<SpecialSection> {
        let funcs_requirement = match self {
            Abi::LivepatchV2 => Requirement::OneOfFuncsOrHooks,
            _ => Requirement::Required,
        };
        let hook_requirement = match self {
            Abi::LivepatchV2 => Requirement::OneOfFuncsOrHooks,
            _ => Requirement::Optional,
        };
        let mut out = vec![
            SpecialSection {
                name: self.funcs_section(),
                role: SectionRole::Funcs,
                requirement: funcs_requirement,
                non_empty: true,
            },
            SpecialSection {
                name: self.depends_section(),
                role: SectionRole::Depends,
                requirement: Requirement::Required,
                non_empty: true,
            },
        ];
        if let Some(name) = self.xen_depends_section() {
            out.push(SpecialSection {
                name,
                role: SectionRole::XenDepends,
                requirement: Requirement::Required,
                non_empty: true,
            });
        }
        out.push(SpecialSection {
            name: BUILD_ID_SECTION,
            role: SectionRole::BuildId,
            requirement: Requirement::Required,
            non_empty: true,
        });
        for &hook in self.hooks() {
            out.push(SpecialSection {
                name: hook.section(),
                role: SectionRole::Hook(hook),
                requirement: hook_requirement,
                non_empty: true,
            });
        }
        if let Some(name) = self.modinfo_section() {
            out.push(SpecialSection {
                name,
                role: SectionRole::Modinfo,
                requirement: Requirement::Optional,
                non_empty: true,
            });
        }
        out
    }

    /// The special section called `name`, if the ABI has one.
    pub fn special_section(self, name: &str) -> Option<SpecialSection> {
        self.special_sections().into_iter().find(|s| s.name == name)
    }

    /// The Xen releases that load this ABI (§0), or `None` for
    /// `xsplice-v4`, which only the unreleased patch series accepted (see
    /// [`Abi::patch_series`]).
    /// The v2 range ends at the newest release the specification was checked
    /// against (4.22; no version 3 exists).
    pub fn xen_releases(self) -> Option<XenRange> {
        match self {
            Abi::XspliceV4 => None,
            Abi::Xsplice => Some(XenRange {
                first: XenVersion::rc(4, 7, 0, 1),
                last: XenVersion::rc(4, 7, 0, 4),
            }),
            Abi::LivepatchV1 => Some(XenRange {
                first: XenVersion::rc(4, 7, 0, 5),
                last: XenVersion::series(4, 13),
            }),
            Abi::LivepatchV2 => Some(XenRange {
                first: XenVersion::rc(4, 14, 0, 1),
                last: XenVersion::NEWEST,
            }),
        }
    }

    /// The unreleased patch series that loads this ABI, for the one ABI no
    /// release loads: [`XSPLICE_V4_SERIES`] for `xsplice-v4`.
    pub fn patch_series(self) -> Option<PatchSeries> {
        match self {
            Abi::XspliceV4 => Some(XSPLICE_V4_SERIES),
            Abi::Xsplice | Abi::LivepatchV1 | Abi::LivepatchV2 => None,
        }
    }

    /// Who loads this ABI, for people: the release range, or the patch
    /// series (`the xSplice v4 series (2016-03-15, unreleased)`).
    pub fn era(self) -> String {
        match (self.xen_releases(), self.patch_series()) {
            (Some(r), _) => format!("Xen {r}"),
            (None, Some(s)) => s.to_string(),
            (None, None) => "no hypervisor".to_string(),
        }
    }

    /// True if Xen `version` loads payloads of this ABI. Always false for
    /// `xsplice-v4`: a version names a release, and every release reads its
    /// byte 32 as version 0 (C-92).
    pub fn accepts_xen(self, version: &XenVersion) -> bool {
        self.xen_releases().is_some_and(|r| r.contains(version))
    }

    /// The ABI that Xen `version` loads, if any.
    pub fn for_xen(version: &XenVersion) -> Option<Abi> {
        Abi::ALL.into_iter().find(|abi| abi.accepts_xen(version))
    }

    /// Architectures with a hypervisor for this ABI: x86-64 only for the
    /// `.xsplice.*` ABIs; ARM joined in 4.8 (§0).
    pub fn arches(self) -> &'static [Arch] {
        match self {
            Abi::XspliceV4 | Abi::Xsplice => &[Arch::X86_64],
            Abi::LivepatchV1 | Abi::LivepatchV2 => &Arch::ALL,
        }
    }

    /// True if Xen `version` writes into the `.funcs` entries at apply time
    /// (`opaque`, `applied`, `patch_offset`; §1.7 d).
    ///
    /// Every release up to the fstate change does: all v1 releases, and v2
    /// before 4.17.3, 4.18.0 but not 4.18.1+, nothing from 4.19 on (§0,
    /// `82182ad7b4`). For `xsplice-v4` the seed's C struct is a writable
    /// object, so a builder keeps it writable.
    pub fn hypervisor_writes_funcs(self, version: &XenVersion) -> bool {
        match self {
            Abi::XspliceV4 | Abi::Xsplice | Abi::LivepatchV1 => true,
            Abi::LivepatchV2 => version.writes_funcs(),
        }
    }

    /// The release whose rules a payload of this ABI is handled by when no
    /// release is named: the newest that loads the ABI, or, for
    /// `xsplice-v4`, whose series no release number names, 4.7.0-rc1,
    /// whose loader rules the series shares ([`XSPLICE_V4_SERIES`]).
    pub fn rules_release(self) -> XenVersion {
        self.xen_releases()
            .map_or(XenVersion::rc(4, 7, 0, 1), |r| r.last)
    }

    /// Whether `.funcs` must carry SHF_WRITE for the target Xen (`Some`), or
    /// for every release that loads the ABI (`None`).
    ///
    /// A read-only `.funcs` page-faults on releases that write into it
    /// (§1.7 d), while a writable one is harmless everywhere: it is the one
    /// rw section `safe_to_reapply` allows (§1.3). Hence `None` gives `true`
    /// for every ABI.
    pub fn funcs_must_be_writable(self, xen: Option<&XenVersion>) -> bool {
        match xen {
            Some(v) => self.hypervisor_writes_funcs(v),
            None => true,
        }
    }

    /// ELF `sh_flags` for `.funcs`: SHF_ALLOC, plus SHF_WRITE when
    /// [`Abi::funcs_must_be_writable`] says so. Never SHF_EXECINSTR (C-40).
    pub fn funcs_section_flags(self, xen: Option<&XenVersion>) -> u64 {
        if self.funcs_must_be_writable(xen) {
            SHF_ALLOC | SHF_WRITE
        } else {
            SHF_ALLOC
        }
    }

    /// The `.funcs` entry layout for a target of `word` size (§1.7).
    pub fn layout(self, word: WordSize) -> &'static Layout {
        Layout::of(self, word)
    }

    /// `sizeof` one `.funcs` entry (C-90).
    pub fn entry_size(self, word: WordSize) -> usize {
        self.layout(word).size
    }

    /// True for `.xsplice.funcs` and `.livepatch.funcs`, the `.funcs`
    /// section of some ABI.
    pub fn is_funcs_section(name: &str) -> bool {
        Abi::ALL.iter().any(|abi| abi.funcs_section() == name)
    }

    /// Offset of the version byte in a `.funcs` entry (C-92): right after
    /// the two u32 sizes in every ABI's layout of `word` size, so it is
    /// known before the ABI is.
    pub fn version_byte_offset(word: WordSize) -> usize {
        Abi::LivepatchV1.layout(word).offset_of("version")
    }

    /// Tells the ABI of a payload from its sections, each given by name
    /// and contents (`None` when they cannot be read): the version byte is
    /// read from the first `.funcs` section's first entry, then
    /// [`Abi::detect`] decides.
    pub fn detect_payload<'a>(
        sections: &[(&'a str, Option<&'a [u8]>)],
        word: WordSize,
    ) -> Result<Abi, AbiError> {
        let version = sections
            .iter()
            .find(|(name, _)| Abi::is_funcs_section(name))
            .and_then(|(_, data)| data.as_ref())
            .and_then(|data| data.get(Abi::version_byte_offset(word)).copied());
        Abi::detect(sections.iter().map(|(name, _)| *name), version)
    }

    /// Tells the ABI of a payload from its section names and the version
    /// byte of its first `.funcs` entry (`None` when there is no entry).
    ///
    /// The prefix separates `.xsplice.*` from `.livepatch.*`; within a
    /// prefix only the version byte tells the layouts apart, as in the
    /// hypervisor (C-92). A `.livepatch.*` payload without `.livepatch.funcs`
    /// is v2, the only ABI where funcs are optional (C-83).
    pub fn detect<'a>(
        section_names: impl IntoIterator<Item = &'a str>,
        version_byte: Option<u8>,
    ) -> Result<Abi, AbiError> {
        let (mut xsplice, mut livepatch, mut livepatch_funcs) = (false, false, false);
        for name in section_names {
            xsplice |= name.starts_with(".xsplice.");
            livepatch |= name.starts_with(".livepatch.");
            livepatch_funcs |= name == ".livepatch.funcs";
        }
        match (xsplice, livepatch, version_byte) {
            (true, true, _) => Err(AbiError::MixedPrefixes),
            (false, false, _) => Err(AbiError::NotAPayload),
            (true, false, Some(0)) => Ok(Abi::XspliceV4),
            (true, false, Some(1)) => Ok(Abi::Xsplice),
            (false, true, Some(1)) => Ok(Abi::LivepatchV1),
            (false, true, Some(2)) => Ok(Abi::LivepatchV2),
            (false, true, None) if !livepatch_funcs => Ok(Abi::LivepatchV2),
            (x, _, Some(version)) => Err(AbiError::UnknownVersion {
                prefix: if x { ".xsplice" } else { ".livepatch" },
                version,
            }),
            (x, _, None) => Err(AbiError::NoVersionByte {
                prefix: if x { ".xsplice" } else { ".livepatch" },
            }),
        }
    }
}

crate::named_enum!(Abi, AbiError, |name: &str| AbiError::UnknownAbi {
    name: name.to_owned(),
});

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical text dump of an ABI: everything a builder needs.
    fn dump(abi: Abi) -> String {
        let mut out = format!(
            "{abi}: version {}, suffix {}, entry {}/{} bytes, {}, arches {}\n",
            abi.payload_version()
                .map_or("none".to_string(), |v| v.to_string()),
            abi.file_suffix(),
            abi.entry_size(WordSize::W64),
            abi.entry_size(WordSize::W32),
            abi.era(),
            abi.arches()
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(","),
        );
        for s in abi.special_sections() {
            out += &format!("  {} {}\n", s.name, s.requirement.name());
        }
        out
    }

    fn check(abi: Abi, expect: &str) {
        assert_eq!(dump(abi), expect);
    }

    #[test]
    fn abis() {
        check(
            Abi::XspliceV4,
            r#"xsplice-v4: version none, suffix .xsplice, entry 64/52 bytes, the xSplice v4 series (2016-03-15, unreleased), arches x86_64
  .xsplice.funcs required
  .xsplice.depends required
  .note.gnu.build-id required
"#,
        );
        check(
            Abi::Xsplice,
            r#"xsplice: version 1, suffix .xsplice, entry 64/52 bytes, Xen 4.7.0-rc1..=4.7.0-rc4, arches x86_64
  .xsplice.funcs required
  .xsplice.depends required
  .note.gnu.build-id required
"#,
        );
        check(
            Abi::LivepatchV1,
            r#"livepatch-v1: version 1, suffix .livepatch, entry 64/52 bytes, Xen 4.7.0-rc5..=4.13, arches x86_64,aarch64,arm32
  .livepatch.funcs required
  .livepatch.depends required
  .note.gnu.build-id required
  .livepatch.hooks.load optional
  .livepatch.hooks.unload optional
"#,
        );
        check(
            Abi::LivepatchV2,
            r#"livepatch-v2: version 2, suffix .livepatch, entry 104/92 bytes, Xen 4.14.0-rc1..=4.22, arches x86_64,aarch64,arm32
  .livepatch.funcs funcs-or-hooks
  .livepatch.depends required
  .livepatch.xen_depends required
  .note.gnu.build-id required
  .livepatch.hooks.load funcs-or-hooks
  .livepatch.hooks.unload funcs-or-hooks
  .livepatch.hooks.preapply funcs-or-hooks
  .livepatch.hooks.apply funcs-or-hooks
  .livepatch.hooks.postapply funcs-or-hooks
  .livepatch.hooks.prerevert funcs-or-hooks
  .livepatch.hooks.revert funcs-or-hooks
  .livepatch.hooks.postrevert funcs-or-hooks
  .modinfo optional
"#,
        );
    }

    #[test]
    fn names_round_trip() {
        for abi in Abi::ALL {
            assert_eq!(abi.name().parse::<Abi>().unwrap(), abi);
        }
        assert_eq!(
            "livepatch".parse::<Abi>().unwrap_err().to_string(),
            "unknown payload abi `livepatch` (expected xsplice-v4, xsplice, livepatch-v1 or livepatch-v2)"
        );
    }

    fn check_xen(version: &str, abi: Option<Abi>, writes: bool) {
        let v: XenVersion = version.parse().unwrap();
        assert_eq!(Abi::for_xen(&v), abi, "abi of xen {version}");
        if let Some(abi) = abi {
            assert_eq!(
                abi.hypervisor_writes_funcs(&v),
                writes,
                "xen {version} writes .funcs"
            );
            let flags = abi.funcs_section_flags(Some(&v));
            assert_eq!(flags & SHF_WRITE != 0, writes);
            assert_eq!(abi.funcs_section_flags(None), SHF_ALLOC | SHF_WRITE);
        }
    }

    #[test]
    fn xen_releases_and_funcs_writability() {
        check_xen("4.6.0", None, false);
        check_xen("4.7.0-rc1", Some(Abi::Xsplice), true);
        // No release number names the xSplice v4 series.
        for v in ["4.6.0", "4.7.0-rc1", "4.7.0", "4.22"] {
            assert!(!Abi::XspliceV4.accepts_xen(&v.parse().unwrap()), "{v}");
        }
        assert_eq!(Abi::Xsplice.patch_series(), None);
        check_xen("4.7.0-rc4", Some(Abi::Xsplice), true);
        check_xen("4.7.0-rc5", Some(Abi::LivepatchV1), true);
        check_xen("4.7.0", Some(Abi::LivepatchV1), true);
        check_xen("4.13.4", Some(Abi::LivepatchV1), true);
        check_xen("4.14.0", Some(Abi::LivepatchV2), true);
        check_xen("4.16.1", Some(Abi::LivepatchV2), true);
        check_xen("4.17.2", Some(Abi::LivepatchV2), true);
        check_xen("4.17.3", Some(Abi::LivepatchV2), false);
        check_xen("4.18.0", Some(Abi::LivepatchV2), true);
        check_xen("4.18.1", Some(Abi::LivepatchV2), false);
        check_xen("4.19.0", Some(Abi::LivepatchV2), false);
        check_xen("4.22.1", Some(Abi::LivepatchV2), false);
        check_xen("4.23.0", None, false);
    }

    fn check_detect(names: &[&str], version: Option<u8>, expect: &str) {
        let got = match Abi::detect(names.iter().copied(), version) {
            Ok(abi) => abi.to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{names:?} {version:?}");
    }

    #[test]
    fn detection() {
        let xs = [
            ".text",
            ".xsplice.funcs",
            ".xsplice.depends",
            ".note.gnu.build-id",
        ];
        let lp = [
            ".text",
            ".livepatch.funcs",
            ".livepatch.depends",
            ".note.gnu.build-id",
        ];
        check_detect(&xs, Some(0), "xsplice-v4");
        check_detect(&xs, Some(1), "xsplice");
        check_detect(
            &xs,
            Some(2),
            "`.xsplice.*` payload with .funcs version byte 2 matches no known abi",
        );
        check_detect(
            &xs,
            None,
            "`.xsplice.*` payload without a .funcs entry: the abi cannot be told apart",
        );
        check_detect(&lp, Some(1), "livepatch-v1");
        check_detect(&lp, Some(2), "livepatch-v2");
        check_detect(
            &lp,
            Some(3),
            "`.livepatch.*` payload with .funcs version byte 3 matches no known abi",
        );
        check_detect(
            &lp,
            None,
            "`.livepatch.*` payload without a .funcs entry: the abi cannot be told apart",
        );
        check_detect(
            &[".livepatch.depends", ".livepatch.hooks.apply"],
            None,
            "livepatch-v2",
        );
        check_detect(
            &[".text", ".data"],
            Some(2),
            "no `.xsplice.*` or `.livepatch.*` section: not a live-patch payload",
        );
        check_detect(
            &[".xsplice.funcs", ".livepatch.depends"],
            Some(1),
            "payload mixes `.xsplice.*` and `.livepatch.*` sections",
        );
    }

    #[test]
    fn detection_from_section_contents() {
        assert!(Abi::is_funcs_section(".xsplice.funcs"));
        assert!(Abi::is_funcs_section(".livepatch.funcs"));
        assert!(!Abi::is_funcs_section(".livepatch.depends"));
        for word in WordSize::ALL {
            for abi in Abi::ALL
                .into_iter()
                .filter(|a| a.payload_version().is_some())
            {
                assert_eq!(
                    Abi::version_byte_offset(word),
                    abi.layout(word).offset_of("version"),
                    "{abi} {word:?}"
                );
            }
        }
        let mut entry = [0u8; 64];
        entry[Abi::version_byte_offset(WordSize::W64)] = 2;
        entry[Abi::version_byte_offset(WordSize::W32)] = 1;
        let detect = |funcs: Option<&[u8]>, word| {
            let sections = [
                (".text", Some(&[0xc3u8][..])),
                (".livepatch.funcs", funcs),
                (".livepatch.depends", Some(&[][..])),
            ];
            Abi::detect_payload(&sections, word).map_or_else(|e| e.to_string(), |a| a.to_string())
        };
        assert_eq!(detect(Some(&entry), WordSize::W64), "livepatch-v2");
        assert_eq!(detect(Some(&entry), WordSize::W32), "livepatch-v1");
        // No contents, or an entry too short for its version byte.
        for funcs in [None, Some(&entry[..32])] {
            assert_eq!(
                detect(funcs, WordSize::W64),
                "`.livepatch.*` payload without a .funcs entry: the abi cannot be told apart"
            );
        }
    }

    #[test]
    fn every_abi_section_uses_its_prefix() {
        for abi in Abi::ALL {
            for s in abi.special_sections() {
                let own = s.name.starts_with(abi.prefix())
                    || s.name == BUILD_ID_SECTION
                    || s.name == ".modinfo";
                assert!(own, "{abi}: {}", s.name);
                assert_eq!(abi.special_section(s.name), Some(s));
            }
        }
    }
}
