//! The relay's one handle on Redis: a self-reconnecting connection plus helpers that record
//! every command they send, in redis-cli form, for the response. Redis is one server or a
//! Redis Cluster (redis-rs's cluster client routes each command by its key's slot).

use std::time::Duration;

use futures_util::future::try_join_all;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture, Value};

use crate::store::keys::{Partition, Partitions};
use crate::store::lua::Lua;
use crate::store::trace::Trace;

/// What went wrong with Redis, classified here once so that nothing outside the store reads
/// an error's text.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Redis cannot be reached (refused, dropped or timed out); the manager reconnects by itself.
    #[error("cannot reach Redis at {0}")]
    Unavailable(String),
    /// Redis answered with an error: what kind, and the error as Redis sent it.
    #[error("{error}")]
    Refused { kind: Refusal, error: RedisError },
    /// A reply of a shape the relay does not expect (a script of its own answering oddly).
    #[error("unexpected reply from Redis: {0}")]
    Unexpected(String),
}

/// The kinds of error reply the relay acts on; the rest are [`Refusal::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `maxmemory` reached under `noeviction`: a write refused, by a script's write too.
    OutOfMemory,
    /// The key does not exist (`XINFO` on a stream that was never written).
    NoSuchKey,
    /// No such consumer group (`NOGROUP`).
    NoGroup,
    /// The consumer group exists already (`BUSYGROUP`).
    BusyGroup,
    /// The key holds another type (`WRONGTYPE`).
    WrongType,
    /// Anything else: a syntax error, a script's own error, ...
    Other,
}

impl DbError {
    /// The kind of error Redis answered, if it answered one.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Refused { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The error reply as `redis-cli` shows it, code and message apart (`WRONGTYPE`,
    /// `Operation against a key ...`), for the console.
    pub fn reply(&self) -> Option<(String, String)> {
        let Self::Refused { error, .. } = self else {
            return None;
        };
        Some((
            error.code().unwrap_or("ERR").to_owned(),
            error.detail().unwrap_or_default().to_owned(),
        ))
    }

    pub(crate) fn refused(error: RedisError) -> Self {
        let kind = match error.code() {
            Some("OOM") => Refusal::OutOfMemory,
            Some("NOGROUP") => Refusal::NoGroup,
            Some("BUSYGROUP") => Refusal::BusyGroup,
            Some("WRONGTYPE") => Refusal::WrongType,
            // A script's refused write comes back as a script error that names OOM.
            _ if error.to_string().contains("OOM ") => Refusal::OutOfMemory,
            _ if error.to_string().contains("no such key") => Refusal::NoSuchKey,
            _ => Refusal::Other,
        };
        Self::Refused { kind, error }
    }
}

#[derive(Clone)]
pub struct Db {
    conn: Connection,
    /// A second connection for [`Db::pipeline_spread`]: each connection decodes its replies
    /// on its own task, so two decode a large read on two cores.
    spare: Connection,
    /// The expensive reads' own connection ([`Db::heavy`]).
    heavy: Connection,
    client: Client,
    /// Where Redis is, with any password removed: safe for logs and error bodies.
    pub location: String,
    /// How the claims are spread over events streams (`--partitions`).
    pub partitions: Partitions,
}

#[derive(Clone)]
enum Client {
    Single(redis::Client),
    Cluster(Box<ClusterClient>),
}

