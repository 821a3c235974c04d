//! arm64 and arm32 payloads checked and placed without a hypervisor process
//! (`xsplice_sim::place`): Xen 4.17's own arm64 test payloads against the
//! real arm64 `xen-syms`, and the suite's arm64 and arm32 builds against
//! their stand-ins. Every relocated section is compared byte for byte with
//! the same payload linked by GNU ld at the same addresses, its undefined
//! symbols set from GNU nm's reading of the image: a checker that shares
//! nothing with the loader. The one accepted difference is arm32's C-74
//! (Xen drops bit 0 of a branch's word offset; GNU ld does not). Broken variants (a branch out of range, a
//! relocation whose place runs past its section) are refused with the
//! validator's check id and Xen's errno; the alternative of the hello
//! world payload is applied when its capability is on; what APPLY would
//! write at `old_addr` is the `B` Xen encodes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol};
use xsplice_sim::{Errno, PlaceOptions, Placement, Refusal, place};
use xsplice_validate::XenImage;

const GNU: xsplice_testkit::Gnu = xsplice_testkit::GNU_AARCH64;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The image's global and local symbol addresses as GNU nm prints them.
fn nm_addresses(gnu: &xsplice_testkit::Gnu, xen: &Path) -> BTreeMap<String, u64> {
    let text = run(Command::new(gnu.nm).arg(xen));
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if let (Some(a), Some(_), Some(n)) = (w.next(), w.next(), w.next())
            && let Ok(a) = u64::from_str_radix(a, 16)
        {
            map.entry(n.to_string()).or_insert(a);
        }
    }
    map
}

/// Links `payload` with GNU ld, each section of the placement at its
/// address, undefined symbols from `symbols`; returns the output's
/// section bytes by name.
fn gnu_link(
    gnu: &xsplice_testkit::Gnu,
    payload: &[u8],
    placed: &Placement,
    symbols: &BTreeMap<String, u64>,
) -> BTreeMap<String, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("payload.o");
    std::fs::write(&input, unmerged(payload)).unwrap();
    let mut script = String::from("SECTIONS {\n");
    for (name, addr, _) in &placed.sections {
        script.push_str(&format!("  {name} {addr:#x} : {{ *({name}) }}\n"));
    }
    script.push_str("}\n");
    std::fs::write(dir.path().join("place.ld"), &script).unwrap();
    let obj = object::File::parse(payload).unwrap();
    let mut ld = Command::new(gnu.ld);
    ld.args(["--no-relax", "-static", "-nostdlib", "--no-check-sections"])
        .args(["-e", "0", "-T"])
        .arg(dir.path().join("place.ld"))
        .arg("-o")
        .arg(dir.path().join("out"));
    for s in obj.symbols().filter(|s| s.is_undefined()) {
        let name = s.name().unwrap();
        if name.is_empty() {
            continue;
        }
        let addr = symbols
            .get(name)
            .unwrap_or_else(|| panic!("`{name}` is not in the image"));
        ld.arg(format!("--defsym={name}={addr:#x}"));
    }
    ld.arg(&input);
    run(&mut ld);
    let out = std::fs::read(dir.path().join("out")).unwrap();
    let out = object::File::parse(&*out).unwrap();
    out.sections()
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.data().ok()?.to_vec())))
        .collect()
}

/// `payload` with SHF_MERGE and SHF_STRINGS cleared on every section: GNU ld would merge equal strings in a final link, which the
/// hypervisor's loader does not do, and the bytes would no longer line up.
fn unmerged(payload: &[u8]) -> Vec<u8> {
    let mut b = payload.to_vec();
    let word = |at: usize, n: usize| {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(&b[at..at + n]);
        u64::from_le_bytes(w) as usize
    };
    // ELF64 or ELF32 header fields: e_shoff, e_shentsize, e_shnum.
    let (shoff, shentsize, shnum) = if b[4] == 2 {
        (word(0x28, 8), word(0x3a, 2), word(0x3c, 2))
    } else {
        (word(0x20, 4), word(0x2e, 2), word(0x30, 2))
    };
    for i in 0..shnum {
        // sh_flags follows sh_name and sh_type in both classes.
        let flags = shoff + i * shentsize + 8;
        b[flags] &= !0x30;
    }
    b
}

