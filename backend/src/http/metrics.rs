//! `GET /metrics`, the Prometheus text format: what the relay counts as it works (requests by
//! route, console lines and refusals, the consumers' deliveries, errors and processing times,
//! WebSocket connections), recorded through the `metrics` macros into one recorder per process,
//! then the figures Redis reports (stream lengths, dead letters, each group's lag, `lag_ms`,
//! pending): the whole answer made for this relay at most once per [`FRESH`] whoever scrapes.
//!
//! One recorder per process because the `metrics` macros have one global recorder: it is
//! installed by the first relay built and shared by every later one (tests start many relays in
//! one process), so its counters are the process's. The Redis figures are each relay's own:
//! rendered from a recorder made for the one refresh, so a group or partition gone is gone.
//! No label holds a claim, a workspace, a consumer or a raw path: routes are the templates the
//! router matched, and every other label comes from a fixed set.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use shared::api::GroupsResponse;

use crate::http::state::AppState;
use crate::store::trace::Trace;
use crate::teaching::console::telemetry as console_counts;
use crate::workers::stats;
use crate::workers::telemetry as consumer_counts;

/// The answer (and so the Redis figures) is made at most once per this, shared by every
/// scrape in it.
pub const FRESH: Duration = Duration::from_secs(1);
/// A refresh that takes longer is given up: the scrape answers without the Redis figures and
/// `claimstream_redis_up 0`.
pub const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);

pub const HTTP_REQUESTS: &str = "claimstream_http_requests_total";
pub const HTTP_DURATION: &str = "claimstream_http_request_duration_seconds";
pub const WS_CONNECTIONS: &str = "claimstream_ws_connections_total";
pub const WS_CLIENTS: &str = "claimstream_ws_clients";
pub const STREAM_LENGTH: &str = "claimstream_stream_length";
pub const DEAD_LETTERS: &str = "claimstream_dead_letters";
pub const GROUP_LAG: &str = "claimstream_group_lag";
pub const GROUP_LAG_MS: &str = "claimstream_group_lag_ms";
pub const GROUP_PENDING: &str = "claimstream_group_pending";
pub const GROUP_CONSUMERS: &str = "claimstream_group_consumers";
pub const REDIS_UP: &str = "claimstream_redis_up";
pub const REFRESH_COMMANDS: &str = "claimstream_metrics_refresh_redis_commands";

/// The route label of a request no route matched under `/api`, and of the browser app's files.
pub const UNMATCHED: &str = "unmatched";
pub const APP_FILES: &str = "app";
/// The status label of a request that was never answered.
pub const DROPPED: &str = "dropped";

/// Request durations, seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// A handler's time per entry, seconds.
const PROCESSING_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// This relay's `/metrics`: the process's recorder and this relay's Redis figures.
#[derive(Clone)]
pub struct Metrics {
    process: PrometheusHandle,
    last: Arc<tokio::sync::Mutex<Option<Made>>>,
}

/// The last answer, and when it was made.
type Made = (Instant, Bytes);

impl Metrics {
    /// The process's recorder (installed by the first call), and no Redis figures yet.
    pub fn new() -> Self {
        Self {
            process: process_recorder().clone(),
            last: Arc::default(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Installs the process's recorder once; every relay of the process renders it. If another
/// recorder is installed already (an embedding program's), ours records nothing and
/// `/metrics` has the Redis figures alone.
fn process_recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(consumer_counts::PROCESSING.into()), PROCESSING_BUCKETS)
            })
            .expect("buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(e) = ::metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed; /metrics shows Redis figures only");
            return handle;
        }
        describe();
        // Histograms keep their samples until drained; a render drains them, and so does
        // this, every 5 s, when nobody scrapes (a thread: no runtime outlives every relay).
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

