//! Replaying `claims:events` from its first entry: every claim as the stream up to a point
//! folds it. The read model's rebuild and time travel over the whole stream (`GET /api/state`)
//! both stand on it. Boards replayed for time travel are kept a little while ([`Boards`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shared::api::{ClaimView, StreamEntry};
use shared::{Claim, upcast};

use crate::store::db::{Db, DbError};
use crate::store::keys::Partition;
use crate::store::read_model::rebuild;
use crate::store::streams::{self, Pages};
use crate::store::trace::Trace;

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
/// entry into its claim. With `progress` (the partition a rebuild replays), the count so far
/// is written to the rebuild's state after each page, for whoever follows a long replay.
pub async fn replay(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    until: &str,
    keep_tail: usize,
    progress: Option<Partition>,
    mut each_entry: impl FnMut(&StreamEntry),
) -> Result<Replayed, DbError> {
    let mut replayed = Replayed::default();
    let mut pages = Pages::new(stream.to_owned(), until, PAGE);
    while let Some(page) = pages.next(db, trace).await? {
        for (id, fields) in page {
            let mut entry = StreamEntry::decode(id, fields);
            fold(&mut replayed.claims, &mut entry);
            each_entry(&entry);
            replayed.entries += 1;
            replayed.last_id = Some(entry.id.clone());
            if keep_tail > 0 {
                if replayed.tail.len() == keep_tail {
                    replayed.tail.pop_front();
                }
                replayed.tail.push_back(entry);
            }
        }
        if let Some(partition) = progress {
            let n = replayed.entries.to_string();
            rebuild::set_state(db, partition, &[("rebuild_replayed", &n)]).await?;
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

/// The whole board as a replay up to a point left it: what `GET /api/state` pages through.
#[derive(Debug)]
pub struct Board {
    /// Every claim that existed then, newest submission first (as the board lists them).
    pub claims: Vec<ClaimView>,
    pub entries: u64,
    pub last_id: Option<String>,
    /// The last entries replayed, oldest first.
    pub tail: Vec<StreamEntry>,
}

/// Boards kept, the most recently asked first.
const BOARDS_KEPT: usize = 4;
/// How long a board is reused. Its key changes with a trim or an append up to its point; an
/// entry deleted by hand from the middle of the stream is only seen once the board expires.
const BOARD_FRESH: Duration = Duration::from_secs(30);

type Slot = Arc<tokio::sync::OnceCell<Arc<Board>>>;

/// Replays of the whole board by what they read, so requests for one point replay it once:
/// those that come while it runs wait for it, and later ones take it as it is. A few at
/// most ([`BOARDS_KEPT`]), each for [`BOARD_FRESH`].
#[derive(Clone, Default)]
pub struct Boards {
    kept: Arc<Mutex<VecDeque<(String, Instant, Slot)>>>,
}

impl Boards {
    /// The board `point` names (from [`point`]), replayed by `replay` unless it is kept or
    /// being replayed already.
    pub async fn get_or_replay<E, F>(&self, point: String, replay: F) -> Result<Arc<Board>, E>
    where
        F: Future<Output = Result<Board, E>>,
    {
        let slot = {
            let mut kept = self.kept.lock().expect("boards lock");
            kept.retain(|(_, made, _)| made.elapsed() < BOARD_FRESH);
            let slot = match kept.iter().position(|(p, _, _)| *p == point) {
                Some(at) => kept.remove(at).expect("found"),
                None => (point, Instant::now(), Slot::default()),
            };
            let shared = slot.2.clone();
            kept.push_front(slot);
            kept.truncate(BOARDS_KEPT);
            shared
        };
        let board = slot
            .get_or_try_init(|| async { replay.await.map(Arc::new) })
            .await?;
        Ok(board.clone())
    }
}

/// What a replay of every partition through `until` reads, named: per partition its first
/// entry and its last one up to the point (two short reads each, in one round trip). Equal
/// names, equal boards: an append past the point changes neither, a trim changes the first.
pub async fn point(db: &Db, trace: &mut Trace, until: &str) -> Result<String, DbError> {
    let events: Vec<String> = db.partitions.all().map(|p| p.events()).collect();
    Ok(streams::ends(db, trace, &events, until)
        .await?
        .into_iter()
        .flat_map(|(first, last)| [first, last])
        .map(|id| id.unwrap_or_else(|| "none".to_owned()))
        .collect::<Vec<_>>()
        .join(","))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn board(entries: u64) -> Board {
        Board {
            claims: Vec::new(),
            entries,
            last_id: None,
            tail: Vec::new(),
        }
    }

    #[tokio::test]
    async fn requests_for_one_point_share_one_replay_and_a_failed_one_is_not_kept() {
        let boards = Boards::default();
        let runs = AtomicUsize::new(0);
        let runs = &runs;
        let replay = |entries: u64| async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok::<_, ()>(board(entries))
        };
        let (a, b) = tokio::join!(
            boards.get_or_replay("p".into(), replay(7)),
            boards.get_or_replay("p".into(), replay(8)),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.entries, b.entries), (7, 7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        let failed = boards
            .get_or_replay("q".into(), async { Err::<Board, _>("busy") })
            .await;
        assert!(failed.is_err());
        let q = boards.get_or_replay("q".into(), replay(9)).await.unwrap();
        assert_eq!((q.entries, runs.load(Ordering::SeqCst)), (9, 2));
    }
}
