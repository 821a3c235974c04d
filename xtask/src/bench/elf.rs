//! A raw little-endian x86-64 ELF writer for the benchmarks' generated
//! inputs: files with exact sizes and contents (a million symbols, duplicate
//! names an assembler refuses) that need no compiler.

/// One section for [`elf64`].
pub(super) struct Sec {
    pub(super) name: &'static str,
    pub(super) sh_type: u32,
    pub(super) flags: u64,
    pub(super) addr: u64,
    pub(super) data: Vec<u8>,
    pub(super) link: u32,
    pub(super) info: u32,
    pub(super) align: u64,
    pub(super) entsize: u64,
}

impl Sec {
    pub(super) fn new(name: &'static str, sh_type: u32, flags: u64, data: Vec<u8>) -> Sec {
        Sec {
            name,
            sh_type,
            flags,
            addr: 0,
            data,
            link: 0,
            info: 0,
            align: 1,
            entsize: 0,
        }
    }
}

/// A little-endian x86-64 ELF file of type `e_type` with `secs` (section
/// 0 and `.shstrtab` are added), sections in order, headers at the end.
pub(super) fn elf64(e_type: u16, secs: Vec<Sec>) -> Vec<u8> {
    let mut shstrtab = vec![0u8];
    let mut names = Vec::new();
    for s in &secs {
        names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(s.name.as_bytes());
        shstrtab.push(0);
    }
    let shstr_name = shstrtab.len() as u32;
    shstrtab.extend_from_slice(b".shstrtab\0");

    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for s in &secs {
        let align = s.align.max(1) as usize;
        out.resize(out.len().div_ceil(align) * align, 0);
        offsets.push(out.len() as u64);
        if s.sh_type != 8 {
            out.extend_from_slice(&s.data);
        }
    }
    let shstr_off = out.len() as u64;
    out.extend_from_slice(&shstrtab);
    out.resize(out.len().div_ceil(8) * 8, 0);
    let shoff = out.len() as u64;
    let shnum = secs.len() + 2;

    let mut sh = |name: u32,
                  t: u32,
                  flags: u64,
                  addr: u64,
                  off: u64,
                  size: u64,
                  link: u32,
                  info: u32,
                  align: u64,
                  entsize: u64| {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&addr.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&link.to_le_bytes());
        out.extend_from_slice(&info.to_le_bytes());
        out.extend_from_slice(&align.to_le_bytes());
        out.extend_from_slice(&entsize.to_le_bytes());
    };
    sh(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    for (i, s) in secs.iter().enumerate() {
        sh(
            names[i],
            s.sh_type,
            s.flags,
            s.addr,
            offsets[i],
            s.data.len() as u64,
            s.link,
            s.info,
            s.align,
            s.entsize,
        );
    }
    sh(
        shstr_name,
        3,
        0,
        0,
        shstr_off,
        shstrtab.len() as u64,
        0,
        0,
        1,
        0,
    );

    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little-endian
    out[6] = 1; // EV_CURRENT
    out[16..18].copy_from_slice(&e_type.to_le_bytes());
    out[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[40..48].copy_from_slice(&shoff.to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    out[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    out[60..62].copy_from_slice(&(shnum as u16).to_le_bytes());
    out[62..64].copy_from_slice(&((shnum - 1) as u16).to_le_bytes());
    out
}

pub(super) fn sym(out: &mut Vec<u8>, name: u32, info: u8, shndx: u16, value: u64, size: u64) {
    out.extend_from_slice(&name.to_le_bytes());
    out.push(info);
    out.push(0);
    out.extend_from_slice(&shndx.to_le_bytes());
    out.extend_from_slice(&value.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
}

pub(super) fn strtab_add(strtab: &mut Vec<u8>, name: &str) -> u32 {
    let at = strtab.len() as u32;
    strtab.extend_from_slice(name.as_bytes());
    strtab.push(0);
    at
}

/// A GNU build-id note for `id`.
pub(super) fn note(id: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&4u32.to_le_bytes());
    n.extend_from_slice(&(id.len() as u32).to_le_bytes());
    n.extend_from_slice(&3u32.to_le_bytes());
    n.extend_from_slice(b"GNU\0");
    n.extend_from_slice(id);
    n
}
