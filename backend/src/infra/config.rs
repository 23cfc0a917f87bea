use std::net::SocketAddr;
use std::path::PathBuf;

/// The relay's settings: flags, each with an environment variable and a default, so nothing
/// is required to start.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "backend",
    about = "claimstream relay: claims on Redis Streams, over HTTP and WebSocket"
)]
pub struct Config {
    /// Address to serve HTTP and the WebSocket on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Redis to use. Without it the relay starts its own redis-server.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// A Redis Cluster to use instead: some of its nodes as `host:port,host:port,...`; the
    /// client learns the others and follows slots as they move.
    #[arg(
        long,
        env = "REDIS_CLUSTER",
        value_delimiter = ',',
        conflicts_with = "redis_url"
    )]
    pub redis_cluster: Vec<String>,

    /// Spread the claims over this many events streams, `claims:events:{0}` ...; 1 keeps the
    /// single `claims:events`. Every relay on one Redis must be given the same number.
    #[arg(long, env = "PARTITIONS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::store::keys::Partitions::MAX)))]
    pub partitions: u32,

    /// Where the embedded Redis keeps its data (default: the user's data directory).
    #[arg(long, env = "CLAIMSTREAM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Live entries a WebSocket client may fall behind before it is told and resumed from
    /// the stream instead.
    #[arg(long, env = "WS_CLIENT_BUFFER", default_value_t = 4096)]
    pub ws_client_buffer: usize,

    /// Run consumer groups inside the relay (`--workers false` to drive every step by hand).
    #[arg(long, env = "WORKERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub workers: bool,

    /// Let `claims-processors` review submitted claims and approve the small ones.
    #[arg(long, env = "AUTO_REVIEW", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_review: bool,

    /// Claims up to this amount are approved by `claims-processors` without a person.
    #[arg(long, env = "AUTO_APPROVE_UP_TO", default_value = "1000.00")]
    pub auto_approve_up_to: shared::Amount,

    /// Consumers started per group.
    #[arg(long, env = "CONSUMERS_PER_GROUP", default_value_t = 2)]
    pub consumers: usize,

    /// Deliveries after which a failing entry goes to `claims:failed`.
    #[arg(long, env = "MAX_DELIVERIES", default_value_t = 5)]
    pub max_deliveries: u64,

    /// Pending entries idle this long (ms) are taken over from their consumer.
    #[arg(long, env = "CLAIM_IDLE_MS", default_value_t = 10_000)]
    pub claim_idle_ms: u64,

    /// Built browser app to serve at `/`, if the directory exists.
    #[arg(long, env = "STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// Instructor actions need `Authorization: Bearer <this>`. Unset on a loopback address:
    /// local callers are the instructor; unset on any other address: a random token is made
    /// and printed with the instructor's URL.
    #[arg(long, env = "INSTRUCTOR_TOKEN", hide_env_values = true)]
    pub instructor_token: Option<String>,

    /// Another origin whose pages may act on the relay (e.g. `http://127.0.0.1:8081` for
    /// `trunk serve`); repeat the flag, or separate with commas.
    #[arg(
        long = "allowed-origin",
        env = "ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Consumers this relay runs per group at most.
    #[arg(long, env = "MAX_CONSUMERS_PER_GROUP", default_value_t = 8)]
    pub max_consumers_per_group: usize,

    /// Open WebSockets from one client address at most (a class behind one NAT shares one).
    #[arg(long, env = "WS_MAX_PER_CLIENT", default_value_t = 128)]
    pub ws_max_per_client: usize,

    /// Open WebSockets in all at most.
    #[arg(long, env = "WS_MAX_CONNECTIONS", default_value_t = 1024)]
    pub ws_max_connections: usize,

    /// Largest message a WebSocket client may send (the feed takes no input but close).
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value_t = 4096)]
    pub ws_max_message_bytes: usize,

    /// A new connection must send its first whole request head within this (ms), or it is
    /// closed (slowloris).
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,

    /// A kept-alive connection must send its next whole request head within this (ms) of
    /// the last answer, or it is closed.
    #[arg(long, env = "IDLE_TIMEOUT_MS", default_value_t = 30_000)]
    pub idle_timeout_ms: u64,

    /// A request whose answer has not started within this (ms) gets 503 `request_timeout`.
    /// Above the longest legitimate wait (`wait_ms` 10 s, console BLOCK 5 s, replays); an
    /// open WebSocket is not a request and is never cut.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// Connections one client address may hold that have not yet sent a whole request head;
    /// more are refused at once. A class behind one NAT: 60 learners x (6 + a WebSocket).
    #[arg(
        long,
        env = "MAX_PENDING_CONNECTIONS_PER_CLIENT",
        default_value_t = 420
    )]
    pub max_pending_connections_per_client: usize,

    /// Write requests (POST, DELETE) per second per client address, sustained.
    #[arg(long, env = "WRITE_RATE_PER_SECOND", default_value_t = 100)]
    pub write_rate_per_second: u32,

    /// Write requests one client address may send in a burst above the sustained rate.
    #[arg(long, env = "WRITE_BURST", default_value_t = 400)]
    pub write_burst: u32,

    /// Expensive reads (`GET /api/state`, a claim's events, `/api/class`, `?at=`) run at
    /// most this many at once, relay-wide (one: on two cores, the other stays free for the
    /// rest).
    #[arg(long, env = "HEAVY_READS", default_value_t = 1)]
    pub heavy_reads: usize,

    /// How long an expensive read waits for a place before 503 `busy`.
    #[arg(long, env = "HEAVY_READ_WAIT_MS", default_value_t = 2_000)]
    pub heavy_read_wait_ms: u64,

    /// Approximate length cap (`MAXLEN ~`) of the side streams `claims:failed:log`,
    /// `claims:notifications` and `claims:analytics`.
    #[arg(long, env = "SIDE_STREAM_MAXLEN", default_value_t = 10_000)]
    pub side_stream_maxlen: u64,

    /// Write a claim's snapshot every this many events (0: never); loading a claim folds
    /// only the events after its newest snapshot.
    #[arg(long, env = "SNAPSHOT_EVERY", default_value_t = crate::store::claims::DEFAULT_SNAPSHOT_EVERY)]
    pub snapshot_every: u64,

    /// Console workspaces the relay holds at once.
    #[arg(long, env = "MAX_WORKSPACES", default_value_t = 2000)]
    pub max_workspaces: u64,

    /// When the relay holds --max-workspaces, the least recently used one makes room if it has
    /// been idle this long.
    #[arg(long, env = "WORKSPACE_EVICT_IDLE_SECS", default_value_t = 1800)]
    pub workspace_evict_idle_secs: u64,

    /// Workspaces one client address may make in a burst (a class behind one NAT address) ...
    #[arg(long, env = "WORKSPACE_BURST", default_value_t = 100)]
    pub workspace_burst: u32,

    /// ... and then per minute.
    #[arg(long, env = "WORKSPACES_PER_MINUTE", default_value_t = 10)]
    pub workspaces_per_minute: u32,

    /// Console reads with BLOCK at once in this relay (each holds a Redis connection).
    #[arg(long, env = "CONSOLE_BLOCKING", default_value_t = 128)]
    pub console_blocking: usize,

    /// Console reads with BLOCK at once per workspace.
    #[arg(long, env = "CONSOLE_BLOCKING_PER_WORKSPACE", default_value_t = 2)]
    pub console_blocking_per_workspace: usize,

    /// Console lines one workspace may send per second ...
    #[arg(long, env = "CONSOLE_LINES_PER_SECOND", default_value_t = 10)]
    pub console_lines_per_second: u32,

    /// ... and in a burst.
    #[arg(long, env = "CONSOLE_LINE_BURST", default_value_t = 30)]
    pub console_line_burst: u32,

    /// Seconds a learner may spend on one lab task, typing, before the lab offers the
    /// generic hint for it.
    #[arg(long, env = "HINT_STUCK_AFTER_SECS", default_value_t = 300)]
    pub hint_stuck_after_secs: u64,
}