/// The process's metrics' help lines.
fn describe() {
    use ::metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests, by method, route template (unmatched: no route under /api; app: the browser app's files) and status (dropped: never answered, the relay gave up at its request timeout or the client left)"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to the answer's head, by method and route template"
    );
    describe_counter!(WS_CONNECTIONS, "WebSocket feeds opened");
    describe_counter!(
        consumer_counts::DELIVERIES,
        "Entries handed to this process's consumers, by group (a redelivery counts again)"
    );
    describe_counter!(
        consumer_counts::ERRORS,
        "Entries whose handling failed, by group (each failed delivery)"
    );
    describe_counter!(
        consumer_counts::DEAD_LETTERED,
        "Entries moved to the dead letters, by group"
    );
    describe_histogram!(
        consumer_counts::PROCESSING,
        Unit::Seconds,
        "Handler time per entry, by group (a batch's time shared out)"
    );
    describe_counter!(
        console_counts::LINES,
        "Console lines, by command (the table's name, HELP, or (unread)) and outcome (ok, error, refused, unavailable, help)"
    );
    describe_counter!(
        console_counts::REFUSALS,
        "Console lines refused before Redis saw them, by reason (syntax, cap, key, quota, blocking, rate)"
    );
}

/// Counts the request by method, route template and status, and times it (to the answer's
/// head). Applied to the whole router, so refusals by the layers inside count too; a request
/// never answered (the relay gave up at the request timeout, or the client left) counts with
/// the status `dropped` when its future is dropped.
pub async fn track(request: Request, next: Next) -> Response {
    let mut counted = Counted {
        method: method_label(request.method()),
        route: Some(route_label(
            request.extensions().get::<MatchedPath>(),
            request.uri().path(),
        )),
        started: Instant::now(),
    };
    let response = next.run(request).await;
    counted.answered(&response.status().as_u16().to_string());
    response
}

/// A request being answered; counted once, when answered or else when dropped.
struct Counted {
    method: &'static str,
    /// Taken when counted.
    route: Option<String>,
    started: Instant,
}

impl Counted {
    fn answered(&mut self, status: &str) {
        let Some(route) = self.route.take() else {
            return;
        };
        let method = self.method;
        ::metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_owned())
            .increment(1);
        ::metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
            .record(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.answered(DROPPED);
    }
}

/// A fixed set: the methods the API knows, the rest as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The template the router matched (`/api/claims/{id}`), never the path itself: under `/api`
/// with no route (or only the API's fallback), [`UNMATCHED`]; elsewhere the browser app's
/// files, [`APP_FILES`].
fn route_label(matched: Option<&MatchedPath>, path: &str) -> String {
    match matched.map(MatchedPath::as_str) {
        // A nested router's fallback matches as its prefix or a wildcard tail.
        Some(route) if !route.contains("{*") && route != "/api" => route.to_owned(),
        _ if path == "/api" || path.starts_with("/api/") => UNMATCHED.to_owned(),
        _ => APP_FILES.to_owned(),
    }
}

/// `GET /metrics`: the process's counters and histograms, then this relay's figures.
#[utoipa::path(get, path = "/metrics", tag = "metrics", responses((status = 200,
    description = "Prometheus text format: counters and histograms, then stream, group and dead-letter figures read from Redis.",
    content_type = "text/plain; version=0.0.4")))]
pub async fn scrape(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        answer(&state).await,
    )
        .into_response()
}

/// The whole answer, made again when the last is older than [`FRESH`]: one at a time, and
/// scrapes that come while it is made wait for it and share it, so a scrape in a loop costs a
/// copy of the last answer, neither a render nor a read of Redis.
async fn answer(state: &AppState) -> Bytes {
    let mut last = state.metrics.last.lock().await;
    if let Some((_, body)) = last.as_ref().filter(|(at, _)| at.elapsed() < FRESH) {
        return body.clone();
    }
    let figures = refresh(state).await;
    let mut body = state.metrics.process.render();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    body.push_str(&figures);
    let body = Bytes::from(body);
    *last = Some((Instant::now(), body.clone()));
    body
}

