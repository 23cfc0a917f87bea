//! Searching the relay's own streams by field (`GET /api/streams/{key}/search`), as JSON pages
//! or as a CSV or NDJSON download. The filtering runs inside Redis (`store::search`); this
//! checks the request, bounds it, and writes the answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::EventType;
use shared::api::{SearchPage, SearchStop, StreamEntry};

use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::limits::PerClient;
use crate::http::state::AppState;
use crate::store::entry_id::EntryId;
use crate::store::keys::{self, Partition, Partitions};
use crate::store::search::{self, Condition, Found, Position, Stopped};
use crate::store::trace::Trace;

/// Entries one JSON page examines at most.
pub const SCAN_BOUND: u64 = 10_000;
/// Entries one download (`format=csv|ndjson`) examines at most.
pub const EXPORT_SCAN_BOUND: u64 = 100_000;
/// Matches per JSON page: unless asked, and at most.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1_000;
/// Matches per download, unless asked, and at most.
pub const EXPORT_LIMIT: usize = 10_000;
/// No script call of a page starts after this long (a download: [`EXPORT_DEADLINE`]).
pub const DEADLINE: Duration = Duration::from_secs(2);
pub const EXPORT_DEADLINE: Duration = Duration::from_secs(5);
/// Searches under way (running or waiting for a place) per client address.
pub const PER_CLIENT: usize = 4;
/// `field=` conditions per request, and the bytes of any value given.
pub const MAX_FIELDS: usize = 8;
const MAX_VALUE_BYTES: usize = 256;

const PARAMS: &str = "type, claim, customer, from, to, field, limit, after, format";

