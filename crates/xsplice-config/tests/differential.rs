//! `xsplice-config` against the shell recipes it replaces, byte for byte.
//!
//! The recipes run in `sh` exactly as the Makefiles write them:
//! - the seed's `CODE_ADDR`/`CODE_SZ` (`nm --defined [-S] F | grep NAME |
//!   awk '{print "0x"$1}'`), echoed into `config.h`;
//! - Xen's test `config.h` (the same helpers, four lines) and its
//!   `expect_config.h`, whose `EXPECT_BYTES` comes from
//!   `objdump -d --insn-width=1 | sed | awk | sed`, as Xen 4.17's
//!   `xen/test/livepatch/Makefile` writes them (`tests/real_xen.rs` compares
//!   the presets with the headers that Makefile wrote in a real Xen tree).
//!
//! Inputs: the stand-in hypervisor for each architecture, the
//! replacement-function objects of the payloads built for it
//! (`test-payloads/*/*_func.c`, compiled here with the payload flags), and an object written for this test; every
//! symbol of these that the grep recipe finds unambiguously (up to 40 per
//! file, spread over the symbol table) is compared. Accepted differences, not compared: symbols whose
//! name the recipe's substring grep matches more than once (the recipe
//! writes several values, we write one or fail), and `EXPECT_BYTES` on ARM,
//! where objdump prints whole 4-byte instruction words and the recipe keeps
//! one byte of each, which is not the bytes at the symbol.
//! Cross inputs use the cross nm/objdump. `build-id` is compared with the
//! descriptor `readelf -n` prints.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use xsplice_testkit::{require_tool, run, stand_in_xen, tool_binary, workspace_root};

struct Target {
    arch: &'static str,
    cc: &'static str,
    cc_flags: &'static [&'static str],
    /// Prefix of the binutils for this target.
    prefix: &'static str,
}

const TARGETS: [Target; 3] = [
    Target {
        arch: "x86_64",
        cc: "cc",
        cc_flags: &[],
        prefix: "",
    },
    Target {
        arch: "aarch64",
        cc: "aarch64-linux-gnu-gcc",
        cc_flags: &[],
        prefix: "aarch64-linux-gnu-",
    },
    Target {
        arch: "arm32",
        cc: "arm-linux-gnueabihf-gcc",
        cc_flags: &["-marm"],
        prefix: "arm-linux-gnueabihf-",
    },
];

/// The recipes' helpers, as in the Makefiles; `$NM`/`$OBJDUMP` name the
/// target's tools.
const HELPERS: &str = r#"
CODE_ADDR() { $NM --defined "$1" | grep "$2" | awk '{print "0x"$1}'; }
CODE_SZ() { $NM --defined -S "$1" | grep "$2" | awk '{ print "0x"$2}'; }
CODE_GET_EXPECT() { $OBJDUMP -d --insn-width=1 "$1" | sed -n -e '/<'"$2"'>:$/,/^$/ p' | tail -n +2 | head -n "$3" | awk '{$0=$2; printf "%s", substr($0,length-1)}' | sed 's/.\{2\}/0x&,/g' | sed 's/^/{/;s/,$/}/g'; }
"#;

/// Tools for one target, or `None` after a skip.
struct Tools {
    cc: PathBuf,
    nm: PathBuf,
    objdump: PathBuf,
    xen: PathBuf,
}

fn tools(t: &Target) -> Option<Tools> {
    let why = format!("differential test of xsplice-config on {}", t.arch);
    Some(Tools {
        cc: require_tool(t.cc, &why)?,
        nm: require_tool(&format!("{}nm", t.prefix), &why)?,
        objdump: require_tool(&format!("{}objdump", t.prefix), &why)?,
        xen: stand_in_xen(t.arch)?,
    })
}

/// Runs `script` with `sh` in `dir`, the recipe helpers defined.
fn sh(dir: &Path, tools: &Tools, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("set -e\n{HELPERS}\n{script}")).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg(&path)
        .current_dir(dir)
        .env("NM", &tools.nm)
        .env("OBJDUMP", &tools.objdump);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(
        code,
        0,
        "sh {}\n{script}\nstdout:\n{}\nstderr:\n{}",
        path.display(),
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
}

