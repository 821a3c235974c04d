//! ARM EABI build attributes (`.ARM.attributes`), merged as GNU ld merges them.
//!
//! Every arm32 object records what it was built for: architecture and
//! profile, FPU, the floating-point calling convention, enum and `wchar_t`
//! sizes, alignment promises. GNU ld reads the "aeabi" and "gnu" vendor
//! subsections of each input into a table indexed by tag, folds the inputs
//! into the output table one at a time with a rule per tag (the largest
//! value, the smallest, a compatibility table, or a refusal), and writes the
//! table back in its own canonical order and encoding. This module does the
//! same, so that the merged section is GNU's to the byte: `parse`, `merge`,
//! `serialise`. Subsections of other vendors are dropped, as GNU drops them.
//! Where GNU refuses to link (hard-float calls mixed with soft-float ones,
//! conflicting architectures) the link fails naming both files; where GNU
//! only warns, the output is GNU's and nothing is printed.
//!
//! The format (ARM IHI 0045, "Build Attributes"): a version byte `A`, then
//! vendor subsections, each a 32-bit length (counting itself), a
//! NUL-terminated vendor name and sub-subsections, of which only the file
//! scope one (tag 1, then a 32-bit length counting the tag) is merged. An
//! attribute is a ULEB128 tag followed by a ULEB128 integer, a
//! NUL-terminated string, or for `Tag_compatibility` both. Tags from 32 on
//! take a string when odd and an integer when even; tags below 64 (modulo
//! 128) that a linker does not know must not be ignored.
//!
//! Known differences from GNU ld 2.40, both outside what compilers and
//! assemblers emit: GNU fails an internal assertion on Tag_CPU_arch 18 to
//! 20 (gas writes v8 and a name for those architectures), which we merge
//! by the table; and for reserved Tag_FP_arch values GNU reads past its
//! table of FP versions, which we treat as having no features (GNU's
//! result for 9 to 11).

use std::cmp::Ordering;

use crate::LinkError;

/// The vendor subsections GNU keeps, in output order.
const VENDORS: [&[u8]; 2] = [b"aeabi", b"gnu"];
const AEABI: usize = 0;
const GNU: usize = 1;

/// Tags below this live in a fixed table and merge by tag; the others are
/// "unknown" and kept in a list sorted by tag.
const NUM_KNOWN: usize = 77;
/// The first tag of the table that is an attribute (0 and 1 are not).
const LEAST_KNOWN: usize = 2;

/// Attribute types (GNU's `ATTR_TYPE_FLAG_*`): what follows the tag, and
/// whether the attribute is written even when zero.
const INT_VAL: u8 = 1;
const STR_VAL: u8 = 2;
const NO_DEFAULT: u8 = 4;

const TAG_FILE: u32 = 1;

// Tags with a merge rule of their own (ARM IHI 0045 numbering).
const CPU_RAW_NAME: usize = 4;
const CPU_NAME: usize = 5;
const CPU_ARCH: usize = 6;
const CPU_ARCH_PROFILE: usize = 7;
const ARM_ISA_USE: usize = 8;
const THUMB_ISA_USE: usize = 9;
const FP_ARCH: usize = 10;
const WMMX_ARCH: usize = 11;
const ADVANCED_SIMD_ARCH: usize = 12;
const PCS_CONFIG: usize = 13;
const ABI_PCS_R9_USE: usize = 14;
const ABI_PCS_RW_DATA: usize = 15;
const ABI_PCS_RO_DATA: usize = 16;
const ABI_PCS_GOT_USE: usize = 17;
const ABI_PCS_WCHAR_T: usize = 18;
const ABI_FP_ROUNDING: usize = 19;
const ABI_FP_DENORMAL: usize = 20;
const ABI_FP_EXCEPTIONS: usize = 21;
const ABI_FP_USER_EXCEPTIONS: usize = 22;
const ABI_FP_NUMBER_MODEL: usize = 23;
const ABI_ALIGN_NEEDED: usize = 24;
const ABI_ALIGN_PRESERVED: usize = 25;
const ABI_ENUM_SIZE: usize = 26;
const ABI_HARDFP_USE: usize = 27;
const ABI_VFP_ARGS: usize = 28;
const ABI_WMMX_ARGS: usize = 29;
const ABI_OPTIMIZATION_GOALS: usize = 30;
const ABI_FP_OPTIMIZATION_GOALS: usize = 31;
const COMPATIBILITY: usize = 32;
const CPU_UNALIGNED_ACCESS: usize = 34;
const FP_HP_EXTENSION: usize = 36;
const ABI_FP_16BIT_FORMAT: usize = 38;
const MPEXTENSION_USE: usize = 42;
const DIV_USE: usize = 44;
const DSP_EXTENSION: usize = 46;
const MVE_ARCH: usize = 48;
const PAC_EXTENSION: usize = 50;
const BTI_EXTENSION: usize = 52;
const NODEFAULTS: usize = 64;
const ALSO_COMPATIBLE_WITH: usize = 65;
const T2EE_USE: usize = 66;
const CONFORMANCE: usize = 67;
const VIRTUALIZATION_USE: usize = 68;
const MPEXTENSION_USE_LEGACY: usize = 70;
const BTI_USE: usize = 74;
const PACRET_USE: usize = 76;

// Tag_CPU_arch values.
const ARCH_V4T: u32 = 2;
const ARCH_V6KZ: u32 = 7;
const ARCH_V6T2: u32 = 8;
const ARCH_V7: u32 = 10;
const ARCH_V6_M: u32 = 11;
const ARCH_V7E_M: u32 = 13;
const ARCH_MAX: u32 = 22;
/// GNU's pseudo-architecture for "v4T, also compatible with v6-M".
const ARCH_V4T_PLUS_V6_M: u32 = ARCH_MAX + 1;

