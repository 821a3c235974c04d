//! Commands that are run and printed: every step of a build is shown as a
//! shell command line that a person can paste to replay it.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::BuildError;

/// A program, its arguments and its working directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandLine {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Where it runs; printed as a leading `cd DIR &&` when set.
    pub dir: Option<PathBuf>,
    /// Variables set for this command only; printed as `NAME=value` words
    /// before the program.
    pub env: Vec<(OsString, OsString)>,
}

impl CommandLine {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        CommandLine {
            program: program.into(),
            args: Vec::new(),
            dir: None,
            env: Vec::new(),
        }
    }

    pub fn arg(&mut self, a: impl Into<OsString>) -> &mut Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(&mut self, a: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }

    pub fn dir(&mut self, d: &Path) -> &mut Self {
        self.dir = Some(d.to_path_buf());
        self
    }

    pub fn env(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// A `std::process::Command` for this line, for callers that need to
    /// stream its output rather than collect it.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        cmd
    }

    /// Runs the command; a non-zero exit is `BuildError::Failed` naming `step`.
    /// Returns standard output.
    pub fn run(&self, step: &str) -> Result<Vec<u8>, BuildError> {
        let out = self.output()?;
        if !out.status.success() {
            return Err(BuildError::Failed {
                step: step.to_owned(),
                command: self.to_string(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
            });
        }
        Ok(out.stdout)
    }

    /// Runs the command and returns its output whatever the exit status.
    pub fn output(&self) -> Result<std::process::Output, BuildError> {
        self.command().output().map_err(|source| BuildError::Spawn {
            command: self.to_string(),
            source,
        })
    }
}

impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.dir {
            write!(f, "cd {} && ", shell_quote(d.as_os_str()))?;
        }
        for (k, v) in &self.env {
            write!(f, "{}={} ", k.to_string_lossy(), shell_quote(v))?;
        }
        f.write_str(&shell_quote(self.program.as_os_str()))?;
        for a in &self.args {
            write!(f, " {}", shell_quote(a))?;
        }
        Ok(())
    }
}

/// Quotes one word for a POSIX shell, leaving plain words bare.
pub fn shell_quote(word: &std::ffi::OsStr) -> String {
    let s = word.to_string_lossy();
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(word: &str, expect: &str) {
        assert_eq!(shell_quote(std::ffi::OsStr::new(word)), expect);
    }

    #[test]
    fn quoting() {
        check("-DOLD_CODE=0x10", "-DOLD_CODE=0x10");
        check("a b", "'a b'");
        check("it's", r"'it'\''s'");
        check("", "''");
        check("xen_extra_version#x", "'xen_extra_version#x'");
    }
}
