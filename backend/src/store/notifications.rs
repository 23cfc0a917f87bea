//! The notifications `claims-notifications` sends, in Redis: `claims:notifications` (`MAXLEN ~`
//! the relay's side-stream length), each written once per entry, checked against the entry's
//! marker in [`keys::notified`] in the same script (trimmed by `store::markers`). What a
//! notification says is the group's business.

use std::sync::LazyLock;

use redis::Script;
use shared::Timestamp;
use shared::api::StreamEntry;
use shared::causes::Causes;

use crate::store::db::{Db, DbError};
use crate::store::keys;
use crate::store::markers;

/// A notification to a customer, about the entry it was sent for.
pub struct Notification<'a> {
    pub claim_id: &'a str,
    pub customer_id: &'a str,
    pub message: &'a str,
    pub sent_at: Timestamp,
}

/// Appends the notification for `entry` unless one was sent for it before, atomically;
/// `false` if it was. The stream is kept near `keep` entries.
pub async fn send_once(
    db: &Db,
    entry: &StreamEntry,
    notification: &Notification<'_>,
    keep: u64,
) -> Result<bool, DbError> {
    static NOTIFY_ONCE: LazyLock<Script> = LazyLock::new(|| {
        Script::new(
            r"
-- KEYS: notified set, notifications stream
-- ARGV: entry id, its score, the stream's length cap, notification field/value pairs...
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
return 1
",
        )
    });
    let sent_at = notification.sent_at.to_string();
    let causes = Causes::reacting_to(&entry.id, &entry.fields);
    let mut invocation = NOTIFY_ONCE.prepare_invoke();
    invocation
        .key(keys::notified())
        .key(keys::NOTIFICATIONS)
        .arg(keys::entry_marker(entry))
        .arg(markers::score(&entry.id))
        .arg(keep);
    for (k, v) in [
        ("entry_id", entry.id.as_str()),
        ("claim_id", notification.claim_id),
        ("customer_id", notification.customer_id),
        ("channel", "email"),
        ("message", notification.message),
        ("sent_at", &sent_at),
    ]
    .into_iter()
    .chain(causes.fields())
    {
        invocation.arg(k).arg(v);
    }
    Ok(db.script::<i64>(&invocation).await? == 1)
}