impl Config {
    /// The defaults, as if started with no flags: for tests. The variables that would point a
    /// test at someone else's Redis or change who is the instructor are ignored.
    pub fn defaults() -> Self {
        let mut config = <Self as clap::Parser>::parse_from(["backend"]);
        config.redis_url = None;
        config.redis_cluster.clear();
        config.instructor_token = None;
        config.allowed_origins.clear();
        config
    }

    /// The Redis a subcommand (`traffic`, `worker`, `validate`) talks to: the cluster when
    /// given, else `url` (its own flag) or `--redis-url`; none when neither is set.
    pub fn subcommand_db(
        &self,
        url: Option<String>,
    ) -> anyhow::Result<Option<crate::store::db::Db>> {
        let db = if !self.redis_cluster.is_empty() {
            crate::store::db::Db::cluster(&self.redis_cluster)?
        } else if let Some(url) = url.or(self.redis_url.clone()) {
            crate::store::db::Db::new(&url)?
        } else {
            return Ok(None);
        };
        let partitions = crate::store::keys::Partitions::new(self.partitions).ok_or_else(|| {
            anyhow::anyhow!(
                "--partitions is 1 to {}",
                crate::store::keys::Partitions::MAX
            )
        })?;
        Ok(Some(db.with_partitions(partitions)))
    }

