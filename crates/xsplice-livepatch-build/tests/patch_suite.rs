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
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use xsplice_sim::Hypervisor;
use xsplice_testkit::{run, tool_binary, workspace_root};

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
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|patch| {
            let name = patch.file_stem().unwrap().to_string_lossy().into_owned();
            let json = patch.with_extension("json");
            let text = std::fs::read_to_string(&json)
                .unwrap_or_else(|e| panic!("`{}` has no manifest: {e}", patch.display()));
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

/// Runs `xsplice-build`; returns (exit code, stdout, stderr).
fn xsplice_build(
    tree: &Path,
    patch: &Path,
    out: &Path,
    depends: Option<&Path>,
) -> (i32, String, String) {
    for t in ["xsplice-link", "xsplice-validate"] {
        tool_binary(t);
    }
    let mut cmd = Command::new(tool_binary("xsplice-build"));
    cmd.arg("-s")
        .arg(tree)
        .arg("-p")
        .arg(patch)
        .arg("-o")
        .arg(out);
    if let Some(d) = depends {
        cmd.arg("--depends").arg(d);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    (
        code,
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The `.livepatch.funcs` names of a payload, from `xsplice-inspect`.
fn funcs_names(payload: &Path) -> Vec<String> {
    let mut cmd = Command::new(tool_binary("xsplice-inspect"));
    cmd.arg(payload);
    let (code, stdout, stderr) = run(&mut cmd);
    let text = String::from_utf8_lossy(&stdout);
    assert_eq!(
        code,
        0,
        "{cmd:?}\n{text}{}",
        String::from_utf8_lossy(&stderr)
    );
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix('[')?;
            let (_, name) = rest.split_once("] \"")?;
            Some(name.strip_suffix('"')?.to_owned())
        })
        .collect()
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
    if xsplice_testkit::stand_in_xen("x86_64").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    xsplice_build::build_stand_in_tree(&workspace_root(), &tree, xsplice_build::Arch::X86_64)
        .unwrap();
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
        let (code, stdout, stderr) = xsplice_build(&tree, &m.patch, &out, below.as_deref());
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
    if xsplice_testkit::stand_in_xen("x86_64").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    xsplice_build::build_stand_in_tree(&workspace_root(), &tree, xsplice_build::Arch::X86_64)
        .unwrap();
    let manifests = load_manifests(&suite_dir());
    let pick = |name: &str| manifests.iter().find(|m| m.name == name).unwrap();
    let (base, top) = (pick("body_change"), pick("stack_body"));
    assert_eq!(top.depends.as_deref(), Some("body_change"));

    let (code, stdout, stderr) = xsplice_build(&tree, &base.patch, &dir.path().join("base"), None);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let below = PathBuf::from(stdout.lines().last().unwrap());
    let id = build_id_hex(&below);

    // The payload below, by its build-id: the depends note is that id, and
    // the validator is told why it runs without the hypervisor.
    let out = dir.path().join("top");
    let mut cmd = Command::new(tool_binary("xsplice-build"));
    cmd.arg("-s")
        .arg(&tree)
        .arg("-p")
        .arg(&top.patch)
        .arg("-o")
        .arg(&out)
        .arg("--depends")
        .arg(&id);
    let (code, stdout, stderr) = run(&mut cmd);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr),
    );
    assert_eq!(code, 0, "{cmd:?}\n{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("# --depends {id}: written as a build-id note"))
            && stdout.contains("validated on its own, without --target"),
        "{stdout}"
    );
    let payload = PathBuf::from(stdout.lines().last().unwrap());
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
    let mut cmd = Command::new(tool_binary("xsplice-build"));
    cmd.arg("-s")
        .arg(&tree)
        .arg("-p")
        .arg(&hello.patch)
        .arg("-o")
        .arg(dir.path().join("hello"))
        .arg("--depends")
        .arg(format!("0x{xen_id}"));
    let (code, stdout, stderr) = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&stdout);
    assert_eq!(
        code,
        0,
        "{cmd:?}\n{stdout}{}",
        String::from_utf8_lossy(&stderr)
    );
    assert!(!stdout.contains("validated on its own"), "{stdout}");
    assert!(stdout.contains("--target"), "{stdout}");

    // Neither a file nor hex: a usage error.
    let (code, _, stderr) = xsplice_build(
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
