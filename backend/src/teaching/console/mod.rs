//! The learners' stream console: one line in, the reply as `redis-cli` prints it out. Lines
//! are read, checked and capped by `shared::console` (which commands, which arguments are
//! keys, COUNT, BLOCK and the reply's worst case); here the keys are mapped into the
//! learner's [`Workspace`], its caps are reserved ([`accounting`]), blocking reads get their
//! fair share of the relay's connections, the command runs, common issues get their
//! explanation, and the line is kept among the workspace's recent ones with any misconception
//! it shows ([`mistakes`]). Knows nothing of HTTP.

mod accounting;
pub mod hints;
pub mod mistakes;
mod reply;
pub mod telemetry;
pub mod workspace;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use shared::api::ConsoleResponse;
use shared::console::caps::{self, CLASS_ENTRY_BYTES, KeyBound};
use shared::console::{COMMANDS, ConsoleError, Parsed, help, parse_line};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::store::cli;
use crate::store::clock::Clock;
use crate::store::db::{Db, DbError};
use crate::store::trace::Trace;
use telemetry::Refusal;
use workspace::Place;
pub use workspace::{Workspace, WorkspaceError};

/// The console's limits: per learner (a workspace), per client address and in all (the
/// defaults are the flags', `config.rs`).
#[derive(Debug, Clone, Copy)]
pub struct ConsoleLimits {
    /// Workspaces the relay holds at once.
    pub max_workspaces: u64,
    /// When the relay holds `max_workspaces`, the least recently used one goes if it has been
    /// idle this long; otherwise a new one is refused.
    pub evict_idle: Duration,
    /// Workspaces one client address may make in a burst (a class behind one NAT address) ...
    pub workspace_burst: u32,
    /// ... and then per minute.
    pub workspaces_per_minute: u32,
    /// Blocking reads at once in this relay, each on a Redis connection of its own ...
    pub blocking: usize,
    /// ... and per workspace.
    pub blocking_per_workspace: usize,
    /// Lines one workspace may send per second ...
    pub lines_per_second: u32,
    /// ... and in a burst.
    pub line_burst: u32,
    /// A learner on one lab task this long, typing, without it turning done, is offered the
    /// generic hint ([`mistakes::STUCK`]).
    pub stuck_after: Duration,
}

/// What the console shares between requests.
#[derive(Debug, Clone)]
pub struct Console {
    limits: ConsoleLimits,
    clock: Clock,
    blocking: Arc<Semaphore>,
    /// Blocking reads running per workspace.
    blocking_by_workspace: Arc<Mutex<HashMap<String, usize>>>,
    /// Workspaces made per client address.
    creations: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Lines sent per workspace.
    lines: Arc<DefaultKeyedRateLimiter<String>>,
}

impl Console {
    pub fn new(limits: ConsoleLimits, clock: Clock) -> Self {
        let per_minute =
            std::num::NonZeroU32::new(limits.workspaces_per_minute.max(1)).expect("at least 1");
        let burst = std::num::NonZeroU32::new(limits.workspace_burst.max(1)).expect("at least 1");
        let lines = std::num::NonZeroU32::new(limits.lines_per_second.max(1)).expect("at least 1");
        let line_burst = std::num::NonZeroU32::new(limits.line_burst.max(1)).expect("at least 1");
        Self {
            limits,
            clock,
            blocking: Arc::new(Semaphore::new(limits.blocking)),
            blocking_by_workspace: Arc::default(),
            creations: Arc::new(RateLimiter::keyed(
                Quota::per_minute(per_minute).allow_burst(burst),
            )),
            lines: Arc::new(RateLimiter::keyed(
                Quota::per_second(lines).allow_burst(line_burst),
            )),
        }
    }

    pub fn limits(&self) -> ConsoleLimits {
        self.limits
    }

    /// A new workspace for a learner at `client`: 429 past the address's share, 503 when the
    /// relay holds as many as it may and none has been idle long enough to make room.
    pub async fn create_workspace(
        &self,
        db: &Db,
        client: IpAddr,
        trace: &mut Trace,
    ) -> Result<Workspace, WorkspaceError> {
        if let Err(wait) = self.creations.check_key(&client) {
            let secs = seconds_until(&wait);
            let ConsoleLimits {
                workspace_burst,
                workspaces_per_minute,
                ..
            } = self.limits;
            return Err(WorkspaceError::TooMany {
                code: "too_many_workspaces",
                message: format!(
                    "your address made {workspace_burst} workspaces in a short while, its most \
                     (then {workspaces_per_minute} a minute); a browser keeps its workspace, so \
                     reload rather than clearing it; try again in {secs} s"
                ),
                retry_after_secs: secs,
            });
        }
        if self.creations.len() > 10_000 {
            self.creations.retain_recent();
        }
        workspace::create(db, self.clock.now(), &self.limits, trace).await
    }

