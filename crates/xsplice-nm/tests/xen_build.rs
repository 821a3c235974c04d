//! Xen's own build with `NM=xsplice-nm`: in a copy of the real Xen tree
//! `cargo xtask real-xen` builds, `make` relinks `xen-syms`, `xen` and
//! `xen.efi` once with GNU nm and once with ours, and the images (and the
//! symbol maps Xen writes from nm's output) must be byte-identical.
//!
//! Xen's x86 link runs `$(NM) -pa --format=sysv` on each pass of both
//! images (`.xen-syms.0`, `.xen-syms.1`, and the PE32+ `.xen.efi.0x*.0`,
//! `.xen.efi.0x*.1`), feeds the output to `tools/symbols` and links the
//! result back in, and reads `__2M_rwdata_end` and `VIRT_START` out of
//! plain `$(NM)` listings; a single wrong byte of nm output changes the
//! images. The GNU run goes through a small recorder that keeps a copy of
//! every file nm is given, since the build deletes its intermediates; each
//! of those is then compared between the two nm's directly.
//!
//! Both runs use the environment of the tree's own build (Xen's reproducible
//! build variables), so nothing is recompiled, plus `SOURCE_DATE_EPOCH`,
//! which makes Xen link `xen.efi` without a time stamp.

mod common;

use std::path::{Path, PathBuf};

use common::{compare, nm_and_ours};
use xsplice_testkit::{real_xen, require_tool};

/// The images `make` links (and the maps it writes) from nm's output.
const OUTPUTS: &[&str] = &["xen-syms", "xen", "xen.efi", "xen-syms.map", "xen.efi.map"];

/// 2026-01-01T00:00:00Z, the instant of the tree's `XEN_BUILD_DATE`.
const SOURCE_DATE_EPOCH: &str = "1767225600";

#[test]
fn xen_links_the_same_images_with_xsplice_nm_as_nm() {
    let Some(xen) = real_xen("x86_64") else {
        return;
    };
    for tool in ["make", "gcc", "ld", "nm", "objcopy", "objdump", "cp", "sh"] {
        if require_tool(tool, "make in a copy of the real Xen tree").is_none() {
            return;
        }
    }
    let (gnu_nm, ours) = nm_and_ours().expect("checked above");
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let xen_dir = xsplice_testkit::copy_real_source(&xen, tmp.path());
    let copied = started.elapsed();

    // GNU nm, through the recorder.
    let recorded = tmp.path().join("recorded");
    std::fs::create_dir(&recorded).expect("mkdir");
    let recorder = tmp.path().join("gnu-nm-recorder");
    write_recorder(&recorder, &gnu_nm, &recorded);
    remove_images(&xen_dir);
    let gnu_line = make(&xen_dir, &recorder, &tmp.path().join("make-gnu.log"));
    let gnu_dir = tmp.path().join("gnu");
    std::fs::create_dir(&gnu_dir).expect("mkdir");
    for name in OUTPUTS {
        let from = xen_dir.join(name);
        assert!(from.is_file(), "`{name}` was not built: {gnu_line}");
        std::fs::copy(&from, gnu_dir.join(name)).expect("keep GNU's image");
    }
    let gnu_done = started.elapsed();

    // Ours.
    remove_images(&xen_dir);
    let our_log = tmp.path().join("make-ours.log");
    let our_line = make(&xen_dir, &ours, &our_log);
    let log = std::fs::read_to_string(&our_log).expect("read the make log");
    let ours_text = ours.display().to_string();
    assert!(
        log.contains(&format!("{ours_text} -pa --format=sysv ./.xen.efi."))
            && log.contains(&format!("{ours_text} -pa --format=sysv ./.xen-syms.")),
        "the build did not run {ours_text} on its link intermediates: {our_line}"
    );
    let ours_done = started.elapsed();

    let mut failures = Vec::new();
    for name in OUTPUTS {
        let want = std::fs::read(gnu_dir.join(name)).expect("read GNU's image");
        let got = std::fs::read(xen_dir.join(name))
            .unwrap_or_else(|e| panic!("`{name}` was not built ({e}): {our_line}"));
        if want != got {
            failures.push(format!(
                "{name}: differs from the GNU nm build's at byte {}",
                want.iter()
                    .zip(&got)
                    .position(|(a, b)| a != b)
                    .unwrap_or(want.len().min(got.len()))
            ));
        }
    }

    // The files nm was given, the deleted intermediates among them.
    let (inputs, names): (Vec<PathBuf>, Vec<String>) =
        xsplice_testkit::dir_entries(&recorded).into_iter().unzip();
    for (prefix, suffix) in [
        (".xen-syms.", ".0"),
        (".xen-syms.", ".1"),
        (".xen.efi.0x", ".0"),
        (".xen.efi.0x", ".1"),
    ] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(prefix) && n.ends_with(suffix)),
            "GNU nm was never given `{prefix}*{suffix}`; it was given {names:?}"
        );
    }
    for args in [
        &["-pa", "--format=sysv"][..],
        &[],
        &["--defined"],
        &["--defined", "-S"],
        &["-p", "--format=bsd"],
    ] {
        compare(&gnu_nm, &ours, args, &inputs, &mut failures);
    }
    eprintln!(
        "copy {:.1?}, make with GNU nm {:.1?}, make with xsplice-nm {:.1?}; compared {} images and maps and {} inputs of nm ({})",
        copied,
        gnu_done - copied,
        ours_done - gnu_done,
        OUTPUTS.len(),
        inputs.len(),
        names.join(" ")
    );
    assert!(
        failures.is_empty(),
        "make NM=xsplice-nm differs from make with GNU nm:\n{}\nreproduce: cp -a {} DIR; in DIR/xen remove {} and .xen-syms.* .xen.efi.*; {gnu_line}; again; {our_line}",
        failures.join("\n"),
        xen.source().display(),
        OUTPUTS.join(" ")
    );
}

