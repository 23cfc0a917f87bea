//! The Rust app of a `<link data-trunk rel="rust">`, built as Trunk builds it in release mode:
//! cargo for wasm32, wasm-bindgen `--target web`, wasm-opt; named after the cargo output's hash.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::page::Link;
use super::{digest, read, tools};
use crate::cmd::Cmd;

/// What a rust link asks for.
pub struct RustApp {
    manifest: String,
    bin: String,
    /// Trunk's `--release` builds `--release` unless the link names a profile.
    profile: String,
    features: Option<String>,
    no_default_features: bool,
    /// `-O<level>`; `0` skips wasm-opt. Trunk's default is wasm-opt's default, `-O`.
    wasm_opt: String,
    /// More of wasm-opt's options, separated by spaces, as Trunk passes them.
    wasm_opt_params: String,
}

/// The app's files in the dist directory.
pub struct Built {
    pub js: String,
    pub wasm: String,
}

impl RustApp {
    pub fn from_link(link: &Link) -> Result<Self> {
        Ok(RustApp {
            manifest: link.get("href").unwrap_or("Cargo.toml").to_owned(),
            bin: link.require("data-bin")?.to_owned(),
            profile: link
                .get("data-cargo-profile")
                .unwrap_or("release")
                .to_owned(),
            features: link.get("data-cargo-features").map(str::to_owned),
            no_default_features: link.get("data-cargo-no-default-features").is_some(),
            wasm_opt: link.get("data-wasm-opt").unwrap_or_default().to_owned(),
            wasm_opt_params: link
                .get("data-wasm-opt-params")
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// Builds the app into `dist`: `<bin>-<hash>.js` and `<bin>-<hash>_bg.wasm`.
    pub fn build(&self, root: &Path, dist: &Path) -> Result<Built> {
        let wasm = self.cargo_build(root)?;
        let base = format!("{}-{}", self.bin, digest::name_hash(&read(&wasm)?));
        let out = wasm.with_file_name("wasm-bindgen");
        tools::wasm_bindgen(&wasm, &out, &self.bin)?;
        let built = Built {
            js: format!("{base}.js"),
            wasm: format!("{base}_bg.wasm"),
        };
        copy(&out.join(format!("{}.js", self.bin)), &dist.join(&built.js))?;
        let bindgen_wasm = out.join(format!("{}_bg.wasm", self.bin));
        if self.wasm_opt == "0" {
            copy(&bindgen_wasm, &dist.join(&built.wasm))?;
        } else {
            tools::wasm_opt(root)
                .arg(format!("--output={}", dist.join(&built.wasm).display()))
                .arg(format!("-O{}", self.wasm_opt))
                .args(self.wasm_opt_params.split_whitespace())
                .arg(&bindgen_wasm)
                .run()?;
        }
        // Inline JS snippets (`#[wasm_bindgen(module = ...)]`), imported by the JS at their path.
        let snippets = out.join("snippets");
        if snippets.is_dir() {
            super::copy_dir(&snippets, &dist.join("snippets"))?;
        }
        Ok(built)
    }

    /// `cargo build` for wasm32; returns the `.wasm` cargo reports having written.
    fn cargo_build(&self, root: &Path) -> Result<PathBuf> {
        let mut cmd = Cmd::cargo(root)
            .args(["build", "--target", "wasm32-unknown-unknown"])
            .args(["--manifest-path", &self.manifest, "--bin", &self.bin])
            .args(["--profile", &self.profile]);
        if self.no_default_features {
            cmd = cmd.arg("--no-default-features");
        }
        if let Some(features) = &self.features {
            cmd = cmd.args(["--features", features]);
        }
        let messages = cmd
            .arg("--message-format=json-render-diagnostics")
            .output()?;
        wasm_artifact(&messages, &self.bin)
    }
}

/// The `.wasm` of the `bin` target among cargo's JSON messages (one per line).
fn wasm_artifact(messages: &str, bin: &str) -> Result<PathBuf> {
    for line in messages.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["target"]["name"] != bin {
            continue;
        }
        let files = msg["filenames"].as_array().into_iter().flatten();
        if let Some(wasm) = files
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"))
        {
            return Ok(PathBuf::from(wasm));
        }
    }
    bail!("cargo built no .wasm for the binary {bin:?}")
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::wasm_artifact;

    #[test]
    fn finds_the_wasm_of_the_bin_among_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"shared"},"filenames":["/t/libshared.rlib"]}
not json
{"reason":"compiler-artifact","target":{"name":"frontend"},"filenames":["/t/wasm32-unknown-unknown/wasm-release/frontend.wasm"]}
{"reason":"build-finished","success":true}"#;
        let wasm = wasm_artifact(messages, "frontend").unwrap();
        assert!(wasm.ends_with("wasm-release/frontend.wasm"));
        assert!(wasm_artifact(messages, "other").is_err());
    }
}