/// One attribute: its type (0 when absent), integer and string values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Attr {
    ty: u8,
    i: u32,
    s: Option<Vec<u8>>,
}

impl Attr {
    /// Whether GNU leaves the attribute out when writing.
    fn is_default(&self) -> bool {
        if self.ty & INT_VAL != 0 && self.i != 0 {
            return false;
        }
        if self.ty & STR_VAL != 0 && self.s.as_ref().is_some_and(|s| !s.is_empty()) {
            return false;
        }
        self.ty & NO_DEFAULT == 0
    }

    fn str_eq(&self, other: &Attr) -> bool {
        self.s == other.s
    }
}

/// An attribute outside the table, with the input it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Other {
    tag: u32,
    attr: Attr,
    src: usize,
}

/// The attributes of one vendor subsection.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Vendor {
    known: Vec<Attr>,
    /// Sorted by tag; equal tags in order of appearance.
    other: Vec<Other>,
}

impl Default for Vendor {
    fn default() -> Self {
        Vendor {
            known: vec![Attr::default(); NUM_KNOWN],
            other: Vec::new(),
        }
    }
}

/// The file-scope attributes of an object (or of the merged output).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attributes {
    vendors: [Vendor; 2],
}

/// What follows `tag` in `vendor`'s subsection.
fn arg_type(vendor: usize, tag: u32) -> u8 {
    if tag as usize == COMPATIBILITY {
        return INT_VAL | STR_VAL;
    }
    if vendor == AEABI {
        if tag as usize == NODEFAULTS {
            return INT_VAL | NO_DEFAULT;
        }
        if tag as usize == CPU_RAW_NAME || tag as usize == CPU_NAME {
            return STR_VAL;
        }
        if tag < 32 {
            return INT_VAL;
        }
    }
    if tag & 1 != 0 { STR_VAL } else { INT_VAL }
}

/// Reads a ULEB128 number; GNU keeps the low 32 bits.
fn read_uleb(data: &[u8], pos: &mut usize) -> Result<u32, String> {
    let mut value: u64 = 0;
    let mut shift = 0u32;
    loop {
        let Some(&byte) = data.get(*pos) else {
            return Err(format!("unterminated ULEB128 number at {:#x}", *pos));
        };
        *pos += 1;
        if shift < 64 {
            value |= u64::from(byte & 0x7f) << shift;
        }
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok(value as u32);
        }
    }
}

fn write_uleb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a NUL-terminated string ending before `end`.
fn read_str(data: &[u8], pos: &mut usize, end: usize) -> Result<Vec<u8>, String> {
    let rest = &data[*pos..end];
    let Some(len) = rest.iter().position(|&b| b == 0) else {
        return Err(format!("unterminated string at {:#x}", *pos));
    };
    let s = rest[..len].to_vec();
    *pos += len + 1;
    Ok(s)
}

fn read_u32(data: &[u8], pos: usize) -> Option<u32> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl Attributes {
    /// Records one attribute as GNU does: a table entry is overwritten, an
    /// unknown tag goes after the others with the same tag.
    fn add(&mut self, vendor: usize, tag: u32, attr: Attr, src: usize) {
        let v = &mut self.vendors[vendor];
        if (tag as usize) < NUM_KNOWN {
            let slot = &mut v.known[tag as usize];
            slot.ty = attr.ty;
            if attr.ty & INT_VAL != 0 {
                slot.i = attr.i;
            }
            if attr.ty & STR_VAL != 0 {
                slot.s = attr.s;
            }
        } else {
            let at = v.other.partition_point(|o| o.tag <= tag);
            v.other.insert(at, Other { tag, attr, src });
        }
    }

    /// Adds the attributes of one `.ARM.attributes` section of input `src`.
    /// Malformed contents are an error (GNU skips what it cannot read).
    fn parse(&mut self, data: &[u8], src: usize) -> Result<(), String> {
        match data.first() {
            None => return Ok(()),
            Some(b'A') => {}
            Some(&v) => return Err(format!("unknown format version {v:#04x}")),
        }
        let mut pos = 1;
        while pos < data.len() {
            let Some(len) = read_u32(data, pos) else {
                return Err(format!("truncated subsection length at {pos:#x}"));
            };
            let len = len as usize;
            let end = pos
                .checked_add(len)
                .filter(|&e| len > 4 && e <= data.len())
                .ok_or_else(|| format!("bad subsection length {len:#x} at {pos:#x}"))?;
            let mut p = pos + 4;
            let name = read_str(data, &mut p, end)?;
            let Some(vendor) = VENDORS.iter().position(|v| *v == name.as_slice()) else {
                pos = end;
                continue;
            };
            while p < end {
                let start = p;
                let tag = read_uleb(&data[..end], &mut p)?;
                let sub_len = read_u32(&data[..end], p)
                    .ok_or_else(|| format!("truncated attribute block length at {p:#x}"))?
                    as usize;
                let sub_end = start
                    .checked_add(sub_len)
                    .filter(|&e| e >= p + 4 && e <= end)
                    .ok_or_else(|| {
                        format!("bad attribute block length {sub_len:#x} at {start:#x}")
                    })?;
                p += 4;
                if tag == TAG_FILE {
                    let block = &data[..sub_end];
                    while p < sub_end {
                        let tag = read_uleb(block, &mut p)?;
                        let ty = arg_type(vendor, tag);
                        let mut attr = Attr {
                            ty,
                            ..Attr::default()
                        };
                        if ty & INT_VAL != 0 {
                            attr.i = read_uleb(block, &mut p)?;
                        }
                        if ty & STR_VAL != 0 {
                            attr.s = Some(read_str(block, &mut p, sub_end)?);
                        }
                        self.add(vendor, tag, attr, src);
                    }
                }
                // Section and symbol scopes: GNU has nowhere to keep them.
                p = sub_end;
            }
            pos = end;
        }
        Ok(())
    }

    /// Encodes the attributes like GNU: version `A`, then each vendor with
    /// anything to say; empty when no vendor has (GNU then drops the section).
    fn serialise(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (vendor, attrs) in self.vendors.iter().enumerate() {
            let mut body = Vec::new();
            for num in LEAST_KNOWN..NUM_KNOWN {
                let tag = output_order(num);
                write_attr(&mut body, tag as u32, &attrs.known[tag]);
            }
            for o in &attrs.other {
                write_attr(&mut body, o.tag, &o.attr);
            }
            if body.is_empty() {
                continue;
            }
            if out.is_empty() {
                out.push(b'A');
            }
            let name = VENDORS[vendor];
            let file_len = 1 + 4 + body.len();
            let len = 4 + name.len() + 1 + file_len;
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(name);
            out.push(0);
            out.push(TAG_FILE as u8);
            out.extend_from_slice(&(file_len as u32).to_le_bytes());
            out.extend_from_slice(&body);
        }
        out
    }
}