/// A connection to one server or to a cluster. Both reconnect by themselves; the cluster one
/// also follows slots as they move (MOVED, a failover).
#[derive(Clone)]
pub enum Connection {
    Managed(ConnectionManager),
    Multiplexed(redis::aio::MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Managed(c) => c.req_packed_command(cmd),
            Self::Multiplexed(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Managed(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Multiplexed(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Managed(c) => c.get_db(),
            Self::Multiplexed(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
/// A cluster request's limit over all its retries: room for a failover (about 2 s with a
/// 1 s node timeout) and the slot map's refresh after it.
const OVERALL_CLUSTER_TIMEOUT: Duration = Duration::from_secs(8);

impl Db {
    /// Does not connect yet, so the relay starts (and answers 503) while Redis is down.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        let spare = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        let heavy = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self {
            conn: Connection::Managed(conn),
            spare: Connection::Managed(spare),
            heavy: Connection::Managed(heavy),
            client: Client::Single(client),
            location: redact(url),
            partitions: Partitions::ONE,
        })
    }

    /// A Redis Cluster, from some of its nodes (`host:port` or `redis://` URLs): the client
    /// learns the rest. Does not connect yet either.
    pub fn cluster(nodes: &[String]) -> anyhow::Result<Self> {
        anyhow::ensure!(!nodes.is_empty(), "--redis-cluster needs at least one node");
        let urls: Vec<String> = nodes
            .iter()
            .map(|n| {
                if n.contains("://") {
                    n.clone()
                } else {
                    format!("redis://{n}")
                }
            })
            .collect();
        let client = ClusterClient::builder(urls.clone())
            .connection_timeout(CONNECTION_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .retries(4)
            .min_retry_wait(50)
            .max_retry_wait(1000)
            // Without an overall limit, a request that timed out on one node is queued again
            // and waits for some other command to wake the connection.
            .overall_response_timeout(Some(OVERALL_CLUSTER_TIMEOUT))
            .build()?;
        let config = ClusterConfig::new()
            .set_connection_timeout(CONNECTION_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT);
        let conn = client.get_pending_async_connection_with_config(config.clone());
        let spare = client.get_pending_async_connection_with_config(config.clone());
        let heavy = client.get_pending_async_connection_with_config(config);
        Ok(Self {
            conn: Connection::Cluster(conn),
            spare: Connection::Cluster(spare),
            heavy: Connection::Cluster(heavy),
            client: Client::Cluster(Box::new(client)),
            location: format!(
                "cluster {}",
                urls.iter().map(|u| redact(u)).collect::<Vec<_>>().join(",")
            ),
            partitions: Partitions::ONE,
        })
    }

    pub fn with_partitions(self, partitions: Partitions) -> Self {
        Self { partitions, ..self }
    }

    /// The partition claim `claim_id` lives in.
    pub fn partition_of(&self, claim_id: &str) -> Partition {
        self.partitions.of(claim_id)
    }

    /// Whether Redis is a cluster: a pipeline then holds keys of one slot only.
    pub fn is_cluster(&self) -> bool {
        matches!(self.client, Client::Cluster(_))
    }

    /// This handle with every command sent over the expensive reads' own connection: their
    /// large replies are decoded there, never ahead of other requests' small ones on the
    /// shared connection (a replay's pages once held `/api/health` up for seconds).
    pub fn heavy(&self) -> Self {
        Self {
            conn: self.heavy.clone(),
            spare: self.heavy.clone(),
            ..self.clone()
        }
    }

    /// A connection of its own, for blocking reads that must not hold up other requests.
    pub async fn dedicated_connection(
        &self,
        response_timeout: Duration,
    ) -> Result<Connection, DbError> {
        match &self.client {
            Client::Single(client) => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                    .set_response_timeout(Some(response_timeout));
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Connection::Multiplexed)
            }
            Client::Cluster(client) => {
                let config = ClusterConfig::new()
                    .set_connection_timeout(CONNECTION_TIMEOUT)
                    .set_response_timeout(response_timeout);
                // Connecting to a cluster can hang when nodes are half up: bounded here.
                let connecting = client.get_async_connection_with_config(config);
                match tokio::time::timeout(CONNECTION_TIMEOUT * 3, connecting).await {
                    Ok(connected) => connected.map(Connection::Cluster),
                    Err(_) => return Err(DbError::Unavailable(self.location.clone())),
                }
            }
        }
        .map_err(|e| self.classify(e))
    }

    /// Runs one command and records it.
    pub async fn run<T: FromRedisValue, S: AsRef<str>>(
        &self,
        trace: &mut Trace,
        args: &[S],
    ) -> Result<T, DbError> {
        let cmd = command(args);
        trace.record(&cmd);
        cmd.query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.classify(e))
    }

    /// Sends several commands in one round trip (not a transaction) and records each.
    pub async fn pipeline<S: AsRef<str>>(
        &self,
        trace: &mut Trace,
        commands: &[Vec<S>],
    ) -> Result<Vec<Value>, DbError> {
        self.send_all(trace, commands.iter().map(|c| command(c)).collect(), false)
            .await
    }

    /// Sends command objects built (and recorded) earlier, in one round trip.
    pub(in crate::store) async fn send(&self, commands: Vec<Cmd>) -> Result<Vec<Value>, DbError> {
        self.send_all(&mut Trace::off(), commands, false).await
    }

    /// Like [`Db::pipeline`], for reads with large replies, each turned into a `T` by
    /// `convert`: the commands are split over two connections, and each half is decoded and
    /// converted on a task of its own. Decoding replies, not Redis, is what bounds a read of
    /// thousands of entries (about 4 µs an entry against Redis's 0.7 µs), so two cores
    /// halve it.
    pub async fn pipeline_spread<S: AsRef<str>, T: Send + 'static>(
        &self,
        trace: &mut Trace,
        commands: &[Vec<S>],
        convert: fn(Value) -> T,
    ) -> Result<Vec<T>, DbError> {
        let mut commands: Vec<Cmd> = commands.iter().map(|args| command(args)).collect();
        for cmd in &commands {
            trace.record(cmd);
        }
        if self.is_cluster() {
            let replies = self.send_all(&mut Trace::off(), commands, false).await?;
            return Ok(replies.into_iter().map(convert).collect());
        }
        let count = commands.len();
        // A few short reads are not worth a second connection.
        let half = if count < 8 { count } else { count.div_ceil(2) };
        let second = commands.split_off(half);
        let halves = [(commands, &self.conn), (second, &self.spare)];
        let tasks = halves
            .into_iter()
            .filter(|(commands, _)| !commands.is_empty())
            .map(|(commands, conn)| {
                let mut pipe = redis::pipe();
                for cmd in commands {
                    pipe.add_command(cmd);
                }
                let mut conn = conn.clone();
                tokio::spawn(async move {
                    let replies: Vec<Value> = pipe.query_async(&mut conn).await?;
                    Ok::<_, RedisError>(replies.into_iter().map(convert).collect::<Vec<T>>())
                })
            });
        let tasks: Vec<_> = tasks.collect();
        let mut all = Vec::with_capacity(count);
        for task in tasks {
            let converted = task.await.expect("a conversion does not panic");
            all.extend(converted.map_err(|e| self.classify(e))?);
        }
        Ok(all)
    }

