//! A thin wrapper over `std::process::Command` that echoes what it runs
//! and turns a failed command into an error naming it.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

pub struct Cmd {
    inner: Command,
    /// The command line as echoed: `VAR=value program arg ...`.
    shown: String,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref();
        Cmd {
            inner: Command::new(program),
            shown: quote(&program.to_string_lossy()),
        }
    }

    /// The cargo that runs xtask (`$CARGO`), in the workspace root.
    pub fn cargo(root: &Path) -> Self {
        let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Cmd::new(program);
        cmd.shown = "cargo".into();
        cmd.inner.current_dir(root);
        cmd
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        let arg = arg.as_ref();
        self.shown.push(' ');
        self.shown.push_str(&quote(&arg.to_string_lossy()));
        self.inner.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(self, args: I) -> Self {
        args.into_iter().fold(self, Cmd::arg)
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.shown = format!("{key}={} {}", quote(value), self.shown);
        self.inner.env(key, value);
        self
    }

    /// Echoes the command, runs it with inherited stdio, fails unless it exits 0.
    pub fn run(mut self) -> Result<()> {
        println!("$ {}", self.shown);
        let status = self.inner.status().with_context(|| {
            format!(
                "could not start `{}` (is it installed and on PATH?)",
                self.shown
            )
        })?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.shown);
        }
        Ok(())
    }

    /// Echoes the command and starts it with inherited stdio, without waiting for it.
    pub fn spawn(mut self) -> Result<Running> {
        println!("$ {} &", self.shown);
        let child = self
            .inner
            .spawn()
            .with_context(|| format!("could not start `{}`", self.shown))?;
        Ok(Running {
            child,
            shown: self.shown,
        })
    }

    /// Echoes the command, runs it with its standard output captured (standard error shown),
    /// returns that output unless it fails.
    pub fn output(mut self) -> Result<String> {
        println!("$ {}", self.shown);
        let out = self
            .inner
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("could not start `{}`", self.shown))?;
        if !out.status.success() {
            bail!("`{}` failed ({})", self.shown, out.status);
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a quick check quietly: its stdout if it started and exited 0, else `None`.
    pub fn probe(mut self) -> Option<String> {
        let out = self.inner.stderr(Stdio::null()).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

fn quote(s: &str) -> String {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "'\"$\\".contains(c)) {
        format!("'{}'", s.replace('\'', r"'\''"))
    } else {
        s.to_string()
    }
}

/// A command started by [`Cmd::spawn`]; stopped if dropped before [`Running::wait`].
pub struct Running {
    child: std::process::Child,
    shown: String,
}

impl Running {
    /// Waits for it; fails unless it exits 0.
    pub fn wait(mut self) -> Result<()> {
        let status = self.child.wait()?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.shown);
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Already reaped after `wait`: then both calls fail harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