/// A shell script that keeps a copy of every file argument in `dir`, then
/// runs GNU nm: the build deletes the files its nm reads.
fn write_recorder(path: &Path, nm: &Path, dir: &Path) {
    let script = format!(
        "#!/bin/sh\nfor arg in \"$@\"; do\n  case \"$arg\" in\n    -*) ;;\n    *) if [ -f \"$arg\" ]; then cp -f \"$arg\" '{}/'; fi ;;\n  esac\ndone\nexec '{}' \"$@\"\n",
        dir.display(),
        nm.display()
    );
    std::fs::write(path, script).expect("write the recorder");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("make the recorder executable");
}

/// Removes the images and the link intermediates, so that `make` links
/// them all again.
fn remove_images(xen_dir: &Path) {
    xsplice_testkit::remove_files(xen_dir, |name| {
        OUTPUTS.contains(&name) || name.starts_with(".xen-syms.") || name.starts_with(".xen.efi.")
    });
}

/// `make NM=nm` in the tree, with the tree's build environment; the output
/// goes to `log`. Returns the command line, for messages.
fn make(xen_dir: &Path, nm: &Path, log: &Path) -> String {
    let mut cmd = xsplice_testkit::make_in(xen_dir);
    cmd.arg(format!("NM={}", nm.display()));
    for (k, v) in xsplice_build::REPRODUCIBLE_ENV {
        cmd.env(k, v);
    }
    cmd.env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
    // Debug output of a Command starts with its `cd`.
    let line = format!("{cmd:?}");
    let (code, out, err) = xsplice_testkit::run(&mut cmd);
    let mut text = out;
    text.extend_from_slice(&err);
    std::fs::write(log, &text).expect("write the make log");
    assert_eq!(
        code,
        0,
        "{line} failed:\n{}",
        String::from_utf8_lossy(&text)
    );
    line
}
