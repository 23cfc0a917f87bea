//! Building the relay from its config and running it until told to stop.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::events::feed::Feed;
use crate::http::access::Access;
use crate::http::limits::ConnectionLimits;
use crate::http::routes;
use crate::http::state::{AppState, Handles};
use crate::infra::config::Config;
use crate::store::clock::Clock;
use crate::store::db::Db;
use crate::store::embedded::{EmbeddedRedis, Persistence, Supervised};
use crate::workers::{WorkerSettings, Workers};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    embedded: Option<Supervised>,
    workers: Option<WorkerSettings>,
    connections: crate::http::connections::ConnectionSettings,
    generated_token: Option<String>,
}

impl Application {
    /// Binds the listener and, without a Redis URL, starts the embedded Redis.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // The one clock: everything the relay stamps or reports reads it.
        let clock = Clock::system();
        let (db, embedded) = match &config.redis_url {
            _ if !config.redis_cluster.is_empty() => (Db::cluster(&config.redis_cluster)?, None),
            Some(url) => (
                Db::new(url).with_context(|| format!("bad Redis URL {url:?}"))?,
                None,
            ),
            None => {
                let dir = config.data_dir();
                let server = EmbeddedRedis::start(&dir, Persistence::AppendOnly).await?;
                tracing::info!(
                    port = server.port(),
                    dir = %dir.display(),
                    "started embedded Redis; inspect it with `redis-cli -p {}`",
                    server.port()
                );
                (Db::new(&server.url())?, Some(server.supervise()))
            }
        };
        let partitions = crate::store::keys::Partitions::new(config.partitions)
            .context("--partitions is 1 to 64")?;
        let db = db.with_partitions(partitions);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        if config.workers {
            // Groups start at the stream's end; made now, before the first request is served,
            // no claim submitted right after the start is missed by one of them. If Redis is
            // not there yet, the workers make them once it is.
            let settings = config.worker_settings(clock.clone());
            let ensure = async {
                for group in crate::workers::supervisor::group_names(&settings) {
                    crate::store::groups::ensure(&db, group).await?;
                }
                Ok::<(), crate::store::db::DbError>(())
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), ensure).await;
        }
        // Claims that other programs appended while no relay ran load from the first request
        // on; later ones are indexed as the projector meets them (or by the next append).
        let index = crate::store::claims::catch_up_all(&db);
        if let Ok(Err(e)) = tokio::time::timeout(std::time::Duration::from_secs(10), index).await {
            tracing::warn!(error = %e, "claims appended by other programs are indexed once Redis answers");
        }
        let (access, generated_token) = Access::new(
            config.listen,
            config.instructor_token.clone(),
            &config.allowed_origins,
        );
        let state = AppState::new(Handles {
            claims: config.claims(db.clone()).with_queued_log(),
            db,
            clock: clock.clone(),
            feed: Feed::new(config.ws_client_buffer),
            shutdown: CancellationToken::new(),
            workers: Arc::default(),
            groups_feed: Arc::new(tokio::sync::watch::Sender::new(None)),
            projection_feed: Arc::new(tokio::sync::watch::Sender::new(None)),
            trends: crate::workers::trends::Trends::default(),
            access,
            ws_limits: ConnectionLimits::new(config.ws_max_per_client, config.ws_max_connections),
            ws_max_message_bytes: config.ws_max_message_bytes,
            heavy: config.heavy_reads(),
            boards: crate::events::replay::Boards::default(),
            class: crate::teaching::lab::class::ClassCache::default(),
            side_stream_maxlen: config.side_stream_maxlen,
            embedded: embedded.as_ref().map(Supervised::status),
            console: crate::teaching::console::Console::new(config.console_limits(), clock.clone()),
            traffic: crate::teaching::traffic::Traffic::default(),
            scenarios: crate::teaching::scenarios::Scenarios::default(),
            metrics: crate::http::metrics::Metrics::new(),
        });
        let router = routes::router(
            state.clone(),
            Some(&config.static_dir),
            &config.write_limit(),
        );
        Ok(Self {
            listener,
            router,
            state,
            embedded,
            workers: config.workers.then(|| config.worker_settings(clock)),
            connections: config.connection_settings(),
            generated_token,
        })
    }

    /// The live feed, for tests that hold a subscriber at the seam.
    #[cfg(feature = "test-support")]
    pub fn feed(&self) -> Feed {
        self.state.feed.clone()
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The instructor token the relay made itself (listening beyond loopback without
    /// `--instructor-token`), to print once.
    pub fn generated_token(&self) -> Option<&str> {
        self.generated_token.as_deref()
    }

    pub fn redis_location(&self) -> &str {
        &self.state.db.location
    }

    /// Serves HTTP and runs the live feed until `shutdown` completes, then stops both and
    /// the embedded Redis.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            state,
            embedded,
            workers,
            connections,
            ..
        } = self;
        let stop = state.shutdown.clone();
        let feed = tokio::spawn(state.feed.clone().run(state.db.clone(), stop.clone()));
        let projector = tokio::spawn(crate::events::projection::run(
            state.claims.clone(),
            state.clock.clone(),
            stop.clone(),
        ));
        let projection_feed = tokio::spawn(push_projection(state.clone()));
        let trends = tokio::spawn(state.trends.clone().run(
            state.db.clone(),
            state.clock.clone(),
            state.workers.clone(),
            stop.clone(),
        ));
        let groups_feed = tokio::spawn(push_groups(state.clone()));
        let workers = workers.map(|settings| tokio::spawn(run_workers(state.clone(), settings)));
        crate::http::connections::serve(listener, router, connections, {
            let stop = stop.clone();
            async move {
                shutdown.await;
                stop.cancel();
            }
        })
        .await;
        stop.cancel();
        let _ = feed.await;
        let _ = projector.await;
        let _ = projection_feed.await;
        let _ = trends.await;
        let _ = groups_feed.await;
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        let log = state.claims.command_log();
        if !log.flushed(std::time::Duration::from_secs(5)).await {
            tracing::warn!("the command log's last entries were not written within 5 s");
        }
        if let Some(server) = embedded {
            server.stop().await?;
        }
        Ok(())
    }
}

