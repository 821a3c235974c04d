//! The list of mutants: for each check that a payload file can fail, one
//! or more in-place edits of a good fixture, the check id the validator must
//! report for it, and the environment it is checked in.
//!
//! The list is data for two consumers: the validator's tests (each mutant
//! reported with exactly its check id) and the simulator's (each mutant
//! refused or run without taking the simulator down).

use crate::patch::*;

/// How the mutant is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Env {
    /// The payload alone.
    Static,
    /// Against the stand-in hypervisor.
    Target,
    /// Against the stand-in hypervisor, pretending it has no build-id.
    NoBuildId,
    /// Against the stand-in hypervisor, the payload loaded 3 GiB away.
    FarAway,
    /// After a loaded payload with the same build-id.
    SameBuildId,
    /// After loaded payloads that fill the arm window but for one page.
    WindowFull,
}

/// One mutant of a fixture.
#[derive(Clone, Copy)]
pub struct Mutant {
    /// What was broken, for people.
    pub name: &'static str,
    /// The check id the validator reports for it (`C-38`, `V-02`, ...).
    pub check: &'static str,
    /// How the mutant is checked.
    pub env: Env,
    /// The edit that turns the good payload into the mutant.
    pub mutate: fn(&mut Vec<u8>),
}

impl Mutant {
    /// The mutant's bytes, made from the good payload `good`.
    pub fn apply(&self, good: &[u8]) -> Vec<u8> {
        let mut bytes = good.to_vec();
        (self.mutate)(&mut bytes);
        bytes
    }
}

fn m(name: &'static str, check: &'static str, env: Env, mutate: fn(&mut Vec<u8>)) -> Mutant {
    Mutant {
        name,
        check,
        env,
        mutate,
    }
}

/// The mutants of the fixture of `arch` (`x86_64`, `aarch64` or `arm32`).
pub fn mutants(arch: &str) -> Vec<Mutant> {
    match arch {
        "x86_64" => x86_mutants(),
        "aarch64" | "arm32" => arm_mutants(arch),
        _ => panic!("no mutants for {arch}"),
    }
}

const F: &str = ".livepatch.funcs";
const RF: &str = ".rela.livepatch.funcs";
const TEXT: &str = ".text.xen_hello_world";
const RTEXT: &str = ".rela.text.xen_hello_world";

fn sh(b: &mut [u8], name: &str, field: &str, v: u64) {
    let i = section(b, name);
    set_sh(b, i, field, v);
}

fn funcs_byte(b: &mut [u8], off: u64, v: u8) {
    let i = section(b, F);
    let at = at(b, i, off);
    b[at as usize] = v;
}

fn funcs_u32(b: &mut [u8], off: u64, v: u32) {
    let i = section(b, F);
    let at = at(b, i, off);
    put(b, at, 4, u64::from(v));
}

fn rename(b: &mut [u8], name: &str) {
    let i = section(b, name);
    let n = get_sh(b, i, "sh_name");
    set_sh(b, i, "sh_name", n + 1);
}

/// Turns the relocation of a `.funcs` field into R_*_NONE, so the field reads 0.
fn drop_funcs_reloc(b: &mut [u8], field_off: u64) {
    let r = section(b, RF);
    let n = reloc_for(b, r, field_off);
    let (off, sym, _) = reloc(b, r, n);
    set_reloc(b, r, n, off, sym, 0);
}

fn note_byte(b: &mut [u8], section_name: &str, off: u64, v: u8) {
    let i = section(b, section_name);
    let at = at(b, i, off);
    b[at as usize] = v;
}

/// A relocation as (offset, symbol, type).
type Rel = (u64, u32, u32);

/// Rewrites the first relocation of the replacement function's text.
fn text_reloc(b: &mut [u8], f: fn(Rel) -> Rel) {
    let r = section_prefix(b, ".rel");
    let r = if shdr(b, r).info as usize == section_prefix(b, ".text.xen_hello_world") {
        r
    } else {
        section_prefix(b, ".rela.text.xen_hello_world")
    };
    let (o, s, k) = f(reloc(b, r, 0));
    set_reloc(b, r, 0, o, s, k);
}

