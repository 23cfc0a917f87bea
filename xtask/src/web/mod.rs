//! The browser app, built from index.html into `dist/` the way `trunk build --release` does
//! (same files, names and page), without Trunk: cargo, wasm-bindgen and wasm-opt, driven here.

mod app;
mod digest;
mod page;
mod size;
mod tools;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use size::check_size;
pub use tools::install;

/// Where the page is read from and the app written to, as in Trunk.toml.
const INDEX: &str = "index.html";
const DIST: &str = "dist";
/// Built first, then swapped in, so a failed build leaves the last good `dist/` whole.
const STAGE: &str = ".stage";

/// Builds the app into `dist/` and returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    let index = root.join(INDEX);
    let html =
        std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let dist = root.join(DIST);
    let stage = dist.join(STAGE);
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    std::fs::create_dir_all(&stage).with_context(|| format!("creating {}", stage.display()))?;

    let mut replaced = Vec::new();
    let mut preloads = String::new();
    for link in page::trunk_links(&html)? {
        let text = match link.rel() {
            "rust" => {
                if !preloads.is_empty() {
                    bail!("index.html: the xtask builds one rust app, this page has two");
                }
                let built = app::RustApp::from_link(&link)?.build(root, &stage)?;
                preloads = page::preloads(
                    &built.js,
                    &digest::integrity(&read(&stage.join(&built.js))?),
                    &built.wasm,
                    &digest::integrity(&read(&stage.join(&built.wasm))?),
                );
                page::module_script(&built.js, &built.wasm)
            }
            "css" => css(&root.join(link.require("href")?), &stage)?,
            "copy-file" => {
                let file = root.join(link.require("href")?);
                std::fs::copy(&file, stage.join(file_name(&file)?))
                    .with_context(|| format!("copying {}", file.display()))?;
                String::new()
            }
            _ /* copy-dir */ => {
                let dir = root.join(link.require("href")?);
                copy_dir(&dir, &stage.join(file_name(&dir)?))?;
                String::new()
            }
        };
        replaced.push((link.span, text));
    }
    let html = page::rewrite(&html, &replaced, &preloads)?;
    std::fs::write(stage.join(INDEX), html)?;
    swap_in(&stage, &dist)?;
    println!("built: {}", dist.display());
    Ok(dist)
}

/// Copies a stylesheet as `<stem>-<hash>.css`; returns its `<link rel="stylesheet">`.
fn css(file: &Path, stage: &Path) -> Result<String> {
    let bytes = read(file)?;
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    let name = format!("{stem}-{}.css", digest::name_hash(&bytes));
    std::fs::write(stage.join(&name), &bytes)?;
    Ok(page::stylesheet(&name, &digest::integrity(&bytes)))
}

/// Replaces everything in `dist` but the stage with the stage's content.
fn swap_in(stage: &Path, dist: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        if path == stage {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    for entry in std::fs::read_dir(stage)? {
        let entry = entry?;
        std::fs::rename(entry.path(), dist.join(entry.file_name()))?;
    }
    std::fs::remove_dir(stage)?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> Result<&std::ffi::OsStr> {
    path.file_name()
        .with_context(|| format!("index.html: {} names no file", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