/// Starts the consumer groups once Redis answers, and waits for them to stop.
async fn run_workers(state: AppState, settings: WorkerSettings) {
    let stop = state.shutdown.clone();
    loop {
        match Workers::start(&state.db, &settings, &stop).await {
            Ok(workers) => {
                let workers = Arc::new(workers);
                let _ = state.workers.set(workers.clone());
                tokio::spawn(workers.clone().forget_departed(state.db.clone()));
                stop.cancelled().await;
                return workers.join().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the consumer groups yet; retrying");
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    () = stop.cancelled() => return,
                }
            }
        }
    }
}

/// Publishes the projection's state when it changes (checked twice a second) while a
/// WebSocket client listens: a rebuild's progress moves the bar in every browser.
async fn push_projection(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        if state.projection_feed.receiver_count() == 0 {
            continue;
        }
        let mut trace = crate::store::trace::Trace::off();
        match crate::events::projection::read_status(&state.db, &mut trace).await {
            Ok(projection) => {
                let message = shared::api::ServerMessage::Projection { projection };
                let json: axum::extract::ws::Utf8Bytes = serde_json::to_string(&message)
                    .expect("messages serialize")
                    .into();
                state.projection_feed.send_if_modified(|latest| {
                    let changed = latest.as_ref() != Some(&json);
                    if changed {
                        *latest = Some(json);
                    }
                    changed
                });
            }
            Err(e) => tracing::debug!(error = %e, "projection state not read"),
        }
    }
}

/// Publishes the consumer groups' state every second while a WebSocket client listens.
async fn push_groups(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        if state.groups_feed.receiver_count() == 0 {
            continue;
        }
        let workers = state.workers.get().cloned();
        let mut trace = crate::store::trace::Trace::off();
        match crate::workers::stats::read(
            &state.db,
            state.clock.now(),
            workers.as_deref(),
            &mut trace,
        )
        .await
        {
            Ok(mut groups) => {
                state.trends.annotate(&mut groups);
                let message = shared::api::ServerMessage::Groups { groups };
                let json = serde_json::to_string(&message).expect("messages serialize");
                state.groups_feed.send_replace(Some(json.into()));
            }
            Err(e) => tracing::debug!(error = %e, "group state not read"),
        }
    }
}
