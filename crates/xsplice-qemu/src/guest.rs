//! What dom0 runs: the `/init` script of the initramfs, which mounts what
//! `xen-livepatch` needs, runs each command of the session and reports it on
//! the console in a framed form; and where each payload file goes in the
//! guest so that the commands find it under the name they were given.
//!
//! dom0's console and Xen's share the serial line, and Xen writes its own
//! lines whenever it likes, even in the middle of one of dom0's. So a
//! command's output is never printed as it comes: the command writes to
//! files, and then each file is dumped by `od` (offsets, hex bytes, the
//! length), between lines that carry the command's number, and an end line
//! gives the exit status; the host checks every offset (`serial`).
//!
//! The guest's working directory is the host's, and each payload is put at
//! its host path: `load target/x.livepatch` runs as written and the real
//! tool prints the same `Uploading target/x.livepatch... ` as the simulator.

use std::fmt::Write as _;
use std::path::Path;

use xsplice_sim::Command;

/// The prefix of every line the guest writes for the host.
pub const MARK: &str = "@@xsplice";
/// How often a command that exits 2 (retry) is run again.
pub const RETRIES: u32 = 10;
/// How long the guest waits before it runs such a command again.
pub const RETRY_MS: u32 = 250;

/// What dom0 runs for one command of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// The real tool with these arguments.
    Tool(Vec<String>),
    /// The `xl info` version lines, from `/sys/hypervisor/version/`.
    Info,
    /// Nothing in the guest: the host answers (`hooks`, from Xen's console).
    Host,
}

/// The guest operation for a command; `None` for `restart`, which the
/// host does by booting again.
pub fn op(command: &Command) -> Option<Op> {
    let nodeps = |on: bool| on.then(|| "--nodeps".to_string());
    let tool = |words: Vec<String>| Some(Op::Tool(words));
    match command {
        Command::Upload { name, file } => tool(vec![
            "upload".into(),
            name.clone(),
            file.display().to_string(),
        ]),
        Command::Load { file, nodeps: n } => tool(
            ["load".to_string(), file.display().to_string()]
                .into_iter()
                .chain(nodeps(*n))
                .collect(),
        ),
        Command::Apply { name, nodeps: n } => tool(
            ["apply".to_string(), name.clone()]
                .into_iter()
                .chain(nodeps(*n))
                .collect(),
        ),
        Command::Revert { name } => tool(vec!["revert".into(), name.clone()]),
        Command::Replace { name } => tool(vec!["replace".into(), name.clone()]),
        Command::Unload { name } => tool(vec!["unload".into(), name.clone()]),
        Command::List => tool(vec!["list".into()]),
        Command::Info => Some(Op::Info),
        Command::Hooks => Some(Op::Host),
        Command::Restart => None,
    }
}

/// Where a file a command names lies in the guest: its host path, made
/// absolute against `cwd` (the host's working directory, which is also the
/// guest's) and normalised. Refused under `/proc`, `/sys` and `/dev`, which
/// the guest mounts over.
pub fn guest_path(cwd: &Path, file: &Path) -> Result<String, String> {
    let joined = cwd.join(file);
    let text = joined
        .to_str()
        .ok_or("the path is not UTF-8, which the guest's shell script cannot name")?;
    let mut parts: Vec<&str> = Vec::new();
    for p in text.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    match parts.first() {
        None => Err("it names the root directory".into()),
        Some(&top) if ["proc", "sys", "dev"].contains(&top) => Err(format!(
            "the guest mounts its own file system over `/{top}`"
        )),
        Some(_) => Ok(format!("/{}", parts.join("/"))),
    }
}

