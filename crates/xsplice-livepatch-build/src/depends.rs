//! `--depends`, as livepatch-build takes it: the payload this one stacks
//! on, given as its file or as its build-id in hex.
//!
//! `xsplice-link` copies a build-id note from a file; a build-id given in
//! hex becomes a small relocatable object holding just that note, written
//! beside the payload, so that the link step stays one replayable command.

use std::path::PathBuf;

use object::Endianness;
use object::elf;
use object::write::elf::{FileHeader, SectionHeader, Writer};
use xsplice_abi::abi::BUILD_ID_SECTION;
use xsplice_abi::note::BuildIdNote;

/// What the payload depends on, besides the hypervisor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Depends {
    /// The payload file it stacks on.
    Payload(PathBuf),
    /// The build-id of the payload (or hypervisor) it stacks on.
    BuildId(Vec<u8>),
}

impl Depends {
    /// A file that exists is a payload; otherwise an even number of hex
    /// digits is a build-id (`0x` allowed before it).
    pub fn parse(arg: &str) -> Result<Depends, String> {
        let path = PathBuf::from(arg);
        if path.is_file() {
            return Ok(Depends::Payload(path));
        }
        let digits = arg.strip_prefix("0x").unwrap_or(arg);
        if !digits.is_empty()
            && digits.len() % 2 == 0
            && digits.bytes().all(|c| c.is_ascii_hexdigit())
        {
            let id = (0..digits.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&digits[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| format!("`{arg}`: {e}"))?;
            return Ok(Depends::BuildId(id));
        }
        Err(format!(
            "--depends `{arg}` is neither a payload file nor a build-id in hex"
        ))
    }
}

/// The build-id in the `.note.gnu.build-id` section of ELF file `data`.
pub fn build_id_of(data: &[u8]) -> Result<Vec<u8>, String> {
    let file = object::read::File::parse(data).map_err(|e| e.to_string().to_lowercase())?;
    use object::{Object, ObjectSection};
    let sec = file
        .section_by_name(BUILD_ID_SECTION)
        .ok_or_else(|| format!("no `{BUILD_ID_SECTION}` section"))?;
    let bytes = sec.data().map_err(|e| e.to_string().to_lowercase())?;
    BuildIdNote::parse(bytes)
        .map(|n| n.desc)
        .map_err(|e| format!("bad build-id note: {e}"))
}

/// A relocatable ELF of the class and machine of `like` (the hypervisor)
/// holding one section: a build-id note with descriptor `id`.
pub fn note_object(id: &[u8], like: &[u8]) -> Result<Vec<u8>, String> {
    let note = BuildIdNote::encode(id).map_err(|e| e.to_string())?;
    let is_64 = like.get(4) == Some(&2);
    let machine = like
        .get(18..20)
        .map_or(0, |m| u16::from_le_bytes([m[0], m[1]]));
    let mut buf = Vec::new();
    let mut w = Writer::new(Endianness::Little, is_64, &mut buf);
    w.reserve_file_header();
    w.reserve_null_section_index();
    w.reserve_section_index();
    let name = w.add_section_name(BUILD_ID_SECTION.as_bytes());
    w.reserve_shstrtab_section_index();
    let offset = w.reserve(note.len() as u64, 4);
    w.reserve_shstrtab().map_err(|e| e.to_string())?;
    w.reserve_section_headers();
    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_REL,
        e_machine: elf::Machine(machine),
        e_entry: 0,
        e_flags: elf::FileFlags(0),
    })
    .map_err(|e| e.to_string())?;
    w.write_align(4);
    w.write(&note);
    w.write_shstrtab();
    w.write_null_section_header();
    w.write_section_header(&SectionHeader {
        sh_name: w.section_name_offset(Some(name)),
        sh_type: elf::SHT_NOTE,
        sh_flags: elf::SectionFlags(elf::SHF_ALLOC.0),
        sh_addr: 0,
        sh_offset: offset,
        sh_size: note.len() as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 4,
        sh_entsize: 0,
    });
    w.write_shstrtab_section_header();
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_a_payload_file_or_a_hex_build_id() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("base.livepatch");
        std::fs::write(&file, b"x").unwrap();
        let arg = file.display().to_string();
        assert_eq!(Depends::parse(&arg), Ok(Depends::Payload(file)));
        assert_eq!(
            Depends::parse("0a1B"),
            Ok(Depends::BuildId(vec![0x0a, 0x1b]))
        );
        assert_eq!(
            Depends::parse("0x00ff"),
            Ok(Depends::BuildId(vec![0, 0xff]))
        );
        for bad in ["", "abc", "xyz0", "no/such/file.livepatch", "0x"] {
            let e = Depends::parse(bad).unwrap_err();
            assert!(
                e.contains("neither a payload file nor a build-id"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_note_object_carries_the_build_id() {
        let id: Vec<u8> = (0..20).collect();
        let like = [
            0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 183, 0,
        ];
        let obj = note_object(&id, &like).unwrap();
        assert_eq!(build_id_of(&obj), Ok(id));
        assert!(build_id_of(b"not elf").is_err());
    }
}