    /// Like [`Db::pipeline`], wrapped in MULTI/EXEC: all or nothing.
    pub async fn transaction<S: AsRef<str>>(
        &self,
        trace: &mut Trace,
        commands: &[Vec<S>],
    ) -> Result<Vec<Value>, DbError> {
        self.send_all(trace, commands.iter().map(|c| command(c)).collect(), true)
            .await
    }

    /// Like [`Db::transaction`] where Redis can: one server, or every command's key (its
    /// first argument) in one cluster slot. Otherwise the commands run one after another, in
    /// order, each only after the one before succeeded; the caller orders them so that
    /// stopping between two loses nothing (a record before the removal it records).
    pub async fn together<S: AsRef<str>>(
        &self,
        trace: &mut Trace,
        commands: &[Vec<S>],
    ) -> Result<Vec<Value>, DbError> {
        let slots: Vec<u16> = commands
            .iter()
            .filter_map(|c| c.get(1))
            .map(|key| crate::store::keys::slot(key.as_ref()))
            .collect();
        if !self.is_cluster() || slots.windows(2).all(|w| w[0] == w[1]) {
            return self.transaction(trace, commands).await;
        }
        let mut replies = Vec::with_capacity(commands.len());
        for command in commands {
            replies.push(self.run::<Value, _>(trace, command).await?);
        }
        Ok(replies)
    }

