//! The source-patch suite against the stand-in hypervisor: every patch in
//! `test-payloads/patches/stand-in/` is built with the real `xsplice-build`
//! binary on a Kbuild-style tree of the stand-in, and does what its
//! manifest (`NAME.json` beside `NAME.patch`) says.
//!
//! A patch that must apply is loaded into the simulator, and each probe
//! named in the manifest (a function of `test-payloads/xen/probes.c` that
//! takes no argument) is called before the patch is applied, while it is
//! applied and after it is reverted. A patch that must fail has to be
//! refused with the manifest's reasons, or found to change nothing.
//! Manifest fields are described in `test-payloads/patches/README.md`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use xsplice_sim::Hypervisor;
use xsplice_testkit::source_patch::{
    funcs_names, manifest_text, patch_files, stand_in_tree, xsplice_build,
};
use xsplice_testkit::workspace_root;

/// What `NAME.json` says must happen.
struct Manifest {
    name: String,
    patch: PathBuf,
    /// `applies`, `refused` or `no-change`.
    expect: String,
    /// The `.livepatch.funcs` names, in the payload's order.
    funcs: Vec<String>,
    /// The patch whose payload this one is stacked on.
    depends: Option<String>,
    /// Words that must appear in `xsplice-build`'s error output.
    refusal: Vec<String>,
    /// Rebuilt objects whose bytes must differ from the tree's, for a
    /// patch that changes an object but nothing that runs.
    objects_differ: Vec<String>,
    probes: Vec<Probe>,
}

/// One function to call, and what it must return at each stage.
struct Probe {
    call: String,
    before: Value,
    applied: Value,
    reverted: Value,
}

fn suite_dir() -> PathBuf {
    workspace_root().join("test-payloads/patches/stand-in")
}

fn load_manifests(dir: &Path) -> Vec<Manifest> {
    patch_files(dir)
        .into_iter()
        .map(|patch| {
            let name = patch.file_stem().unwrap().to_string_lossy().into_owned();
            let (json, text) = manifest_text(&patch);
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("`{}`: {e}", json.display()));
            let strings = |key: &str| -> Vec<String> {
                v.get(key)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default()
            };
            let probes = v
                .get("probes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let before = p["before"].clone();
                            Probe {
                                call: p["call"].as_str().unwrap().to_owned(),
                                applied: p["applied"].clone(),
                                reverted: p.get("reverted").cloned().unwrap_or(before.clone()),
                                before,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let expect = v["expect"].as_str().unwrap().to_owned();
            assert!(
                matches!(expect.as_str(), "applies" | "refused" | "no-change"),
                "{name}: unknown expectation `{expect}`"
            );
            assert_eq!(
                name.ends_with("_FAIL"),
                expect != "applies" && expect != "no-change",
                "{name}: a patch that must be refused is called NAME_FAIL.patch, and only it"
            );
            Manifest {
                name,
                patch,
                expect,
                funcs: strings("funcs"),
                depends: v.get("depends").and_then(Value::as_str).map(str::to_owned),
                refusal: strings("refusal"),
                objects_differ: strings("objects_differ"),
                probes,
            }
        })
        .collect()
}

/// Runs `xsplice-build`, on top of the payload `depends` if given;
/// returns (exit code, stdout, stderr).
fn build(tree: &Path, patch: &Path, out: &Path, depends: Option<&Path>) -> (i32, String, String) {
    let more: Vec<&OsStr> = match depends {
        Some(d) => vec!["--depends".as_ref(), d.as_os_str()],
        None => Vec::new(),
    };
    let run = xsplice_build(tree, patch, out, &more);
    (run.code, run.stdout, run.stderr)
}

/// Calls a probe; a string expectation reads the returned pointer.
fn call(hv: &mut Hypervisor<'_>, probe: &str, like: &Value) -> Value {
    let r = hv
        .call_function(probe)
        .unwrap_or_else(|e| panic!("calling `{probe}`: {e}"));
    match like {
        Value::String(_) => Value::String(
            hv.read_c_string(r)
                .unwrap_or_else(|| panic!("`{probe}` returned {r:#x}, not a string")),
        ),
        _ => Value::from(r),
    }
}

fn fail_text(f: xsplice_sim::Fail) -> String {
    format!("{f:?}")
}

/// Loads a payload (and the one it stacks on), calls the probes at each
/// stage and returns what differs from the manifest.
fn check_in_simulator(
    xen_syms: &Path,
    m: &Manifest,
    payload: &Path,
    below: Option<&Path>,
) -> Vec<String> {
    let image = std::fs::read(xen_syms).unwrap();
    let mut hv = Hypervisor::boot("xen-syms", &image, None, Duration::from_secs(10)).expect("boot");
    let mut problems = Vec::new();
    let load = |hv: &mut Hypervisor<'_>, name: &str, file: &Path| -> Result<(), String> {
        let bytes = std::fs::read(file).unwrap();
        hv.upload(name, &bytes).map_err(fail_text)?;
        hv.apply(name, false).map_err(fail_text)
    };
    if let (Some(dep), Some(file)) = (&m.depends, below)
        && let Err(e) = load(&mut hv, dep, file)
    {
        return vec![format!("loading `{dep}` below it failed: {e}")];
    }
    let mut stage = |hv: &mut Hypervisor<'_>, label: &str, pick: fn(&Probe) -> &Value| {
        for p in &m.probes {
            let want = pick(p);
            let got = call(hv, &p.call, want);
            if &got != want {
                problems.push(format!("{label}: `{}` returned {got}, not {want}", p.call));
            }
        }
    };
    stage(&mut hv, "before apply", |p| &p.before);
    if let Err(e) = load(&mut hv, &m.name, payload) {
        return vec![format!("loading failed: {e}")];
    }
    stage(&mut hv, "applied", |p| &p.applied);
    if let Err(e) = hv.revert(&m.name) {
        return vec![format!("revert failed: {}", fail_text(e))];
    }
    stage(&mut hv, "after revert", |p| &p.reverted);
    problems
}