/// Compares every placed section with GNU ld's bytes; returns how many
/// bytes were compared and how many sections relocation changed.
fn same_as_gnu_ld(
    gnu: &xsplice_testkit::Gnu,
    what: &str,
    payload: &[u8],
    placed: &Placement,
    symbols: &BTreeMap<String, u64>,
) -> (usize, usize) {
    let linked = gnu_link(gnu, payload, placed, symbols);
    let mut compared = 0;
    let mut relocated = 0;
    for (name, addr, size) in &placed.sections {
        if *size == 0 || name == ".eh_frame" {
            // Accepted differences: GNU ld drops empty output sections, and
            // rewrites `.eh_frame` (CIEs merged, the terminator dropped).
            // Its PREL32 relocations are those of `.altinstructions` and
            // the bug frames, compared here.
            continue;
        }
        let off = (addr - placed.base) as usize;
        let ours = &placed.bytes[off..off + *size as usize];
        let input = object::File::parse(payload).unwrap();
        let unlinked = input.section_by_name(name).and_then(|s| s.data().ok());
        let theirs: &[u8] = match linked.get(name) {
            Some(t) => t,
            // Accepted difference: GNU ld keeps an input build-id note only
            // when it makes one itself (`--build-id`); the note carries no
            // relocation, so the input's bytes are what must be placed.
            None if name == ".note.gnu.build-id" => {
                assert!(
                    input
                        .section_by_name(name)
                        .is_some_and(|s| s.relocations().next().is_none())
                );
                unlinked.unwrap()
            }
            None => panic!("{what}: GNU ld did not output {name}"),
        };
        if theirs.is_empty() && unlinked.is_some_and(<[u8]>::is_empty) {
            // NOBITS: no bytes in either file; the block holds zeros.
            assert!(ours.iter().all(|&b| b == 0), "{what}: {name} not zeroed");
            continue;
        }
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{what}: {name} size differs from GNU ld's"
        );
        for i in (0..ours.len()).filter(|&i| ours[i] != theirs[i]) {
            let w = i & !3;
            let word = |b: &[u8]| {
                b.get(w..w + 4)
                    .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
            };
            // Accepted difference (C-74): arm32 Xen masks a B/BL's imm24
            // with 0x00FFFFFE, so an odd word offset loses its low bit,
            // which GNU ld keeps. The validator warns of it.
            let c74 = gnu.arch == "arm32"
                && matches!((word(ours), word(theirs)), (Some(o), Some(t))
                    if t & 0x0e00_0000 == 0x0a00_0000 && t & 1 == 1 && o == t & !1);
            if c74 {
                println!("{what}: {name}+{w:#x}: a branch with an odd word offset (C-74)");
                continue;
            }
            panic!(
                "{what}: {name}+{i:#x} differs from GNU ld: ours {:02x?}, GNU {:02x?}",
                &ours[w..(w + 4).min(ours.len())],
                &theirs[w..(w + 4).min(theirs.len())]
            );
        }
        compared += ours.len();
        relocated += usize::from(unlinked.is_some_and(|u| u != ours));
    }
    (compared, relocated)
}

fn refusal(r: Result<Placement, Refusal>) -> Refusal {
    match r {
        Ok(p) => panic!("placed at {:#x}, expected a refusal", p.base),
        Err(e) => e,
    }
}

