//! `cargo xtask run` and `cargo xtask bench`: the backend, built in release mode.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cmd::Cmd;
use crate::install::install;

/// `args` go to the backend; a leading `--` is dropped (`cargo xtask run -- --listen ...`).
///
/// The relay compiles while the rest is installed and the app is built: on two cores each
/// build fills the time the other leaves a core idle (the app's link-time optimization runs on
/// one). So that it need not wait for the app, nor compile again once the app is there, the
/// relay is built without the app inside (`CLAIMSTREAM_DIST=` empty) and serves `dist/` with
/// `--static-dir`; `cargo xtask build` and then `cargo build --release -p backend` make the
/// one binary with the app inside.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let args = strip_separator(args);
    // Quiet: its progress would garble the app build's on the same terminal; errors still show.
    let building = Cmd::cargo(root)
        .env("CLAIMSTREAM_DIST", "")
        .args(["build", "--quiet", "--release", "-p", "backend"])
        .spawn()?;
    install(root)?;
    let dist = crate::web::build(root)?;
    building.wait()?;
    let mut cmd = Cmd::cargo(root).env("CLAIMSTREAM_DIST", "").args([
        "run",
        "--release",
        "-p",
        "backend",
        "--",
    ]);
    if !args.iter().any(|a| a.starts_with("--static-dir")) {
        cmd = cmd.arg("--static-dir").arg(dist);
    }
    cmd.args(args).run()
}

/// `cargo xtask bench`: every bench with its defaults; `bench relay|groups|history|cluster
/// [args]`: one of them, with `args` (a leading `--` is dropped, before the name and after it).
pub fn bench(root: &Path, args: &[String]) -> Result<()> {
    let (examples, args): (&[&str], &[String]) = match strip_separator(args).split_first() {
        None => (
            &["bench", "bench_groups", "bench_history", "bench_cluster"],
            &[],
        ),
        Some((which, rest)) => match which.as_str() {
            "relay" => (&["bench"], strip_separator(rest)),
            "groups" => (&["bench_groups"], strip_separator(rest)),
            "history" => (&["bench_history"], strip_separator(rest)),
            "cluster" => (&["bench_cluster"], strip_separator(rest)),
            other => bail!(
                "unknown bench {other:?}: use `cargo xtask bench` (all), \
                 `cargo xtask bench relay|groups|history|cluster [args]`"
            ),
        },
    };
    install(root)?;
    for example in examples {
        Cmd::cargo(root)
            .args([
                "run",
                "--release",
                "-p",
                "backend",
                "--example",
                example,
                "--",
            ])
            .args(args)
            .run()?;
    }
    Ok(())
}

fn strip_separator(args: &[String]) -> &[String] {
    match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    }
}
