//! `XenImage`, the target reader, against GNU binutils on the stand-in
//! hypervisor of each arch: every global `nm` lists is found by name at the
//! address `nm` prints, and a global function is the function starting
//! there; a static is not found by its bare name but as `file#name`, as in
//! the hypervisor's runtime symbol table (whose every rule is compared with
//! Xen's own tool in `xsplice-symbols`); the build-id equals the one
//! `readelf -n` prints; code bytes equal `objcopy -O binary` of `.text`.
//!
//! Accepted difference: `nm` also lists absolute symbols, which the
//! hypervisor's table leaves out, and untyped text symbols (`_etext` is `T`
//! but NOTYPE), which the lookup finds but `function_at` does not (only
//! functions are patch sites), so only `STT_FUNC` text symbols are held to
//! `function_at`.

use std::process::Command;

use xsplice_validate::{TargetImage, XenImage};

fn tools(arch: &str) -> (&'static str, &'static str, &'static str) {
    let gnu = xsplice_testkit::gnu(arch);
    (gnu.nm, gnu.readelf, gnu.objcopy)
}

fn output(cmd: &mut Command) -> String {
    let (code, out, err) = xsplice_testkit::run(cmd);
    assert_eq!(code, 0, "{cmd:?}: {}", String::from_utf8_lossy(&err));
    String::from_utf8(out).unwrap()
}

#[test]
fn stand_in_images_read_like_binutils() {
    for arch in ["x86_64", "aarch64", "arm32"] {
        let (nm, readelf, objcopy) = tools(arch);
        let (Some(nm), Some(readelf), Some(objcopy)) = (
            xsplice_testkit::require_tool(nm, "reference symbols"),
            xsplice_testkit::require_tool(readelf, "reference build-id"),
            xsplice_testkit::require_tool(objcopy, "reference code bytes"),
        ) else {
            continue;
        };
        let Some(path) = xsplice_testkit::stand_in_xen(arch) else {
            continue;
        };
        let data = std::fs::read(&path).unwrap();
        let image = XenImage::parse("xen-syms", &data).unwrap();

        let listing = output(Command::new(&nm).arg("--defined-only").arg(&path));
        let (mut functions, mut statics) = (0, 0);
        for line in listing.lines() {
            let mut f = line.split_whitespace();
            let (Some(addr), Some(kind), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let addr = u64::from_str_radix(addr, 16).unwrap();
            let kind = kind.as_bytes()[0];
            if name.starts_with('$') {
                // Mapping symbols.
                continue;
            }
            if kind == b't'
                && let Some(at) = image.function_at(addr)
            {
                // A static function is named `file#name`.
                assert_eq!(at.addr, addr, "{arch}: function at {addr:#x}");
                assert!(at.name.ends_with(&format!("#{name}")), "{arch}: {at:?}");
                statics += 1;
            }
            // Duplicated names are not looked up by name.
            if listing
                .lines()
                .filter(|l| l.ends_with(&format!(" {name}")))
                .count()
                > 1
            {
                continue;
            }
            let found = image.lookup(name);
            if kind == b'A' || kind == b'a' || kind.is_ascii_lowercase() {
                // Absolute symbols are not in the table; statics are only
                // there as `file#name`.
                assert!(found.is_none(), "{arch}: `{name}` ({kind}) found");
                continue;
            }
            let sym = found.unwrap_or_else(|| panic!("{arch}: `{name}` not found"));
            assert_eq!(sym.addr, addr, "{arch}: address of `{name}`");
            if kind == b'T' && sym.is_function {
                let at = image
                    .function_at(addr)
                    .unwrap_or_else(|| panic!("{arch}: no function at {addr:#x}"));
                assert_eq!(at.addr, addr, "{arch}: function at {addr:#x}");
                functions += 1;
            }
        }
        assert!(functions > 5, "{arch}: only {functions} functions checked");
        assert!(
            statics >= 4,
            "{arch}: only {statics} static functions checked"
        );

        // Statics with the same name in two files, told apart by file.
        let a = image.lookup("console.c#emit").expect("console.c#emit");
        let b = image.lookup("hooklog.c#emit").expect("hooklog.c#emit");
        assert_ne!(a.addr, b.addr, "{arch}: the two statics");
        assert!(image.lookup("nowhere.c#emit").is_none());
        assert!(
            image.lookup("emit").is_none(),
            "{arch}: a static by its bare name"
        );

        // Build-id as readelf prints it.
        let notes = output(Command::new(&readelf).arg("-n").arg(&path));
        let want = notes
            .lines()
            .find_map(|l| l.trim().strip_prefix("Build ID: "))
            .expect("a build-id line")
            .to_string();
        let got: String = image
            .build_id()
            .expect("build-id")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, want, "{arch}: build-id");

        // Code bytes of xen_extra_version from the .text dump.
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text.bin");
        output(
            Command::new(&objcopy)
                .args(["-O", "binary", "--only-section=.text"])
                .arg(&path)
                .arg(&text),
        );
        let text = std::fs::read(&text).unwrap();
        let start = image
            .lookup("_start")
            .or_else(|| image.lookup("_stext"))
            .expect("image start")
            .addr;
        let f = image.lookup("xen_extra_version").unwrap();
        let off = (f.addr - start) as usize;
        assert_eq!(
            image.bytes(f.addr, 8).unwrap(),
            text[off..off + 8].to_vec(),
            "{arch}: code bytes"
        );
    }
}
