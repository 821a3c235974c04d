//! The facts about Debian's binaries that decide what goes into the guest:
//! the program interpreter and the `DT_NEEDED` libraries of a dynamically
//! linked program, and the name and dependencies of a kernel module (its
//! `.modinfo`), read with `object`.
//!
//! The packages carry no `ld.so.cache` and no `modules.dep` (both are made
//! at install time), so the guest's libraries and modules are found by
//! following these links from `xen-livepatch` and the two Xen modules.

use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object, ObjectSection};

/// What the dynamic linker needs to start a program or load a library.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Linkage {
    /// `PT_INTERP`, e.g. `/lib64/ld-linux-x86-64.so.2`.
    pub interpreter: Option<String>,
    /// `DT_NEEDED` sonames, in order.
    pub needed: Vec<String>,
}

/// Reads the interpreter and needed libraries of a 64-bit ELF file.
pub fn linkage(data: &[u8]) -> Result<Linkage, String> {
    let elf = ElfFile64::<Endianness>::parse(data).map_err(|e| e.to_string())?;
    let endian = elf.endian();
    let mut out = Linkage::default();
    for ph in elf.elf_program_headers() {
        if let Some(i) = ph.interpreter(endian, data).map_err(|e| e.to_string())? {
            out.interpreter = Some(String::from_utf8_lossy(i).into_owned());
        }
    }
    let table = elf
        .elf_section_table()
        .dynamic_table(endian, data)
        .map_err(|e| e.to_string())?;
    for d in table.iter() {
        if d.tag == object::elf::DT_NEEDED {
            let name = table.string(d).map_err(|e| e.to_string())?;
            out.needed.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    Ok(out)
}

/// A kernel module's name and the modules it needs, from `.modinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    /// `name=`, e.g. `xen_privcmd` (the file is `xen-privcmd.ko`).
    pub name: String,
    /// `depends=`, comma-separated in the file.
    pub depends: Vec<String>,
}

/// Reads `.modinfo` of a kernel module (an ELF relocatable file).
pub fn module_info(data: &[u8]) -> Result<ModuleInfo, String> {
    let elf = ElfFile64::<Endianness>::parse(data).map_err(|e| e.to_string())?;
    let section = elf
        .section_by_name(".modinfo")
        .ok_or("no `.modinfo` section: not a kernel module")?;
    let bytes = section.data().map_err(|e| e.to_string())?;
    let mut name = None;
    let mut depends = Vec::new();
    for field in bytes.split(|&b| b == 0) {
        let field = String::from_utf8_lossy(field);
        if let Some(v) = field.strip_prefix("name=") {
            name = Some(v.to_string());
        } else if let Some(v) = field.strip_prefix("depends=") {
            depends.extend(v.split(',').filter(|d| !d.is_empty()).map(str::to_string));
        }
    }
    Ok(ModuleInfo {
        name: name.ok_or("`.modinfo` has no `name=`")?,
        depends,
    })
}

/// The kernel's name of a module file: `xen-privcmd.ko` is `xen_privcmd`.
pub fn module_name_of_file(file: &str) -> String {
    file.trim_end_matches(".ko").replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_file_names() {
        assert_eq!(module_name_of_file("xen-privcmd.ko"), "xen_privcmd");
        assert_eq!(module_name_of_file("xenfs.ko"), "xenfs");
    }

    #[test]
    fn not_elf() {
        assert!(linkage(b"#!/bin/sh\n").is_err());
        assert!(module_info(b"\x7fELF").is_err());
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_test_binary_links_libc() {
        // This test's own executable: a dynamically linked ELF file on a
        // GNU/Linux host.
        let exe = std::env::current_exe().expect("the test executable");
        let bytes = std::fs::read(&exe).expect("read the test executable");
        let l = linkage(&bytes).expect("an ELF file");
        assert!(
            l.interpreter
                .as_deref()
                .is_some_and(|i| i.contains("ld-linux")),
            "{l:?}"
        );
        assert!(l.needed.iter().any(|n| n.starts_with("libc.so")), "{l:?}");
    }
}