/// The query as described (`GET /api/openapi.json`); read by hand (`read_request`), since
/// `field` may come several times. A test keeps it and [`PARAMS`] the same list.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SearchParams {
    /// Event type (`claim_submitted`, ...).
    r#type: Option<String>,
    /// Claim id.
    claim: Option<String>,
    /// Customer id.
    customer: Option<String>,
    /// First entry id or time (RFC 3339) examined.
    from: Option<String>,
    /// Last entry id or time (RFC 3339) examined.
    to: Option<String>,
    /// `name:value`, an exact field match; up to 8 of them.
    field: Option<Vec<String>>,
    /// Matches answered: 100 unless asked, at most 1,000 (a download: 10,000).
    limit: Option<usize>,
    /// Continue after this position (the previous page's `next_after`).
    after: Option<String>,
    /// `json` (a page), `csv` or `ndjson` (a download).
    format: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .layer(Extension(PerClient::new("stream searches", PER_CLIENT)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Ndjson,
}

/// The request, checked.
struct Request {
    conditions: Vec<Condition>,
    from: EntryId,
    to: EntryId,
    after: Option<Position>,
    limit: Option<usize>,
    format: Format,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

/// The streams `key` names, each with its partition: the relay's own streams only;
/// `claims:events` and `claims:failed` with several partitions are all of them, merged.
fn searched(
    partitions: Partitions,
    key: &str,
) -> Result<Vec<(Option<Partition>, String)>, ApiError> {
    let several = partitions.count() > 1;
    if several && key == keys::EVENTS {
        return Ok(partitions.all().map(|p| (Some(p), p.events())).collect());
    }
    if several && key == keys::FAILED {
        return Ok(partitions.all().map(|p| (Some(p), p.failed())).collect());
    }
    if keys::known_streams(partitions).iter().any(|k| k == key) {
        let partition = partitions
            .all()
            .find(|p| p.events() == key || p.failed() == key);
        return Ok(vec![(partition, key.to_owned())]);
    }
    let each = if several {
        format!(
            ", and each partition's claims:events:{{p}} and claims:failed:{{p}} (p from 0 to {})",
            partitions.count() - 1
        )
    } else {
        String::new()
    };
    Err(ApiError::bad_request(
        "key_not_allowed",
        format!(
            "{key:?} cannot be searched: only the relay's own streams can, {}, {}, {}, {}{each}",
            keys::EVENTS,
            keys::FAILED,
            keys::ANALYTICS,
            keys::NOTIFICATIONS
        ),
    ))
}

fn value(name: &str, value: &str) -> Result<String, ApiError> {
    if value.is_empty() || value.len() > MAX_VALUE_BYTES {
        return Err(invalid(format!(
            "{name}: give 1 to {MAX_VALUE_BYTES} bytes"
        )));
    }
    Ok(value.to_owned())
}

fn exact(fields: &[&str], value: String) -> Condition {
    Condition {
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        value,
        event_type: false,
    }
}

/// `from`: an id (`(id` for after it), a bare millisecond, or an RFC 3339 time (its first
/// entry on).
fn from_bound(given: &str) -> Result<EntryId, ApiError> {
    let bad = |m: String| invalid(format!("from: {m}"));
    if let Some(id) = given.strip_prefix('(') {
        let id: EntryId = id.parse().map_err(bad)?;
        return Ok(match id.seq.checked_add(1) {
            Some(seq) => EntryId { seq, ..id },
            None => EntryId {
                ms: id.ms.saturating_add(1),
                seq: 0,
            },
        });
    }
    if let Ok(id) = given.parse::<EntryId>() {
        return Ok(id);
    }
    let time: shared::Timestamp = given.parse().map_err(|_| {
        bad(format!(
            "{given:?} is neither a stream id like 1700000000000-0 nor an RFC 3339 time"
        ))
    })?;
    Ok(EntryId {
        ms: time.unix_millis().max(0) as u64,
        seq: 0,
    })
}

/// `to`: an id (`(id` for before it), a bare millisecond or an RFC 3339 time (through its
/// last entry).
fn to_bound(given: &str) -> Result<EntryId, ApiError> {
    let bad = |m: String| invalid(format!("to: {m}"));
    if let Some(id) = given.strip_prefix('(') {
        let id: EntryId = id.parse().map_err(bad)?;
        return Ok(match id.seq.checked_sub(1) {
            Some(seq) => EntryId { seq, ..id },
            None => EntryId {
                ms: id.ms.saturating_sub(1),
                seq: u64::MAX,
            },
        });
    }
    EntryId::point_in_time(given).map_err(bad)
}

/// `after`: the id a page ended at, or `<partition>:<id>` when partitions are merged.
fn after_of(given: &str, merged: Option<Partitions>) -> Result<Position, ApiError> {
    let bad = |m: String| invalid(format!("after: {m}"));
    let (partition, id) = match (given.split_once(':'), merged) {
        (Some((p, id)), Some(partitions)) => {
            let p = p
                .parse::<u32>()
                .ok()
                .filter(|p| *p < partitions.count())
                .ok_or_else(|| {
                    bad(format!(
                        "no partition {p:?}: there are {}",
                        partitions.count()
                    ))
                })?;
            (p, id)
        }
        (Some(_), None) => return Err(bad(format!("{given:?} is not a stream id"))),
        // After this id in every partition.
        (None, _) => (u32::MAX, given),
    };
    Ok(Position {
        id: id.parse().map_err(bad)?,
        partition,
    })
}

fn read_request(
    query: Vec<(String, String)>,
    merged: Option<Partitions>,
) -> Result<Request, ApiError> {
    let mut request = Request {
        conditions: Vec::new(),
        from: EntryId::ZERO,
        to: EntryId {
            ms: u64::MAX,
            seq: u64::MAX,
        },
        after: None,
        limit: None,
        format: Format::Json,
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut fields = 0;
    for (name, given) in &query {
        if name != "field" {
            if seen.contains(&name.as_str()) {
                return Err(invalid(format!("{name}: give it once")));
            }
            seen.push(name);
        }
        match name.as_str() {
            "type" => {
                let kind = value("type", given)?;
                if EventType::parse(&kind.replace('.', "_")).is_none() {
                    let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                    return Err(invalid(format!(
                        "type: {kind:?} is not an event type; one of {}",
                        known.join(", ")
                    )));
                }
                request.conditions.push(Condition {
                    fields: ["type", "event_type", "entry.type", "entry.event_type"]
                        .map(str::to_owned)
                        .to_vec(),
                    value: kind,
                    event_type: true,
                });
            }
            "claim" => request.conditions.push(exact(
                &["claim_id", "entry.claim_id"],
                value("claim", given)?,
            )),
            "customer" => request.conditions.push(exact(
                &["customer_id", "entry.customer_id"],
                value("customer", given)?,
            )),
            "field" => {
                fields += 1;
                if fields > MAX_FIELDS {
                    return Err(invalid(format!(
                        "field: at most {MAX_FIELDS} field conditions in one search"
                    )));
                }
                let (field, wanted) = given.split_once(':').filter(|(f, _)| !f.is_empty()).ok_or_else(|| {
                    invalid(format!(
                        "field: {given:?} is not name:value (the field's name, a colon, the exact value)"
                    ))
                })?;
                request
                    .conditions
                    .push(exact(&[field], value("field", wanted)?));
            }
            "from" => request.from = from_bound(given)?,
            "to" => request.to = to_bound(given)?,
            "after" => request.after = Some(after_of(given, merged)?),
            "limit" => {
                request.limit = Some(
                    given
                        .parse()
                        .map_err(|_| invalid(format!("limit: {given:?} is not a number")))?,
                );
            }
            "format" => {
                request.format = match given.as_str() {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    "ndjson" => Format::Ndjson,
                    other => {
                        return Err(invalid(format!(
                            "format: {other:?} is not json, csv or ndjson"
                        )));
                    }
                };
            }
            other => {
                return Err(invalid(format!(
                    "unknown parameter {other:?}; a search takes {PARAMS}"
                )));
            }
        }
    }
    if request.from > request.to {
        return Err(invalid(format!(
            "from ({}) is after to ({})",
            request.from, request.to
        )));
    }
    Ok(request)
}

#[utoipa::path(get, path = "/streams/{key}/search", tag = "search", params(("key" = String, Path), SearchParams), responses((status = 200, body = SearchPage, description = "A page of matches (`format=json`), or a download (`format=csv|ndjson`).")))]
async fn search(
    State(state): State<AppState>,
    Extension(searches): Extension<Arc<PerClient>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let partitions = state.db.partitions;
    let streams = searched(partitions, &key)?;
    let merged = (streams.len() > 1).then_some(partitions);
    let request = read_request(query, merged)?;
    let export = request.format != Format::Json;
    let (default, max) = if export {
        (EXPORT_LIMIT, EXPORT_LIMIT)
    } else {
        (DEFAULT_LIMIT, MAX_LIMIT)
    };
    let limit = request.limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(invalid(format!(
            "limit: must be between 1 and {max}{}",
            if export { " for a download" } else { "" }
        )));
    }
    let (scan_bound, deadline) = if export {
        (EXPORT_SCAN_BOUND, EXPORT_DEADLINE)
    } else {
        (SCAN_BOUND, DEADLINE)
    };
    let _mine = searches.enter(client.ip())?;
    let _place = state.heavy.enter("a stream search").await?;
    let mut trace = Trace::default();
    let wanted = search::Search {
        from: request.from,
        to: request.to,
        after: request.after,
        scan_bound,
        limit,
        deadline: Instant::now() + deadline,
        conditions: &request.conditions,
    };
    let found = search::search(&state.db.heavy(), &mut trace, &streams, &wanted)
        .await
        .map_err(|e| super::streams::read_refused(&key, e))?;
    let cursor = |p: Position| match merged {
        Some(_) if p.partition != u32::MAX => format!("{}:{}", p.partition, p.id),
        _ => p.id.to_string(),
    };
    let page = SearchPage {
        stream: key.clone(),
        examined: found.examined,
        last_examined: found.through.map(cursor),
        reached_end: found.stopped == Stopped::End,
        stopped: match found.stopped {
            Stopped::End => SearchStop::End,
            Stopped::Limit => SearchStop::Limit,
            Stopped::ScanBound => SearchStop::ScanBound,
            Stopped::Deadline => SearchStop::Deadline,
        },
        next_after: found.next().map(cursor),
        scan_bound,
        limit,
        matches: entries(found),
        redis: trace.into_commands(),
    };
    Ok(match request.format {
        Format::Json => Json(page).into_response(),
        Format::Csv => download(
            &key,
            &page,
            "csv",
            "text/csv; charset=utf-8",
            csv(&page.matches, merged.is_some()),
        ),
        Format::Ndjson => download(
            &key,
            &page,
            "ndjson",
            "application/x-ndjson",
            ndjson(&page.matches),
        ),
    })
}

fn entries(found: Found) -> Vec<StreamEntry> {
    found
        .matches
        .into_iter()
        .map(|(partition, (id, fields))| {
            let entry = StreamEntry::decode(id, fields);
            match partition {
                Some(p) => crate::events::feed::tagged(p, entry),
                None => entry,
            }
        })
        .collect()
}

/// An attachment named after the stream, with how far the scan went in headers.
fn download(
    key: &str,
    page: &SearchPage,
    extension: &str,
    mime: &'static str,
    body: String,
) -> Response {
    let name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let disposition = format!(
        "attachment; filename=\"{}-search.{extension}\"",
        name.trim_matches('-')
    );
    let scanned = [
        ("x-search-examined", Some(page.examined.to_string())),
        ("x-search-stopped", Some(stop_name(page.stopped).to_owned())),
        ("x-search-last-examined", page.last_examined.clone()),
        ("x-search-next-after", page.next_after.clone()),
        ("content-disposition", Some(disposition)),
    ];
    for (name, given) in scanned {
        if let Some(Ok(v)) = given.map(HeaderValue::try_from) {
            headers.insert(name, v);
        }
    }
    (headers, body).into_response()
}

fn stop_name(stop: SearchStop) -> &'static str {
    match stop {
        SearchStop::End => "end",
        SearchStop::Limit => "limit",
        SearchStop::ScanBound => "scan_bound",
        SearchStop::Deadline => "deadline",
    }
}

/// One entry a line, as the JSON page has them.
fn ndjson(entries: &[StreamEntry]) -> String {
    let mut out = String::new();
    for entry in entries {
        out.push_str(&serde_json::to_string(entry).expect("an entry serializes"));
        out.push('\n');
    }
    out
}

/// RFC 4180: a header row (`id`, `partition` when merged, then every field name in the order
/// first seen; a name an entry repeats gets a column per occurrence, `name (2)`), then one row
/// an entry, values as stored, quoted when they hold a comma, a quote or a line break.
fn csv(entries: &[StreamEntry], merged: bool) -> String {
    fn columns_of(entry: &StreamEntry) -> Vec<(String, &String)> {
        let mut seen: Vec<&str> = Vec::new();
        entry
            .fields
            .iter()
            .map(|(name, value)| {
                seen.push(name);
                let n = seen.iter().filter(|s| **s == name).count();
                let column = if n == 1 {
                    name.clone()
                } else {
                    format!("{name} ({n})")
                };
                (column, value)
            })
            .collect()
    }
    let mut columns: Vec<String> = Vec::new();
    for entry in entries {
        for (column, _) in columns_of(entry) {
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
    }
    let mut out = String::new();
    let mut header = vec!["id".to_owned()];
    if merged {
        header.push("partition".to_owned());
    }
    header.extend(columns.iter().cloned());
    write_row(&mut out, header.iter().map(String::as_str));
    for entry in entries {
        let values = columns_of(entry);
        let partition = entry.partition.map(|p| p.to_string()).unwrap_or_default();
        let mut row: Vec<&str> = vec![&entry.id];
        if merged {
            row.push(&partition);
        }
        row.extend(columns.iter().map(|c| {
            values
                .iter()
                .find(|(column, _)| column == c)
                .map_or("", |(_, v)| v.as_str())
        }));
        write_row(&mut out, row.into_iter());
    }
    out
}

/// One CSV row. Entries are untrusted: a value a spreadsheet would run as a formula (it
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so it is
/// shown as the text it is.
fn write_row<'a>(out: &mut String, values: impl Iterator<Item = &'a str>) {
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let disarmed;
        let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            disarmed = format!("'{value}");
            disarmed.as_str()
        } else {
            value
        };
        if value.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(value);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, fields: &[(&str, &str)]) -> StreamEntry {
        StreamEntry::decode(
            id.into(),
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_described_query_is_the_one_read() {
        use utoipa::IntoParams;
        let described: Vec<String> = SearchParams::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(described.join(", "), PARAMS);
    }

    #[test]
    fn csv_has_a_column_per_field_and_quotes_what_needs_it() {
        let rows = [
            entry("1-0", &[("a", "plain"), ("b", "x,y")]),
            entry("2-0", &[("b", "say \"hi\"\nbye"), ("c", "3"), ("c", "4")]),
        ];
        assert_eq!(
            csv(&rows, false),
            "id,a,b,c,c (2)\r\n1-0,plain,\"x,y\",,\r\n2-0,,\"say \"\"hi\"\"\nbye\",3,4\r\n"
        );
    }

    #[test]
    fn csv_shows_a_formula_as_text() {
        let rows = [entry(
            "1-0",
            &[
                ("a", "=HYPERLINK(\"http://x\")"),
                ("b", "@SUM(1)"),
                ("c", "-2+3"),
                ("d", "5.00"),
            ],
        )];
        assert_eq!(
            csv(&rows, false),
            "id,a,b,c,d\r\n1-0,\"'=HYPERLINK(\"\"http://x\"\")\",'@SUM(1),'-2+3,5.00\r\n"
        );
    }

    #[test]
    fn bounds_take_ids_exclusive_ids_and_times() {
        assert_eq!(from_bound("(5-1").unwrap(), EntryId { ms: 5, seq: 2 });
        assert_eq!(
            to_bound("(5-0").unwrap(),
            EntryId {
                ms: 4,
                seq: u64::MAX
            }
        );
        assert_eq!(
            to_bound("5").unwrap(),
            EntryId {
                ms: 5,
                seq: u64::MAX
            }
        );
        assert_eq!(
            from_bound("1970-01-01T00:00:01Z").unwrap(),
            EntryId { ms: 1000, seq: 0 }
        );
        assert!(from_bound("yesterday").is_err());
    }
}
