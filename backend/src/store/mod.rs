//! Redis: every key the relay names, its connection, its scripts, the commands it sends and
//! the learner-facing trace of them, and the embedded `redis-server`. It knows nothing of HTTP,
//! of the consumer groups' work or of the lab.

pub mod caused;
pub mod claims;
pub mod cli;
pub mod clock;
pub mod command_log;
pub mod cursor;
pub mod db;
pub mod embedded;
pub mod entry_id;
pub mod group_state;
pub mod groups;
pub mod keys;
pub mod lease;
pub mod letters;
pub mod lua;
pub mod markers;
pub mod memory;
pub mod metrics;
pub mod notifications;
pub mod pending;
pub mod position;
pub mod read_model;
pub mod reply;
pub mod search;
pub mod streams;
pub mod trace;
pub mod trim;
pub mod workspaces;

/// The text of a script whose `EVALSHA` a learner's trace shows, by its SHA-1.
pub fn script_source(sha: &str) -> Option<shared::api::ScriptSource> {
    [
        &*claims::APPEND,
        &*trim::PLAN,
        &*position::POSITION,
        &*caused::CAUSED,
        &*search::SEARCH,
    ]
    .into_iter()
    .find(|lua| lua.sha() == sha)
    .map(|lua| shared::api::ScriptSource {
        sha: lua.sha().to_owned(),
        name: lua.name().to_owned(),
        source: lua.source().to_owned(),
    })
}
