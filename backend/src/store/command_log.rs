//! The command log in Redis: `claims:commands`, each claim command carried out or refused, as
//! `shared::api::LoggedCommand` writes its fields, kept near [`KEEP`] entries (`MAXLEN ~`).
//! A relay's requests queue their entries for one writer task instead of waiting for them.
//! What a command is and who asked are the caller's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Cmd;
use shared::api::LoggedCommand;
use tokio::sync::{Notify, watch};

use crate::store::db::{Db, DbError, command};
use crate::store::keys;
use crate::store::reply;
use crate::store::trace::Trace;

/// Commands kept, about (`MAXLEN ~`): at a class's pace, hours of them.
pub const KEEP: u64 = 10_000;

/// Entries queued and not yet written, at most: past it an entry is dropped with a warning
/// (its command stands). A relay writes thousands a second, so this is seconds of Redis away.
pub const QUEUE: usize = 10_000;

/// How long a read of the log waits, at most, for entries queued before it to be written.
pub const READ_WAIT: Duration = Duration::from_secs(1);

/// Where logged commands go: written before the command is answered, or queued.
#[derive(Clone)]
pub enum CommandLog {
    /// Each entry written by the one who logs it, before going on (workers, tools).
    Direct,
    /// Entries queued for one task that writes all that wait in one round trip, so an answer
    /// does not wait for its entry (the relay's requests: a round trip less per command).
    Queued(Writer),
}

impl CommandLog {
    /// Logs what came of `commands`, recording the `XADD`s in `trace`; `db` writes them
    /// when they are not queued.
    pub async fn record(
        &self,
        db: &Db,
        trace: &mut Trace,
        commands: &[LoggedCommand],
    ) -> Result<(), DbError> {
        let xadds = commands.iter().map(xadd).collect();
        match self {
            Self::Direct => {
                for cmd in &xadds {
                    trace.record(cmd);
                }
                db.send(xadds).await.map(drop)
            }
            Self::Queued(writer) => {
                writer.queue(trace, xadds);
                Ok(())
            }
        }
    }

    /// Waits, at most `within`, until every entry queued so far is written (or given up on):
    /// what reads the log then sees every command this relay answered before. False when
    /// `within` ran out first.
    pub async fn flushed(&self, within: Duration) -> bool {
        match self {
            Self::Direct => true,
            Self::Queued(writer) => writer.flushed(within).await,
        }
    }
}

/// The log's entry for one command.
fn xadd(logged: &LoggedCommand) -> Cmd {
    let keep = KEEP.to_string();
    let mut args = vec!["XADD", keys::COMMANDS, "MAXLEN", "~", &keep, "*"];
    for (k, v) in logged.fields() {
        args.extend([k, v]);
    }
    command(&args)
}

/// The queue and its writer task; the task drains what is left and ends when the last
/// handle is dropped.
#[derive(Clone)]
pub struct Writer {
    open: Arc<Open>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Notify,
    /// How many entries were queued when the last batch the task took was written.
    written: watch::Sender<u64>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Cmd>,
    /// Entries ever queued (not dropped).
    queued: u64,
    /// No handle is left: write what waits, then end.
    closed: bool,
}

/// Held by every handle; the last one dropped closes the queue.
struct Open(Arc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.wake.notify_one();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Writer {
    /// Starts the writer task (on the current Tokio runtime).
    pub fn start(db: Db) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            wake: Notify::new(),
            written: watch::Sender::new(0),
        });
        tokio::spawn(write(db, shared.clone()));
        Self {
            open: Arc::new(Open(shared)),
        }
    }

    fn queue(&self, trace: &mut Trace, xadds: Vec<Cmd>) {
        let shared = &self.open.0;
        let mut dropped = 0;
        {
            let mut queue = shared.lock();
            for cmd in xadds {
                if queue.waiting.len() >= QUEUE {
                    dropped += 1;
                    continue;
                }
                trace.record(&cmd);
                queue.waiting.push(cmd);
                queue.queued += 1;
            }
        }
        shared.wake.notify_one();
        if dropped > 0 {
            tracing::warn!(
                commands = dropped,
                waiting = QUEUE,
                "commands not logged: the log's queue is full"
            );
        }
    }

    async fn flushed(&self, within: Duration) -> bool {
        let shared = &self.open.0;
        let target = shared.lock().queued;
        let mut written = shared.written.subscribe();
        tokio::time::timeout(within, written.wait_for(|w| *w >= target))
            .await
            .is_ok_and(|seen| seen.is_ok())
    }
}

/// Writes what waits, all in one round trip, until the queue is closed and empty.
async fn write(db: Db, shared: Arc<Shared>) {
    loop {
        let (batch, queued, closed) = {
            let mut queue = shared.lock();
            (
                std::mem::take(&mut queue.waiting),
                queue.queued,
                queue.closed,
            )
        };
        if batch.is_empty() {
            if closed {
                return;
            }
            shared.wake.notified().await;
            continue;
        }
        let count = batch.len();
        if let Err(e) = db.send(batch).await {
            tracing::warn!(error = %e, commands = count, "commands not logged");
        }
        shared.written.send_replace(queued);
    }
}

/// The `count` newest entries of the log before `before` (exclusive; from the newest when
/// `None`), newest first, each with its fields in order.
pub async fn newest(
    db: &Db,
    trace: &mut Trace,
    before: Option<&str>,
    count: usize,
) -> Result<Vec<(String, Vec<(String, String)>)>, DbError> {
    let end = before.map_or_else(|| "+".to_owned(), |id| format!("({id}"));
    let count = count.to_string();
    let reply = db
        .run::<redis::Value, _>(
            trace,
            &["XREVRANGE", keys::COMMANDS, &end, "-", "COUNT", &count],
        )
        .await?;
    Ok(reply::entries(reply))
}
