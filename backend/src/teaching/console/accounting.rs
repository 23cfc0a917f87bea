//! A line's growth, reserved against its workspace's caps before it runs
//! (`store::workspaces` holds the caps' script), and the refusal a learner reads when a cap
//! would be passed. Knows nothing of HTTP.

use shared::console::caps::{self, MAX_CONSUMERS_PER_GROUP, MAX_GROUPS_PER_STREAM};
use shared::console::{ConsoleError, Parsed};

use crate::store::db::{Db, DbError};
use crate::store::workspaces::{
    Cap, Exceeded, Growth, MAX_BYTES, MAX_KEYS, Place, Reservation, Workspace,
};

/// How the line grows its workspace, if it does.
fn growth(parsed: &Parsed) -> Option<Growth> {
    match parsed.spec.name {
        "XADD" => Some(Growth::Add),
        "XGROUP CREATE" => Some(Growth::Group),
        "XGROUP CREATECONSUMER" | "XREADGROUP" | "XCLAIM" | "XAUTOCLAIM" => Some(Growth::Consumer),
        _ => None,
    }
}

/// Checks the workspace's caps for a line that grows it and reserves what it may take, or says
/// which cap it would pass. Lines that do not grow the workspace pass untouched. `parsed`
/// holds the keys' real names; `named` pairs each typed name with where it leads.
pub async fn reserve(
    db: &Db,
    workspace: &Workspace,
    parsed: &Parsed,
    named: &[(String, Place)],
    line_bytes: usize,
) -> Result<Result<(), ConsoleError>, DbError> {
    let Some(growth) = growth(parsed) else {
        return Ok(Ok(()));
    };
    let keys: Vec<(&str, &str)> = named
        .iter()
        .filter_map(|(typed, place)| match place {
            Place::Own(real) => Some((typed.as_str(), real.as_str())),
            Place::Demo(_) => None,
        })
        .collect();
    let names = caps::created_names(parsed);
    let name = |what: &str| {
        names
            .iter()
            .find(|(w, _)| *w == what)
            .and_then(|&(_, at)| parsed.argv.get(at))
            .map_or("", String::as_str)
    };
    let line = Reservation {
        growth,
        group: name("group"),
        consumer: name("consumer"),
        entry_bytes: caps::xadd_fields(parsed).map_or(0, caps::entry_reply_bytes),
        bytes: line_bytes,
        keys: &keys,
    };
    Ok(workspace.reserve(db, &line).await?.map_err(refusal))
}

fn refusal(Exceeded { cap, figure }: Exceeded) -> ConsoleError {
    match cap {
        Cap::Keys => ConsoleError::new(
            format!("your workspace has {figure} keys, its most is {MAX_KEYS}"),
            "DEL a key you no longer need",
        ),
        Cap::Groups => ConsoleError::new(
            format!(
                "the stream has {figure} consumer groups, the console's most is {MAX_GROUPS_PER_STREAM}"
            ),
            "XGROUP DESTROY a group you no longer need",
        ),
        Cap::Consumers => ConsoleError::new(
            format!(
                "the group has {figure} consumers, the console's most is {MAX_CONSUMERS_PER_GROUP}"
            ),
            "read as a consumer the group already has, or XGROUP DELCONSUMER one",
        ),
        Cap::Bytes => ConsoleError::new(
            format!(
                "your workspace holds {figure} bytes, its most is {} KB",
                MAX_BYTES / 1024
            ),
            "free room with XTRIM, XDEL or DEL, then try again",
        ),
    }
}
