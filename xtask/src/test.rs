//! `cargo xtask test`: the checks CI runs, in order, stopping at the first failure.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::cmd::Cmd;
use crate::install::install_for_tests;

/// `test_args` go to `cargo test`, e.g. `-- --nocapture`.
pub fn test(root: &Path, test_args: &[String]) -> Result<()> {
    step("install", || install_for_tests(root))?;
    step("fmt", || {
        Cmd::cargo(root)
            .args(["fmt", "--all", "--", "--check"])
            .run()
    })?;
    step("clippy", || {
        Cmd::cargo(root)
            .args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .run()
    })?;
    // `shared` must stay free of I/O: building it alone for the browser proves it. The
    // frontend is built for the browser by the next step.
    step("wasm build of shared", || {
        Cmd::cargo(root)
            .args(["build", "-p", "shared"])
            .args(["--target", "wasm32-unknown-unknown"])
            .run()
    })?;
    // Built as `cargo xtask run` builds it; the browser suite loads this `dist/`.
    step("frontend", || {
        let dist = crate::web::build(root)?;
        crate::web::check_size(&dist)
    })?;
    step("test", || {
        Cmd::cargo(root)
            .args(["test", "--workspace"])
            .args(test_args)
            .run()
    })
}

/// Prints a heading, runs `f`, prints how long it took.
fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("==> {name}");
    let start = Instant::now();
    let result = f();
    let secs = start.elapsed().as_secs_f64();
    let outcome = if result.is_ok() { "ok" } else { "FAILED" };
    println!("<== {name}: {outcome} in {secs:.1}s");
    result.with_context(|| format!("step `{name}` failed"))
}
