//! The size budget of the first load: what a browser downloads to show the page (index.html,
//! the JS, the wasm, the CSS), counted brotli-compressed as a compressing relay sends it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The first load must stay under this, brotli (quality 11), all files together.
const BUDGET_BYTES: usize = 400 * 1024;
/// The files of `dist/` a first visit downloads.
const FIRST_LOAD: [&str; 4] = ["html", "js", "wasm", "css"];

/// One file's size: raw, gzip -9, brotli -q 11.
#[derive(Default)]
struct Sizes {
    raw: usize,
    gzip: usize,
    brotli: usize,
}

/// Prints raw, gzip and brotli sizes of the first load, per file and in total; fails if the
/// brotli total is over budget.
pub fn check_size(dist: &Path) -> Result<()> {
    let mut total = Sizes::default();
    for file in first_load(dist)? {
        let sizes = Sizes {
            raw: std::fs::metadata(&file)?.len() as usize,
            gzip: compressed("gzip", &["-9", "-c"], &file)?,
            brotli: compressed("brotli", &["-q", "11", "-c"], &file)?,
        };
        print_row(
            &file.file_name().unwrap_or_default().to_string_lossy(),
            &sizes,
        );
        total.raw += sizes.raw;
        total.gzip += sizes.gzip;
        total.brotli += sizes.brotli;
    }
    print_row("first load", &total);
    println!("budget: {} KB brotli", BUDGET_BYTES / 1024);
    if total.brotli > BUDGET_BYTES {
        bail!(
            "the first load is {} KB brotli, over the {} KB budget",
            total.brotli / 1024,
            BUDGET_BYTES / 1024
        );
    }
    Ok(())
}

fn print_row(name: &str, s: &Sizes) {
    let kb = |bytes: usize| bytes as f64 / 1024.0;
    println!(
        "{name:>40}: {:>7.1} KB raw {:>6.1} KB gzip {:>6.1} KB brotli",
        kb(s.raw),
        kb(s.gzip),
        kb(s.brotli)
    );
}

/// The first-load files at the top of `dist/`, sorted by name.
fn first_load(dist: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dist)
        .with_context(|| format!("reading {}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| FIRST_LOAD.iter().any(|ext| x == *ext))
        })
        .collect();
    files.sort();
    if !files
        .iter()
        .any(|f| f.extension().is_some_and(|x| x == "wasm"))
    {
        bail!("no .wasm in {}: build the app first", dist.display());
    }
    Ok(files)
}

/// The size of `file` compressed by `program` with `args` (which write to standard output).
fn compressed(program: &str, args: &[&str], file: &Path) -> Result<usize> {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .with_context(|| {
            format!("running {program}: install it (`sudo apt-get install -y {program}`)")
        })?;
    if !out.status.success() {
        bail!("{program} failed on {}", file.display());
    }
    Ok(out.stdout.len())
}

#[cfg(test)]
mod tests {
    use super::{BUDGET_BYTES, check_size};

    /// Bytes no compressor can shrink.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn the_budget_counts_the_whole_first_load_in_brotli_bytes() {
        let dir = std::env::temp_dir().join(format!("xtask-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).unwrap();
        // Far over the budget raw, a few bytes compressed.
        write("index.html", vec![b' '; BUDGET_BYTES]);
        write("app_bg.wasm", vec![0; 2 * BUDGET_BYTES]);
        // Not part of the first load: not counted.
        write("logo.png", noise(2 * BUDGET_BYTES, 7));
        let compressible = check_size(&dir);
        // Each under the budget, together just over it.
        write("app.js", noise(BUDGET_BYTES / 2 + 1024, 1));
        write("style.css", noise(BUDGET_BYTES / 2, 2));
        let over = check_size(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(compressible.is_ok(), "{compressible:?}");
        assert!(over.is_err());
    }
}
