//! The stand-in hypervisor image as the simulator maps and runs it: its
//! loadable segments, its symbols (for calls and for naming a faulting
//! address) and its build-id.

use object::LittleEndian;
use object::read::elf::{FileHeader, ProgramHeader};
use xsplice_symbols::{ElfFile, SymbolSection};
use xsplice_validate::{TargetImage, XenImage};

use crate::error::SimError;
use crate::host::Prot;

/// Page size of the simulated hypervisor's mappings.
pub const PAGE: u64 = 4096;

pub(crate) fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}

pub(crate) fn page_up(a: u64) -> u64 {
    a.div_ceil(PAGE) * PAGE
}

/// One PT_LOAD segment, page-rounded.
#[derive(Clone, Debug)]
pub struct Segment<'x> {
    /// First mapped page.
    pub start: u64,
    /// Bytes mapped from `start`, a multiple of the page size.
    pub len: u64,
    /// Where the file bytes go and the bytes themselves, borrowed from the
    /// image (mapped by the binary, so that only the loaded pages and the
    /// symbol table are ever read, not the debug information).
    pub vaddr: u64,
    pub bytes: &'x [u8],
    pub prot: Prot,
}

/// A named address range, for symbolising addresses.
#[derive(Clone, Debug)]
pub struct NamedRange {
    pub addr: u64,
    pub size: u64,
    pub name: String,
}

/// The parsed image.
pub struct Image<'x> {
    pub file: String,
    /// The image's bytes, to boot it again.
    pub data: &'x [u8],
    pub syms: XenImage<'x>,
    pub segments: Vec<Segment<'x>>,
    /// Function and object symbols sorted by address.
    pub ranges: Vec<NamedRange>,
    /// Highest address the segments cover.
    pub end: u64,
}

const PT_LOAD: u32 = object::elf::PT_LOAD.0;
const PF_X: u32 = object::elf::PF_X.0;
const PF_W: u32 = object::elf::PF_W.0;
const EM_X86_64: u16 = object::elf::EM_X86_64.0;
const STT_OBJECT: u8 = object::elf::STT_OBJECT.0;
const STT_FUNC: u8 = object::elf::STT_FUNC.0;

impl<'x> Image<'x> {
    /// Reads `data`, the bytes of the `xen-syms` called `file`.
    pub fn parse(file: &str, data: &'x [u8]) -> Result<Image<'x>, SimError> {
        let bad = |reason: String| SimError::BadImage {
            file: file.to_string(),
            reason,
        };
        let hdr = object::elf::FileHeader64::<LittleEndian>::parse(data)
            .map_err(|e| bad(format!("not a 64-bit little-endian elf file ({e})")))?;
        let e = hdr.endian().map_err(|e| bad(e.to_string()))?;
        let machine = hdr.e_machine(e).0;
        if machine != EM_X86_64 {
            let arch = xsplice_abi::Arch::from_e_machine(machine)
                .map_or(format!("e_machine {machine}"), |a| a.to_string());
            return Err(SimError::WrongArch {
                file: file.to_string(),
                arch,
            });
        }
        let phdrs = hdr
            .program_headers(e, data)
            .map_err(|e| bad(format!("unreadable program headers ({e})")))?;
        let mut segments = Vec::new();
        for ph in phdrs.iter().filter(|p| p.p_type(e).0 == PT_LOAD) {
            let vaddr = ph.p_vaddr(e);
            let memsz = ph.p_memsz(e);
            let bytes = ph
                .data(e, data)
                .map_err(|_| bad(format!("segment at {vaddr:#x} lies outside the file")))?;
            if bytes.len() as u64 > memsz || memsz == 0 {
                continue;
            }
            let flags = ph.p_flags(e).0;
            let prot = match (flags & PF_W != 0, flags & PF_X != 0) {
                (false, true) => Prot::Rx,
                (true, false) => Prot::Rw,
                (false, false) => Prot::Ro,
                (true, true) => Prot::Rwx,
            };
            let start = page_down(vaddr);
            let end = vaddr
                .checked_add(memsz)
                .ok_or_else(|| bad(format!("segment at {vaddr:#x} wraps around")))?;
            segments.push(Segment {
                start,
                len: page_up(end) - start,
                vaddr,
                bytes,
                prot,
            });
        }
        if segments.is_empty() {
            return Err(bad("no loadable segment".into()));
        }
        segments.sort_by_key(|s| s.start);
        for w in segments.windows(2) {
            if w[0].start + w[0].len > w[1].start {
                return Err(bad(format!(
                    "segments at {:#x} and {:#x} share a page",
                    w[0].vaddr, w[1].vaddr
                )));
            }
        }
        let end = segments.iter().map(|s| s.start + s.len).max().unwrap_or(0);
        let syms = XenImage::parse(file, data).map_err(|e| bad(e.to_string()))?;
        let elf = ElfFile::parse(data).map_err(|e| bad(e.to_string()))?;
        let mut ranges: Vec<NamedRange> = elf
            .symbols()
            .filter(|s| {
                matches!(s.section, SymbolSection::Section(_))
                    && (s.kind == STT_FUNC || s.kind == STT_OBJECT)
            })
            .map(|s| NamedRange {
                addr: s.value,
                size: s.size,
                name: s.qualified_name(),
            })
            .collect();
        ranges.sort_by(|a, b| (a.addr, &a.name).cmp(&(b.addr, &b.name)));
        Ok(Image {
            file: file.to_string(),
            data,
            syms,
            segments,
            ranges,
            end,
        })
    }

    /// Address of a symbol the simulator calls or reads.
    pub fn symbol(&self, name: &str) -> Result<u64, SimError> {
        self.syms
            .lookup(name)
            .map(|s| s.addr)
            .ok_or_else(|| SimError::MissingSymbol {
                file: self.file.clone(),
                symbol: name.to_string(),
            })
    }

    /// The image's build-id descriptor.
    pub fn build_id(&self) -> Option<&[u8]> {
        self.syms.build_id()
    }

    /// The segment containing `addr`, if any.
    pub fn segment_of(&self, addr: u64) -> Option<&Segment<'x>> {
        self.segments
            .iter()
            .find(|s| addr >= s.start && addr - s.start < s.len)
    }
}

/// `name+0xoff` for `addr` within one of `ranges` (sorted by address).
pub fn symbolise(ranges: &[NamedRange], addr: u64) -> Option<String> {
    let i = ranges.partition_point(|r| r.addr <= addr);
    ranges[..i]
        .iter()
        .rev()
        .find(|r| addr < r.addr.saturating_add(r.size.max(1)))
        .map(|r| {
            if addr == r.addr {
                r.name.clone()
            } else {
                format!("{}+{:#x}", r.name, addr - r.addr)
            }
        })
}
