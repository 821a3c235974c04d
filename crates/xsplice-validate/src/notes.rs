//! Build-id notes: `.note.gnu.build-id`, `.livepatch.depends` and
//! `.livepatch.xen_depends`, parsed with the hypervisor's rules (C-36,
//! C-100, C-102), stricter only where the specification marks a hazard.

use xsplice_abi::BuildIdNote;

/// The descriptor of the first note in `data`, or why the hypervisor (or the
/// ⚠ padding rule of §1.8) refuses it.
pub fn parse_build_id(data: &[u8]) -> Result<Vec<u8>, String> {
    BuildIdNote::parse(data)
        .map(|n| n.desc)
        .map_err(|e| e.to_string())
}
