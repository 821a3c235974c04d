//! The test payloads of `test-payloads/` (livepatch-v2, on every
//! architecture): each is linked by `xsplice-link` and by Xen's recipe
//! (`ld -r --build-id=sha1` over the payload objects, the `objcopy -I binary`
//! note and modinfo objects, then `objcopy --set-section-flags
//! .livepatch.funcs=alloc,readonly`), and the canonical dumps must agree
//! up to the accepted differences listed in `tests/differential.rs` (masked
//! build-id, the executable-stack marker GNU derives from the objcopy
//! objects, and `$d` symbols). Our dump of each payload, without section
//! contents (which hold the stand-in hypervisor's addresses and build-id),
//! is also an insta snapshot; the objects come from the system's
//! compilers, so a compiler upgrade shows up there as a reviewed snapshot
//! change.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::dump::{DumpOptions, dump, recompute_build_id, stored_build_id};
use common::{ARCHES, Arch, assert_same_dump, binary_object, gnu_payload_link, must};
use xsplice_testkit::{stand_in_xen, test_payload, workspace_root};

const ABI: &str = "livepatch-v2";

struct Manifest {
    name: String,
    objects: Vec<String>,
    depends: String,
    xen_depends: bool,
    modinfo: Vec<String>,
    arches: Vec<String>,
}

fn manifests() -> Vec<Manifest> {
    let dir = workspace_root().join("test-payloads");
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("test-payloads")
        .map(|e| e.expect("entry").path().join("payload.json"))
        .filter(|p| p.exists())
        .collect();
    entries.sort();
    for path in entries {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("payload.json");
        let strings = |key: &str| -> Vec<String> {
            json[key].as_array().map_or_else(Vec::new, |a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
        };
        if !strings("abis").iter().any(|a| a == ABI) {
            continue;
        }
        let stem = |src: &str| {
            Path::new(src)
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
                + ".o"
        };
        let mut objects: Vec<String> = strings("new_sources").iter().map(|s| stem(s)).collect();
        objects.push(stem(json["funcs_source"].as_str().expect("funcs_source")));
        out.push(Manifest {
            name: path
                .parent()
                .and_then(|p| p.file_name())
                .expect("name")
                .to_string_lossy()
                .into_owned(),
            objects,
            depends: json["depends"].as_str().unwrap_or("xen").to_owned(),
            xen_depends: json["xen_depends"].as_bool().unwrap_or(true),
            modinfo: strings("modinfo"),
            arches: strings("arches"),
        });
    }
    out
}

fn check_payload(arch: &Arch, m: &Manifest, xen: &Path) {
    let Some(payload) = test_payload(&m.name, ABI, arch.name) else {
        return;
    };
    let built = payload.parent().expect("payload dir");
    let work = tempfile::tempdir().expect("temp dir");
    let d = work.path();
    let mut objects: Vec<PathBuf> = Vec::new();
    for o in &m.objects {
        std::fs::copy(built.join(o), d.join(o))
            .unwrap_or_else(|e| panic!("{}: {e}", built.join(o).display()));
        objects.push(PathBuf::from(o));
    }
    let depends = if m.depends == "xen" {
        xen.to_path_buf()
    } else {
        test_payload(&m.depends, ABI, arch.name).expect("the payload this one stacks on")
    };
    // Xen's recipe.
    must(
        Command::new(arch.objcopy)
            .current_dir(d)
            .args(["-O", "binary", "--only-section=.note.gnu.build-id"])
            .arg(&depends)
            .arg("depends.bin"),
    );
    must(
        Command::new(arch.objcopy)
            .current_dir(d)
            .args(["-O", "binary", "--only-section=.note.gnu.build-id"])
            .arg(xen)
            .arg("xen.bin"),
    );
    let mut gnu_inputs = objects.clone();
    binary_object(arch, d, "depends.bin", ".livepatch.depends", "note.o");
    gnu_inputs.push("note.o".into());
    if m.xen_depends {
        binary_object(arch, d, "xen.bin", ".livepatch.xen_depends", "xen_note.o");
        gnu_inputs.push("xen_note.o".into());
    }
    if !m.modinfo.is_empty() {
        let mut bytes = Vec::new();
        for kv in &m.modinfo {
            bytes.extend_from_slice(kv.as_bytes());
            bytes.push(0);
        }
        std::fs::write(d.join("modinfo.bin"), bytes).expect("write");
        binary_object(arch, d, "modinfo.bin", ".modinfo", "modinfo.o");
        gnu_inputs.push("modinfo.o".into());
    }
    let gnu = d.join("gnu.livepatch");
    let before = gnu_payload_link(arch, d, &gnu, &gnu_inputs);
    assert_eq!(
        stored_build_id(&before),
        Some(recompute_build_id(&before).to_vec()),
        "{}: GNU build-id",
        m.name
    );

    // Ours, with the same options the payload build used.
    let ours = d.join("ours.livepatch");
    let mut cmd = Command::new(xsplice_testkit::tool_binary("xsplice-link"));
    cmd.current_dir(d)
        .args(["--build-id", "--abi", ABI, "--depends"])
        .arg(&depends);
    if m.xen_depends {
        cmd.arg("--xen-depends").arg(xen);
    }
    for kv in &m.modinfo {
        cmd.args(["--modinfo", kv]);
    }
    cmd.arg("-o").arg(&ours).args(&objects);
    must(&mut cmd);
    let ours_bytes = std::fs::read(&ours).expect("read");
    assert_eq!(
        stored_build_id(&ours_bytes),
        Some(recompute_build_id(&ours_bytes).to_vec()),
        "{}: our build-id",
        m.name
    );

    let opts = DumpOptions {
        mask_build_id: true,
        ignore_stack_exec: true,
        ..DumpOptions::default()
    };
    let g = dump(&std::fs::read(&gnu).expect("read"), opts);
    let o = dump(&ours_bytes, opts);
    assert_same_dump(
        &g,
        &o,
        &format!(
            "payload `{}` for {}: inputs kept in {}",
            m.name,
            arch.name,
            d.display()
        ),
    );
    // Contents (addresses from the stand-in's symbols, its build-id) are
    // compared with GNU above; the snapshot pins the shape of the output.
    let snapshot = dump(
        &ours_bytes,
        DumpOptions {
            omit_contents: true,
            ..DumpOptions::default()
        },
    )
    .join("\n")
        + "\n";
    insta::assert_snapshot!(format!("{}_{}", m.name, arch.name), snapshot);
}

fn check_arch(arch: Arch) {
    if !arch.available() {
        return;
    }
    let Some(xen) = stand_in_xen(arch.name) else {
        return;
    };
    for m in manifests()
        .iter()
        .filter(|m| m.arches.iter().any(|a| a == arch.name))
    {
        check_payload(&arch, m, &xen);
    }
}

#[test]
fn test_payloads_x86_64() {
    check_arch(ARCHES[0]);
}

#[test]
fn test_payloads_aarch64() {
    check_arch(ARCHES[1]);
}

#[test]
fn test_payloads_arm32() {
    check_arch(ARCHES[2]);
}
