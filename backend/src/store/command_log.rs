//! The command log in Redis: `claims:commands`, each claim command carried out or refused, as
//! `shared::api::LoggedCommand` writes its fields, kept near [`KEEP`] entries (`MAXLEN ~`).
//! What a command is and who asked are the caller's.

use shared::api::LoggedCommand;

use crate::store::db::{Db, DbError};
use crate::store::keys;
use crate::store::reply;
use crate::store::trace::Trace;

/// Commands kept, about (`MAXLEN ~`): at a class's pace, hours of them.
pub const KEEP: u64 = 10_000;

/// Appends `commands` to the log, in one round trip.
pub async fn record(db: &Db, trace: &mut Trace, commands: &[LoggedCommand]) -> Result<(), DbError> {
    if commands.is_empty() {
        return Ok(());
    }
    let keep = KEEP.to_string();
    let xadds: Vec<Vec<&str>> = commands
        .iter()
        .map(|c| {
            let mut xadd = vec!["XADD", keys::COMMANDS, "MAXLEN", "~", &keep, "*"];
            for (k, v) in c.fields() {
                xadd.extend([k, v]);
            }
            xadd
        })
        .collect();
    db.pipeline(trace, &xadds).await.map(drop)
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