/// GNU writes `Tag_conformance` first and `Tag_nodefaults` second, as the
/// ABI asks, then the other table entries by tag.
fn output_order(num: usize) -> usize {
    if num == LEAST_KNOWN {
        CONFORMANCE
    } else if num == LEAST_KNOWN + 1 {
        NODEFAULTS
    } else if num - 2 < NODEFAULTS {
        num - 2
    } else if num - 1 < CONFORMANCE {
        num - 1
    } else {
        num
    }
}

fn write_attr(out: &mut Vec<u8>, tag: u32, attr: &Attr) {
    if attr.is_default() {
        return;
    }
    write_uleb(out, tag);
    if attr.ty & INT_VAL != 0 {
        write_uleb(out, attr.i);
    }
    if attr.ty & STR_VAL != 0 {
        out.extend_from_slice(attr.s.as_deref().unwrap_or_default());
        out.push(0);
    }
}

/// One input's `.ARM.attributes` sections.
pub(crate) struct AttributeInput<'a> {
    /// The input file, for messages.
    pub path: &'a str,
    /// Contents of its SHT_ARM_ATTRIBUTES sections, in section order.
    pub sections: Vec<&'a [u8]>,
}

/// Merges the attributes of `inputs` (those that have an `.ARM.attributes`
/// section, in link order) into the contents of the output section; empty
/// when nothing is left to say.
pub(crate) fn merge(inputs: &[AttributeInput<'_>]) -> Result<Vec<u8>, LinkError> {
    let mut parsed = Vec::with_capacity(inputs.len());
    for (n, input) in inputs.iter().enumerate() {
        let mut attrs = Attributes::default();
        for data in &input.sections {
            attrs
                .parse(data, n)
                .map_err(|detail| LinkError::Malformed {
                    path: input.path.to_owned(),
                    detail: format!("`.ARM.attributes`: {detail}"),
                })?;
        }
        parsed.push(attrs);
    }
    let Some((first, rest)) = parsed.split_first() else {
        return Ok(Vec::new());
    };
    let mut merger = Merger::new(inputs, first)?;
    for (n, attrs) in rest.iter().enumerate() {
        merger.merge(n + 1, attrs)?;
    }
    Ok(merger.out.serialise())
}

/// The output attributes so far, and which input each value came from.
struct Merger<'a> {
    inputs: &'a [AttributeInput<'a>],
    out: Attributes,
    /// For each table entry of the processor vendor: the input that set it.
    src: Vec<usize>,
}

