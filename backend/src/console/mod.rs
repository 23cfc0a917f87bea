//! The learners' stream console: one line in, the reply as `redis-cli` prints it out. Lines
//! are read and checked by `shared::console` (which commands, which arguments are keys); here
//! the keys are mapped into the learner's [`Workspace`], COUNT and BLOCK are capped, the
//! command runs, and common issues get their explanation.

mod caps;
pub mod hints;
mod reply;
pub mod workspace;

use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use shared::api::ConsoleResponse;
use shared::console::{COMMANDS, ConsoleError, Parsed, help, parse_line};
use tokio::sync::Semaphore;

use crate::db::{Db, DbError};
use crate::redis_cli::Trace;
use workspace::Place;
pub use workspace::Workspace;

/// Blocking reads running at once in this relay: each holds a connection of its own.
pub const MAX_BLOCKING: usize = 32;

/// What the console shares between requests.
#[derive(Debug, Clone)]
pub struct Console {
    blocking: Arc<Semaphore>,
}

impl Default for Console {
    fn default() -> Self {
        Self {
            blocking: Arc::new(Semaphore::new(MAX_BLOCKING)),
        }
    }
}

/// A line's answer, and whether Redis could be reached at all.
pub struct Answer {
    pub response: ConsoleResponse,
    pub unavailable: bool,
}

impl Answer {
    fn refused(e: ConsoleError) -> Self {
        Self {
            response: ConsoleResponse {
                reply: format!("(error) ERR {}", e.message),
                error: Some(e.message),
                hint: Some(e.hint),
                redis: Vec::new(),
            },
            unavailable: false,
        }
    }
}

/// Commands that make a workspace take more memory, refused once it is full.
const GROWS: [&str; 4] = [
    "XADD",
    "XGROUP CREATE",
    "XGROUP CREATECONSUMER",
    "XREADGROUP",
];

pub async fn run(db: &Db, console: &Console, workspace: &Workspace, line: &str) -> Answer {
    if let Some(text) = help_text(line) {
        return Answer {
            response: ConsoleResponse {
                reply: text,
                error: None,
                hint: None,
                redis: Vec::new(),
            },
            unavailable: false,
        };
    }
    let mut parsed = match parse_line(line) {
        Ok(parsed) => parsed,
        Err(e) => return Answer::refused(e),
    };
    let notes = caps::apply(&mut parsed);
    let named = match map_keys(&mut parsed, workspace) {
        Ok(named) => named,
        Err(e) => return Answer::refused(e),
    };
    if GROWS.contains(&parsed.spec.name) {
        match room(db, workspace, &parsed, &named).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Answer::refused(e),
            Err(e) => return unavailable(e.to_string()),
        }
    }

    let mut trace = Trace::default();
    let block = caps::block_ms(&parsed);
    let result = match block {
        Some(ms) => blocking(db, console, &mut trace, &parsed.argv, ms).await,
        None => db
            .run::<Value, _>(&mut trace, &parsed.argv)
            .await
            .map_err(Fail::Db),
    };
    let value = match result {
        Ok(value) => value,
        Err(Fail::Db(DbError::Redis(e))) => {
            let code = e.code().unwrap_or("ERR").to_owned();
            let detail = e.detail().unwrap_or_default().to_owned();
            let error = format!("{code} {detail}");
            return Answer {
                response: ConsoleResponse {
                    reply: format!("(error) {error}"),
                    hint: hints::for_error(&code, &detail),
                    error: Some(error),
                    redis: trace.into_commands(),
                },
                unavailable: false,
            };
        }
        Err(Fail::Db(e)) => return unavailable(e.to_string()),
        Err(Fail::Busy(e)) => return Answer::refused(e),
    };

    let own: Vec<(String, String)> = named
        .iter()
        .filter_map(|(typed, place)| match place {
            Place::Own(real) => Some((typed.clone(), real.clone())),
            Place::Demo(_) => None,
        })
        .collect();
    if let Err(e) = workspace.touch(db, &own, parsed.spec.writes).await {
        tracing::warn!(error = %e, "workspace not touched");
    }
    let mut hints = notes;
    if empty(&value) {
        hints.extend(missing(db, &parsed, &named).await);
        if let (Some(ms), true, true) = (block, hints.is_empty(), value == Value::Nil) {
            hints.push(hints::for_timeout(ms));
        }
    }
    let (reply, cut) = caps::cut(reply::format(&value, &|real| workspace.typed(real)));
    hints.extend(cut);
    Answer {
        response: ConsoleResponse {
            reply,
            error: None,
            hint: (!hints.is_empty()).then(|| hints.join("; ")),
            redis: trace.into_commands(),
        },
        unavailable: false,
    }
}

enum Fail {
    Db(DbError),
    Busy(ConsoleError),
}