#[test]
fn xen_4_17_arm64_test_payloads_are_placed_as_gnu_ld_links_them() {
    let Some(real) = xsplice_testkit::real_xen("aarch64") else {
        return;
    };
    if xsplice_testkit::require_tool(GNU.ld, "the independent link").is_none() {
        return;
    }
    let xen = std::fs::read(&real.xen_syms).unwrap();
    let image = XenImage::parse("xen-syms", &xen).unwrap();
    let symbols = nm_addresses(&GNU, &real.xen_syms);
    let read = |name: &str| std::fs::read(real.test_payloads.join(name)).unwrap();

    let opts = PlaceOptions::default();
    let hello = read("xen_hello_world.livepatch");
    let placed = place(&hello, &image, &opts).unwrap_or_else(|e| panic!("hello: {e}"));
    let (bytes, relocated) = same_as_gnu_ld(&GNU, "xen_hello_world", &hello, &placed, &symbols);
    println!("xen_hello_world: {bytes} bytes as GNU ld links them, {relocated} sections relocated");
    assert!(
        relocated >= 5,
        "the comparison must cover relocated sections"
    );

    // APPLY's branch at xen_extra_version: `B new_addr`, 4 bytes saved.
    let f = &placed.funcs[0];
    assert_eq!(f.name.as_deref(), Some("xen_extra_version"));
    assert_eq!(f.old_addr, symbols["xen_extra_version"]);
    assert_eq!(
        f.new_addr,
        symbol_address(&hello, &placed, "xen_hello_world")
    );
    let sites = placed.patch_sites(&image).unwrap();
    let b = 0x1400_0000u32 | ((f.new_addr.wrapping_sub(f.old_addr) >> 2) as u32 & 0x03ff_ffff);
    assert_eq!(sites[0].addr, f.old_addr);
    assert_eq!(sites[0].new, b.to_le_bytes());
    assert_eq!(sites[0].old, image_bytes(&real.xen_syms, f.old_addr, 4));
    assert_eq!(
        disassemble(&sites[0].new, f.old_addr),
        format!("b\t{:#x}", f.new_addr)
    );

    // Its BUG frame, decoded: the `BUG_ON` of check_fnc in
    // xen_hello_world.c, at a `brk #1` (BRK_BUG_FRAME_IMM) of the payload.
    let hooks_c = std::fs::read_to_string(real.test_payloads.join("xen_hello_world.c")).unwrap();
    let bug_line = hooks_c.lines().position(|l| l.contains("BUG_ON(")).unwrap() + 1;
    let [frame] = &placed.bug_frames[..] else {
        panic!("{:?}", placed.bug_frames)
    };
    assert_eq!(frame.kind, "bug");
    assert_eq!(frame.line as usize, bug_line);
    assert!(
        frame
            .file
            .as_deref()
            .unwrap()
            .ends_with("xen_hello_world.c")
    );
    let at = (frame.loc - placed.base) as usize;
    assert_eq!(placed.bytes[at..at + 4], 0xd420_0020u32.to_le_bytes());
    assert!(
        placed
            .not_executed
            .iter()
            .any(|l| l.contains(".livepatch.hooks.load"))
    );
    assert_eq!(placed.alternatives, 0);

    // Its alternative on LIVEPATCH_FEATURE (cap 4) replaces a `nop` with a
    // `nop`: give the replacement other instructions to see them land.
    let repl_at = input_offset(&hello, ".altinstr_replacement");
    let with_repl = |insn: u32| {
        let mut b = hello.clone();
        b[repl_at..repl_at + 4].copy_from_slice(&insn.to_le_bytes());
        b
    };
    let cap4 = PlaceOptions {
        cpu_features: vec![4],
        ..PlaceOptions::default()
    };
    let yield_ = with_repl(0xd503_203f);
    let off = place(&yield_, &image, &opts).unwrap();
    assert_eq!(off.alternatives, 0);
    let on = place(&yield_, &image, &cap4).unwrap();
    assert_eq!(on.alternatives, 1);
    let changed: Vec<usize> = (0..on.bytes.len())
        .filter(|&i| on.bytes[i] != off.bytes[i])
        .collect();
    assert!(!changed.is_empty(), "cap 4 on: nothing changed");
    let orig = changed[0] & !3;
    assert!(changed.iter().all(|&i| i & !3 == orig), "{changed:x?}");
    assert_eq!(off.bytes[orig..orig + 4], 0xd503_201fu32.to_le_bytes());
    assert_eq!(on.bytes[orig..orig + 4], 0xd503_203fu32.to_le_bytes());
    let orig_addr = on.base + orig as u64;
    assert!(orig_addr >= on.base && orig_addr < on.base + on.text);

    // A branch in the replacement to Xen's text is re-aimed from its new
    // place (`get_alt_insn`): objdump reads the same target at the original.
    let repl_addr = placed
        .sections
        .iter()
        .find(|s| s.0 == ".altinstr_replacement")
        .unwrap()
        .1;
    let target = symbols["xen_extra_version"];
    let b_to = |from: u64| 0x1400_0000u32 | ((target.wrapping_sub(from) >> 2) as u32 & 0x03ff_ffff);
    let branch = with_repl(b_to(repl_addr));
    let on = place(&branch, &image, &cap4).unwrap();
    let got = &on.bytes[orig..orig + 4];
    assert_eq!(got, b_to(orig_addr).to_le_bytes());
    assert_eq!(disassemble(got, orig_addr), format!("b\t{target:#x}"));

    // A branch that leaves both Xen's text and the replacement is Xen's
    // BUG() in branch_insn_requires_update: refused, never applied.
    let astray = with_repl(0x1400_0000 | (0x10_0000 >> 2));
    let e = refusal(place(&astray, &image, &cap4));
    assert!(e.message.contains("branch_insn_requires_update"), "{e}");

    // Every other payload alone (they share symbol names, C-115), but
    // xen_bye_world, which depends on hello_world, stacked on it.
    let stacked = PlaceOptions {
        loaded: vec![placed.loaded("xen_hello_world")],
        ..PlaceOptions::default()
    };
    let mut placed_names = vec!["xen_hello_world".to_string()];
    for entry in std::fs::read_dir(&real.test_payloads).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".livepatch") else {
            continue;
        };
        if stem == "xen_hello_world" {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut o = if stem == "xen_bye_world" {
            stacked.clone()
        } else {
            opts.clone()
        };
        o.base = Some(placed.base + 0x10_0000);
        match place(&bytes, &image, &o) {
            Ok(p) => {
                let (n, r) = same_as_gnu_ld(&GNU, stem, &bytes, &p, &symbols);
                println!("{stem}: {n} bytes as GNU ld links them, {r} sections relocated");
                p.patch_sites(&image)
                    .unwrap_or_else(|e| panic!("{stem}: apply would fail: {e}"));
                placed_names.push(stem.to_string());
            }
            Err(e) => {
                // Xen refuses only the one built without the Xen build-id note.
                assert_eq!(stem, "xen_no_xen_buildid", "{stem}: {e}");
                assert_eq!(e.check.as_deref(), Some("C-35"), "{e}");
                assert_eq!(e.errno, Errno::Einval);
            }
        }
    }
    assert!(placed_names.len() >= 12, "{placed_names:?}");
}

