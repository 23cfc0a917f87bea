//! The projection debugger's scratch model: a copy of one partition's read model under keys of
//! its own (`Model::Scratch`, a random token per request, in the partition's slot), written
//! by the projector's own apply script and never by anything else. Each write is followed by
//! a `PEXPIRE` of every scratch key ([`SCRATCH_TTL_MS`]), and the request unlinks them when it
//! ends, so a relay that stops mid-request leaves nothing behind for long. What to fold into
//! it, and when, is `events::projection::debug`'s.

use redis::Value;

use super::{Batch, apply_to};
use crate::store::db::{Db, DbError};
use crate::store::keys::{Model, ModelKeys, Partition};
use crate::store::reply;
use crate::store::trace::Trace;

/// How long scratch keys outlive their last write, should the request never unlink them.
pub const SCRATCH_TTL_MS: u64 = 60_000;

/// One field (or list end) of the model as one look saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The live model's key this stands for.
    pub key: String,
    /// A hash field, a sorted set's member, `newest` / `oldest` for the activity list's ends,
    /// `position` in the projection hash.
    pub field: String,
    /// The value (a sorted set member's score), none if absent.
    pub value: Option<String>,
}

/// One request's scratch model in one partition.
pub struct Scratch {
    partition: Partition,
    keys: ModelKeys,
}

impl Scratch {
    /// A fresh, empty scratch model in `partition`.
    pub fn new(partition: Partition) -> Self {
        Self {
            partition,
            keys: partition.model(Model::Scratch(rand::random())),
        }
    }

    /// Every key the scratch model may have.
    fn all_keys(&self) -> Vec<String> {
        let mut keys = self.keys.all_keys();
        keys.push(self.keys.projection());
        keys
    }

    /// Applies `batch` as the projector would, then sets every scratch key's expiry.
    pub async fn apply(&self, db: &Db, batch: &Batch) -> Result<(), DbError> {
        apply_to(db, &self.keys, &self.keys.projection(), batch).await?;
        let ttl = SCRATCH_TTL_MS.to_string();
        let expire: Vec<Vec<String>> = self
            .all_keys()
            .into_iter()
            .map(|k| vec!["PEXPIRE".to_owned(), k, ttl.clone()])
            .collect();
        db.pipeline(&mut Trace::off(), &expire).await.map(drop)
    }

    /// What the apply script may change for an event of `claim` (of `customer`), in one round
    /// trip: the claim's view, its score in the claim list and in each status set, the
    /// customer's totals, both ends of the activity list and the position. Named as the live
    /// model's keys.
    pub async fn look(
        &self,
        db: &Db,
        claim: Option<&str>,
        customer: Option<&str>,
    ) -> Result<Vec<Seen>, DbError> {
        let live = self.partition.model(Model::Live);
        // (live key, field, command)
        let mut reads: Vec<(String, String, Vec<String>)> = Vec::new();
        let cmd = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        if let Some(claim) = claim {
            reads.push((
                live.views(),
                claim.to_owned(),
                cmd(&["HGET", &self.keys.views(), claim]),
            ));
            reads.push((
                live.all_claims(),
                claim.to_owned(),
                cmd(&["ZSCORE", &self.keys.all_claims(), claim]),
            ));
            for status in shared::ClaimStatus::ALL {
                reads.push((
                    live.by_status(status),
                    claim.to_owned(),
                    cmd(&["ZSCORE", &self.keys.by_status(status), claim]),
                ));
            }
        }
        if let Some(customer) = customer {
            reads.push((
                live.customers(),
                customer.to_owned(),
                cmd(&["HGET", &self.keys.customers(), customer]),
            ));
        }
        for (end, index) in [("newest", "0"), ("oldest", "-1")] {
            reads.push((
                live.activity(),
                end.to_owned(),
                cmd(&["LINDEX", &self.keys.activity(), index]),
            ));
        }
        reads.push((
            self.partition.projection(),
            "position".to_owned(),
            cmd(&["HGET", &self.keys.projection(), "position"]),
        ));
        let commands: Vec<&Vec<String>> = reads.iter().map(|(_, _, c)| c).collect();
        let commands: Vec<Vec<&str>> = commands
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let replies = db.pipeline(&mut Trace::off(), &commands).await?;
        Ok(reads
            .into_iter()
            .zip(replies)
            .map(|((key, field, _), value)| Seen {
                key,
                field,
                value: match value {
                    Value::Double(d) => Some(d.to_string()),
                    v => reply::text(&v),
                },
            })
            .collect())
    }

    /// Unlinks every scratch key.
    pub async fn remove(self, db: &Db) -> Result<(), DbError> {
        let mut unlink = vec!["UNLINK".to_owned()];
        unlink.extend(self.all_keys());
        db.run::<i64, _>(&mut Trace::off(), &unlink).await.map(drop)
    }
}
