//! `cargo xtask run` and `cargo xtask bench`: the backend, built in release mode.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cmd::Cmd;
use crate::install::install;

/// `args` go to the backend; a leading `--` is dropped (`cargo xtask run -- --listen ...`).
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    install(root)?;
    let args = strip_separator(args);
    let built = build_frontend(root)?;
    let dist = built.or_else(|| Some(root.join("dist")).filter(|dir| dir.is_dir()));
    let mut cmd = Cmd::cargo(root).args(["run", "--release", "-p", "backend", "--"]);
    if let Some(dist) = dist.filter(|_| !args.iter().any(|a| a.starts_with("--static-dir"))) {
        cmd = cmd.arg("--static-dir").arg(dist);
    }
    cmd.args(args).run()
}

/// `args` go to the bench example; a leading `--` is dropped.
pub fn bench(root: &Path, args: &[String]) -> Result<()> {
    install(root)?;
    Cmd::cargo(root)
        .args([
            "run",
            "--release",
            "-p",
            "backend",
            "--example",
            "bench",
            "--",
        ])
        .args(strip_separator(args))
        .run()
}

/// Builds the browser app and returns the directory to serve.
fn build_frontend(root: &Path) -> Result<Option<PathBuf>> {
    crate::web_tools::build(root).map(Some)
}

fn strip_separator(args: &[String]) -> &[String] {
    match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    }
}
