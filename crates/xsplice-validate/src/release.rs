//! Sets of Xen releases, to say which hypervisors a finding concerns and
//! which would accept a payload.
//!
//! A release here is a `4.x` series, plus the `.xsplice.*` release
//! candidates of 4.7.0 as one extra member, because the rules the validator
//! applies change at series boundaries (§0). Stable point releases that got
//! backports are named in messages where they matter, not modelled.
//!
//! One member is no release at all: the xSplice v4 patch series of March
//! 2016 (`xsplice_abi::XSPLICE_V4_SERIES`), the only hypervisor that loads
//! `xsplice-v4` payloads. It is in [`ReleaseSet::all`] so that rules meant
//! for every hypervisor reach it, but never in [`ReleaseSet::released`], and
//! no `--xen` version names it.

use std::fmt;

use serde::Serialize;
use xsplice_abi::XenVersion;

/// One member of a [`ReleaseSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    /// The unreleased xSplice v4 series (2016-03-15), the seed's hypervisor.
    XspliceV4Series,
    /// 4.7.0-rc1 to 4.7.0-rc4, the only hypervisors that read `.xsplice.*` names.
    XspliceRc,
    /// The `4.minor` series.
    Series(u8),
}

/// The bit of the xSplice v4 series, above every release's.
const V4_BIT: u32 = 1 << 31;

/// The first and last `4.x` series the validator knows.
pub const FIRST_MINOR: u8 = 7;
/// The newest series (the specification's HEAD behaves like 4.22).
pub const LAST_MINOR: u8 = 22;

impl Release {
    fn bit(self) -> u32 {
        match self {
            Release::XspliceRc => 1,
            Release::Series(m) => 1 << (m - FIRST_MINOR + 1),
            Release::XspliceV4Series => V4_BIT,
        }
    }

    /// The release as a [`XenVersion`]; the rc range is its first rc. The
    /// xSplice v4 series has no version number.
    pub fn version(self) -> Option<XenVersion> {
        match self {
            Release::XspliceV4Series => None,
            Release::XspliceRc => Some(XenVersion::rc(4, 7, 0, 1)),
            Release::Series(m) => Some(XenVersion::series(4, m)),
        }
    }

    /// The first and the last point release of the member, between which
    /// the release rules of `xsplice-abi` are decided: a rule changes at
    /// most once inside a series (a stable backport), so it holds for some
    /// point release of the series iff it holds at one of the two ends. The
    /// xSplice v4 series shares the 4.7.0-rc1 loader's rules.
    pub fn ends(self) -> [XenVersion; 2] {
        match self {
            Release::XspliceV4Series => [XenVersion::rc(4, 7, 0, 1); 2],
            Release::XspliceRc => [XenVersion::rc(4, 7, 0, 1), XenVersion::rc(4, 7, 0, 4)],
            Release::Series(m) => [XenVersion::new(4, m, 0), XenVersion::new(4, m, u8::MAX)],
        }
    }

    /// The release a version names, if the validator knows it.
    pub fn of(v: &XenVersion) -> Option<Release> {
        if v.major != 4 || !(FIRST_MINOR..=LAST_MINOR).contains(&v.minor) {
            return None;
        }
        if v.minor == 7 && v.patch.unwrap_or(0) == 0 && v.rc.is_some_and(|rc| rc <= 4) {
            return Some(Release::XspliceRc);
        }
        Some(Release::Series(v.minor))
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Release::XspliceV4Series => f.write_str("xSplice v4 series (unreleased)"),
            Release::XspliceRc => f.write_str("4.7.0-rc1..rc4"),
            Release::Series(m) => write!(f, "4.{m}"),
        }
    }
}

impl Serialize for Release {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A set of releases.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReleaseSet(u32);

impl ReleaseSet {
    /// No release.
    pub const NONE: ReleaseSet = ReleaseSet(0);

    /// Every known hypervisor: the releases and the xSplice v4 series.
    pub fn all() -> ReleaseSet {
        ReleaseSet(Self::released().0 | V4_BIT)
    }

    /// Every known release (not the xSplice v4 series).
    pub fn released() -> ReleaseSet {
        ReleaseSet((1u32 << (LAST_MINOR - FIRST_MINOR + 2)) - 1)
    }

    /// Only the xSplice v4 series.
    pub fn xsplice_v4_series() -> ReleaseSet {
        ReleaseSet(V4_BIT)
    }

    /// The `4.x` series from `first` to `last` inclusive (no rc member).
    pub fn series(first: u8, last: u8) -> ReleaseSet {
        (first.max(FIRST_MINOR)..=last.min(LAST_MINOR))
            .map(Release::Series)
            .collect()
    }

    /// Only the 4.7.0 release candidates.
    pub fn xsplice_rc() -> ReleaseSet {
        ReleaseSet(Release::XspliceRc.bit())
    }