fn xsplice_config(dir: &Path, args: &[String]) {
    let mut cmd = Command::new(tool_binary("xsplice-config"));
    cmd.current_dir(dir).args(args);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(
        code,
        0,
        "xsplice-config {}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
}

fn assert_same(dir: &Path, ours: &str, theirs: &str, what: &str) {
    let a = std::fs::read_to_string(dir.join(ours)).unwrap();
    let b = std::fs::read_to_string(dir.join(theirs)).unwrap();
    assert_eq!(
        a,
        b,
        "{what}: xsplice-config's {ours} differs from the recipe's {theirs} in {}",
        dir.display()
    );
}

/// The replacement-function sources (`*_func.c`) of the suite's payloads
/// built for `arch`.
fn payload_func_sources(arch: &str) -> Vec<PathBuf> {
    let arch = xsplice_build::Arch::parse(arch).unwrap();
    let suite = xsplice_build::suite(&workspace_root()).unwrap();
    // Each payload directory's own sources: some payloads reuse another's.
    let mut out: Vec<PathBuf> = suite
        .iter()
        .filter(|p| p.arches.contains(&arch))
        .flat_map(|p| std::fs::read_dir(&p.dir).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("_func.c"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no test-payloads/*/*_func.c for {arch}");
    out
}

/// Compiles `source` to `dir/object` for the target, failing with the
/// command line.
fn compile(t: &Target, tools: &Tools, dir: &Path, source: &Path, object: &str) {
    let mut cmd = Command::new(&tools.cc);
    cmd.current_dir(dir)
        .args(t.cc_flags)
        .args([
            "-O2",
            "-ffreestanding",
            "-fno-common",
            "-ffunction-sections",
            "-fdata-sections",
            "-c",
            "-I",
        ])
        .arg(workspace_root().join("test-payloads").join("include"))
        .arg(source)
        .arg("-o")
        .arg(object);
    let (code, _, err) = run(&mut cmd);
    assert_eq!(code, 0, "{cmd:?}: {}", String::from_utf8_lossy(&err));
}

/// The objects compiled by [`setup`] for `t`, besides `xen-syms`.
fn objects(t: &Target) -> Vec<String> {
    let mut out = vec!["hello.o".to_string()];
    for src in payload_func_sources(t.arch) {
        out.push(
            src.with_extension("o")
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    out
}

/// A scratch directory with `xen-syms`, the test's own `hello.o` and the
/// payloads' `*_func.o`.
fn setup(t: &Target, tools: &Tools) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&tools.xen, dir.path().join("xen-syms")).unwrap();
    std::fs::write(
        dir.path().join("hello.c"),
        "const char *xen_hello_world(void) { return \"Hello World\"; }\n\
         int hello_counter;\n\
         const char hello_banner[] = \"hello\";\n\
         static int hello_helper(int x) { return x * 3 + hello_counter; }\n\
         int (*hello_ptr)(int) = hello_helper;\n",
    )
    .unwrap();
    compile(t, tools, dir.path(), Path::new("hello.c"), "hello.o");
    for src in payload_func_sources(t.arch) {
        let object = src.with_extension("o");
        compile(
            t,
            tools,
            dir.path(),
            &src,
            &object.file_name().unwrap().to_string_lossy(),
        );
    }
    dir
}

/// The tools and the compiled inputs of one target, built once per test
/// binary and shared by the tests (each writes its own output names).
struct Fixture {
    tools: Tools,
    dir: tempfile::TempDir,
}

fn fixture(index: usize) -> Option<&'static Fixture> {
    static FIXTURES: [OnceLock<Option<Fixture>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    FIXTURES[index]
        .get_or_init(|| {
            let t = &TARGETS[index];
            let tools = tools(t)?;
            let dir = setup(t, &tools);
            Some(Fixture { tools, dir })
        })
        .as_ref()
}

/// The targets whose tools are installed, each with its fixture.
fn fixtures() -> impl Iterator<Item = (&'static Target, &'static Fixture)> {
    (0..TARGETS.len()).filter_map(|index| Some((&TARGETS[index], fixture(index)?)))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Values asked of both sides: each `#define` as the recipe's shell
/// helpers print it, and as the `--define` that must print the same.
struct Defines {
    script: String,
    out: String,
    ours: Vec<String>,
}

impl Defines {
    /// No values yet; ours are written to `out`.
    fn new(out: &str) -> Self {
        Defines {
            script: String::from("(set -e;\n"),
            out: out.to_string(),
            ours: args(&["-o", out]),
        }
    }

    /// `name`, which the recipe gets from `$(recipe)` and we from `define`.
    fn add(&mut self, name: &str, recipe: &str, define: &str) {
        self.script += &format!(" echo \"#define {name} $({recipe})\";\n");
        self.ours.push("--define".into());
        self.ours.push(format!("{name}={define}"));
    }

    /// Runs the recipe (as `script`, into `theirs`) and xsplice-config in
    /// `d`, and checks that their files agree.
    fn compare(mut self, d: &Path, tools: &Tools, script: &str, theirs: &str, what: &str) {
        self.script += &format!(") > {theirs}\n");
        sh(d, tools, script, &self.script);
        xsplice_config(d, &self.ours);
        assert_same(d, &self.out, theirs, what);
    }
}

#[test]
fn presets_match_the_makefile_recipes() {
    let mut compared = 0;
    for (t, Fixture { tools, dir }) in fixtures() {
        let d = dir.path();

        sh(
            d,
            tools,
            "presets.sh",
            r##"(set -e;
 echo "#define NEW_CODE_SZ $(CODE_SZ hello_world_func.o xen_hello_world)";
 echo "#define OLD_CODE_SZ $(CODE_SZ xen-syms xen_extra_version)";
 echo "#define OLD_CODE $(CODE_ADDR xen-syms xen_extra_version)") > seed-recipe.h
(set -e;
 echo "#define NEW_CODE_SZ $(CODE_SZ hello_world_func.o xen_hello_world)";
 echo "#define MINOR_VERSION_SZ $(CODE_SZ xen-syms xen_minor_version)";
 echo "#define MINOR_VERSION_ADDR $(CODE_ADDR xen-syms xen_minor_version)";
 echo "#define OLD_CODE_SZ $(CODE_SZ xen-syms xen_extra_version)") > xen-test-recipe.h
"##,
        );
        for (preset, recipe) in [("seed", "seed-recipe.h"), ("xen-test", "xen-test-recipe.h")] {
            let out = format!("{preset}.h");
            xsplice_config(
                d,
                &args(&[
                    "-o",
                    &out,
                    "--preset",
                    preset,
                    "--target",
                    "xen-syms",
                    "--new-obj",
                    "hello_world_func.o",
                ]),
            );
            assert_same(d, &out, recipe, &format!("preset {preset} on {}", t.arch));
            compared += 1;
        }

        if t.arch == "x86_64" {
            sh(
                d,
                tools,
                "preset-expect.sh",
                r##"(set -e;
 echo "#define EXPECT_BYTES $(CODE_GET_EXPECT xen-syms xen_extra_version 8)";
 echo "#define EXPECT_BYTES_COUNT 8") > expect-recipe.h
"##,
            );
            xsplice_config(
                d,
                &args(&[
                    "-o",
                    "expect.h",
                    "--preset",
                    "xen-test-expect",
                    "--target",
                    "xen-syms",
                ]),
            );
            assert_same(
                d,
                "expect.h",
                "expect-recipe.h",
                "preset xen-test-expect on x86_64",
            );
            compared += 1;
        }
    }
    eprintln!("compared {compared} preset outputs");
}

/// Names in `nm --defined -S` output that the recipe's grep finds on
/// exactly one line, with whether that line has a non-zero size.
fn unambiguous_symbols(nm_output: &str) -> Vec<(String, bool)> {
    let lines: Vec<&str> = nm_output.lines().collect();
    let mut out = Vec::new();
    for line in &lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let name = fields.last().copied().unwrap_or("");
        // The recipe passes the name to grep as a pattern: keep plain names.
        if name.is_empty() || !name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
            continue;
        }
        if lines.iter().filter(|l| l.contains(name)).count() != 1 {
            continue;
        }
        let sized = fields.len() == 4 && fields[1].bytes().any(|b| b != b'0');
        out.push((name.to_string(), sized));
    }
    out
}

/// Most symbols compared per file.
const MAX_PER_FILE: usize = 40;

#[test]
fn unambiguous_symbols_match_the_recipe() {
    let mut compared = 0;
    for (t, Fixture { tools, dir }) in fixtures() {
        let d = dir.path();
        let mut defines = Defines::new("all.h");
        let mut files = vec!["xen-syms".to_string()];
        files.extend(objects(t));
        for file in &files {
            let mut cmd = Command::new(&tools.nm);
            cmd.current_dir(d).args(["--defined", "-S", file.as_str()]);
            let (code, out, _) = run(&mut cmd);
            assert_eq!(code, 0, "{cmd:?}");
            let all = unambiguous_symbols(&String::from_utf8(out).unwrap());
            // Every recipe value runs nm again; a spread of at most
            // MAX_PER_FILE symbols keeps the test quick.
            let step = all.len().div_ceil(MAX_PER_FILE).max(1);
            let syms: Vec<_> = all.into_iter().step_by(step).collect();
            assert!(
                !syms.is_empty(),
                "{file} on {}: no symbol to compare",
                t.arch
            );
            for (i, (name, sized)) in syms.iter().enumerate() {
                let tag = format!("{}_{i}", file.replace(['-', '.'], "_").to_uppercase());
                defines.add(
                    &format!("A_{tag}"),
                    &format!("CODE_ADDR {file} {name}"),
                    &format!("addr:{file}:{name}"),
                );
                if *sized {
                    defines.add(
                        &format!("S_{tag}"),
                        &format!("CODE_SZ {file} {name}"),
                        &format!("size:{file}:{name}"),
                    );
                }
                compared += 1 + usize::from(*sized);
            }
        }
        defines.compare(
            d,
            tools,
            "symbols.sh",
            "all-recipe.h",
            &format!("every symbol on {}", t.arch),
        );
    }
    eprintln!("compared {compared} values");
}

#[test]
fn expect_bytes_match_objdump_on_x86_64() {
    let Some(Fixture { tools, dir }) = fixture(0) else {
        return;
    };
    let d = dir.path();
    let cases = [
        ("xen-syms", "xen_extra_version", 8),
        ("xen-syms", "xen_changeset", 9),
        ("xen-syms", "xen_info_format", 31),
        ("xen-syms", "xen_minor_version", 1),
        ("hello.o", "xen_hello_world", 8),
    ];
    let mut defines = Defines::new("expect-n.h");
    for (i, (file, name, n)) in cases.iter().enumerate() {
        defines.add(
            &format!("E{i}"),
            &format!("CODE_GET_EXPECT {file} {name} {n}"),
            &format!("expect:{n}:{file}:{name}"),
        );
    }
    defines.compare(
        d,
        tools,
        "expect.sh",
        "expect-n-recipe.h",
        "expect bytes on x86_64",
    );
}

/// `build-id` against `readelf -n`, which prints the descriptor as hex.
#[test]
fn build_ids_match_readelf() {
    for (t, Fixture { dir, .. }) in fixtures() {
        let Some(readelf) = require_tool(&format!("{}readelf", t.prefix), "reads build-ids") else {
            continue;
        };
        let d = dir.path();
        let mut cmd = Command::new(readelf);
        cmd.current_dir(d).args(["-n", "xen-syms"]);
        let (code, out, _) = run(&mut cmd);
        assert_eq!(code, 0, "{cmd:?}");
        let text = String::from_utf8(out).unwrap();
        let hex = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Build ID: "))
            .unwrap_or_else(|| panic!("{cmd:?} printed no build id:\n{text}"));
        let bytes: Vec<String> = (0..hex.len())
            .step_by(2)
            .map(|i| format!("0x{}", &hex[i..i + 2]))
            .collect();
        let expected = format!("#define XEN_BUILD_ID {{{}}}\n", bytes.join(","));
        let out = format!("build-id-{}.h", t.arch);
        xsplice_config(
            d,
            &args(&["-o", &out, "--define", "XEN_BUILD_ID=build-id:xen-syms"]),
        );
        assert_eq!(
            std::fs::read_to_string(d.join(&out)).unwrap(),
            expected,
            "{}",
            t.arch
        );
    }
}