/// Reads the groups as `GET /api/groups` does (`workers::stats`) and renders the figures
/// through a recorder of their own.
async fn refresh(state: &AppState) -> String {
    let workers = state.workers.get().cloned();
    let mut trace = Trace::default();
    let read = tokio::time::timeout(
        REFRESH_TIMEOUT,
        stats::read(&state.db, state.clock.now(), workers.as_deref(), &mut trace),
    )
    .await;
    let groups = match read {
        Ok(Ok(groups)) => Some(groups),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "metrics: groups not read");
            None
        }
        Err(_) => {
            tracing::debug!("metrics: groups not read in time");
            None
        }
    };
    let commands = trace.into_commands().len();
    let recorder = PrometheusBuilder::new().build_recorder();
    ::metrics::with_local_recorder(&recorder, || {
        use ::metrics::{describe_gauge, gauge};
        describe_gauge!(WS_CLIENTS, "WebSocket feeds open on this relay now");
        gauge!(WS_CLIENTS).set(state.ws_limits.open() as f64);
        describe_gauge!(
            REDIS_UP,
            "1 when this relay's last read of the streams and groups succeeded"
        );
        gauge!(REDIS_UP).set(if groups.is_some() { 1.0 } else { 0.0 });
        describe_gauge!(
            REFRESH_COMMANDS,
            "Redis commands the last read of these figures sent (at most one read a second)"
        );
        gauge!(REFRESH_COMMANDS).set(commands as f64);
        if let Some(groups) = &groups {
            record_groups(state, groups);
        }
    });
    recorder.handle().render()
}

/// Each partition's stream length and dead letters, and each group's figures per partition.
fn record_groups(state: &AppState, groups: &GroupsResponse) {
    use ::metrics::{describe_gauge, gauge};
    describe_gauge!(
        STREAM_LENGTH,
        "Entries in the claims' events stream (XLEN), per partition"
    );
    describe_gauge!(
        DEAD_LETTERS,
        "Entries in the dead-letter stream (XLEN), per partition"
    );
    describe_gauge!(
        GROUP_LAG,
        "Entries the group has not been given yet (XINFO GROUPS lag), per partition; absent when Redis cannot tell"
    );
    describe_gauge!(
        GROUP_LAG_MS,
        "Age in ms of the oldest entry the group has not been given (0 when none), per partition"
    );
    describe_gauge!(
        GROUP_PENDING,
        "Entries delivered and not acknowledged (XPENDING), per partition"
    );
    describe_gauge!(
        GROUP_CONSUMERS,
        "The group's consumers, as Redis lists them"
    );
    // With one partition the response has only the totals, which are that partition's.
    let one = state.db.partitions.count() == 1;
    for (i, partition) in state.db.partitions.all().enumerate() {
        let p = partition.index().to_string();
        let length = if one {
            groups.length
        } else {
            groups.partition_lengths.get(i).copied().unwrap_or(0)
        };
        let dead = if one {
            groups.dead_letters
        } else {
            groups.partition_dead_letters.get(i).copied().unwrap_or(0)
        };
        gauge!(STREAM_LENGTH, "stream" => partition.events(), "partition" => p.clone())
            .set(length as f64);
        gauge!(DEAD_LETTERS, "stream" => partition.failed(), "partition" => p.clone())
            .set(dead as f64);
        for g in &groups.groups {
            let (lag, lag_ms, pending) = if one {
                (g.lag, g.lag_ms, g.pending)
            } else {
                (
                    g.partition_lags.get(i).copied().flatten(),
                    g.partition_lag_ms.get(i).copied().unwrap_or(0),
                    g.partition_pending.get(i).copied().unwrap_or(0),
                )
            };
            let labels = [("group", g.name.clone()), ("partition", p.clone())];
            if let Some(lag) = lag {
                gauge!(GROUP_LAG, &labels).set(lag as f64);
            }
            gauge!(GROUP_LAG_MS, &labels).set(lag_ms as f64);
            gauge!(GROUP_PENDING, &labels).set(pending as f64);
        }
    }
    for g in &groups.groups {
        gauge!(GROUP_CONSUMERS, "group" => g.name.clone()).set(g.consumers as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates_and_the_rest_is_a_fixed_label() {
        assert_eq!(route_label(None, "/api/claims/CLM-1"), UNMATCHED);
        assert_eq!(route_label(None, "/api"), UNMATCHED);
        assert_eq!(route_label(None, "/index.html"), APP_FILES);
        assert_eq!(route_label(None, "/apiary"), APP_FILES);
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(method_label(&Method::GET), "GET");
    }
}
