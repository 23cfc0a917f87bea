//! Project tasks, run as `cargo xtask <command>` (see `.cargo/config.toml`).

mod cmd;
mod install;
mod run;
mod test;
mod web;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args...]

commands:
  install   install what running needs and is missing: redis, the wasm32 target, wasm-opt
  test      install that and what testing needs (chromium + chromedriver, brotli, rustfmt, clippy),
            then fmt check, clippy -D warnings, wasm build of shared, the browser app (as run
            builds it; first-load size budget), cargo test [args]
  build     install, build the browser app into dist/ (as `trunk build --release` would)
  run       install, build the browser app into dist/, run the relay in release mode serving it
            [relay args]
  bench     install, then run every bench of the relay in release mode; bench relay|groups|history|cluster [args]
            runs one; bench page [--hold N] [--burst N] [--profile FILE]: the built app in headless Chromium
            taking in a burst of the live feed (intake, last XADD to shown, longest main-thread task, JS heap)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let root = workspace_root();
    let result = match command.as_str() {
        "install" => install::install(&root),
        "test" => test::test(&root, rest),
        "build" => install::install(&root).and_then(|()| web::build(&root).map(drop)),
        "run" => run::run(&root, rest),
        "bench" => run::bench(&root, rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("unknown command: {other}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}