#[test]
fn broken_arm64_payloads_are_refused_with_the_validators_ids() {
    let Some(real) = xsplice_testkit::real_xen("aarch64") else {
        return;
    };
    let xen = std::fs::read(&real.xen_syms).unwrap();
    let image = XenImage::parse("xen-syms", &xen).unwrap();
    let hello = std::fs::read(real.test_payloads.join("xen_hello_world.livepatch")).unwrap();
    let opts = PlaceOptions::default();

    // A call 200 MiB away: CALL26 reaches 128 MiB.
    let far = edit_reloc(&hello, 283, |_, addend| (None, Some(addend + (200 << 20))));
    let e = refusal(place(&far, &image, &opts));
    assert_eq!(
        (e.errno, e.check.as_deref()),
        (Errno::Eoverflow, Some("C-67")),
        "{e}"
    );

    // A relocation whose 4-byte place straddles the end of its section.
    let past = edit_reloc(&hello, 283, |size, _| (Some(size - 2), None));
    let e = refusal(place(&past, &image, &opts));
    assert_eq!(
        (e.errno, e.check.as_deref()),
        (Errno::Einval, Some("C-66")),
        "{e}"
    );

    // A type Xen does not apply (R_AARCH64_NONE).
    let none = edit_reloc(&hello, 283, |_, _| (None, None));
    let none = retype(&none, 283, 256);
    let e = refusal(place(&none, &image, &opts));
    assert_eq!(
        (e.errno, e.check.as_deref()),
        (Errno::Eopnotsupp, Some("C-67")),
        "{e}"
    );
}