/// Puts each key's real name in place of the typed one; the class's streams are read only.
fn map_keys(
    parsed: &mut Parsed,
    workspace: &Workspace,
) -> Result<Vec<(String, Place)>, ConsoleError> {
    let mut named = Vec::new();
    for at in parsed.key_positions() {
        let typed = parsed.argv[at].clone();
        let place = workspace
            .place(&typed)
            .map_err(|m| ConsoleError::new(m, "a key without demo: is one of your own"))?;
        if matches!(place, Place::Demo(_)) && parsed.spec.writes {
            return Err(ConsoleError::new(
                format!(
                    "{typed} is the class's shared stream: the console reads it, never changes it ({} changes)",
                    parsed.spec.name
                ),
                format!(
                    "practise on a key of your own, e.g. {}",
                    typed.trim_start_matches("demo:")
                ),
            ));
        }
        parsed.argv[at] = place.real().to_owned();
        named.push((typed, place));
    }
    Ok(named)
}

/// Whether the workspace may grow by this command.
async fn room(
    db: &Db,
    workspace: &Workspace,
    parsed: &Parsed,
    named: &[(String, Place)],
) -> Result<Result<(), ConsoleError>, DbError> {
    let usage = workspace.usage(db).await?;
    let total: u64 = usage.iter().map(|(_, b)| b).sum();
    if total >= workspace::MAX_BYTES {
        return Ok(Err(ConsoleError::new(
            format!(
                "your workspace holds {total} bytes, its most is {} KB",
                workspace::MAX_BYTES / 1024
            ),
            "free room with XTRIM, XDEL or DEL, then try again",
        )));
    }
    let new = named
        .iter()
        .filter(|(typed, _)| !usage.iter().any(|(k, _)| k == typed))
        .count();
    if matches!(parsed.spec.name, "XADD" | "XGROUP CREATE")
        && new > 0
        && usage.len() + new > workspace::MAX_KEYS
    {
        return Ok(Err(ConsoleError::new(
            format!(
                "your workspace has {} keys, its most is {}",
                usage.len(),
                workspace::MAX_KEYS
            ),
            "DEL a key you no longer need",
        )));
    }
    Ok(Ok(()))
}

/// A blocking read on a connection of its own, so it holds up no one else.
async fn blocking(
    db: &Db,
    console: &Console,
    trace: &mut Trace,
    argv: &[String],
    ms: u64,
) -> Result<Value, Fail> {
    let Ok(_permit) = console.blocking.try_acquire() else {
        return Err(Fail::Busy(ConsoleError::new(
            format!("{MAX_BLOCKING} blocking reads are waiting in this relay already"),
            "try again in a moment, or read without BLOCK",
        )));
    };
    let mut conn = db
        .dedicated_connection(Duration::from_millis(ms + 2000))
        .await
        .map_err(Fail::Db)?;
    trace.record(argv);
    let mut cmd = redis::cmd(&argv[0]);
    for a in &argv[1..] {
        cmd.arg(a);
    }
    cmd.query_async(&mut conn)
        .await
        .map_err(|e| Fail::Db(db.classify(e)))
}

fn empty(value: &Value) -> bool {
    match value {
        Value::Nil | Value::Int(0) => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The hint for reading a stream that is not there.
async fn missing(db: &Db, parsed: &Parsed, named: &[(String, Place)]) -> Option<String> {
    let reads = matches!(
        parsed.spec.name,
        "XRANGE" | "XREVRANGE" | "XREAD" | "XREADGROUP" | "XLEN" | "XPENDING"
    );
    let (typed, place) = named.first().filter(|_| reads)?;
    let exists: bool = db
        .run(&mut Trace::off(), &["EXISTS", place.real()])
        .await
        .ok()?;
    (!exists).then(|| hints::for_missing_stream(typed))
}

/// The answer when Redis cannot be reached.
pub fn unavailable(error: String) -> Answer {
    Answer {
        response: ConsoleResponse {
            reply: format!("(error) {error}"),
            error: Some(error),
            hint: Some(hints::for_unavailable()),
            redis: Vec::new(),
        },
        unavailable: true,
    }
}

/// `HELP` lists every command; `HELP XADD` gives one's usage.
fn help_text(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("HELP") {
        return None;
    }
    let asked: Vec<&str> = words.collect();
    if asked.is_empty() {
        let lines: Vec<String> = COMMANDS
            .iter()
            .map(|c| format!("{:<22} {}", c.name, c.summary))
            .collect();
        return Some(format!(
            "{}\nKeys you name are your workspace's own; demo:claims:events (and demo:claims:failed, \
             demo:claims:analytics, demo:claims:notifications) are the class's, read only.",
            lines.join("\n")
        ));
    }
    Some(match help(&asked.join(" ")) {
        Some(c) => format!("{}\n{}", c.usage, c.summary),
        None => format!(
            "no command {} in the console; HELP lists them",
            asked.join(" ")
        ),
    })
}