    async fn send_all(
        &self,
        trace: &mut Trace,
        commands: Vec<Cmd>,
        atomic: bool,
    ) -> Result<Vec<Value>, DbError> {
        // redis-rs refuses an empty pipeline; nothing to send answers nothing.
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        if atomic {
            pipe.atomic();
            trace.record(&redis::cmd("MULTI"));
        }
        for cmd in commands {
            trace.record(&cmd);
            pipe.add_command(cmd);
        }
        if atomic {
            trace.record(&redis::cmd("EXEC"));
        }
        match pipe.query_async(&mut self.conn.clone()).await {
            // A cluster takes a pipeline only when its keys share a slot (the client checks
            // before sending anything): reads across slots go as separate commands instead.
            Err(e) if !atomic && e.code() == Some("CROSSSLOT") => {
                self.each_alone(pipe.cmd_iter()).await
            }
            other => other.map_err(|e| self.classify(e)),
        }
    }

    /// Separate commands, all at once on the multiplexed connection, so they still cost about
    /// one round trip: how a cluster takes reads across slots.
    async fn each_alone(
        &self,
        commands: impl Iterator<Item = &Cmd>,
    ) -> Result<Vec<Value>, DbError> {
        try_join_all(commands.map(|cmd| {
            let mut conn = self.conn.clone();
            async move { cmd.query_async::<Value>(&mut conn).await }
        }))
        .await
        .map_err(|e| self.classify(e))
    }

    /// Runs a Lua script (EVALSHA, loading it on first use). The caller records the stream
    /// commands the script performs, which say more to a learner than the EVALSHA does.
    pub async fn script<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, DbError> {
        invocation
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.classify(e))
    }

    /// Sends a script's `EVALSHA` (made by [`Lua::evalsha`], the command object a trace
    /// renders), loading the script first if Redis does not know it yet.
    pub async fn eval<T: FromRedisValue>(&self, lua: &Lua, evalsha: &Cmd) -> Result<T, DbError> {
        let mut conn = self.conn.clone();
        match evalsha.query_async(&mut conn).await {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                self.load(lua, &mut conn).await?;
                evalsha.query_async(&mut conn).await
            }
            other => other,
        }
        .map_err(|e| self.classify(e))
    }

    /// Sends several `EVALSHA`s of one script in one round trip, loading the script first if
    /// Redis does not know it yet. Each reply stands alone: one failing does not undo the
    /// others.
    pub async fn evals(&self, lua: &Lua, evalshas: &[Cmd]) -> Result<Vec<Value>, DbError> {
        if self.is_cluster() {
            // Each goes to its own keys' slot.
            return try_join_all(evalshas.iter().map(|evalsha| self.eval(lua, evalsha))).await;
        }
        let mut pipe = redis::pipe();
        for evalsha in evalshas {
            pipe.add_command(evalsha.clone());
        }
        let mut conn = self.conn.clone();
        match pipe.query_async(&mut conn).await {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                self.load(lua, &mut conn).await?;
                pipe.query_async(&mut conn).await
            }
            other => other,
        }
        .map_err(|e| self.classify(e))
    }

    /// `SCRIPT LOAD` (on every primary of a cluster).
    async fn load(&self, lua: &Lua, conn: &mut Connection) -> Result<(), DbError> {
        lua.script()
            .prepare_invoke()
            .load_async(conn)
            .await
            .map(drop)
            .map_err(|e| self.classify(e))
    }

    /// `INFO [section]` of the one server, or of every primary of a cluster (which answers
    /// it as a map of node to text).
    /// `CONFIG GET name`: the setting's value, if Redis has one by that name.
    pub async fn config_get(
        &self,
        trace: &mut Trace,
        name: &str,
    ) -> Result<Option<String>, DbError> {
        let pair: Vec<String> = self.run(trace, &["CONFIG", "GET", name]).await?;
        Ok(pair.into_iter().nth(1))
    }

    /// `SHUTDOWN`: the server writes its append-only file out and stops (the connection
    /// drops with it, so the answer is an error either way).
    pub async fn shutdown_server(&self) -> Result<(), DbError> {
        self.run::<(), _>(&mut Trace::off(), &["SHUTDOWN"]).await
    }

    /// `PING`: whether Redis answers at all.
    pub async fn ping(&self, trace: &mut Trace) -> Result<(), DbError> {
        self.run::<String, _>(trace, &["PING"]).await.map(drop)
    }

    pub async fn info(&self, trace: &mut Trace, section: Option<&str>) -> Result<Info, DbError> {
        let mut args = vec!["INFO"];
        args.extend(section);
        let reply: Value = self.run(trace, &args).await?;
        let nodes = match reply {
            Value::Map(by_node) => by_node
                .iter()
                .filter_map(|(node, text)| {
                    Some((super::reply::text(node)?, super::reply::text(text)?))
                })
                .collect(),
            other => vec![(
                self.location.clone(),
                super::reply::text(&other).unwrap_or_default(),
            )],
        };
        Ok(Info { nodes })
    }

    pub fn classify(&self, e: RedisError) -> DbError {
        if e.is_io_error()
            || e.kind() == redis::ErrorKind::ClusterConnectionNotFound
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_connection_dropped()
            // A restarted Redis answers LOADING while it reads its data back, a cluster
            // TRYAGAIN or CLUSTERDOWN while slots move: out of reach for now, not a bug.
            || matches!(
                e.code(),
                Some("LOADING" | "TRYAGAIN" | "CLUSTERDOWN" | "MASTERDOWN")
            )
        {
            DbError::Unavailable(self.location.clone())
        } else {
            DbError::refused(e)
        }
    }
}