#[test]
fn suite_arm64_payloads_are_placed_as_gnu_ld_links_them() {
    suite_payloads("aarch64", &GNU, 0xd503_201f);
}

#[test]
fn suite_arm32_payloads_are_placed_as_gnu_ld_links_them() {
    suite_payloads("arm32", &xsplice_testkit::GNU_ARM32, 0xe1a0_0000);
}

/// The suite's payloads of `arch`, placed against its stand-in one after
/// the other, each compared with GNU ld's link; the NOP payload's patch is
/// the architecture's NOP (`nop` word).
fn suite_payloads(arch: &str, gnu: &xsplice_testkit::Gnu, nop: u32) {
    let Some(xen_path) = xsplice_testkit::stand_in_xen(arch) else {
        return;
    };
    if xsplice_testkit::require_tool(gnu.ld, "the independent link").is_none() {
        return;
    }
    let xen = std::fs::read(&xen_path).unwrap();
    let image = XenImage::parse("xen-syms", &xen).unwrap();
    let symbols = nm_addresses(gnu, &xen_path);
    let mut base = image_payload_base(&image);
    for abi in ["livepatch-v1", "livepatch-v2"] {
        let mut opts = PlaceOptions::default();
        for name in [
            "hello_world",
            "bye_world",
            "replace_world",
            "nop",
            "hooks",
            "expectations",
        ] {
            if name == "expectations" && abi == "livepatch-v1" {
                continue;
            }
            let Some(path) = xsplice_testkit::test_payload(name, abi, arch) else {
                return;
            };
            let bytes = std::fs::read(&path).unwrap();
            opts.base = Some(base);
            let placed =
                place(&bytes, &image, &opts).unwrap_or_else(|e| panic!("{name} {abi} {arch}: {e}"));
            let (n, r) = same_as_gnu_ld(gnu, name, &bytes, &placed, &symbols);
            let sites = placed.patch_sites(&image).unwrap();
            println!(
                "{name} ({abi}, {arch}): {n} bytes as GNU ld links them, {r} sections relocated; apply writes {sites:x?}"
            );
            assert!(r > 0 || name == "nop", "{name}: nothing relocated");
            if name == "nop" {
                assert!(sites[0].new.chunks(4).all(|w| w == nop.to_le_bytes()));
            }
            if name == "hello_world" {
                opts.loaded.push(placed.loaded("hello_world"));
            }
            base += (placed.bytes.len() as u64).div_ceil(4096) * 4096 + 4096;
        }
    }
}

fn image_payload_base(image: &XenImage<'_>) -> u64 {
    use xsplice_validate::TargetImage;
    image.payload_base()
}

/// The load address of a defined symbol: its section's address in the
/// placement plus its value, read with `object`.
fn symbol_address(payload: &[u8], placed: &Placement, name: &str) -> u64 {
    let obj = object::File::parse(payload).unwrap();
    let s = obj.symbols().find(|s| s.name() == Ok(name)).unwrap();
    let sec = obj.section_by_index(s.section_index().unwrap()).unwrap();
    let (_, addr, _) = placed
        .sections
        .iter()
        .find(|x| x.0 == sec.name().unwrap())
        .unwrap();
    addr + s.address()
}

/// The file offset of section `name` of an ELF file.
fn input_offset(payload: &[u8], name: &str) -> usize {
    let obj = object::File::parse(payload).unwrap();
    obj.section_by_name(name).unwrap().file_range().unwrap().0 as usize
}

/// `len` bytes of the image file at `addr`, through GNU objcopy's view.
fn image_bytes(xen: &Path, addr: u64, len: u64) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bytes");
    let text = run(Command::new(GNU.objdump).arg("-h").arg(xen));
    let sec = text
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let vma = u64::from_str_radix(w.get(3)?, 16).ok()?;
            let size = u64::from_str_radix(w.get(2)?, 16).ok()?;
            (addr >= vma && addr + len <= vma + size).then(|| (w[1].to_string(), vma))
        })
        .next()
        .unwrap();
    run(Command::new(GNU.objcopy)
        .args(["-O", "binary", "--only-section", &sec.0])
        .arg(xen)
        .arg(&out));
    let bytes = std::fs::read(&out).unwrap();
    let off = (addr - sec.1) as usize;
    bytes[off..off + len as usize].to_vec()
}

