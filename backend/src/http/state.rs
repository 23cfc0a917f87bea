use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::events::feed::Feed;
use crate::http::access::Access;
use crate::http::limits::ConnectionLimits;
use crate::store::clock::Clock;
use crate::store::db::Db;
use crate::store::embedded::EmbeddedStatus;
use crate::workers::Workers;

/// What every handler can reach: the [`Handles`] behind one `Arc`. Axum clones the state
/// for every extractor and middleware that asks for it, several times per request; one
/// reference count is all that clone costs (cloning the fields themselves, a dozen `Arc`s
/// and the Redis client's strings, was a visible part of a submit's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Handles>);

impl AppState {
    pub fn new(handles: Handles) -> Self {
        Self(Arc::new(handles))
    }
}

impl std::ops::Deref for AppState {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}

/// The relay's handles, each cheap to clone on its own.
pub struct Handles {
    pub db: Db,
    /// The claims, with when their snapshots are written.
    pub claims: crate::store::claims::Claims,
    /// The relay's one clock, for every time a request stamps or reports.
    pub clock: Clock,
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
    pub heavy: crate::http::limits::HeavyReads,
    /// Replays of the whole board by the point they reach (`GET /api/state`).
    pub boards: crate::events::replay::Boards,
    /// The class view, counted at most once per [`crate::teaching::lab::class::FRESH`].
    pub class: crate::teaching::lab::class::ClassCache,
    /// `MAXLEN ~` of the side streams the relay appends to (`claims:failed:log`).
    pub side_stream_maxlen: u64,
    /// Lengths, lags and rates sampled once a second.
    pub trends: crate::workers::trends::Trends,
    /// The supervisor's report on the relay's own redis-server, if it runs one.
    pub embedded: Option<EmbeddedStatus>,
    /// The learners' stream console.
    pub console: crate::teaching::console::Console,
    /// The traffic generator (one per relay).
    pub traffic: crate::teaching::traffic::Traffic,
    /// The guided failure scenarios (one at a time).
    pub scenarios: crate::teaching::scenarios::Scenarios,
    /// `/metrics`: the process's recorder and this relay's Redis figures, read once a second.
    pub metrics: crate::http::metrics::Metrics,
}
