//! The learners' workspaces in Redis: where their console keys live, how long they last,
//! what each holds, and the script that reserves a line's growth against the caps. The names
//! a learner types are mapped under the workspace's own prefix, so no two learners ever see or
//! change each other's keys; `demo:<stream>` names one of the class's shared streams. Knows
//! nothing of the console's commands or of HTTP.
//!
//! Keys (all bounded):
//! - `lab:{<id>}`: the workspace (a hash: when it was made, the bytes each of its keys takes,
//!   the largest entry the console added to each, its quiz answers and the tasks "show me"
//!   ran, see `marks`); expires [`IDLE_EXPIRY`] after its last use.
//! - `lab:{<id>}:<name>`: the learner's keys, each expiring [`IDLE_EXPIRY`] after the last
//!   command that named it; at most [`MAX_KEYS`] of them, [`MAX_BYTES`] in all.
//! - `lab:lines:{<id>}`: its recent console lines ([`lines`]), expiring with it.
//! - `lab:workspaces`: each workspace by its last use (a sorted set, at most
//!   [`Capacity::max_workspaces`]; expired ones are dropped whenever one is made, and the
//!   least recently used one makes room when it has been idle long enough).

use std::sync::LazyLock;
use std::time::Duration;

use redis::{Script, Value};
use shared::Timestamp;
use shared::console::MAX_LINE;

use crate::store::db::{Db, DbError};
use crate::store::keys::{self, Partitions};
use crate::store::trace::Trace;

use crate::store::reply;

pub mod glance;
pub mod lines;
mod marks;
pub mod observed;
mod reserve;
pub use marks::{Emptied, Marks};
pub use reserve::{Cap, Exceeded, Growth, Reservation};

/// An unused workspace and its keys go after this long.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(24 * 3600);
/// Keys one workspace may hold.
pub const MAX_KEYS: usize = 32;
/// Memory one workspace's keys may take.
pub const MAX_BYTES: u64 = 1024 * 1024;

const REGISTRY: &str = "lab:workspaces";

/// How many workspaces the relay holds, and when one may make room for another.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    /// Workspaces held at once.
    pub max_workspaces: u64,
    /// When `max_workspaces` are held, the least recently used one goes if it has been idle
    /// this long; otherwise a new one is refused.
    pub evict_idle: Duration,
}
/// The class's streams a console may read as `demo:<name>`: the events and dead letters (each
/// partition's, when there are several), the analytics and the notifications.
pub fn demo_streams(partitions: Partitions) -> Vec<String> {
    keys::known_streams(partitions)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    id: String,
    /// Which class streams there are to read.
    partitions: Partitions,
}

/// Where a typed key name leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A key of the workspace, by its real name.
    Own(String),
    /// One of the class's shared streams: read only.
    Demo(String),
}

impl Place {
    pub fn real(&self) -> &str {
        match self {
            Place::Own(real) => real,
            Place::Demo(real) => real,
        }
    }
}

impl Workspace {
    /// A new workspace, made `now`. When the relay holds as many as it may, the least recently
    /// used one goes if it has been idle for `evict_idle`; otherwise none is made (`None`).
    pub async fn create(
        db: &Db,
        now: Timestamp,
        limits: Capacity,
        trace: &mut Trace,
    ) -> Result<Option<Self>, DbError> {
        let now = now.unix_millis();
        let expired = (now - IDLE_EXPIRY.as_millis() as i64).to_string();
        let replies = db
            .pipeline(
                trace,
                &[
                    vec!["ZREMRANGEBYSCORE", REGISTRY, "-inf", &expired],
                    vec!["ZCARD", REGISTRY],
                ],
            )
            .await?;
        if reply::int(Some(&replies[1])).unwrap_or(0) as u64 >= limits.max_workspaces {
            let idle_since = now - limits.evict_idle.as_millis() as i64;
            let evicted: Option<String> = db
                .script(
                    EVICT
                        .key(REGISTRY)
                        .arg(idle_since)
                        .arg(limits.max_workspaces),
                )
                .await?;
            match evicted {
                Some(id) if id.is_empty() => {}
                Some(id) => {
                    Self {
                        id,
                        partitions: db.partitions,
                    }
                    .remove(db)
                    .await?
                }
                None => return Ok(None),
            }
        }
        let workspace = Self {
            id: random_id(),
            partitions: db.partitions,
        };
        let meta = workspace.meta();
        let expiry = IDLE_EXPIRY.as_secs().to_string();
        let now = now.to_string();
        db.pipeline(
            trace,
            &[
                vec!["HSET", meta.as_str(), "created_ms", &now],
                vec!["EXPIRE", meta.as_str(), &expiry],
                vec!["ZADD", REGISTRY, &now, &workspace.id],
            ],
        )
        .await?;
        Ok(Some(workspace))
    }