/// GNU objdump's reading of one instruction at `addr`.
fn disassemble(insn: &[u8], addr: u64) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("insn");
    std::fs::write(&f, insn).unwrap();
    let text = run(Command::new(GNU.objdump)
        .args(["-D", "-b", "binary", "-m", "aarch64"])
        .arg(format!("--adjust-vma={addr:#x}"))
        .arg(&f));
    let line = text.lines().last().unwrap();
    line.split('\t').skip(2).collect::<Vec<_>>().join("\t")
}

/// The first relocation of `kind` in an allocated section's RELA table,
/// rewritten by `edit(target section size, addend)` to a new offset and
/// addend (`None`: unchanged).
fn edit_reloc(
    payload: &[u8],
    kind: u32,
    edit: impl Fn(u64, i64) -> (Option<u64>, Option<i64>),
) -> Vec<u8> {
    let mut b = payload.to_vec();
    let (at, size) = find_reloc(payload, kind);
    let addend = i64::from_le_bytes(b[at + 16..at + 24].try_into().unwrap());
    let (off, add) = edit(size, addend);
    if let Some(off) = off {
        b[at..at + 8].copy_from_slice(&off.to_le_bytes());
    }
    if let Some(add) = add {
        b[at + 16..at + 24].copy_from_slice(&add.to_le_bytes());
    }
    b
}

fn retype(payload: &[u8], from: u32, to: u32) -> Vec<u8> {
    let mut b = payload.to_vec();
    let (at, _) = find_reloc(payload, from);
    b[at + 8..at + 12].copy_from_slice(&to.to_le_bytes());
    b
}

/// The file offset of the first RELA entry of `kind` against allocated
/// code, and its target section's size.
fn find_reloc(payload: &[u8], kind: u32) -> (usize, u64) {
    let obj = object::File::parse(payload).unwrap();
    for s in obj.sections() {
        let Ok(name) = s.name() else { continue };
        let Some(target) = name.strip_prefix(".rela") else {
            continue;
        };
        if !target.starts_with(".text") {
            continue;
        }
        let (off, len) = s.file_range().unwrap();
        let t = obj.section_by_name(target).unwrap();
        for n in 0..len / 24 {
            let at = (off + n * 24) as usize;
            let info = u64::from_le_bytes(payload[at + 8..at + 16].try_into().unwrap());
            if info as u32 == kind {
                return (at, t.size());
            }
        }
    }
    panic!("no relocation of type {kind}");
}