/// The x86-64 mutants.
pub fn x86_mutants() -> Vec<Mutant> {
    use Env::*;
    vec![
        m("file over 2 MiB", "C-05", Static, |b| {
            b.resize((2 << 20) + 1, 0)
        }),
        m("truncated to 40 bytes", "C-10", Static, |b| b.truncate(40)),
        m("bad magic", "C-11", Static, |b| b[1] = b'X'),
        m("ET_EXEC", "C-12", Static, |b| set_ehdr(b, "e_type", 2)),
        m("wrong machine", "C-13", Static, |b| {
            set_ehdr(b, "e_machine", 3)
        }),
        m("e_shstrndx 0", "C-14", Static, |b| {
            set_ehdr(b, "e_shstrndx", 0)
        }),
        m("1024 sections", "C-15", Static, |b| {
            set_ehdr(b, "e_shnum", 1024)
        }),
        m("e_shstrndx out of range", "C-16", Static, |b| {
            let n = get_ehdr(b, "e_shnum");
            set_ehdr(b, "e_shstrndx", n)
        }),
        m("e_shoff past the end", "C-17", Static, |b| {
            let len = b.len() as u64;
            set_ehdr(b, "e_shoff", len)
        }),
        m("e_shentsize 32", "C-18", Static, |b| {
            set_ehdr(b, "e_shentsize", 32)
        }),
        m("truncated file", "C-19", Static, |b| {
            let shoff = get_ehdr(b, "e_shoff");
            b.truncate((shoff + 3 * 64) as usize)
        }),
        m("sh_offset in the header", "C-20", Static, |b| {
            sh(b, ".comment", "sh_offset", 8)
        }),
        m("section past the end", "C-21", Static, |b| {
            sh(b, ".comment", "sh_size", 1 << 40)
        }),
        m("sh_addralign 3", "C-22", Static, |b| {
            sh(b, TEXT, "sh_addralign", 3)
        }),
        m("sh_addr misaligned", "C-23", Static, |b| {
            sh(b, TEXT, "sh_addr", 1)
        }),
        m("3 MiB bss", "C-24", Static, |b| {
            sh(b, ".comment", "sh_type", 8);
            sh(b, ".comment", "sh_flags", 3);
            sh(b, ".comment", "sh_size", 3 << 20)
        }),
        m("second symbol table", "C-25", Static, |b| {
            sh(b, ".shstrtab", "sh_type", 2)
        }),
        m("symtab sh_link 0", "C-26", Static, |b| {
            sh(b, ".symtab", "sh_link", 0)
        }),
        m("no symbol table", "C-27", Static, |b| {
            sh(b, ".symtab", "sh_type", 1)
        }),
        m("symtab entsize 0", "C-28", Static, |b| {
            sh(b, ".symtab", "sh_entsize", 0)
        }),
        m("strtab not STRTAB", "C-29", Static, |b| {
            sh(b, ".strtab", "sh_type", 1)
        }),
        m("shstrtab not NUL-terminated", "C-30", Static, |b| {
            let i = section(b, ".shstrtab");
            let s = shdr(b, i);
            b[(s.offset + s.size - 1) as usize] = b'x'
        }),
        m("sh_name out of range", "C-31", Static, |b| {
            sh(b, ".comment", "sh_name", 0xffff)
        }),
        m("st_name out of range", "C-32", Static, |b| {
            set_sym(b, "hello_calls", "st_name", 0xff_ffff)
        }),
        m("no xen_depends", "C-35", Static, |b| {
            rename(b, ".livepatch.xen_depends")
        }),
        m("xen_depends not a note", "C-36", Static, |b| {
            note_byte(b, ".livepatch.xen_depends", 8, 4)
        }),
        m("target without build-id", "C-37", NoBuildId, |_| {}),
        m("wrong xen build-id", "C-38", Target, |b| {
            note_byte(b, ".livepatch.xen_depends", 16, 0x5a)
        }),
        m("W+X section", "C-40", Static, |b| {
            sh(b, TEXT, "sh_flags", 7)
        }),
        m("sh_addralign 0", "C-42", Static, |b| {
            sh(b, TEXT, "sh_addralign", 0)
        }),
        m("common symbol", "C-45", Static, |b| {
            set_sym(b, "hello_calls", "st_shndx", 0xfff2)
        }),
        m("undefined symbol not in target", "C-46", Target, |b| {
            rename_symbol(b, "xen_extra_version", b"xen_extra_versioX")
        }),
        m("undefined symbol without a name", "C-46", Static, |b| {
            set_sym(b, "xen_extra_version", "st_name", 0)
        }),
        m("reserved st_shndx", "C-47", Static, |b| {
            set_sym(b, "hello_calls", "st_shndx", 0xff05)
        }),
        m("st_shndx out of range", "C-48", Static, |b| {
            set_sym(b, "hello_calls", "st_shndx", 200)
        }),
        m("relocation sh_info 0", "C-50", Static, |b| {
            sh(b, RTEXT, "sh_info", 0)
        }),
        m("relocation sh_link not symtab", "C-52", Static, |b| {
            let s = section(b, ".strtab") as u64;
            sh(b, RTEXT, "sh_link", s)
        }),
        m("relocation entsize 7", "C-53", Static, |b| {
            sh(b, RTEXT, "sh_entsize", 7)
        }),
        m("relocation against STN_UNDEF", "C-55", Static, |b| {
            text_reloc(b, |(o, _, k)| (o, 0, k))
        }),
        m("relocation symbol out of range", "C-56", Static, |b| {
            text_reloc(b, |(o, _, k)| (o, 10_000, k))
        }),
        m(
            "relocation against an unloaded section",
            "C-57",
            Static,
            |b| sh(b, ".rodata.xen_hello_world.str1.1", "sh_flags", 0x30),
        ),
        m("SHT_REL on x86", "C-60", Static, |b| {
            sh(b, RTEXT, "sh_type", 9)
        }),
        m("unsupported relocation type", "C-61", Static, |b| {
            text_reloc(b, |(o, s, _)| (o, s, 10))
        }),
        m("relocation past the section end", "C-61", Static, |b| {
            text_reloc(b, |(_, s, k)| (0x100, s, k))
        }),
        m("no depends", "C-80", Static, |b| {
            rename(b, ".livepatch.depends")
        }),
        m("no build-id", "C-81", Static, |b| {
            rename(b, ".note.gnu.build-id")
        }),
        m("empty hook section", "C-82", Static, |b| {
            sh(b, ".livepatch.hooks.load", "sh_size", 0);
            sh(b, ".rela.livepatch.hooks.load", "sh_size", 0)
        }),
        m("nothing to patch", "C-83", Static, |b| {
            rename(b, F);
            rename(b, ".livepatch.hooks.load");
            rename(b, ".livepatch.hooks.preapply")
        }),
        m("duplicate special section", "C-84", Static, |b| {
            let d = section(b, ".livepatch.depends");
            let n = get_sh(b, d, "sh_name");
            sh(b, ".modinfo", "sh_name", n)
        }),
        m("special section not loaded", "C-85", Static, |b| {
            sh(b, ".modinfo", "sh_flags", 0)
        }),
        m("funcs size 103", "C-90", Static, |b| {
            sh(b, F, "sh_size", 103)
        }),
        m("wrong version byte", "C-92", Static, |b| {
            funcs_byte(b, 32, 3)
        }),
        m("old_size 0", "C-93", Static, |b| {
            funcs_byte(b, 72, 0);
            funcs_u32(b, 28, 0)
        }),
        m("null name and old_addr", "C-94", Static, |b| {
            drop_funcs_reloc(b, 0);
            drop_funcs_reloc(b, 16)
        }),
        m("old_addr 0 and name not in target", "C-94", Target, |b| {
            let i = section(b, ".rodata.hello_name");
            replace_in_section(b, i, b"xen_extra_version", b"xen_extra_versioX");
            drop_funcs_reloc(b, 16)
        }),
        m("old_size 4", "C-95", Static, |b| {
            funcs_byte(b, 72, 0);
            funcs_u32(b, 28, 4)
        }),
        m("NOP of 40 bytes", "C-95", Static, |b| {
            drop_funcs_reloc(b, 8);
            funcs_u32(b, 24, 40)
        }),
        m("old_size 8 after ENDBR64", "C-95", Target, |b| {
            rename_symbol(b, "xen_extra_version", b"xen_changeset\0");
            funcs_byte(b, 72, 0);
            funcs_u32(b, 28, 8)
        }),
        m("branch out of range", "C-97", FarAway, |_| {}),
        m("old_addr inside a function", "C-98", Target, |b| {
            let r = section(b, RF);
            let n = reloc_for(b, r, 16);
            let at = reloc_at(b, r, n) + 16;
            put(b, at, 8, 1);
            funcs_byte(b, 72, 0)
        }),
        m("short NOP over ENDBR64", "C-98", Target, |b| {
            rename_symbol(b, "xen_extra_version", b"xen_changeset\0");
            funcs_byte(b, 72, 0);
            drop_funcs_reloc(b, 8);
            funcs_u32(b, 24, 2)
        }),
        m("two pointers in a single hook", "C-99", Static, |b| {
            sh(b, ".livepatch.hooks.preapply", "sh_size", 16)
        }),
        m("null load hook", "C-99", Static, |b| {
            let r = section(b, ".rela.livepatch.hooks.load");
            let (o, s, _) = reloc(b, r, 0);
            set_reloc(b, r, 0, o, s, 0)
        }),
        m("build-id not a note", "C-100", Static, |b| {
            note_byte(b, ".note.gnu.build-id", 8, 4)
        }),
        m("build-id of a loaded payload", "C-101", SameBuildId, |_| {}),
        m("depends not a note", "C-102", Static, |b| {
            note_byte(b, ".livepatch.depends", 8, 4)
        }),
        m("bug frames size 4", "C-105", Static, |b| {
            sh(b, ".bug_frames.0", "sh_size", 4)
        }),
        m("altinstructions size 13", "C-106", Static, |b| {
            sh(b, ".altinstructions", "sh_size", 13)
        }),
        m(
            "replacement outside altinstr_replacement",
            "C-106",
            Static,
            |b| {
                let i = section(b, ".altinstructions");
                let at = at(b, i, 11);
                b[at as usize] = 50
            },
        ),
        m("alt_call_sites size 6", "C-107", Static, |b| {
            sh(b, ".alt_call_sites", "sh_size", 6)
        }),
        m("alt call site is not ff 15", "C-107", Static, |b| {
            let i = section(b, ".text.hello_alt");
            replace_in_section(b, i, &[0xff, 0x15], &[0x90, 0x90])
        }),
        m("ex_table size 4", "C-108", Static, |b| {
            sh(b, ".ex_table", "sh_size", 4);
            let r = section(b, ".rela.ex_table");
            set_sh(b, r, "sh_size", 24)
        }),
        m("modinfo not NUL-terminated", "C-109", Static, |b| {
            let i = section(b, ".modinfo");
            let s = shdr(b, i);
            b[(s.offset + s.size - 1) as usize] = b'x'
        }),
        m(
            "new symbol named like a target symbol",
            "C-115",
            Target,
            |b| rename_symbol(b, "hello_calls", b"strlen\0"),
        ),
        m("expectation reserved bits", "C-123", Static, |b| {
            funcs_byte(b, 72, 0x51)
        }),
        m("expectation mismatch", "C-123", Target, |b| {
            let i = section(b, F);
            let at = at(b, i, 73) as usize;
            b[at] ^= 0xff
        }),
        m("depends on another build-id", "C-123", Target, |b| {
            note_byte(b, ".livepatch.depends", 16, 0x5a)
        }),
        m("opaque bytes not zero", "V-02", Static, |b| {
            funcs_byte(b, 40, 1)
        }),
        m("applied set", "V-02", Static, |b| funcs_byte(b, 64, 1)),
        m("read-only funcs", "V-03", Static, |b| {
            sh(b, F, "sh_flags", 2)
        }),
        m("symbol name over 127 bytes", "V-04", Static, |b| {
            let i = section(b, ".strtab");
            let s = shdr(b, i);
            for at in s.offset + 1..(s.offset + s.size - 1).min(s.offset + 140) {
                if b[at as usize] == 0 {
                    b[at as usize] = b'x';
                }
            }
        }),
        m("no payload sections", "V-05", Static, |b| {
            for name in [
                F,
                ".livepatch.depends",
                ".livepatch.xen_depends",
                ".livepatch.hooks.load",
                ".livepatch.hooks.preapply",
            ] {
                rename(b, name);
            }
        }),
        m("old_size differs from the target", "V-06", Target, |b| {
            let i = section(b, F);
            let at = at(b, i, 28);
            let v = get(b, at, 4);
            put(b, at, 4, v + 1)
        }),
    ]
}