    /// Deletes the workspace and its keys (one slot: its hash tag).
    async fn remove(&self, db: &Db) -> Result<(), DbError> {
        let usage = self.usage(db).await?;
        let mut del = vec!["DEL".to_owned(), self.meta(), self.lines_key()];
        del.extend(
            usage
                .iter()
                .filter_map(|(typed, _)| match self.place(typed) {
                    Ok(Place::Own(real)) => Some(real),
                    _ => None,
                }),
        );
        db.run::<(), _>(&mut Trace::off(), &del).await
    }

    /// Whether `id` can name a workspace: 32 lowercase hexadecimal digits, as made.
    pub fn valid_id(id: &str) -> bool {
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    }

    /// The workspace `id` names, if it exists (it may never have been made, or expired).
    /// `None` too for an id that cannot name one ([`Self::valid_id`]).
    pub async fn open(db: &Db, id: &str) -> Result<Option<Self>, DbError> {
        if !Self::valid_id(id) {
            return Ok(None);
        }
        let workspace = Self {
            id: id.to_owned(),
            partitions: db.partitions,
        };
        let exists: bool = db
            .run(&mut Trace::off(), &["EXISTS", &workspace.meta()])
            .await?;
        Ok(exists.then_some(workspace))
    }

    /// Workspaces used within `within`, most recent first, at most `limit` of them. Only
    /// those that still exist: the registry may name one that has just expired.
    pub async fn recent(
        db: &Db,
        now: Timestamp,
        within: Duration,
        limit: usize,
    ) -> Result<Vec<Self>, DbError> {
        let since = (now.unix_millis() - within.as_millis() as i64).to_string();
        let ids: Vec<String> = db
            .run(
                &mut Trace::off(),
                &[
                    "ZREVRANGEBYSCORE",
                    REGISTRY,
                    "+inf",
                    &since,
                    "LIMIT",
                    "0",
                    &limit.to_string(),
                ],
            )
            .await?;
        let workspaces: Vec<Self> = ids
            .into_iter()
            .map(|id| Self {
                id,
                partitions: db.partitions,
            })
            .collect();
        let checks: Vec<Vec<String>> = workspaces
            .iter()
            .map(|w| vec!["EXISTS".to_owned(), w.meta()])
            .collect();
        let exist = db.pipeline(&mut Trace::off(), &checks).await?;
        Ok(workspaces
            .into_iter()
            .zip(exist)
            .filter(|(_, e)| reply::int(Some(e)) == Some(1))
            .map(|(w, _)| w)
            .collect())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn meta(&self) -> String {
        format!("lab:{{{}}}", self.id)
    }

    fn prefix(&self) -> String {
        format!("lab:{{{}}}:", self.id)
    }

    /// Where the name a learner typed leads, or why it leads nowhere.
    pub fn place(&self, typed: &str) -> Result<Place, String> {
        match typed.strip_prefix("demo:") {
            Some(name) => {
                let demo = demo_streams(self.partitions);
                if demo.iter().any(|s| s == name) {
                    return Ok(Place::Demo(name.to_owned()));
                }
                Err(format!(
                    "{typed} is not one of the class's streams; those are {}",
                    demo.iter()
                        .map(|s| format!("demo:{s}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
            None => Ok(Place::Own(format!("{}{typed}", self.prefix()))),
        }
    }

    /// The name a real key was typed as, if it is one of this workspace's or a demo stream.
    pub fn typed(&self, real: &[u8]) -> Option<String> {
        let real = std::str::from_utf8(real).ok()?;
        if let Some(own) = real.strip_prefix(&self.prefix()) {
            return Some(own.to_owned());
        }
        demo_streams(self.partitions)
            .iter()
            .any(|s| s == real)
            .then(|| format!("demo:{real}"))
    }

    /// The workspace's keys by the name they were typed as, with the bytes each took when last
    /// written.
    pub async fn usage(&self, db: &Db) -> Result<Vec<(String, u64)>, DbError> {
        let meta: Value = db
            .run(&mut Trace::off(), &["HGETALL", &self.meta()])
            .await?;
        let Value::Array(flat) = meta else {
            return Ok(Vec::new());
        };
        Ok(flat
            .chunks(2)
            .filter_map(|kv| {
                let name = reply::text(kv.first()?)?.strip_prefix("bytes:")?.to_owned();
                let bytes = reply::text(kv.get(1)?)?.parse().ok()?;
                Some((name, bytes))
            })
            .collect())
    }

    /// The largest entry (reply bytes) the console added to each named key of the workspace:
    /// 0 for a key it added none to (only the console writes a workspace's keys), and the
    /// largest a line can make for a key that holds data but no record of it.
    pub async fn largest_entries(
        &self,
        db: &Db,
        named: &[(String, Place)],
    ) -> Result<Vec<usize>, DbError> {
        let own: Vec<&str> = named
            .iter()
            .filter(|(_, place)| matches!(place, Place::Own(_)))
            .map(|(typed, _)| typed.as_str())
            .collect();
        if own.is_empty() {
            return Ok(vec![0; named.len()]);
        }
        let mut hmget = vec!["HMGET".to_owned(), self.meta()];
        for typed in &own {
            hmget.push(format!("entry:{typed}"));
            hmget.push(format!("bytes:{typed}"));
        }
        let values: Vec<Option<u64>> = db.run(&mut Trace::off(), &hmget).await?;
        let mut recorded = values.chunks(2);
        Ok(named
            .iter()
            .map(|(_, place)| match place {
                Place::Demo(_) => 0,
                Place::Own(_) => match recorded.next() {
                    Some([Some(entry), _]) => *entry as usize,
                    Some([None, Some(_)]) => 4 * MAX_LINE,
                    _ => 0,
                },
            })
            .collect())
    }

    /// Keeps the workspace and the keys a command named from expiring (used `now`), and
    /// records what the written ones take now (forgetting those that are gone).
    pub async fn touch(
        &self,
        db: &Db,
        now: Timestamp,
        named: &[(String, String)],
        written: bool,
    ) -> Result<(), DbError> {
        let expiry = IDLE_EXPIRY.as_secs().to_string();
        let meta = self.meta();
        let now = now.unix_millis().to_string();
        let mut commands: Vec<Vec<&str>> = vec![
            vec!["EXPIRE", &meta, &expiry],
            vec!["ZADD", REGISTRY, &now, &self.id],
        ];
        for (_, real) in named {
            commands.push(vec!["EXPIRE", real, &expiry]);
        }
        if written {
            for (_, real) in named {
                commands.push(vec!["MEMORY", "USAGE", real]);
            }
        }
        let replies = db.pipeline(&mut Trace::off(), &commands).await?;
        if !written {
            return Ok(());
        }
        let sizes = &replies[2 + named.len()..];
        let mut set: Vec<String> = vec!["HSET".into(), meta.clone()];
        let mut gone: Vec<String> = vec!["HDEL".into(), meta.clone()];
        for ((typed, _), size) in named.iter().zip(sizes) {
            match reply::int(Some(size)) {
                Some(bytes) => set.extend([format!("bytes:{typed}"), bytes.to_string()]),
                None => gone.extend([format!("bytes:{typed}"), format!("entry:{typed}")]),
            }
        }
        let mut updates = Vec::new();
        if set.len() > 2 {
            updates.push(set);
        }
        if gone.len() > 2 {
            updates.push(gone);
        }
        if !updates.is_empty() {
            db.pipeline(&mut Trace::off(), &updates).await?;
        }
        Ok(())
    }
}

/// KEYS: the registry. ARGV: used before this (ms), how many it may hold. Takes the least
/// recently used workspace out of the registry if it was idle since then and the registry is
/// still full, and names it; the caller deletes its keys (another slot). `''`: there is room
/// now; nil: none may go.
static EVICT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then return '' end
local lru = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #lru == 0 or tonumber(lru[2]) > tonumber(ARGV[1]) then return false end
redis.call('ZREM', KEYS[1], lru[1])
return lru[1]
",
    )
});

fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        Workspace {
            id: "0123456789abcdef0123456789abcdef".into(),
            partitions: Partitions::ONE,
        }
    }

    #[test]
    fn typed_names_map_into_the_workspace_and_back() {
        let w = workspace();
        let Place::Own(real) = w.place("claims:events").unwrap() else {
            panic!("an own key")
        };
        assert_eq!(real, "lab:{0123456789abcdef0123456789abcdef}:claims:events");
        assert_eq!(w.typed(real.as_bytes()).as_deref(), Some("claims:events"));
        assert_eq!(
            w.place("demo:claims:events").unwrap(),
            Place::Demo("claims:events".into())
        );
        assert_eq!(
            w.typed(b"claims:events").as_deref(),
            Some("demo:claims:events")
        );
        assert!(
            w.place("demo:secret")
                .unwrap_err()
                .contains("demo:claims:events")
        );
        assert_eq!(w.typed(b"lab:{ffffffffffffffffffffffffffffffff}:x"), None);
    }

    #[test]
    fn with_partitions_each_partitions_stream_is_a_demo_stream() {
        let w = Workspace {
            partitions: Partitions::new(2).unwrap(),
            ..workspace()
        };
        assert_eq!(
            w.place("demo:claims:events:{1}").unwrap(),
            Place::Demo("claims:events:{1}".into())
        );
        assert_eq!(
            w.typed(b"claims:failed:{0}").as_deref(),
            Some("demo:claims:failed:{0}")
        );
        assert!(w.place("demo:claims:events").is_err());
    }
}
