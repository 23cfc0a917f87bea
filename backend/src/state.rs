use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::access::Access;
use crate::db::Db;
use crate::embedded_redis::EmbeddedStatus;
use crate::feed::Feed;
use crate::limits::ConnectionLimits;
use crate::workers::Workers;

/// What every handler can reach. Cheap to clone: each field is a handle.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub feed: Feed,
    /// Cancelled when the relay shuts down, so long-lived WebSockets end too.
    pub shutdown: CancellationToken,
    /// The consumer groups, once started (never, with `--workers false`).
    pub workers: Arc<OnceLock<Arc<Workers>>>,
    /// The latest `ServerMessage::Groups` JSON, for WebSocket clients.
    pub groups_feed: Arc<tokio::sync::watch::Sender<Option<axum::extract::ws::Utf8Bytes>>>,
    /// The latest `ServerMessage::Projection` JSON, sent again only when it changes.
    pub projection_feed: Arc<tokio::sync::watch::Sender<Option<axum::extract::ws::Utf8Bytes>>>,
    /// Who is the instructor, and which sites may act.
    pub access: Access,
    /// Open WebSockets, per client address and in all.
    pub ws_limits: Arc<ConnectionLimits>,
    pub ws_max_message_bytes: usize,
    /// The places for expensive reads, relay-wide.
    pub heavy: crate::limits::HeavyReads,
    /// Replays of the whole board by the point they reach (`GET /api/state`).
    pub boards: crate::replay::Boards,
    /// The class view, counted at most once per [`crate::lab::class::FRESH`].
    pub class: crate::lab::class::ClassCache,
    /// `MAXLEN ~` of the side streams the relay appends to (`claims:failed:log`).
    pub side_stream_maxlen: u64,
    /// Lengths, lags and rates sampled once a second.
    pub trends: crate::trends::Trends,
    /// The supervisor's report on the relay's own redis-server, if it runs one.
    pub embedded: Option<EmbeddedStatus>,
    /// The learners' stream console.
    pub console: crate::console::Console,
    /// The traffic generator (one per relay).
    pub traffic: crate::traffic::Traffic,
    /// The guided failure scenarios (one at a time).
    pub scenarios: crate::scenarios::Scenarios,
}
