//! Release rules: what the hypervisor does differently from one release
//! (and architecture) to the next, each as a predicate of the release.
//!
//! The validator and the simulator both read these, so that a payload is
//! judged by one set of rules whichever tool looks at it: the validator
//! turns a predicate into the set of releases a finding concerns, and the
//! simulator behaves as the release it emulates. Each rule cites §0 (the
//! timeline, with its backports) or the check it changes; a stable point
//! release that got a backport is named where it matters.

use crate::arch::Arch;
use crate::xen::XenVersion;

/// The patch level of a version, a bare series counting as its `.0`.
fn patch(v: &XenVersion) -> u8 {
    v.patch.unwrap_or(0)
}

impl XenVersion {
    /// x86 writes the branch (and NOP-patches) after a leading ENDBR64 or
    /// its poison, and so needs `old_size` ≥ 9 there (C-95) and `new_size`
    /// ≥ 4 in NOP mode (C-98): from 4.17.0, and in the 4.14.5, 4.15.3 and
    /// 4.16.1 backports (§0, §4). Earlier releases patch at `old_addr`
    /// itself; ARM never looks for ENDBR64.
    pub fn skips_endbr(&self, arch: Arch) -> bool {
        if arch != Arch::X86_64 {
            return false;
        }
        match (self.major, self.minor) {
            (4, 14) => patch(self) >= 5,
            (4, 15) => patch(self) >= 3,
            (4, 16) => patch(self) >= 1,
            (major, minor) => (major, minor) >= (4, 17),
        }
    }

    /// The hypervisor keeps each function's state in the payload's own
    /// `.funcs` entries (`opaque`, `applied`, `patch_offset`) and writes
    /// into them at apply: every release before the fstate change, which
    /// came in 4.19.0 and the 4.17.3 and 4.18.1 backports (§0, §1.7 d).
    pub fn writes_funcs(&self) -> bool {
        match (self.major, self.minor) {
            (4, 17) => patch(self) < 3,
            (4, 18) => patch(self) < 1,
            (major, minor) => (major, minor) < (4, 19),
        }
    }

    /// Writing into a read-only `.funcs` at apply faults, and the
    /// hypervisor dies: x86 4.18.0, which writes the entries but no longer
    /// clears CR0.WP, and ARM wherever it writes them (through the normal
    /// mapping; inferred from the code, §1.7 d).
    pub fn faults_on_read_only_funcs(&self, arch: Arch) -> bool {
        match arch {
            Arch::X86_64 => (self.major, self.minor, patch(self)) == (4, 18, 0),
            Arch::Aarch64 | Arch::Arm32 => self.writes_funcs(),
        }
    }

    /// A reverted payload with writable data other than `.funcs` cannot be
    /// applied again (`safe_to_reapply`): from 4.8 on (§0, §1.3).
    pub fn checks_reapply(&self) -> bool {
        (self.major, self.minor) >= (4, 8)
    }

    /// APPLY takes the NODEPS flag, which skips the depends check: from
    /// 4.14 on (§0).
    pub fn has_nodeps(&self) -> bool {
        (self.major, self.minor) >= (4, 14)
    }

    /// `.alt_call_sites` is read (x86 alternative calls, C-107): from 4.21
    /// on (§0).
    pub fn has_alt_calls(&self) -> bool {
        (self.major, self.minor) >= (4, 21)
    }

    /// NOP mode (`new_addr` 0) exists: from 4.8 on; 4.7 refuses an entry
    /// with `new_addr` or `new_size` 0 (§0, C-93).
    pub fn has_nop_mode(&self) -> bool {
        (self.major, self.minor) >= (4, 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per release: the rules that hold for it on x86 and arm64.
    fn dump(versions: &[&str]) -> String {
        let mut out = String::new();
        for text in versions {
            let v: XenVersion = text.parse().unwrap();
            let mut rules = Vec::new();
            for (name, holds) in [
                ("endbr", v.skips_endbr(Arch::X86_64)),
                ("arm-endbr", v.skips_endbr(Arch::Aarch64)),
                ("writes-funcs", v.writes_funcs()),
                (
                    "x86-ro-funcs-fault",
                    v.faults_on_read_only_funcs(Arch::X86_64),
                ),
                (
                    "arm-ro-funcs-fault",
                    v.faults_on_read_only_funcs(Arch::Arm32),
                ),
                ("reapply", v.checks_reapply()),
                ("nodeps", v.has_nodeps()),
                ("nop", v.has_nop_mode()),
                ("alt-calls", v.has_alt_calls()),
            ] {
                if holds {
                    rules.push(name);
                }
            }
            out += &format!("{text}: {}\n", rules.join(" "));
        }
        out
    }

    #[test]
    fn rules_change_where_the_timeline_says() {
        let got = dump(&[
            "4.7.0-rc1",
            "4.7",
            "4.8",
            "4.13.5",
            "4.14.0",
            "4.14.4",
            "4.14.5",
            "4.15.2",
            "4.15.3",
            "4.16.0",
            "4.16.1",
            "4.17.2",
            "4.17.3",
            "4.18.0",
            "4.18.1",
            "4.19",
            "4.22",
        ]);
        let want = "\
4.7.0-rc1: writes-funcs arm-ro-funcs-fault
4.7: writes-funcs arm-ro-funcs-fault
4.8: writes-funcs arm-ro-funcs-fault reapply nop
4.13.5: writes-funcs arm-ro-funcs-fault reapply nop
4.14.0: writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.14.4: writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.14.5: endbr writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.15.2: writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.15.3: endbr writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.16.0: writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.16.1: endbr writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.17.2: endbr writes-funcs arm-ro-funcs-fault reapply nodeps nop
4.17.3: endbr reapply nodeps nop
4.18.0: endbr writes-funcs x86-ro-funcs-fault arm-ro-funcs-fault reapply nodeps nop
4.18.1: endbr reapply nodeps nop
4.19: endbr reapply nodeps nop
4.22: endbr reapply nodeps nop alt-calls
";
        assert_eq!(got, want);
    }
}
