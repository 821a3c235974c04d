//! Snapshots of `xsplice_abi::describe` for every ABI on every architecture
//! that had a hypervisor for it: the whole format in one reviewed text.

use xsplice_abi::{Abi, describe};

#[test]
fn every_supported_abi_and_arch() {
    for abi in Abi::ALL {
        for &arch in abi.arches() {
            insta::assert_snapshot!(format!("{abi}-{arch}"), describe(abi, arch));
        }
    }
}
