//! The source-patch suite against the real Xen 4.17 trees (x86_64 and
//! arm64) that `cargo xtask real-xen` caches: every patch in
//! `test-payloads/patches/xen-4.17/` whose manifest lists the architecture
//! in `arches` (the kinds security advisories carry: bounds checks in
//! hypercall handlers, static and global helpers, a header inline,
//! `version.c`) is built with the real `xsplice-build` binary, must rebuild
//! exactly the manifest's objects, and must give a payload with the
//! manifest's `.livepatch.funcs` names that `xsplice-validate` accepts
//! against the tree's `xen-syms`. A manifest's object named after the
//! architecture (`"arm64": { "funcs": [...] }`) overrides its fields there,
//! since the compilers inline differently. The tree is only read: the tool
//! works in a shadow under the test's temporary directory.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use xsplice_testkit::source_patch::{funcs_names, manifest_text, patch_files, xsplice_build};
use xsplice_testkit::{run, tool_binary, workspace_root};

/// Field `key` of manifest `v` on `arch`: the architecture's override,
/// else the common value.
fn strings_on(v: &Value, arch: &str, key: &str) -> Vec<String> {
    match v.get(arch).and_then(|o| o.get(key)) {
        Some(o) => strings(&serde_json::json!({ key: o }), key),
        None => strings(v, key),
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("manifest without `{key}`"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// The objects `xsplice-build` said it rebuilt.
fn rebuilt_objects(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .find_map(|l| l.split_once(" object(s) read them: ").map(|(_, o)| o))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_xen_4_17_patch_gives_a_payload_xen_accepts_on_x86_64() {
    check_arch("x86_64", 10);
}

#[test]
fn every_xen_4_17_patch_gives_a_payload_xen_accepts_on_arm64() {
    check_arch("arm64", 10);
}

/// Builds every patch for `arch` (at least `least` of them) on its tree.
fn check_arch(arch: &str, least: usize) {
    let Some(real) = xsplice_testkit::real_xen(arch) else {
        return;
    };
    let top = real.tree.parent().unwrap();
    let suite = workspace_root().join("test-payloads/patches/xen-4.17");
    let patches = patch_files(&suite);
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut built = 0;
    for patch in &patches {
        let name = patch.file_stem().unwrap().to_string_lossy().into_owned();
        let (json, text) = manifest_text(patch);
        let manifest: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("`{}`: {e}", json.display()));
        assert_eq!(manifest["expect"], "applies", "{name}");
        if !strings(&manifest, "arches").iter().any(|a| a == arch) {
            continue;
        }
        built += 1;
        let out = dir.path().join(&name);
        let build = xsplice_build(top, patch, &out, &[]);
        let stdout = &build.stdout;
        let context = build.to_string();
        let mut problems = Vec::new();
        if build.code != 0 {
            failures.push(format!("{name}: xsplice-build failed\n{context}"));
            continue;
        }
        let objects = rebuilt_objects(stdout);
        let want = strings_on(&manifest, arch, "objects");
        if objects != want {
            problems.push(format!("rebuilt {objects:?}, not {want:?}"));
        }
        let payload = PathBuf::from(stdout.lines().last().unwrap_or_default());
        if payload != out.join(format!("{name}.livepatch")) {
            problems.push(format!(
                "the last line is not the payload: `{}`",
                payload.display()
            ));
        } else {
            let names = funcs_names(&payload);
            let want = strings_on(&manifest, arch, "funcs");
            if names != want {
                problems.push(format!(".livepatch.funcs names {names:?}, not {want:?}"));
            }
            // The validator again, on its own: the payload against the image.
            let mut v = Command::new(tool_binary("xsplice-validate"));
            v.arg(&payload).arg("--target").arg(&real.xen_syms);
            let (vcode, vout, verr) = run(&mut v);
            if vcode != 0 {
                problems.push(format!(
                    "{v:?} exit {vcode}\n{}{}",
                    String::from_utf8_lossy(&vout),
                    String::from_utf8_lossy(&verr)
                ));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{name}\n  {}\n{context}", problems.join("\n  ")));
        }
    }
    assert!(built >= least, "only {built} patches for {arch}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