/// A word quoted for the shell.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=+:,@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The `/init` of one boot: load `modules` (guest paths, in order), say
/// `ready` with Xen's version, run `ops` from `cwd`, say `done` and power off.
pub fn init_script(modules: &[String], cwd: &str, ops: &[Op]) -> String {
    let mut s = String::new();
    s.push_str("#!/bin/busybox sh\n");
    s.push_str(
        "# dom0's init, written by xsplice-qemu: runs each command and reports it framed.\n",
    );
    s.push_str("/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp\n");
    s.push_str("/bin/busybox --install -s\n");
    s.push_str("export PATH=/bin:/sbin:/usr/bin:/usr/sbin LD_LIBRARY_PATH=/lib\n");
    let _ = writeln!(
        s,
        "fail() {{ echo \"{MARK} fail $*\"; poweroff -f; sleep 60; }}"
    );
    s.push_str("mount -t proc proc /proc || fail mounting /proc\n");
    s.push_str("mount -t sysfs sysfs /sys || fail mounting /sys\n");
    s.push_str("mount -t devtmpfs devtmpfs /dev || fail mounting /dev\n");
    for m in modules {
        let _ = writeln!(s, "insmod {} || fail insmod {}", quote(m), quote(m));
    }
    s.push_str("mkdir -p /proc/xen && mount -t xenfs xenfs /proc/xen || fail mounting xenfs\n");
    // Busybox's `read` and `printf` are shell builtins: under emulation,
    // every process a PV dom0 starts costs a fraction of a second.
    s.push_str("v() { IFS= read -r $1 </sys/hypervisor/version/$2; }\n");
    s.push_str(
        "info() { for k in major minor extra; do v x $k; printf '%-23s: %s\\n' xen_$k \"$x\"; done; }\n",
    );
    // One command: its output to files, then each file dumped by `od`
    // (an offset and 16 bytes a line, then the length). Exit status 2 is
    // the tool's "retry" (EAGAIN, EBUSY): Xen can still be finishing the
    // last action on another CPU when the tool has seen it complete, so the
    // command runs again, up to RETRIES times, RETRY_MS apart.
    let _ = writeln!(
        s,
        "r() {{\n  n=$1; shift\n  echo \"{MARK} $n begin\"\n  t=0\n  while :; do\n    \"$@\" >/tmp/o 2>/tmp/e\n    rc=$?\n    [ \"$rc\" = 2 ] && [ \"$t\" -lt {RETRIES} ] || break\n    t=$((t+1))\n    usleep {}\n  done\n  echo \"{MARK} $n out\"\n  od -A d -t x1 -v /tmp/o\n  echo \"{MARK} $n err\"\n  od -A d -t x1 -v /tmp/e\n  echo \"{MARK} $n end $rc $t\"\n}}",
        RETRY_MS * 1000
    );
    let _ = writeln!(
        s,
        "v a major; v b minor; v c extra; echo \"{MARK} ready $a.$b$c\""
    );
    let _ = writeln!(s, "cd {} || fail cd", quote(cwd));
    for (n, op) in ops.iter().enumerate() {
        let words = match op {
            Op::Tool(args) => std::iter::once("xen-livepatch".to_string())
                .chain(args.iter().map(|a| quote(a)))
                .collect::<Vec<_>>()
                .join(" "),
            Op::Info => "info".into(),
            Op::Host => "true".into(),
        };
        let _ = writeln!(s, "r {n} {words}");
    }
    let _ = writeln!(s, "echo \"{MARK} done\"");
    s.push_str("poweroff -f\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cwd: &str, file: &str, expect: Result<&str, &str>) {
        let got = guest_path(Path::new(cwd), Path::new(file));
        assert_eq!(
            got.as_deref(),
            expect.map_err(str::to_string).as_deref(),
            "{cwd} {file}"
        );
    }

    #[test]
    fn payloads_keep_their_host_paths() {
        check(
            "/home/dev/x",
            "target/p.livepatch",
            Ok("/home/dev/x/target/p.livepatch"),
        );
        check(
            "/home/dev/x",
            "../y/./p.livepatch",
            Ok("/home/dev/y/p.livepatch"),
        );
        check(
            "/home/dev/x",
            "/usr/lib/debug/xen_hello_world.xsplice",
            Ok("/usr/lib/debug/xen_hello_world.xsplice"),
        );
        check(
            "/",
            "proc/p",
            Err("the guest mounts its own file system over `/proc`"),
        );
        check(
            "/dev/shm",
            "p",
            Err("the guest mounts its own file system over `/dev`"),
        );
        check("/", "..", Err("it names the root directory"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("xen_hello_world"), "xen_hello_world");
        assert_eq!(quote("/a/b-c.livepatch"), "/a/b-c.livepatch");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn commands_become_guest_operations() {
        let words = |line: &str| {
            let l = xsplice_sim::parse_line(line).unwrap().unwrap();
            op(&l.command)
        };
        assert_eq!(
            words("$xen-livepatch load a/p.livepatch --nodeps"),
            Some(Op::Tool(vec![
                "load".into(),
                "a/p.livepatch".into(),
                "--nodeps".into()
            ]))
        );
        assert_eq!(
            words("upload p p.livepatch"),
            Some(Op::Tool(vec![
                "upload".into(),
                "p".into(),
                "p.livepatch".into()
            ]))
        );
        assert_eq!(words("$xl info | grep extra"), Some(Op::Info));
        assert_eq!(words("hooks"), Some(Op::Host));
        assert_eq!(words("restart"), None);
    }

    #[test]
    fn the_init_script() {
        let ops = [
            Op::Tool(vec!["load".into(), "my p.livepatch".into()]),
            Op::Info,
            Op::Host,
        ];
        let s = init_script(&["/lib/modules/xen-privcmd.ko".into()], "/w", &ops);
        assert!(s.starts_with("#!/bin/busybox sh\n"));
        assert!(s.contains("insmod /lib/modules/xen-privcmd.ko || fail"));
        assert!(s.contains("\ncd /w || fail cd\nr 0 xen-livepatch load 'my p.livepatch'\nr 1 info\nr 2 true\necho \"@@xsplice done\"\npoweroff -f\n"));
    }
}