/// The mutants of an arm fixture (`aarch64` or `arm32`).
pub fn arm_mutants(arch: &str) -> Vec<Mutant> {
    use Env::*;
    let mut v = vec![
        m("old_size 2", "C-96", Static, |b| {
            let i = section(b, F);
            let c32 = class(b) == Class::Elf32;
            let (size, expect) = if c32 { (16, 60) } else { (28, 72) };
            let p = at(b, i, size);
            put(b, p, 4, 2);
            let q = at(b, i, expect);
            b[q as usize] = 0
        }),
        m("payload over the 2 MiB window", "C-41", Static, |b| {
            sh(b, ".comment", "sh_type", 8);
            sh(b, ".comment", "sh_flags", 3);
            sh(b, ".comment", "sh_size", 2 << 20)
        }),
        m("big-endian arm payload", "V-01", Static, |b| b[5] = 2),
        m(
            "arm window full of loaded payloads",
            "C-41",
            WindowFull,
            |_| {},
        ),
    ];
    if arch == "aarch64" {
        v.extend([
            m("SHT_REL on arm64", "C-65", Static, |b| {
                let r = section(b, RTEXT);
                set_sh(b, r, "sh_type", 9)
            }),
            m("relocation past the section end", "C-66", Static, |b| {
                text_reloc(b, |(_, s, k)| (0x1000, s, k))
            }),
            m("unsupported relocation type", "C-67", Static, |b| {
                text_reloc(b, |(o, s, _)| (o, s, 273))
            }),
        ]);
    } else {
        v.extend([
            m("Thumb mapping symbol", "C-33", Static, |b| {
                rename_symbol(b, "$a", b"$t")
            }),
            m("unsupported relocation type", "C-71", Static, |b| {
                text_reloc(b, |(o, s, _)| (o, s, 10))
            }),
            m("relocation past the section end", "C-72", Static, |b| {
                text_reloc(b, |(_, s, k)| (0x1000, s, k))
            }),
            m("branch with an odd word offset", "C-74", Static, |b| {
                let r = section_prefix(b, ".rel.text.hello_load");
                let t = shdr(b, r).info as usize;
                let n = (0..shdr(b, r).size / shdr(b, r).entsize)
                    .find(|&n| matches!(reloc(b, r, n).2, 28 | 29))
                    .expect("a call relocation");
                let at = at(b, t, reloc(b, r, n).0);
                let w = get(b, at, 4);
                // One more word in the implicit addend flips the parity.
                put(b, at, 4, (w & 0xff00_0000) | ((w + 1) & 0x00ff_ffff))
            }),
            m("MOVW with an addend", "C-73", Static, |b| {
                let r = section_prefix(b, ".rel.text.xen_hello_world");
                let t = shdr(b, r).info as usize;
                let n = (0..shdr(b, r).size / shdr(b, r).entsize)
                    .find(|&n| reloc(b, r, n).2 == 43)
                    .expect("a MOVW relocation");
                let at = at(b, t, reloc(b, r, n).0);
                let w = get(b, at, 4);
                put(b, at, 4, w | 4)
            }),
        ]);
    }
    v
}