    /// Whether the workspace may send a line now: 429 past its share, so one learner's flood
    /// leaves the address's write budget to the rest of the class.
    pub fn line_allowed(&self, workspace: &Workspace) -> Result<(), WorkspaceError> {
        let Err(wait) = self.lines.check_key(&workspace.id().to_owned()) else {
            if self.lines.len() > 10_000 {
                self.lines.retain_recent();
            }
            return Ok(());
        };
        let secs = seconds_until(&wait);
        telemetry::refused(Refusal::Rate);
        let ConsoleLimits {
            lines_per_second,
            line_burst,
            ..
        } = self.limits;
        Err(WorkspaceError::TooMany {
            code: "rate_limited",
            message: format!(
                "your workspace sent {line_burst} lines in a short while, its most (then \
                 {lines_per_second} a second); try again in {secs} s"
            ),
            retry_after_secs: secs,
        })
    }

    /// A place among the blocking reads, for this workspace: at most
    /// [`ConsoleLimits::blocking_per_workspace`] of its own, and what the relay has left.
    fn blocking_place(&self, workspace: &Workspace) -> Result<BlockingPlace, ConsoleError> {
        let mut running = self.blocking_by_workspace.lock().expect("not poisoned");
        let mine = running.entry(workspace.id().to_owned()).or_default();
        if *mine >= self.limits.blocking_per_workspace {
            return Err(ConsoleError::new(
                format!("your workspace has {mine} blocking reads waiting already, its most",),
                "wait for one to answer, or read without BLOCK",
            ));
        }
        let Ok(permit) = self.blocking.clone().try_acquire_owned() else {
            return Err(ConsoleError::new(
                format!(
                    "{} blocking reads are waiting in this relay already, its most",
                    self.limits.blocking
                ),
                "try again in a moment, or read without BLOCK",
            ));
        };
        *mine += 1;
        Ok(BlockingPlace {
            _permit: permit,
            workspace: workspace.id().to_owned(),
            running: self.blocking_by_workspace.clone(),
        })
    }
}

/// Whole seconds until a rate limiter lets the next one through, at least 1.
fn seconds_until(wait: &governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    let now = governor::clock::Clock::now(&governor::clock::DefaultClock::default());
    wait.wait_time_from(now).as_secs().max(1)
}

/// One blocking read's place; dropping it frees it.
struct BlockingPlace {
    _permit: OwnedSemaphorePermit,
    workspace: String,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for BlockingPlace {
    fn drop(&mut self) {
        let mut running = self.running.lock().expect("not poisoned");
        if let Some(n) = running.get_mut(&self.workspace) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.workspace);
            }
        }
    }
}

/// A line's answer, and whether Redis could be reached at all.
pub struct Answer {
    pub response: ConsoleResponse,
    pub unavailable: bool,
}

