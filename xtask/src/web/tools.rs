//! The two programs the build runs on the app: wasm-bindgen, linked into the xtask at the
//! version Cargo.lock pins for the app (cargo refuses two 0.2 versions, so they cannot drift),
//! and wasm-opt 132 from npm's binaryen under `.tools/` (Debian's wasm-opt 108 yields a blank
//! page: never use it).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cmd::Cmd;

const BINARYEN_VERSION: &str = "132.0.0";
/// What `wasm-opt --version` prints for it.
const WASM_OPT_VERSION: &str = "version_132";

/// Where npm-installed tools live, inside the checkout (git-ignored).
fn tools_dir(root: &Path) -> PathBuf {
    root.join(".tools")
}

fn wasm_opt_path(root: &Path) -> PathBuf {
    tools_dir(root).join("node_modules/.bin/wasm-opt")
}

/// `wasm-opt`, the pinned one.
pub fn wasm_opt(root: &Path) -> Cmd {
    Cmd::new(wasm_opt_path(root))
}

/// Installs wasm-opt (wasm-bindgen comes with the xtask).
pub fn install(root: &Path) -> Result<()> {
    let version = wasm_opt(root).arg("--version").probe();
    if version
        .as_deref()
        .is_some_and(|v| v.contains(WASM_OPT_VERSION))
    {
        println!("ok: wasm-opt {WASM_OPT_VERSION} (already installed)");
        return Ok(());
    }
    if Cmd::new("npm").arg("--version").probe().is_none() {
        anyhow::bail!(
            "wasm-opt comes from npm's binaryen {BINARYEN_VERSION}, and npm is missing: \
             install it (`sudo apt-get install -y npm`) and run again"
        );
    }
    Cmd::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(tools_dir(root))
        .arg(format!("binaryen@{BINARYEN_VERSION}"))
        .run()?;
    println!("installed: wasm-opt {WASM_OPT_VERSION}");
    Ok(())
}

/// `wasm-bindgen --target web --no-typescript --out-dir out --out-name name wasm`.
pub fn wasm_bindgen(wasm: &Path, out: &Path, name: &str) -> Result<()> {
    println!("$ wasm-bindgen --target web {} (linked in)", wasm.display());
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)?
        .typescript(false)
        // As the CLI does by default: the JS also finds the wasm next to itself.
        .omit_default_module_path(false)
        .out_name(name)
        .generate(out)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))
}
