//! Builds the browser app into the relay: when `dist/` (Trunk's output, or the directory named
//! by `CLAIMSTREAM_DIST`) has an `index.html`, every file in it is embedded with
//! `include_bytes!`, so the `backend` binary alone serves the app. Without one the relay is
//! built without the app (a debug build, `cargo clippy` and `cargo test` never need it) and
//! serves from `--static-dir` only.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CLAIMSTREAM_DIST");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = match std::env::var_os("CLAIMSTREAM_DIST") {
        // Set and empty: no app inside, on purpose (`cargo xtask run` serves dist/ with
        // --static-dir and builds the relay while the app builds).
        Some(dir) if dir.is_empty() => None,
        Some(dir) => Some(manifest.join(dir)),
        None => Some(manifest.join("../dist")),
    };
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let mut files = Vec::new();
    match dist {
        Some(dist) if dist.join("index.html").is_file() => {
            // A directory is scanned whole: any file changed, added or removed rebuilds the
            // relay.
            println!("cargo:rerun-if-changed={}", dist.display());
            collect(&dist, &dist, 0, &mut files);
            files.sort();
        }
        Some(dist) if release => {
            // A missing path keeps the build script running on every release build, so the
            // first one after `cargo xtask build` embeds the app; debug builds stay
            // incremental without it.
            println!("cargo:rerun-if-changed={}", dist.display());
            println!(
                "cargo:warning=no app in {}: this relay is built without the browser app (run `cargo xtask build` first, or serve one with --static-dir)",
                dist.display()
            );
        }
        _ => {}
    }
    let mut code = String::from(
        "/// The built app's files: path under `dist/` (with `/`), contents.\n\
         pub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("app.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

/// Every regular file under `dir`, as (its path relative to `root` with `/`, its absolute path).
fn collect(root: &Path, dir: &Path, depth: usize, files: &mut Vec<(String, PathBuf)>) {
    assert!(depth < 16, "{} is nested too deep", dir.display());
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // Trunk's staging directory and editors' dot files are not the app.
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, depth + 1, files);
        } else if path.is_file() {
            let relative = path.strip_prefix(root).expect("under root");
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = path.canonicalize().expect("an existing file");
            files.push((key, absolute));
        }
    }
}