impl Answer {
    fn refused(reason: Refusal, e: ConsoleError) -> Self {
        telemetry::refused(reason);
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

/// What came of a line, for the workspace's recent lines.
struct Ran {
    /// `ok`, the error code Redis answered, or `refused`.
    outcome: String,
    /// The error message after its code.
    error: Option<String>,
    /// Entries a read gave, or the integer Redis answered.
    returned: Option<u64>,
    /// Whether to keep the line (`HELP` is not kept).
    kept: bool,
    /// The command of the table it names, once read.
    command: &'static str,
}

/// Runs a line in the workspace and keeps it among the workspace's recent lines; a line that
/// shows a known misconception ([`mistakes`]) gets its explanation and fix as the hint (in
/// place of the error's own hint when Redis refused it).
pub async fn run(db: &Db, console: &Console, workspace: &Workspace, line: &str) -> Answer {
    let mut ran = Ran {
        outcome: "refused".to_owned(),
        error: None,
        returned: None,
        kept: true,
        command: telemetry::UNREAD,
    };
    let mut answer = execute(db, console, workspace, line, &mut ran).await;
    let outcome = match ran.outcome.as_str() {
        _ if answer.unavailable => "unavailable",
        _ if !ran.kept => "help",
        "ok" => "ok",
        "refused" => "refused",
        _ => "error",
    };
    telemetry::line(ran.command, outcome);
    if answer.unavailable || !ran.kept {
        return answer;
    }
    let mut record = mistakes::Line::new(line, console.clock.now().unix_millis(), ran.outcome);
    if let Some(error) = &ran.error {
        record = record.with_error(error);
    }
    record.returned = ran.returned;
    if let Some(hint) = mistakes::after_line(db, workspace, record).await {
        let response = &mut answer.response;
        response.hint = match response.hint.take() {
            Some(own) if response.error.is_none() => Some(format!("{own}; {hint}")),
            _ => Some(hint),
        };
    }
    answer
}

async fn execute(
    db: &Db,
    console: &Console,
    workspace: &Workspace,
    line: &str,
    ran: &mut Ran,
) -> Answer {
    if let Some(text) = help_text(line) {
        ran.kept = false;
        ran.command = "HELP";
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
        Err(e) => return Answer::refused(Refusal::Syntax, e),
    };
    ran.command = parsed.spec.name;
    let mut notes = match caps::normalise(&mut parsed) {
        Ok(notes) => notes,
        Err(e) => return Answer::refused(Refusal::Cap, e),
    };
    let named = match places(&parsed, workspace) {
        Ok(named) => named,
        Err(e) => return Answer::refused(Refusal::Key, e),
    };
    let bounds = match bounds(db, workspace, &named).await {
        Ok(bounds) => bounds,
        Err(e) => return unavailable(e.to_string()),
    };
    match caps::fit(&mut parsed, &bounds) {
        Ok(note) => notes.extend(note),
        Err(e) => return Answer::refused(Refusal::Cap, e),
    }
    for (at, (_, place)) in parsed.key_positions().into_iter().zip(&named) {
        parsed.argv[at] = place.real().to_owned();
    }
    match accounting::reserve(db, workspace, &parsed, &named, line.len()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Answer::refused(Refusal::Quota, e),
        Err(e) => return unavailable(e.to_string()),
    }

    let mut trace = Trace::default();
    let block = caps::block_ms(&parsed);
    let result = match block {
        Some(ms) => match console.blocking_place(workspace) {
            Ok(place) => {
                let result = cli::run_blocking(db, &mut trace, &parsed.argv, ms).await;
                drop(place);
                result.map_err(Fail::Db)
            }
            Err(e) => Err(Fail::Busy(e)),
        },
        None => cli::run(db, &mut trace, &parsed.argv)
            .await
            .map_err(Fail::Db),
    };
    let value = match result {
        Ok(value) => value,
        Err(Fail::Db(e @ (DbError::Refused { .. } | DbError::Unexpected(_)))) => {
            let (code, detail) = e
                .reply()
                .unwrap_or_else(|| ("ERR".to_owned(), e.to_string()));
            let error = format!("{code} {detail}");
            ran.outcome = code.clone();
            ran.error = Some(detail.clone());
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
        Err(Fail::Busy(e)) => return Answer::refused(Refusal::Blocking, e),
    };

    ran.outcome = "ok".to_owned();
    ran.returned = match parsed.spec.name {
        "XREAD" | "XREADGROUP" => value.entries_read(),
        _ => value.integer(),
    };
    let own: Vec<(String, String)> = named
        .iter()
        .filter_map(|(typed, place)| match place {
            Place::Own(real) => Some((typed.clone(), real.clone())),
            Place::Demo(_) => None,
        })
        .collect();
    let now = console.clock.now();
    if let Err(e) = workspace.touch(db, now, &own, parsed.spec.writes).await {
        tracing::warn!(error = %e, "workspace not touched");
    }
    let mut hints = notes;
    if value.is_empty() {
        hints.extend(missing(db, &parsed, &named).await);
        if let (Some(ms), true, true) = (block, hints.is_empty(), value.is_nil()) {
            hints.push(hints::for_timeout(ms));
        }
    }
    let (reply, cut) = reply::cut(value.format(&|real| workspace.typed(real)));
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

/// Where each key the line names leads; the class's streams are read only.
fn places(parsed: &Parsed, workspace: &Workspace) -> Result<Vec<(String, Place)>, ConsoleError> {
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
        named.push((typed, place));
    }
    Ok(named)
}

/// How large each named key's entries can be: the class's streams' largest entry, or the
/// largest entry the console has added to a key of the workspace (none: it holds none).
async fn bounds(
    db: &Db,
    workspace: &Workspace,
    named: &[(String, Place)],
) -> Result<Vec<KeyBound>, DbError> {
    let largest = workspace.largest_entries(db, named).await?;
    Ok(named
        .iter()
        .zip(largest)
        .map(|((_, place), largest)| match place {
            Place::Demo(_) => KeyBound {
                entry_bytes: CLASS_ENTRY_BYTES,
                class: true,
            },
            Place::Own(_) => KeyBound {
                entry_bytes: largest,
                class: false,
            },
        })
        .collect())
}

/// The hint for reading a stream that is not there.
async fn missing(db: &Db, parsed: &Parsed, named: &[(String, Place)]) -> Option<String> {
    let reads = matches!(
        parsed.spec.name,
        "XRANGE" | "XREVRANGE" | "XREAD" | "XREADGROUP" | "XLEN" | "XPENDING"
    );
    let (typed, place) = named.first().filter(|_| reads)?;
    let exists = cli::exists(db, place.real()).await.ok()?;
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
