//! Running one of the learner's programs (Node.js, Python) against a real Redis, bounded in
//! time: its standard output, or a failure that shows its standard error.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// Runs `program args` in `dir` with `REDIS_URL`, `input` on its standard input.
pub(crate) async fn run(
    program: &Path,
    args: &[&str],
    dir: &Path,
    redis_url: &str,
    input: &[u8],
) -> Vec<u8> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("REDIS_URL", redis_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
    let mut stdin = child.stdin.take().expect("a piped stdin");
    stdin
        .write_all(input)
        .await
        .expect("the program reads its input");
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{} {args:?} finishes within 60 s", program.display()))
        .expect("the program's output");
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs a driver that takes a JSON array of code snippets and prints one
/// `{"error": null | "..."}` per snippet: each snippet's error, if it had one.
pub(crate) async fn snippets(
    program: &Path,
    script: &str,
    dir: &Path,
    redis_url: &str,
    code: &[String],
) -> Vec<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Ran {
        error: Option<String>,
    }
    let input = serde_json::to_vec(code).expect("snippets as JSON");
    let out = run(program, &[script], dir, redis_url, &input).await;
    let ran: Vec<Ran> = serde_json::from_slice(&out).expect("the driver prints JSON");
    assert_eq!(ran.len(), code.len(), "one result per snippet");
    ran.into_iter().map(|r| r.error).collect()
}
