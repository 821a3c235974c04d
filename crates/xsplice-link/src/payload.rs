//! The payload part of the link: what Xen's build adds around `ld -r`.
//!
//! Xen's test Makefile turns build-id notes into `.livepatch.depends` and
//! `.livepatch.xen_depends` objects and `key=value` pairs into a `.modinfo`
//! object with `objcopy`, links them after the payload's objects, then makes
//! `.livepatch.funcs` read-only. Here those become generated sections,
//! appended in the same order (depends, xen_depends, modinfo) with the same
//! type, flags and alignment, plus a flag override for `.funcs`. Every name
//! and flag comes from `xsplice-abi`, for the ABI chosen.

use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, SectionHeader};
use xsplice_abi::{Abi, BuildIdNote, XenVersion};

use crate::{ExtraSection, LinkError, LinkOptions};

/// Payload options, in the linker's terms.
#[derive(Clone, Debug)]
pub struct PayloadOptions {
    /// The payload ABI: decides section names and the `.funcs` flags.
    pub abi: Abi,
    /// The Xen release targeted; `None` means the newest release that loads `abi`.
    pub xen: Option<XenVersion>,
    /// Contents of the build-id note this payload depends on (previous payload or Xen).
    pub depends: Option<Vec<u8>>,
    /// Contents of the running Xen's build-id note.
    pub xen_depends: Option<Vec<u8>>,
    /// `key=value` pairs for `.modinfo`, in order.
    pub modinfo: Vec<(String, String)>,
}

/// Adds the generated sections and the `.funcs` flags of `payload` to `opts`.
pub fn payload_sections(payload: &PayloadOptions, opts: &mut LinkOptions) -> Result<(), LinkError> {
    let abi = payload.abi;
    let generated = |name: &str, data: Vec<u8>| ExtraSection {
        name: name.as_bytes().to_vec(),
        sh_type: elf::SHT_PROGBITS.0,
        flags: elf::SHF_ALLOC.0,
        align: 1,
        data,
    };
    if let Some(note) = &payload.depends {
        opts.extra_sections
            .push(generated(abi.depends_section(), note.clone()));
    }
    if let Some(note) = &payload.xen_depends {
        let name = abi.xen_depends_section().ok_or_else(|| {
            LinkError::Payload(format!("the {abi} ABI has no xen_depends section"))
        })?;
        opts.extra_sections.push(generated(name, note.clone()));
    }
    if !payload.modinfo.is_empty() {
        let name = abi
            .modinfo_section()
            .ok_or_else(|| LinkError::Payload(format!("the {abi} ABI has no .modinfo section")))?;
        for (key, _) in &payload.modinfo {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(LinkError::Payload(format!("bad modinfo key `{key}`")));
            }
        }
        if let Some((key, _)) = payload.modinfo.iter().find(|(_, v)| v.contains('\0')) {
            return Err(LinkError::Payload(format!(
                "modinfo value for `{key}` contains a NUL byte"
            )));
        }
        let data = xsplice_abi::hooks::encode_modinfo(
            payload
                .modinfo
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        opts.extra_sections.push(generated(name, data));
    }
    let target = payload.xen.or_else(|| abi.xen_releases().map(|r| r.last));
    let flags = abi.funcs_section_flags(target.as_ref());
    opts.set_flags
        .push((abi.funcs_section().as_bytes().to_vec(), flags));
    Ok(())
}

/// Returns the contents of the `.note.gnu.build-id` section of an ELF file
/// (`xen-syms` or a payload), checked with the hypervisor's note rules.
pub fn read_build_id_note(path: &str, data: &[u8]) -> Result<Vec<u8>, LinkError> {
    let note = match data.get(4) {
        Some(2) => find_note::<elf::FileHeader64<Endianness>>(data),
        Some(1) => find_note::<elf::FileHeader32<Endianness>>(data),
        _ => Err("not an ELF file".to_owned()),
    }
    .map_err(|detail| LinkError::Payload(format!("`{path}`: {detail}")))?;
    BuildIdNote::parse(note)
        .map_err(|e| LinkError::Payload(format!("`{path}`: bad build-id note: {e}")))?;
    Ok(note.to_vec())
}

fn find_note<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<&[u8], String> {
    let err = |e: object::read::Error| e.to_string().to_lowercase();
    let header = Elf::parse(data).map_err(err)?;
    let endian = header.endian().map_err(err)?;
    let sections = header.sections(endian, data).map_err(err)?;
    let name = xsplice_abi::abi::BUILD_ID_SECTION.as_bytes();
    let (_, shdr) = sections
        .section_by_name(endian, name)
        .ok_or_else(|| format!("no {} section", xsplice_abi::abi::BUILD_ID_SECTION))?;
    shdr.data(endian, data).map_err(err)
}
