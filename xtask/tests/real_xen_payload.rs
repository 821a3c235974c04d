//! `cargo xtask payload hello_world --xen-syms REAL` against a real Xen:
//! the `xen-syms` of the 4.17 source tree `cargo xtask real-xen` built, and
//! Debian's binary debug image. Every ABI builds and validates against the
//! image it was built for, and a payload built for one image is refused by
//! the other (their build-ids differ), so the validation really looked.

use std::path::Path;
use std::process::{Command, Output};

const ABIS: [(&str, &str); 4] = [
    ("livepatch-v2", "livepatch"),
    ("livepatch-v1", "livepatch"),
    ("xsplice", "xsplice"),
    ("xsplice-v4", "xsplice"),
];

fn shown(cmd: &Command, out: &Output) -> String {
    format!(
        "{cmd:?}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn build(xen_syms: &Path, abi: &str, out_root: &Path) -> std::path::PathBuf {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(["payload", "hello_world", "--abi", abi, "--xen-syms"])
        .arg(xen_syms)
        .arg("--out")
        .arg(out_root);
    let out = cmd.output().expect("run xtask");
    assert!(out.status.success(), "{}", shown(&cmd, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let payload = Path::new(stdout.lines().last().expect("a last line")).to_path_buf();
    assert!(payload.is_file(), "{}", shown(&cmd, &out));
    payload
}

fn validate(payload: &Path, xen_syms: &Path) -> (Output, String) {
    let mut cmd = Command::new(xsplice_testkit::tool_binary("xsplice-validate"));
    cmd.arg(payload).arg("--target").arg(xen_syms);
    let out = cmd.output().expect("run xsplice-validate");
    let text = shown(&cmd, &out);
    (out, text)
}

#[test]
fn hello_world_in_every_abi_against_the_real_images() {
    let Some(real) = xsplice_testkit::real_xen("x86_64") else {
        return;
    };
    let debian = real.debian.as_ref().expect("x86_64 has Debian's binaries");
    let images = [("source", &real.xen_syms), ("debian", &debian.xen_syms)];
    let tmp = tempfile::tempdir().unwrap();
    for (abi, ext) in ABIS {
        let mut built = Vec::new();
        for (name, image) in images {
            let payload = build(image, abi, &tmp.path().join(name));
            assert_eq!(
                payload.file_name().unwrap().to_str().unwrap(),
                format!("xen_hello_world.{ext}")
            );
            let (out, text) = validate(&payload, image);
            assert_eq!(out.status.code(), Some(0), "{text}");
            assert!(text.contains(": 0 errors"), "{text}");
            built.push(payload);
        }
        // Crossed over, the Xen build-id the payload depends on is wrong.
        for (payload, (_, other)) in built.iter().zip(images.iter().rev()) {
            let (out, text) = validate(payload, other);
            assert_eq!(out.status.code(), Some(1), "{text}");
            assert!(
                text.contains("error[C-123]") || text.contains("error[C-38]"),
                "{text}"
            );
        }
    }
}