    pub fn contains(self, r: Release) -> bool {
        self.0 & r.bit() != 0
    }
    pub fn is_all(self) -> bool {
        self == ReleaseSet::all()
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn union(self, o: ReleaseSet) -> ReleaseSet {
        ReleaseSet(self.0 | o.0)
    }
    pub fn intersect(self, o: ReleaseSet) -> ReleaseSet {
        ReleaseSet(self.0 & o.0)
    }
    pub fn minus(self, o: ReleaseSet) -> ReleaseSet {
        ReleaseSet(self.0 & !o.0)
    }

    /// Members in release order.
    pub fn iter(self) -> impl Iterator<Item = Release> {
        [Release::XspliceV4Series, Release::XspliceRc]
            .into_iter()
            .chain((FIRST_MINOR..=LAST_MINOR).map(Release::Series))
            .filter(move |r| self.contains(*r))
    }
}

impl FromIterator<Release> for ReleaseSet {
    fn from_iter<I: IntoIterator<Item = Release>>(it: I) -> ReleaseSet {
        ReleaseSet(it.into_iter().fold(0, |acc, r| acc | r.bit()))
    }
}

impl fmt::Debug for ReleaseSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Writes runs of consecutive series as `4.14-4.22`.
impl fmt::Display for ReleaseSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut parts = Vec::new();
        if self.contains(Release::XspliceV4Series) {
            parts.push(Release::XspliceV4Series.to_string());
        }
        if self.contains(Release::XspliceRc) {
            parts.push(Release::XspliceRc.to_string());
        }
        let mut m = FIRST_MINOR;
        while m <= LAST_MINOR {
            if !self.contains(Release::Series(m)) {
                m += 1;
                continue;
            }
            let start = m;
            while m < LAST_MINOR && self.contains(Release::Series(m + 1)) {
                m += 1;
            }
            if start == m {
                parts.push(format!("4.{m}"));
            } else {
                parts.push(format!("4.{start}-4.{m}"));
            }
            m += 1;
        }
        f.write_str(&parts.join(", "))
    }
}

/// The summary's "accepted by" words: `Xen 4.14-4.22`, `no Xen release`,
/// or, for the seed's ABI, `the xSplice v4 series (unreleased); no released
/// Xen`.
pub fn accepted_by_text(set: ReleaseSet) -> String {
    let released = set.intersect(ReleaseSet::released());
    match (set.contains(Release::XspliceV4Series), released.is_empty()) {
        (false, true) => "no Xen release".to_string(),
        (false, false) => format!("Xen {released}"),
        (true, true) => "the xSplice v4 series (unreleased); no released Xen".to_string(),
        (true, false) => format!("the xSplice v4 series (unreleased) and Xen {released}"),
    }
}

impl Serialize for ReleaseSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_runs() {
        let check = |set: ReleaseSet, expect: &str| assert_eq!(set.to_string(), expect);
        check(ReleaseSet::series(14, 22), "4.14-4.22");
        check(ReleaseSet::NONE, "none");
        check(
            ReleaseSet::xsplice_rc().union(ReleaseSet::series(7, 7)),
            "4.7.0-rc1..rc4, 4.7",
        );
        check(
            ReleaseSet::series(8, 10).union(ReleaseSet::series(12, 12)),
            "4.8-4.10, 4.12",
        );
        assert!(ReleaseSet::all().contains(Release::Series(22)));
        check(
            ReleaseSet::xsplice_v4_series().union(ReleaseSet::xsplice_rc()),
            "xSplice v4 series (unreleased), 4.7.0-rc1..rc4",
        );
        check(ReleaseSet::released(), "4.7.0-rc1..rc4, 4.7-4.22");
        check(
            ReleaseSet::all(),
            "xSplice v4 series (unreleased), 4.7.0-rc1..rc4, 4.7-4.22",
        );
    }

    #[test]
    fn acceptance_words() {
        let check = |set: ReleaseSet, expect: &str| assert_eq!(accepted_by_text(set), expect);
        check(ReleaseSet::NONE, "no Xen release");
        check(ReleaseSet::series(14, 22), "Xen 4.14-4.22");
        check(
            ReleaseSet::xsplice_v4_series(),
            "the xSplice v4 series (unreleased); no released Xen",
        );
        assert_eq!(
            ReleaseSet::all().iter().next(),
            Some(Release::XspliceV4Series)
        );
        assert!(!ReleaseSet::released().contains(Release::XspliceV4Series));
    }

    #[test]
    fn versions_map_to_releases() {
        let r = |s: &str| Release::of(&s.parse().unwrap());
        assert_eq!(r("4.7.0-rc2"), Some(Release::XspliceRc));
        assert_eq!(r("4.7.0-rc5"), Some(Release::Series(7)));
        assert_eq!(r("4.19"), Some(Release::Series(19)));
        assert_eq!(r("4.17.3"), Some(Release::Series(17)));
        assert_eq!(r("4.6"), None);
    }
}