    /// The claims in `db`, snapshotted as `--snapshot-every` says.
    pub fn claims(&self, db: crate::store::db::Db) -> crate::store::claims::Claims {
        crate::store::claims::Claims::new(db, shared::snapshot::SnapshotEvery(self.snapshot_every))
    }

    /// The consumer groups' settings, stamping with `clock`.
    pub fn worker_settings(
        &self,
        clock: crate::store::clock::Clock,
    ) -> crate::workers::WorkerSettings {
        crate::workers::WorkerSettings {
            consumers: self.consumers,
            auto_review: self.auto_review,
            approve_up_to: self.auto_approve_up_to,
            consumer: crate::workers::ConsumerConfig {
                max_deliveries: self.max_deliveries,
                claim_idle: std::time::Duration::from_millis(self.claim_idle_ms),
                ..Default::default()
            },
            max_consumers: self.max_consumers_per_group,
            side_stream_maxlen: self.side_stream_maxlen,
            snapshot_every: shared::snapshot::SnapshotEvery(self.snapshot_every),
            clock,
        }
    }

    pub fn connection_settings(&self) -> crate::http::connections::ConnectionSettings {
        use std::time::Duration;
        crate::http::connections::ConnectionSettings {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_pending_per_client: self.max_pending_connections_per_client,
        }
    }

    pub fn write_limit(&self) -> crate::http::limits::WriteLimit {
        crate::http::limits::WriteLimit {
            per_second: self.write_rate_per_second,
            burst: self.write_burst,
        }
    }

    pub fn console_limits(&self) -> crate::teaching::console::ConsoleLimits {
        crate::teaching::console::ConsoleLimits {
            max_workspaces: self.max_workspaces.max(1),
            evict_idle: std::time::Duration::from_secs(self.workspace_evict_idle_secs),
            workspace_burst: self.workspace_burst,
            workspaces_per_minute: self.workspaces_per_minute,
            blocking: self.console_blocking,
            blocking_per_workspace: self.console_blocking_per_workspace,
            lines_per_second: self.console_lines_per_second,
            line_burst: self.console_line_burst,
            stuck_after: std::time::Duration::from_secs(self.hint_stuck_after_secs),
        }
    }

    pub fn heavy_reads(&self) -> crate::http::limits::HeavyReads {
        crate::http::limits::HeavyReads::new(
            self.heavy_reads,
            std::time::Duration::from_millis(self.heavy_read_wait_ms),
        )
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("claimstream")
                .join("redis")
        })
    }
}
