//! `cargo xtask install`: installs what running the app needs (and `cargo xtask test`, what
//! testing it needs too), skipping quickly what is present.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cmd::Cmd;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// What `cargo xtask run` needs: Redis, the wasm32 target and wasm-opt (wasm-bindgen is
/// linked into the xtask).
pub fn install(root: &Path) -> Result<()> {
    system_packages(&RUN)?;
    wasm_target()?;
    crate::web::install(root)
}

/// What `cargo xtask test` needs on top: the browser suite's, the size budget's, the linters.
pub fn install_for_tests(root: &Path) -> Result<()> {
    install(root)?;
    system_packages(&TEST)?;
    node_packages(&root.join("test-support/node"))?;
    python_packages(&root.join("test-support/python"))?;
    rustup_components(root)
}

/// The npm packages the lab's own Node.js code uses (node-redis v4), as its lockfile pins
/// them: installed again only when the lockfile is newer than the install.
fn node_packages(dir: &Path) -> Result<()> {
    let installed = dir.join("node_modules/.package-lock.json");
    let lock = dir.join("package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(installed), Some(lock)) = (modified(&installed), modified(&lock))
        && installed >= lock
    {
        println!("ok: npm packages in {} (already installed)", dir.display());
        return Ok(());
    }
    Cmd::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .run()
}

/// redis-py, for the tests that run the console's Python snippets, in a virtual environment
/// of its own: installed again only when `requirements.txt` is newer than the install.
fn python_packages(dir: &Path) -> Result<()> {
    let venv = dir.join(".venv");
    let installed = venv.join("installed");
    let requirements = dir.join("requirements.txt");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(installed), Some(requirements)) = (modified(&installed), modified(&requirements))
        && installed >= requirements
    {
        println!(
            "ok: Python packages in {} (already installed)",
            venv.display()
        );
        return Ok(());
    }
    Cmd::new("python3").args(["-m", "venv"]).arg(&venv).run()?;
    Cmd::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements)
        .run()?;
    std::fs::write(&installed, "")?;
    Ok(())
}

/// Programs from Debian packages: (program, package).
const RUN: [(&str, &str); 2] = [
    ("redis-server", "redis-server"),
    ("redis-cli", "redis-tools"),
];
const TEST: [(&str, &str); 6] = [
    ("chromium", "chromium"),
    // The lab's own Node.js code runs in the API tests (`test_support::node`).
    ("node", "nodejs"),
    ("npm", "npm"),
    // The console's Python snippets run in the API tests (`test_support::python`).
    ("python3", "python3-venv"),
    ("chromedriver", "chromium-driver"),
    // The first load's budget is measured brotli-compressed (`web::check_size`).
    ("brotli", "brotli"),
];

fn system_packages(wanted: &[(&str, &str)]) -> Result<()> {
    let mut missing = Vec::new();
    for &(program, package) in wanted {
        match program_version(program) {
            Some(v) => println!("ok: {program} {v} (already installed)"),
            None => missing.push(package),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let uid = Cmd::new("id").arg("-u").probe();
    if uid.as_deref() != Some("0") {
        bail!(
            "missing programs; install them with:\n    sudo apt-get install -y {}",
            missing.join(" ")
        );
    }
    let apt = || Cmd::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive");
    apt().arg("update").run()?;
    apt()
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .run()?;
    for &(program, package) in wanted {
        if missing.contains(&package) {
            let Some(v) = program_version(program) else {
                bail!("apt-get installed {package}, but {program} is still not on PATH");
            };
            println!("installed: {program} {v}");
        }
    }
    Ok(())
}

/// The version a program prints, e.g. `Redis server v=7.0.15 sha=...` -> `7.0.15`,
/// `Chromium 156.0.8078.73 built on Debian` -> `156.0.8078.73`.
fn program_version(program: &str) -> Option<String> {
    let out = Cmd::new(program).arg("--version").probe()?;
    let word = out
        .split_whitespace()
        .map(|w| w.trim_start_matches("v="))
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or(&out);
    Some(word.to_owned())
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

/// The `wasm32-unknown-unknown` target, for the browser app.
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