impl<'a> Merger<'a> {
    /// Starts from a copy of the first input, as GNU does (checking only
    /// its two `Tag_MPextension_use` attributes).
    fn new(inputs: &'a [AttributeInput<'a>], first: &Attributes) -> Result<Self, LinkError> {
        let mut out = first.clone();
        for v in &mut out.vendors {
            for a in &mut v.known[LEAST_KNOWN..] {
                // GNU's copy leaves empty strings out.
                if a.s.as_ref().is_some_and(|s| s.is_empty()) {
                    a.s = None;
                }
            }
        }
        let k = &mut out.vendors[AEABI].known;
        // Tag_MPextension_use_legacy moves to Tag_MPextension_use.
        if k[MPEXTENSION_USE_LEGACY].i != 0 {
            if k[MPEXTENSION_USE].i != 0 && k[MPEXTENSION_USE].i != k[MPEXTENSION_USE_LEGACY].i {
                return Err(LinkError::Attributes {
                    path: inputs[0].path.to_owned(),
                    detail: LEGACY_CLASH.to_owned(),
                });
            }
            k[MPEXTENSION_USE] = k[MPEXTENSION_USE_LEGACY].clone();
            k[MPEXTENSION_USE_LEGACY].ty = 0;
            k[MPEXTENSION_USE_LEGACY].i = 0;
        }
        // A deprecated "any FP" Tag_ABI_HardFP_use without an FP
        // architecture (as in crti.o) is reset.
        if k[ABI_HARDFP_USE].i == 3 && k[FP_ARCH].i == 0 {
            k[ABI_HARDFP_USE].i = 0;
        }
        Ok(Merger {
            inputs,
            out,
            src: vec![0; NUM_KNOWN],
        })
    }

    fn name(&self, n: usize) -> &str {
        self.inputs[n].path
    }

    fn error(&self, path: usize, detail: String) -> LinkError {
        LinkError::Attributes {
            path: self.name(path).to_owned(),
            detail,
        }
    }

    /// Merges input `n` into the output, tag by tag in GNU's order.
    fn merge(&mut self, n: usize, input: &Attributes) -> Result<(), LinkError> {
        let before = self.out.vendors[AEABI].known.clone();
        let inn = &input.vendors[AEABI].known;

        // Tag_ABI_VFP_args first: it depends on Tag_ABI_FP_number_model
        // before that is merged.
        {
            let out = &mut self.out.vendors[AEABI].known;
            let (iv, ov) = (inn[ABI_VFP_ARGS].i, out[ABI_VFP_ARGS].i);
            if iv != ov {
                let in_uses_fp = inn[ABI_FP_NUMBER_MODEL].i != 0;
                if out[ABI_FP_NUMBER_MODEL].i == 0 || (in_uses_fp && ov == 3) {
                    out[ABI_VFP_ARGS].i = iv;
                } else if in_uses_fp && iv != 3 {
                    let (hard, soft) = if iv != 0 {
                        (n, self.src[ABI_VFP_ARGS])
                    } else {
                        (self.src[ABI_VFP_ARGS], n)
                    };
                    return Err(self.error(
                        n,
                        format!(
                            "`{}` uses VFP register arguments, `{}` does not",
                            self.name(hard),
                            self.name(soft)
                        ),
                    ));
                }
            }
        }

        for i in LEAST_KNOWN..NUM_KNOWN {
            self.merge_tag(n, i, inn)?;
            let out = &mut self.out.vendors[AEABI].known[i];
            if inn[i].ty != 0 && out.ty == 0 {
                out.ty = inn[i].ty;
            }
        }

        self.merge_compatibility(n, input)?;
        self.merge_other(n, input)?;

        for (i, old) in before.iter().enumerate() {
            if self.out.vendors[AEABI].known[i] != *old {
                self.src[i] = n;
            }
        }
        Ok(())
    }

    /// Merges table entry `i` of input `n` (whose table is `inn`) by the rule for its tag.
    fn merge_tag(&mut self, n: usize, i: usize, inn: &[Attr]) -> Result<(), LinkError> {
        let src = self.src[i];
        let out = &mut self.out.vendors[AEABI].known;
        let (iv, ov) = (inn[i].i, out[i].i);
        match i {
            // Merged with Tag_CPU_arch; the first input's goals stay.
            CPU_RAW_NAME | CPU_NAME | ABI_OPTIMIZATION_GOALS | ABI_FP_OPTIMIZATION_GOALS => {}
            CPU_ARCH => {
                let in_secondary = secondary_arch(&inn[ALSO_COMPATIBLE_WITH]);
                let mut out_secondary = secondary_arch(&out[ALSO_COMPATIBLE_WITH]);
                let arch = match arch_combine(ov, &mut out_secondary, iv, in_secondary) {
                    Ok(arch) => arch,
                    Err(None) => {
                        return Err(self.error(n, "unknown CPU architecture".to_owned()));
                    }
                    Err(Some((old, new))) => {
                        return Err(self.error(
                            n,
                            format!(
                                "conflicting CPU architectures {old}/{new} (`{}` has {old})",
                                self.name(src)
                            ),
                        ));
                    }
                };
                out[i].i = arch;
                out[ALSO_COMPATIBLE_WITH].s = out_secondary.map(|a| vec![CPU_ARCH as u8, a as u8]);
                if arch == ov {
                    // The names stay.
                } else if arch == iv {
                    out[CPU_NAME].s = inn[CPU_NAME].s.clone();
                    out[CPU_RAW_NAME].s = inn[CPU_RAW_NAME].s.clone();
                } else {
                    out[CPU_NAME].s = None;
                    out[CPU_RAW_NAME].s = None;
                }
                // GNU makes a name up; it is written only when some input
                // had a Tag_CPU_name (else the entry has no type).
                if out[CPU_NAME].s.is_none() {
                    if let Some(name) = ARCH_NAMES.get(arch as usize) {
                        out[CPU_NAME].s = Some(name.as_bytes().to_vec());
                    }
                }
            }
            ARM_ISA_USE
            | THUMB_ISA_USE
            | WMMX_ARCH
            | ADVANCED_SIMD_ARCH
            | ABI_FP_ROUNDING
            | ABI_FP_EXCEPTIONS
            | ABI_FP_USER_EXCEPTIONS
            | ABI_FP_NUMBER_MODEL
            | FP_HP_EXTENSION
            | CPU_UNALIGNED_ACCESS
            | T2EE_USE
            | MPEXTENSION_USE
            | MVE_ARCH
            | PAC_EXTENSION
            | BTI_EXTENSION
            | BTI_USE
            | PACRET_USE => {
                out[i].i = ov.max(iv);
            }
            ABI_ALIGN_PRESERVED | ABI_PCS_RO_DATA => out[i].i = ov.min(iv),
            // 0 (don't care) < 2 (weak requirement) < 1 (strong), then by value.
            ABI_ALIGN_NEEDED | ABI_FP_DENORMAL | ABI_PCS_GOT_USE => {
                const ORDER_021: [u32; 3] = [0, 2, 1];
                if (iv > 2 && iv > ov)
                    || (iv <= 2 && ov <= 2 && ORDER_021[iv as usize] > ORDER_021[ov as usize])
                {
                    out[i].i = iv;
                }
            }
            // Bit 0: TrustZone, bit 1: virtualization extensions.
            VIRTUALIZATION_USE => {
                if ov == 0 {
                    out[i].i = iv;
                } else if iv != 0 && iv != ov {
                    if iv <= 3 && ov <= 3 {
                        out[i].i = 3;
                    } else {
                        return Err(self.error(
                            n,
                            format!(
                                "unable to merge virtualization attributes with `{}`",
                                self.name(src)
                            ),
                        ));
                    }
                }
            }
            // 0 merges with anything, S with A or R; M with A, R or S is refused.
            CPU_ARCH_PROFILE => {
                let s = u32::from(b'S');
                let ar = |v: u32| v == u32::from(b'A') || v == u32::from(b'R');
                if ov != iv {
                    if ov == 0 || (ov == s && ar(iv)) {
                        out[i].i = iv;
                    } else if iv == 0 || (iv == s && ar(ov)) {
                    } else {
                        let c = |v: u32| if v == 0 { '0' } else { char::from(v as u8) };
                        return Err(self.error(
                            n,
                            format!(
                                "conflicting architecture profiles {}/{} (`{}` has {})",
                                c(iv),
                                c(ov),
                                self.name(src),
                                c(ov)
                            ),
                        ));
                    }
                }
            }
            DSP_EXTENSION => {
                let in_arch = inn[CPU_ARCH].i;
                let m = u32::from(b'M');
                if in_arch <= 3 || (inn[CPU_ARCH_PROFILE].i == m && in_arch != 13 && iv == 0) {
                    // The input has no DSP instructions to add.
                } else if out[CPU_ARCH].i >= 4
                    && ([b'A', b'R', b'S']
                        .map(u32::from)
                        .contains(&out[CPU_ARCH_PROFILE].i)
                        || out[CPU_ARCH].i == ARCH_V7E_M)
                {
                    // DSP is part of the output architecture.
                    out[i].i = 0;
                } else {
                    out[i].i = 1;
                }
            }
            // With Tag_ABI_HardFP_use, whose 0 means "as Tag_FP_arch implies".
            FP_ARCH => {
                if ov == 0 {
                    // GNU asserts that the output has no Tag_ABI_HardFP_use
                    // without an FP architecture, and a failed assertion
                    // fails the link.
                    let hardfp = out[ABI_HARDFP_USE].i;
                    if hardfp != 0 {
                        return Err(self.error(
                            n,
                            format!(
                                "`{}` has Tag_ABI_HardFP_use {hardfp} without Tag_FP_arch",
                                self.name(self.src[ABI_HARDFP_USE]),
                            ),
                        ));
                    }
                    out[i].i = iv;
                    out[ABI_HARDFP_USE].i = inn[ABI_HARDFP_USE].i;
                } else if iv != 0 {
                    if inn[ABI_HARDFP_USE].i != out[ABI_HARDFP_USE].i {
                        out[ABI_HARDFP_USE].i = 0;
                    }
                    if iv as usize >= VFP_VERSIONS.len() && iv > ov {
                        out[i] = inn[i].clone();
                    } else {
                        // GNU reads past its table for reserved values;
                        // this build finds no features there for 9 to 11.
                        // Larger values merged with smaller ones differ.
                        let known = |v: u32| VFP_VERSIONS.get(v as usize).copied();
                        let (iver, iregs) = known(iv).unwrap_or_default();
                        let (over, oregs) = known(ov).unwrap_or_default();
                        let want = (iver.max(over), iregs.max(oregs));
                        out[i].i = (1..VFP_VERSIONS.len())
                            .rev()
                            .find(|&v| VFP_VERSIONS[v] == want)
                            .unwrap_or(0) as u32;
                    }
                }
            }
            PCS_CONFIG => {
                // A conflict is only a warning for GNU.
                if ov == 0 {
                    out[i].i = iv;
                }
            }
            ABI_PCS_R9_USE => {
                const R9_UNUSED: u32 = 3;
                if iv != ov && ov != R9_UNUSED && iv != R9_UNUSED {
                    return Err(self.error(
                        n,
                        format!("conflicting use of R9 with `{}`", self.name(src)),
                    ));
                }
                if ov == R9_UNUSED {
                    out[i].i = iv;
                }
            }
            ABI_PCS_RW_DATA => {
                const SB_REL: u32 = 2;
                let r9 = out[ABI_PCS_R9_USE].i;
                if iv == SB_REL && r9 != 1 && r9 != 3 {
                    return Err(self.error(
                        n,
                        format!(
                            "SB relative addressing conflicts with use of R9 in `{}`",
                            self.name(self.src[ABI_PCS_R9_USE])
                        ),
                    ));
                }
                out[i].i = ov.min(iv);
            }
            // A size conflict is only a warning for GNU; the output keeps its own.
            ABI_PCS_WCHAR_T => {
                if iv != 0 && ov == 0 {
                    out[i].i = iv;
                }
            }
            // 0: no enums; 3: forced wide, compatible with anything. A
            // conflict between small and int is only a warning for GNU.
            ABI_ENUM_SIZE => {
                if iv != 0 && (ov == 0 || ov == 3) {
                    out[i].i = iv;
                }
            }
            // Merged before the loop, with Tag_FP_arch, or in
            // `merge_compatibility`; Tag_nodefaults merges by its type.
            ABI_VFP_ARGS | ABI_HARDFP_USE | COMPATIBILITY | NODEFAULTS | ALSO_COMPATIBLE_WITH => {}
            ABI_WMMX_ARGS => {
                if iv != ov {
                    let (uses, not) = if iv != 0 { (n, src) } else { (src, n) };
                    return Err(self.error(
                        n,
                        format!(
                            "`{}` uses iWMMXt register arguments, `{}` does not",
                            self.name(uses),
                            self.name(not)
                        ),
                    ));
                }
            }
            ABI_FP_16BIT_FORMAT => {
                if iv != 0 && ov != 0 && iv != ov {
                    return Err(
                        self.error(n, format!("fp16 format mismatch with `{}`", self.name(src)))
                    );
                }
                if iv != 0 {
                    out[i].i = iv;
                }
            }
            // 0: as the architecture allows; 1: not allowed; 2: allowed.
            DIV_USE => {
                if iv == ov {
                } else if iv == 1 && !accepts_div(out) {
                    out[i].i = 1;
                } else if (ov == 1 && accepts_div(inn)) || iv == 2 {
                    out[i].i = iv;
                }
            }
            MPEXTENSION_USE_LEGACY => {
                if iv != 0 && inn[MPEXTENSION_USE].i != 0 && inn[MPEXTENSION_USE].i != iv {
                    return Err(self.error(n, LEGACY_CLASH.to_owned()));
                }
                if iv > out[MPEXTENSION_USE].i {
                    out[MPEXTENSION_USE] = inn[i].clone();
                }
            }
            // Kept when every input claims the same conformance.
            CONFORMANCE => {
                if inn[i].s.is_none() || out[i].s.is_none() || !inn[i].str_eq(&out[i]) {
                    out[i].s = None;
                }
            }
            _ => {
                let out_set = ov != 0 || out[i].s.is_some();
                let in_set = iv != 0 || inn[i].s.is_some();
                if out_set || in_set {
                    let culprit = if out_set { src } else { n };
                    self.unknown(n, culprit, i as u32)?;
                }
                let out = &mut self.out.vendors[AEABI].known;
                if iv != out[i].i || !inn[i].str_eq(&out[i]) {
                    out[i].i = 0;
                    out[i].s = None;
                }
            }
        }
        Ok(())
    }

    /// An attribute this linker does not know: refused when the ABI says it
    /// must be understood (tag modulo 128 below 64), else GNU warns.
    fn unknown(&self, n: usize, culprit: usize, tag: u32) -> Result<(), LinkError> {
        if tag & 127 < 64 {
            return Err(self.error(
                n,
                format!(
                    "`{}` has unknown mandatory EABI object attribute {tag}",
                    self.name(culprit)
                ),
            ));
        }
        Ok(())
    }

    /// `Tag_compatibility`, in both vendors: only "gnu" contents are
    /// accepted, and every input must claim the same.
    fn merge_compatibility(&self, n: usize, input: &Attributes) -> Result<(), LinkError> {
        for vendor in [AEABI, GNU] {
            let inn = &input.vendors[vendor].known[COMPATIBILITY];
            let out = &self.out.vendors[vendor].known[COMPATIBILITY];
            let text =
                |a: &Attr| String::from_utf8_lossy(a.s.as_deref().unwrap_or_default()).into_owned();
            if inn.i > 0 && inn.s.as_deref() != Some(b"gnu") {
                return Err(self.error(
                    n,
                    format!(
                        "object has vendor-specific contents that must be processed by the '{}' toolchain",
                        text(inn)
                    ),
                ));
            }
            if inn.i != out.i || (inn.i != 0 && !inn.str_eq(out)) {
                return Err(self.error(
                    n,
                    format!(
                        "object tag '{}, {}' is incompatible with tag '{}, {}' of the inputs before it",
                        inn.i,
                        text(inn),
                        out.i,
                        text(out)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Attributes outside the table: kept only when every input has them
    /// with equal values. Like GNU, dropping one also drops every attribute
    /// kept before it in this pass (GNU unlinks from the head of the list).
    fn merge_other(&mut self, n: usize, input: &Attributes) -> Result<(), LinkError> {
        let ins = &input.vendors[AEABI].other;
        let mut outs = std::mem::take(&mut self.out.vendors[AEABI].other);
        let (mut cur, mut k) = (0usize, 0usize);
        let mut result = Ok(());
        while k < ins.len() || cur < outs.len() {
            // Both lists are sorted by tag: compare their heads.
            let order = match (ins.get(k), outs.get(cur)) {
                (Some(i), Some(o)) => i.tag.cmp(&o.tag),
                (None, _) => Ordering::Greater,
                (_, None) => Ordering::Less,
            };
            let (culprit, tag) = match order {
                // Only in the output so far: dropped.
                Ordering::Greater => {
                    let o = &outs[cur];
                    let found = (o.src, o.tag);
                    outs.drain(..=cur);
                    cur = 0;
                    found
                }
                // Only in the input: ignored.
                Ordering::Less => {
                    k += 1;
                    (n, ins[k - 1].tag)
                }
                Ordering::Equal => {
                    let (i, o) = (&ins[k], &outs[cur]);
                    let found = (o.src, o.tag);
                    if i.attr.i != o.attr.i || !i.attr.str_eq(&o.attr) {
                        outs.drain(..=cur);
                        cur = 0;
                    } else {
                        cur += 1;
                        k += 1;
                    }
                    found
                }
            };
            if result.is_ok() {
                result = self.unknown(n, culprit, tag);
            }
        }
        self.out.vendors[AEABI].other = outs;
        result
    }
}

const LEGACY_CLASH: &str = "has both the current and legacy Tag_MPextension_use attributes";

/// GNU's made-up Tag_CPU_name for each Tag_CPU_arch.
const ARCH_NAMES: [&str; 23] = [
    "Pre v4",
    "ARM v4",
    "ARM v4T",
    "ARM v5T",
    "ARM v5TE",
    "ARM v5TEJ",
    "ARM v6",
    "ARM v6KZ",
    "ARM v6T2",
    "ARM v6K",
    "ARM v7",
    "ARM v6-M",
    "ARM v6S-M",
    "ARM v7E-M",
    "ARM v8",
    "ARM v8-R",
    "ARM v8-M.baseline",
    "ARM v8-M.mainline",
    "ARM v8.1-A",
    "ARM v8.2-A",
    "ARM v8.3-A",
    "ARM v8.1-M.mainline",
    "ARM v9",
];

/// (VFP version, number of double registers) for each Tag_FP_arch value.
const VFP_VERSIONS: [(u32, u32); 9] = [
    (0, 0),
    (1, 16),
    (2, 16),
    (3, 32),
    (3, 16),
    (4, 32),
    (4, 16),
    (8, 32),
    (8, 16),
];

/// The architecture named by a `Tag_also_compatible_with` holding exactly
/// a one-byte `Tag_CPU_arch`; anything else is ignored (and then dropped).
fn secondary_arch(attr: &Attr) -> Option<u32> {
    match attr.s.as_deref() {
        Some([tag, arch]) if usize::from(*tag) == CPU_ARCH && *arch < 0x80 => {
            Some(u32::from(*arch))
        }
        _ => None,
    }
}

/// Whether the attributes allow integer divide instructions.
fn accepts_div(attrs: &[Attr]) -> bool {
    let arch = attrs[CPU_ARCH].i;
    let profile = attrs[CPU_ARCH_PROFILE].i;
    match attrs[DIV_USE].i {
        0 => {
            (arch == ARCH_V7 && (profile == u32::from(b'R') || profile == u32::from(b'M')))
                || arch >= ARCH_V7E_M
        }
        1 => false,
        _ => true,
    }
}

/// Combines two Tag_CPU_arch values (with their `Tag_also_compatible_with`
/// architectures): the later architectures are not supersets of all the
/// earlier ones. `Err(None)` for an unknown architecture, `Err(Some((old,
/// new)))` for a conflict.
fn arch_combine(
    old: u32,
    out_secondary: &mut Option<u32>,
    new: u32,
    in_secondary: Option<u32>,
) -> Result<u32, Option<(u32, u32)>> {
    if old > ARCH_MAX || new > ARCH_MAX {
        return Err(None);
    }
    let plus = |tag: u32, secondary: Option<u32>| match (tag, secondary) {
        (ARCH_V6_M, Some(ARCH_V4T)) | (ARCH_V4T, Some(ARCH_V6_M)) => ARCH_V4T_PLUS_V6_M,
        _ => tag,
    };
    let o = plus(old, *out_secondary);
    let n = plus(new, in_secondary);
    let (low, high) = (o.min(n), o.max(n));
    if high <= ARCH_V6KZ {
        return Ok(high);
    }
    let row: &[i8] = ARCH_COMBINE[(high - ARCH_V6T2) as usize];
    let result = row.get(low as usize).copied().unwrap_or(-1);
    if result == ARCH_V4T_PLUS_V6_M as i8 {
        *out_secondary = Some(ARCH_V6_M);
        return Ok(ARCH_V4T);
    }
    *out_secondary = None;
    u32::try_from(result).map_err(|_| Some((old, new)))
}

/// For each architecture from v6T2 on (and GNU's v4T+v6-M pseudo
/// architecture), what it combines to with each lower or equal one; -1 is
/// a conflict. An empty row has no combinations at all.
const ARCH_COMBINE: [&[i8]; 16] = [
    // v6T2
    &[8, 8, 8, 8, 8, 8, 8, 10, 8],
    // v6K
    &[9, 9, 9, 9, 9, 9, 9, 7, 10, 9],
    // v7
    &[10; 11],
    // v6-M
    &[-1, -1, 9, 9, 9, 9, 9, 7, 10, 9, 10, 11],
    // v6S-M
    &[-1, -1, 9, 9, 9, 9, 9, 7, 10, 9, 10, 12, 12],
    // v7E-M
    &[-1, -1, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13],
    // v8-A
    &[14; 22],
    // v8-R
    &[
        15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 15,
    ],
    // v8-M.baseline
    &[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 16, 16, -1, -1, -1, 16,
    ],
    // v8-M.mainline
    &[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 17, 17, 17, 17, -1, -1, 17, 17,
    ],
    // v8.1-A, v8.2-A, v8.3-A
    &[],
    &[],
    &[],
    // v8.1-M.mainline
    &[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 21, 21, 21, 21, -1, -1, 21, 21, -1, -1, -1, 21,
    ],
    // v9
    &[22; 23],
    // v4T plus v6-M
    &[
        -1, -1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, -1, 16, 17, -1, -1, -1, 21, 22, 23,
    ],
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an `.ARM.attributes` section from vendor subsections of
    /// file-scope attribute bytes.
    fn section(vendors: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = vec![b'A'];
        for (name, body) in vendors {
            let file_len = 5 + body.len();
            out.extend_from_slice(&((4 + name.len() + 1 + file_len) as u32).to_le_bytes());
            out.extend_from_slice(name);
            out.push(0);
            out.push(1);
            out.extend_from_slice(&(file_len as u32).to_le_bytes());
            out.extend_from_slice(body);
        }
        out
    }

    /// Merges `inputs` and compares the result with `expect`.
    fn check(inputs: &[&[u8]], expect: Result<&[u8], &str>) {
        let inputs: Vec<AttributeInput<'_>> = inputs
            .iter()
            .enumerate()
            .map(|(i, data)| AttributeInput {
                path: ["a.o", "b.o", "c.o"][i],
                sections: vec![*data],
            })
            .collect();
        match (merge(&inputs), expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{got:02x?}"),
            (Err(e), Err(want)) => assert_eq!(e.to_string(), want),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn uleb_round_trip() {
        for value in [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0x12345678, u32::MAX] {
            let mut bytes = Vec::new();
            write_uleb(&mut bytes, value);
            let mut pos = 0;
            assert_eq!(read_uleb(&bytes, &mut pos), Ok(value));
            assert_eq!(pos, bytes.len());
        }
        let mut pos = 0;
        assert_eq!(read_uleb(&[0x80, 0x01], &mut pos), Ok(0x80));
        assert!(read_uleb(&[0x80, 0x80], &mut 0).is_err());
        // Bits above 32 are dropped, as GNU's `unsigned int` drops them.
        assert_eq!(read_uleb(&[0x80, 0x80, 0x80, 0x80, 0x10, 0], &mut 0), Ok(0));
    }

    #[test]
    fn parse_serialise_round_trip() {
        // What gcc -march=armv7-a+fp -O2 writes, in GNU's order already.
        let body: &[u8] = b"\x05\x37\x2d\x41\x00\x06\x0a\x07\x41\x08\x01\x09\x02\x0a\x03\x0c\x01\
            \x12\x04\x14\x01\x15\x01\x17\x03\x18\x01\x19\x01\x1a\x02\x1c\x01\x1e\x02\x22\x01";
        let data = section(&[(b"aeabi", body)]);
        check(&[&data], Ok(&data));
        // Conformance and nodefaults move to the front; a zero nodefaults is
        // still written; other vendors go; "gnu" stays, after "aeabi".
        let messy = section(&[
            (b"gnu", b"\x04\x01"),
            (b"foo", b"\x04\x05"),
            (
                b"aeabi",
                b"\x06\x0a\x40\x00\x43\x32\x2e\x30\x39\x00\x64\x03",
            ),
        ]);
        let tidy = section(&[
            (
                b"aeabi",
                b"\x43\x32\x2e\x30\x39\x00\x40\x00\x06\x0a\x64\x03",
            ),
            (b"gnu", b"\x04\x01"),
        ]);
        check(&[&messy], Ok(&tidy));
        // Nothing but defaults and unknown vendors: no section.
        check(
            &[&section(&[(b"aeabi", b"\x08\x00"), (b"x", b"")])],
            Ok(b""),
        );
        check(&[b"A"], Ok(b""));
    }

    #[test]
    fn malformed() {
        let good = section(&[(b"aeabi", b"\x06\x0a")]);
        let cases: [(&[u8], &str); 6] = [
            (b"B", "unknown format version 0x42"),
            (&good[..3], "truncated subsection length at 0x1"),
            (&good[..good.len() - 1], "bad subsection length 0x11 at 0x1"),
            (b"A\x04\x00\x00\x00", "bad subsection length 0x4 at 0x1"),
            (b"A\x09\x00\x00\x00aeabi", "unterminated string at 0x5"),
            (
                &section(&[(b"aeabi", b"\x05\x37")]),
                "unterminated string at 0x11",
            ),
        ];
        for (data, detail) in cases {
            let expect = format!("`a.o`: malformed ELF: `.ARM.attributes`: {detail}");
            check(&[data], Err(&expect));
        }
    }

    #[test]
    fn merge_rules() {
        let v7 = section(&[(b"aeabi", b"\x05\x37\x2d\x41\x00\x06\x0a\x07\x41\x1a\x02")]);
        let v8 = section(&[(b"aeabi", b"\x05\x38\x2d\x41\x00\x06\x0e\x07\x41\x1a\x01")]);
        // v8 wins with its name; enum sizes conflict (GNU warns) and the first stays.
        let want = section(&[(b"aeabi", b"\x05\x38\x2d\x41\x00\x06\x0e\x07\x41\x1a\x02")]);
        check(&[&v7, &v8], Ok(&want));
        // Hard-float calls against soft-float ones.
        let hard = section(&[(b"aeabi", b"\x17\x03\x1c\x01")]);
        let soft = section(&[(b"aeabi", b"\x17\x03")]);
        check(
            &[&hard, &soft],
            Err(
                "cannot merge build attributes of `b.o`: `a.o` uses VFP register arguments, `b.o` does not",
            ),
        );
        check(
            &[&soft, &hard],
            Err(
                "cannot merge build attributes of `b.o`: `b.o` uses VFP register arguments, `a.o` does not",
            ),
        );
        // M profile against A profile.
        let m = section(&[(b"aeabi", b"\x06\x10\x07\x4d")]);
        check(
            &[&m, &v7],
            Err(
                "cannot merge build attributes of `b.o`: conflicting CPU architectures 16/10 (`a.o` has 16)",
            ),
        );
    }

    #[test]
    fn unknown_list_quirk() {
        // Tags 77 and 79 outside the table: 77 matches, 79 does not, and GNU
        // drops both; 81 matches and stays.
        let a = section(&[(b"aeabi", b"\x4d\x61\x00\x4f\x62\x00\x51\x7a\x00")]);
        let b = section(&[(b"aeabi", b"\x4d\x61\x00\x4f\x63\x00\x51\x7a\x00")]);
        let want = section(&[(b"aeabi", b"\x51\x7a\x00")]);
        check(&[&a, &b], Ok(&want));
    }
}