#[test]
fn every_stand_in_patch_does_what_its_manifest_says() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tree) = stand_in_tree(dir.path()) else {
        return;
    };
    let manifests = load_manifests(&suite_dir());
    // The kinds of change the suite must cover, each with its own patch.
    assert!(manifests.len() >= 13, "{} patches", manifests.len());

    let mut built: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut failures = Vec::new();
    // Patches others stack on are built first.
    let mut order: Vec<&Manifest> = manifests.iter().filter(|m| m.depends.is_none()).collect();
    order.extend(manifests.iter().filter(|m| m.depends.is_some()));
    for m in order {
        let out = dir.path().join("out").join(&m.name);
        let below = m.depends.as_ref().map(|d| {
            built
                .get(d)
                .unwrap_or_else(|| panic!("{}: `{d}` is not a patch that applies", m.name))
                .clone()
        });
        let (code, stdout, stderr) = build(&tree, &m.patch, &out, below.as_deref());
        let context = format!(
            "{} (exit {code})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            m.patch.display()
        );
        let mut problems = Vec::new();
        match m.expect.as_str() {
            "applies" if code != 0 => problems.push("xsplice-build failed".to_owned()),
            "applies" => {
                let payload = PathBuf::from(stdout.lines().last().unwrap_or_default());
                let names = funcs_names(&payload);
                if names != m.funcs {
                    problems.push(format!(
                        ".livepatch.funcs names {names:?}, not {:?}",
                        m.funcs
                    ));
                }
                problems.extend(check_in_simulator(
                    &tree.join("xen-syms"),
                    m,
                    &payload,
                    below.as_deref(),
                ));
                built.insert(m.name.clone(), payload);
            }
            "no-change" => {
                if code != 3 {
                    problems.push("expected exit 3, no functional change".to_owned());
                }
                for obj in &m.objects_differ {
                    let ours = std::fs::read(tree.join(obj)).unwrap();
                    let theirs = std::fs::read(out.join("shadow").join(obj)).unwrap_or_default();
                    if ours == theirs {
                        problems.push(format!(
                            "the rebuilt `{obj}` is the tree's: the patch tests nothing"
                        ));
                    }
                }
            }
            _ => {
                if code != 1 {
                    problems.push("expected exit 1, refused".to_owned());
                }
                for word in &m.refusal {
                    if !stderr.contains(word.as_str()) {
                        problems.push(format!("the refusal does not say `{word}`"));
                    }
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}\n  {}\n{context}",
                m.name,
                problems.join("\n  ")
            ));
        }
    }
    // The tree is never written.
    for f in ["probes.o", "probes2.o", "probes.c", "probes.h"] {
        let src = workspace_root().join("test-payloads/xen").join(f);
        if f.ends_with(".o") {
            assert!(tree.join(f).is_file());
        } else {
            assert_eq!(
                std::fs::read(tree.join(f)).unwrap(),
                std::fs::read(src).unwrap()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The contents of section `name` of ELF file `path`.
fn section(path: &Path, name: &str) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.section_by_name(name)
        .unwrap_or_else(|| panic!("{}: no `{name}`", path.display()))
        .data()
        .unwrap()
        .to_vec()
}

/// The build-id of ELF file `path` in hex, from its note.
fn build_id_hex(path: &Path) -> String {
    let note = section(path, ".note.gnu.build-id");
    // namesz 4, descsz, type, "GNU\0", then the descriptor.
    let descsz = u32::from_le_bytes(note[4..8].try_into().unwrap()) as usize;
    note[16..16 + descsz]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn depends_takes_a_build_id_in_hex_as_livepatch_build_does() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tree) = stand_in_tree(dir.path()) else {
        return;
    };
    let manifests = load_manifests(&suite_dir());
    let pick = |name: &str| manifests.iter().find(|m| m.name == name).unwrap();
    let (base, top) = (pick("body_change"), pick("stack_body"));
    assert_eq!(top.depends.as_deref(), Some("body_change"));

    let (code, stdout, stderr) = build(&tree, &base.patch, &dir.path().join("base"), None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let below = PathBuf::from(stdout.lines().last().unwrap());
    let id = build_id_hex(&below);

    // The payload below, by its build-id: the depends note is that id, and
    // the validator is told why it runs without the hypervisor.
    let out = dir.path().join("top");
    let run = xsplice_build(
        &tree,
        &top.patch,
        &out,
        &["--depends".as_ref(), id.as_ref()],
    );
    assert_eq!(run.code, 0, "{run}");
    let stdout = &run.stdout;
    assert!(
        stdout.contains(&format!("# --depends {id}: written as a build-id note"))
            && stdout.contains("validated on its own, without --target"),
        "{stdout}"
    );
    let payload = run.payload();
    assert_eq!(
        section(&payload, ".livepatch.depends"),
        section(&below, ".note.gnu.build-id")
    );
    // And it stacks: the simulator loads it above the payload it names.
    let problems = check_in_simulator(&tree.join("xen-syms"), top, &payload, Some(&below));
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The hypervisor's own build-id: validated against it as usual.
    let hello = pick("hello_world");
    let xen_id = build_id_hex(&tree.join("xen-syms"));
    let xen_id = format!("0x{xen_id}");
    let run = xsplice_build(
        &tree,
        &hello.patch,
        &dir.path().join("hello"),
        &["--depends".as_ref(), xen_id.as_ref()],
    );
    assert_eq!(run.code, 0, "{run}");
    let stdout = &run.stdout;
    assert!(!stdout.contains("validated on its own"), "{stdout}");
    assert!(stdout.contains("--target"), "{stdout}");

    // Neither a file nor hex: a usage error.
    let (code, _, stderr) = build(
        &tree,
        &hello.patch,
        &dir.path().join("bad"),
        Some(Path::new("no-such-payload")),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("neither a payload file nor a build-id in hex"),
        "{stderr}"
    );
}
