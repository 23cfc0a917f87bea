//! `cargo xtask install`: installs what is missing, skips quickly what is present.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cmd::Cmd;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

pub fn install(root: &Path) -> Result<()> {
    redis()?;
    rustup_components(root)?;
    wasm_target()
}

/// `redis-server` and `redis-cli`, from the Debian packages `redis-server` and `redis-tools`.
fn redis() -> Result<()> {
    let (server, cli) = (redis_server_version(), redis_cli_version());
    if let (Some(server), Some(cli)) = (&server, &cli) {
        println!("ok: redis-server {server} (already installed)");
        println!("ok: redis-cli {cli} (already installed)");
        return Ok(());
    }
    let uid = Cmd::new("id").arg("-u").probe();
    if uid.as_deref() != Some("0") {
        bail!(
            "redis-server and redis-cli are needed but {} not on PATH; install them with:\n    \
             sudo apt-get install -y redis-server redis-tools",
            match (server, cli) {
                (None, None) => "are",
                (None, _) => "redis-server is",
                _ => "redis-cli is",
            }
        );
    }
    let apt = || Cmd::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive");
    apt().arg("update").run()?;
    apt()
        .args(["install", "-y", "--no-install-recommends"])
        .args(["redis-server", "redis-tools"])
        .run()?;
    let (Some(server), Some(cli)) = (redis_server_version(), redis_cli_version()) else {
        bail!("apt-get installed redis-server and redis-tools, but they are still not on PATH");
    };
    println!("installed: redis-server {server}");
    println!("installed: redis-cli {cli}");
    Ok(())
}

/// `Redis server v=7.0.15 sha=...` -> `7.0.15`.
fn redis_server_version() -> Option<String> {
    let out = Cmd::new("redis-server").arg("--version").probe()?;
    Some(version_after(&out, "v=").unwrap_or(out))
}

/// `redis-cli 7.0.15` -> `7.0.15`.
fn redis_cli_version() -> Option<String> {
    let out = Cmd::new("redis-cli").arg("--version").probe()?;
    Some(version_after(&out, "redis-cli ").unwrap_or(out))
}

fn version_after(text: &str, prefix: &str) -> Option<String> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    rest.split_whitespace().next().map(str::to_string)
}

/// `rustfmt` and `clippy`, checked through the cargo subcommands they provide.
fn rustup_components(root: &Path) -> Result<()> {
    let version = |subcommand: &str| {
        let out = Cmd::cargo(root).args([subcommand, "--version"]).probe()?;
        // `rustfmt 1.8.0-stable (...)` -> `1.8.0-stable`
        out.split_whitespace().nth(1).map(str::to_string)
    };
    let mut missing = Vec::new();
    for (component, subcommand) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        match version(subcommand) {
            Some(v) => println!("ok: {component} {v} (already installed)"),
            None => missing.push((component, subcommand)),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Cmd::new("rustup")
        .args(["component", "add"])
        .args(missing.iter().map(|(component, _)| component))
        .run()?;
    for (component, subcommand) in missing {
        let v = version(subcommand).unwrap_or_else(|| "(version unknown)".into());
        println!("installed: {component} {v}");
    }
    Ok(())
}

/// The `wasm32-unknown-unknown` target, so `shared` can be built for the browser.
fn wasm_target() -> Result<()> {
    let installed = Cmd::new("rustup")
        .args(["target", "list", "--installed"])
        .probe()
        .is_some_and(|list| list.lines().any(|line| line.trim() == WASM_TARGET));
    if installed {
        println!("ok: target {WASM_TARGET} (already installed)");
        return Ok(());
    }
    Cmd::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .run()?;
    println!("installed: target {WASM_TARGET}");
    Ok(())
}
