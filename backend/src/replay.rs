//! Replaying `claims:events` from its first entry: every claim as the stream up to a point
//! folds it. The read model's rebuild and time travel over the whole stream (`GET /api/state`)
//! both stand on it.

use std::collections::{HashMap, VecDeque};

use shared::api::StreamEntry;
use shared::{Claim, upcast};

use crate::db::{self, Db, DbError};
use crate::redis_cli::Trace;

/// Entries read per page.
pub const PAGE: usize = 1000;

/// Every claim the replayed entries name, folded.
#[derive(Default)]
pub struct Replayed {
    pub claims: HashMap<String, Claim>,
    /// Entries read, claims' or not.
    pub entries: u64,
    pub last_id: Option<String>,
    /// The last entries read, oldest first, at most as many as asked for.
    pub tail: VecDeque<StreamEntry>,
}

/// Reads `stream` (one partition's) from its start through `until` (inclusive), page by page, folding each
/// entry into its claim. With `progress` (a hash and a field), the count so far is written
/// there after each page, for whoever follows a long replay.
pub async fn replay(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    until: &str,
    keep_tail: usize,
    progress: Option<(&str, &str)>,
    mut each_entry: impl FnMut(&StreamEntry),
) -> Result<Replayed, DbError> {
    let mut replayed = Replayed::default();
    let mut start = "-".to_owned();
    let count = PAGE.to_string();
    loop {
        let reply = db
            .run(trace, &["XRANGE", stream, &start, until, "COUNT", &count])
            .await?;
        let page = db::entries(reply);
        let full = page.len() == PAGE;
        for (id, fields) in page {
            let mut entry = StreamEntry::decode(id, fields);
            fold(&mut replayed.claims, &mut entry);
            each_entry(&entry);
            replayed.entries += 1;
            start = format!("({}", entry.id);
            replayed.last_id = Some(entry.id.clone());
            if keep_tail > 0 {
                if replayed.tail.len() == keep_tail {
                    replayed.tail.pop_front();
                }
                replayed.tail.push_back(entry);
            }
        }
        if let Some((hash, field)) = progress {
            let n = replayed.entries.to_string();
            db.run::<i64, _>(&mut Trace::off(), &["HSET", hash, field, &n])
                .await?;
        }
        if !full {
            break;
        }
    }
    Ok(replayed)
}

/// Folds one entry into its claim as loading the claim would: every entry naming a claim by
/// the index's rule counts as a version, decodable or not.
pub fn fold(claims: &mut HashMap<String, Claim>, entry: &mut StreamEntry) {
    let Some(claim_id) = claim_of(entry) else {
        return;
    };
    let claim = claims.entry(claim_id.to_owned()).or_default();
    let version = claim.version + 1;
    if let Some(event) = &mut entry.event {
        upcast::complete(claim, event);
        shared::apply(claim, event);
    }
    claim.version = version;
}

/// The claim an entry names, by the rule the index uses: its first `claim_id` field, if that
/// is a valid claim id.
pub fn claim_of(entry: &StreamEntry) -> Option<&str> {
    entry
        .fields
        .iter()
        .find(|(k, _)| k == "claim_id")
        .map(|(_, v)| v.as_str())
        .filter(|v| shared::ClaimId::parse(v).is_ok())
}