/// What `INFO` said, per server: one for a single Redis, one per primary of a cluster.
pub struct Info {
    pub nodes: Vec<(String, String)>,
}

impl Info {
    /// A field's value on the first server that has it (`redis_version`, `maxmemory_policy`).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.nodes
            .iter()
            .find_map(|(_, text)| info_field(text, name))
    }

    /// A numeric field added up over the servers (`used_memory`).
    pub fn sum(&self, name: &str) -> u64 {
        self.nodes
            .iter()
            .filter_map(|(_, text)| info_field(text, name)?.parse::<u64>().ok())
            .sum()
    }
}

/// `name:value\r\n` lines of `INFO`.
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The command object for an argument list: what is sent, and what a trace renders.
pub(in crate::store) fn command<S: AsRef<str>>(args: &[S]) -> Cmd {
    let mut cmd = redis::cmd(args[0].as_ref());
    for a in &args[1..] {
        cmd.arg(a.as_ref());
    }
    cmd
}

/// `redis://user:secret@host:6379/0` -> `redis://host:6379/0`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}{}", &url[..scheme_end + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error Redis sends as `reply` (a RESP error line).
    fn answered(reply: &str) -> DbError {
        match redis::parse_redis_value(format!("-{reply}\r\n").as_bytes()) {
            Ok(Value::ServerError(e)) => DbError::refused(e.into()),
            other => panic!("not an error reply: {other:?}"),
        }
    }

    #[test]
    fn error_replies_are_classified_by_what_redis_said() {
        let kinds = [
            (
                "OOM command not allowed when used memory > 'maxmemory'.",
                Refusal::OutOfMemory,
            ),
            (
                "ERR Error running script (call to f_1): @user_script:5: OOM command not \
                 allowed when used memory > 'maxmemory'.",
                Refusal::OutOfMemory,
            ),
            ("ERR no such key", Refusal::NoSuchKey),
            (
                "NOGROUP No such key 's' or consumer group 'g'",
                Refusal::NoGroup,
            ),
            (
                "BUSYGROUP Consumer Group name already exists",
                Refusal::BusyGroup,
            ),
            (
                "WRONGTYPE Operation against a key holding the wrong kind of value",
                Refusal::WrongType,
            ),
            ("ERR syntax error", Refusal::Other),
        ];
        for (reply, kind) in kinds {
            assert_eq!(answered(reply).refusal(), Some(kind), "{reply}");
        }
        assert_eq!(
            answered("WRONGTYPE Operation against a key").reply(),
            Some(("WRONGTYPE".into(), "Operation against a key".into()))
        );
        assert_eq!(DbError::Unavailable("x".into()).refusal(), None);
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("redis://u:pw@127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