/// A session on the real arm64 image, whose code cannot run here: upload
/// places, apply writes Xen's `B` into a copy of the image and lists the
/// hooks it does not run, a second payload stacks on the first and saves
/// the first one's branch, revert is last-in first-out and restores the
/// bytes, `info` says it is not executed and fails.
#[test]
fn an_arm64_session_patches_a_copy_of_the_image_and_runs_nothing() {
    use xsplice_sim::{Options, Output, Status, parse_script, run_session};
    let Some(real) = xsplice_testkit::real_xen("aarch64") else {
        return;
    };
    let xen = std::fs::read(&real.xen_syms).unwrap();
    let dir = real.test_payloads.display();
    let script = format!(
        "upload hello {dir}/xen_hello_world.livepatch\n\
         apply hello\n\
         upload bye {dir}/xen_bye_world.livepatch\n\
         apply bye\n\
         revert hello\n\
         info\n\
         revert bye\n\
         revert hello\n\
         unload hello\n\
         list\n\
         upload action {dir}/xen_action_hooks.livepatch\n\
         apply action\n"
    );
    let lines = parse_script(&script).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut output = Output {
        out: &mut out,
        err: &mut err,
        echo: false,
    };
    let mut files = |p: &Path| std::fs::read(p);
    let status = run_session(
        "xen-syms",
        &xen,
        &lines,
        &Options::default(),
        &mut files,
        &mut output,
    )
    .unwrap();
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    println!("{out}{err}");
    assert_eq!(status, Status::Retry, "the first failure is revert's EBUSY");

    let symbols = nm_addresses(&GNU, &real.xen_syms);
    let old = symbols["xen_extra_version"];
    let original = hex(&image_bytes(&real.xen_syms, old, 4));
    let hello = place(
        &std::fs::read(real.test_payloads.join("xen_hello_world.livepatch")).unwrap(),
        &XenImage::parse("xen-syms", &xen).unwrap(),
        &PlaceOptions::default(),
    )
    .unwrap();
    let new = hello.funcs[0].new_addr;
    let b = 0x1400_0000u32 | ((new.wrapping_sub(old) >> 2) as u32 & 0x03ff_ffff);
    let applied = format!(
        "hello: xen_extra_version at {old:#x}: wrote {} over {original} (b {new:#x})",
        hex(&b.to_le_bytes())
    );
    assert!(out.contains(&applied), "{out}");
    assert!(
        out.contains("hello: hooks not executed on aarch64: .livepatch.hooks.load"),
        "{out}"
    );
    // bye saves hello's branch and puts it back; hello restores Xen's bytes.
    assert!(
        out.contains(&format!("over {}", hex(&b.to_le_bytes()))),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "bye: restored {} at {old:#x}",
            hex(&b.to_le_bytes())
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("hello: restored {original} at {old:#x}")),
        "{out}"
    );
    assert!(
        err.contains("not the last applied payload (bye is) (EBUSY)"),
        "{err}"
    );
    assert!(
        err.contains(
            "not executed on aarch64: this command runs the hypervisor's code (EOPNOTSUPP)"
        ),
        "{err}"
    );
    assert!(
        out.contains("bye                                     | CHECKED"),
        "{out}"
    );
    // A payload whose apply is its own hook cannot be applied here.
    assert!(
        err.contains("`action` applies through its own hook, not executed on aarch64 (EOPNOTSUPP)"),
        "{err}"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every arm64 and arm32 mutant of the validator's corpus that a payload
/// file carries (static or against the image) put through `place` against
/// the stand-in the fixture was built for: refused with exactly the
/// mutant's check id, or, for the checks the validator only warns about
/// (Xen loads such payloads), placed. The window-full mutant is an
/// environment, not a file, and is left to the session test.
#[test]
fn arm_mutants_are_refused_by_place_with_their_check_ids() {
    use xsplice_mutants::{Env, arm_mutants, fixture};
    for arch in ["aarch64", "arm32"] {
        let Some(fx) = fixture(arch) else { return };
        let image = XenImage::parse("xen-syms", &fx.xen).unwrap();
        let good = place(&fx.payload, &image, &PlaceOptions::default())
            .unwrap_or_else(|e| panic!("{arch}: the good fixture is refused: {e}"));
        assert!(!good.funcs.is_empty());
        let mut wrong = Vec::new();
        let mut refused = 0;
        for m in arm_mutants(arch) {
            if !matches!(m.env, Env::Static | Env::Target) {
                continue;
            }
            let got = place(&m.apply(&fx.payload), &image, &PlaceOptions::default());
            println!(
                "{arch} `{}` ({}): {:?}",
                m.name,
                m.check,
                got.as_ref().err()
            );
            match got {
                Err(e) if e.check.as_deref() == Some(m.check) => refused += 1,
                // Warnings: Xen loads the payload (C-73, C-74; V-01: ARM
                // Xen ignores EI_DATA and reads the file little-endian).
                Ok(_) if matches!(m.check, "C-73" | "C-74" | "V-01") => {}
                other => wrong.push(format!(
                    "{arch} `{}`: expected {}, got {:?}",
                    m.name,
                    m.check,
                    other.err()
                )),
            }
        }
        assert!(refused >= 4, "{arch}: only {refused} refusals");
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
