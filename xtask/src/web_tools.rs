//! What building the browser app needs, at versions known to work offline: Trunk, the
//! wasm-bindgen CLI matching Cargo.lock, and wasm-opt 132 from npm's binaryen (Debian's
//! wasm-opt 108 produces a blank page). Also the build itself and its size budget.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd::Cmd;

const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132.0.0";
/// Trunk.toml pins wasm-opt to this.
const WASM_OPT_VERSION: &str = "version_132";
/// Size the release `.wasm` must stay under once brotli-compressed (quality 11): what a
/// browser receives from a relay that compresses. Gzip's figure is printed beside it.
const WASM_BUDGET_BYTES: usize = 400 * 1024;

/// Where npm-installed tools live, inside the checkout (git-ignored).
fn tools_dir(root: &Path) -> PathBuf {
    root.join(".tools")
}

fn wasm_opt(root: &Path) -> PathBuf {
    tools_dir(root).join("node_modules/.bin/wasm-opt")
}

pub fn install(root: &Path) -> Result<()> {
    trunk(root)?;
    wasm_bindgen(root)?;
    binaryen(root)
}

fn trunk(root: &Path) -> Result<()> {
    let version = Cmd::new("trunk").arg("--version").probe();
    if version.as_deref() == Some(&format!("trunk {TRUNK_VERSION}")) {
        println!("ok: trunk {TRUNK_VERSION} (already installed)");
        return Ok(());
    }
    // Trunk 0.22 needs a newer rustc than this toolchain; 0.21.14 builds on it.
    Cmd::cargo(root)
        .args(["install", "--locked", "trunk", "--version", TRUNK_VERSION])
        .run()?;
    println!("installed: trunk {TRUNK_VERSION}");
    Ok(())
}

/// The wasm-bindgen version Cargo.lock pins; the CLI must match it exactly.
fn locked_wasm_bindgen(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == r#"name = "wasm-bindgen""#
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

fn wasm_bindgen(root: &Path) -> Result<()> {
    let wanted = locked_wasm_bindgen(root)?;
    let version = Cmd::new("wasm-bindgen").arg("--version").probe();
    if version.as_deref() == Some(&format!("wasm-bindgen {wanted}")) {
        println!("ok: wasm-bindgen {wanted} (already installed)");
        return Ok(());
    }
    // Not --locked: its own lockfile pins a crate release the registry no longer serves.
    Cmd::cargo(root)
        .args([
            "install",
            "--force",
            "wasm-bindgen-cli",
            "--version",
            &wanted,
        ])
        .run()?;
    println!("installed: wasm-bindgen {wanted}");
    Ok(())
}

fn binaryen(root: &Path) -> Result<()> {
    let version = Cmd::new(wasm_opt(root)).arg("--version").probe();
    if version
        .as_deref()
        .is_some_and(|v| v.contains(WASM_OPT_VERSION))
    {
        println!("ok: wasm-opt {WASM_OPT_VERSION} (already installed)");
        return Ok(());
    }
    Cmd::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(tools_dir(root))
        .arg(format!("binaryen@{BINARYEN_VERSION}"))
        .run()?;
    println!("installed: wasm-opt {WASM_OPT_VERSION}");
    Ok(())
}

/// `trunk build --release` into `dist/`, offline so nothing is downloaded behind our back.
pub fn build(root: &Path) -> Result<PathBuf> {
    Cmd::cargo(root).args(["fetch", "--quiet"]).run()?;
    let bin = tools_dir(root).join("node_modules/.bin");
    let path = std::env::var("PATH").unwrap_or_default();
    Cmd::new("trunk")
        .current(root)
        .env("PATH", &format!("{}:{path}", bin.display()))
        .args(["build", "--release", "--offline"])
        .run()?;
    Ok(root.join("dist"))
}

/// The size of `file` compressed by `program` with `args` (which write to standard output).
fn compressed(program: &str, args: &[&str], file: &Path) -> Result<usize> {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .with_context(|| format!("running {program} (`cargo xtask install` installs it)"))?;
    if !out.status.success() {
        bail!("{program} failed on {}", file.display());
    }
    Ok(out.stdout.len())
}

/// Fails if the release `.wasm` in `dist/` is over budget once brotli-compressed; prints the
/// raw, gzip and brotli figures.
pub fn check_size(dist: &Path) -> Result<()> {
    let wasm = std::fs::read_dir(dist)
        .with_context(|| format!("reading {}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .context("no .wasm in dist/")?;
    let raw = std::fs::metadata(&wasm)?.len();
    let gzipped = compressed("gzip", &["-9", "-c"], &wasm)?;
    let brotli = compressed("brotli", &["-q", "11", "-c"], &wasm)?;
    println!(
        "wasm size: {} KB raw, {} KB gzipped, {} KB brotli (budget {} KB brotli)",
        raw / 1024,
        gzipped / 1024,
        brotli / 1024,
        WASM_BUDGET_BYTES / 1024
    );
    if brotli > WASM_BUDGET_BYTES {
        bail!("{} is over the size budget", wasm.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{WASM_BUDGET_BYTES, check_size};

    #[test]
    fn the_budget_counts_brotli_bytes() {
        let dir = std::env::temp_dir().join(format!("xtask-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = dir.join("app_bg.wasm");
        // Far over the budget raw, a few bytes compressed.
        std::fs::write(&wasm, vec![0u8; 2 * WASM_BUDGET_BYTES]).unwrap();
        assert!(check_size(&dir).is_ok());
        // Bytes no compressor can shrink, just over the budget.
        let mut x: u64 = 1;
        let noise: Vec<u8> = (0..WASM_BUDGET_BYTES + 1024)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        std::fs::write(&wasm, noise).unwrap();
        let over = check_size(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(over.is_err());
    }
}
