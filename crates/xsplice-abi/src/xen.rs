//! Xen release numbers, as far as the payload format cares about them.
//!
//! The payload ABIs are tied to ranges of Xen releases (§0), and a few
//! behaviours (whether the hypervisor writes into `.livepatch.funcs`, the size
//! of `struct alt_instr`) change at a specific release or stable point
//! release. [`XenVersion`] parses names such as `4.7.0-rc2`, `4.17.3` or
//! `4.14` and orders them the way the releases were made.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::AbiError;

/// A Xen release: `major.minor[.patch][-rcN]`.
///
/// A missing patch number means "the series" (`4.14` is any 4.14.x) when
/// used as the end of a [`XenRange`], and `.0` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct XenVersion {
    pub major: u8,
    pub minor: u8,
    pub patch: Option<u8>,
    /// Release candidate number; `None` for a final release.
    pub rc: Option<u8>,
}

impl XenVersion {
    /// The newest release the specification was checked against; the last
    /// release of `livepatch-v2` (no version 3 exists).
    pub const NEWEST: XenVersion = XenVersion::series(4, 22);

    /// A final release `major.minor.patch`.
    pub const fn new(major: u8, minor: u8, patch: u8) -> Self {
        Self {
            major,
            minor,
            patch: Some(patch),
            rc: None,
        }
    }

    /// A release series `major.minor` (any patch level).
    pub const fn series(major: u8, minor: u8) -> Self {
        Self {
            major,
            minor,
            patch: None,
            rc: None,
        }
    }

    /// A release candidate `major.minor.patch-rcN`.
    pub const fn rc(major: u8, minor: u8, patch: u8, rc: u8) -> Self {
        Self {
            major,
            minor,
            patch: Some(patch),
            rc: Some(rc),
        }
    }

    /// The key releases sort by: a release candidate comes before its final
    /// release, and a bare series is its `.0` release.
    fn key(&self) -> (u8, u8, u8, u16) {
        let rc = self.rc.map_or(u16::MAX, u16::from);
        (self.major, self.minor, self.patch.unwrap_or(0), rc)
    }

    /// True if `self` is in the same `major.minor` series as `other`.
    pub fn same_series(&self, other: &XenVersion) -> bool {
        self.major == other.major && self.minor == other.minor
    }
}

impl Ord for XenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for XenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for XenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(patch) = self.patch {
            write!(f, ".{patch}")?;
        }
        if let Some(rc) = self.rc {
            write!(f, "-rc{rc}")?;
        }
        Ok(())
    }
}

impl FromStr for XenVersion {
    type Err = AbiError;

    fn from_str(s: &str) -> Result<Self, AbiError> {
        let bad = || AbiError::BadXenVersion {
            text: s.to_string(),
        };
        let (numbers, rc) = match s.split_once("-rc") {
            Some((numbers, rc)) => (numbers, Some(rc.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let mut parts = numbers.split('.');
        let mut number = |required: bool| -> Result<Option<u8>, AbiError> {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse::<u8>().map(Some).map_err(|_| bad())
                }
                None if !required => Ok(None),
                _ => Err(bad()),
            }
        };
        let major = number(true)?.ok_or_else(bad)?;
        let minor = number(true)?.ok_or_else(bad)?;
        let patch = number(false)?;
        if parts.next().is_some() || (rc.is_some() && patch.is_none()) {
            return Err(bad());
        }
        Ok(Self {
            major,
            minor,
            patch,
            rc,
        })
    }
}

/// An inclusive range of Xen releases.
///
/// `last` given as a series (`4.13`) covers every point release of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenRange {
    pub first: XenVersion,
    pub last: XenVersion,
}

impl XenRange {
    /// True if `version` is inside the range.
    ///
    /// A version given as a bare series (`4.7`) means its `.0` release.
    pub fn contains(&self, version: &XenVersion) -> bool {
        if *version < self.first {
            return false;
        }
        match self.last.patch {
            None => version.key() < self.last.key() || self.last.same_series(version),
            Some(_) => *version <= self.last,
        }
    }
}

impl fmt::Display for XenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.first, self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(range: XenRange, version: &str, expect: bool) {
        let v: XenVersion = version.parse().unwrap();
        assert_eq!(range.contains(&v), expect, "{version} in {range}");
    }

    #[test]
    fn parse_and_display_round_trip() {
        for text in ["4.7.0-rc1", "4.7", "4.17.3", "4.22.0", "10.0.1-rc12"] {
            let v: XenVersion = text.parse().unwrap();
            assert_eq!(v.to_string(), text);
        }
        for bad in [
            "",
            "4",
            "4.",
            "4.x",
            "4.7-rc1",
            "4.7.0.1",
            "4.7.0-rc",
            "-4.7",
            "4.7.0-rcx",
            "4.300",
        ] {
            assert!(bad.parse::<XenVersion>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn release_candidates_come_before_the_release() {
        let rc4: XenVersion = "4.7.0-rc4".parse().unwrap();
        let rc5: XenVersion = "4.7.0-rc5".parse().unwrap();
        let final_: XenVersion = "4.7.0".parse().unwrap();
        assert!(rc4 < rc5 && rc5 < final_);
        assert_eq!(
            "4.7".parse::<XenVersion>().unwrap().cmp(&final_),
            Ordering::Equal
        );
    }

    #[test]
    fn ranges() {
        let v1 = XenRange {
            first: XenVersion::rc(4, 7, 0, 5),
            last: XenVersion::series(4, 13),
        };
        check(v1, "4.7.0-rc4", false);
        check(v1, "4.7.0-rc5", true);
        check(v1, "4.7", true);
        check(v1, "4.13.5", true);
        check(v1, "4.14.0-rc1", false);
        check(v1, "4.14", false);
        let rc = XenRange {
            first: XenVersion::rc(4, 7, 0, 1),
            last: XenVersion::rc(4, 7, 0, 4),
        };
        check(rc, "4.7.0-rc1", true);
        check(rc, "4.7.0-rc4", true);
        check(rc, "4.7.0", false);
        check(rc, "4.6.9", false);
    }
}
