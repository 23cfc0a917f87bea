//! The analytics dashboard: events per second by type, each group's lag over time with when it
//! catches up, processing times and error rates (with an alert), the stream's length, claims
//! and amounts by status. Read from `GET /api/analytics` once a second while it is shown.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{AnalyticsResponse, GroupView};

use crate::api;
use crate::components::bar_chart::{Bar, BarChart};
use crate::components::failure::Failure;
use crate::components::groups::behind;
use crate::components::line_chart::{LineChart, Look, Series, draw, number};

/// What the charts look back over: the two minutes the relay keeps.
const WINDOW_MS: i64 = 120_000;

/// Event types in a fixed order, so each keeps its colour.
const TYPES: [&str; 6] = [
    "claim_submitted",
    "claim_status_updated",
    "claim_paid",
    "claim_rejected",
    "claim_note_added",
    "undecoded",
];

fn type_color(name: &str) -> usize {
    TYPES.iter().position(|t| *t == name).unwrap_or(6)
}

/// One line per event type: its rate second by second, its ten-second rate as the legend's.
fn rate_lines(a: &AnalyticsResponse) -> Vec<Series> {
    let mut names: Vec<&str> = a
        .rate_series
        .iter()
        .flat_map(|p| p.rates.iter().map(|r| r.event_type.as_str()))
        .chain(a.events_per_second.iter().map(|r| r.event_type.as_str()))
        .collect();
    names.sort_by_key(|n| (type_color(n), *n));
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let rate = |rates: &[shared::api::TypeRate]| {
                rates
                    .iter()
                    .find(|r| r.event_type == name)
                    .map_or(0.0, |r| r.per_second)
            };
            Series {
                name: name.to_owned(),
                color: type_color(name),
                points: a
                    .rate_series
                    .iter()
                    .map(|p| (p.at_ms, rate(&p.rates)))
                    .collect(),
                now: rate(&a.events_per_second),
            }
        })
        .collect()
}

fn length_line(a: &AnalyticsResponse) -> Vec<Series> {
    let points: Vec<(i64, f64)> = a
        .stream_length
        .iter()
        .map(|p| (p.at_ms, p.length as f64))
        .collect();
    vec![Series {
        name: "claims:events".into(),
        color: 0,
        now: points.last().map_or(0.0, |p| p.1),
        points,
    }]
}

/// Palette slots of the statuses, in `ClaimStatus::ALL` order, as the board colours them.
const STATUS_COLORS: [usize; 5] = [0, 1, 6, 2, 3];

fn status_bars(a: &AnalyticsResponse, amounts: bool) -> Vec<Bar> {
    a.by_status
        .iter()
        .map(|s| Bar {
            label: s.status.to_string(),
            color: shared::ClaimStatus::ALL
                .iter()
                .position(|x| *x == s.status)
                .map_or(5, |i| STATUS_COLORS[i]),
            value: if amounts {
                s.amount.parse().unwrap_or(0.0)
            } else {
                s.claims as f64
            },
            text: if amounts {
                s.amount.clone()
            } else {
                s.claims.to_string()
            },
        })
        .collect()
}

/// When the group's lag is gone, in words.
fn catch_up(group: &GroupView) -> String {
    match (group.lag, group.catch_up_seconds) {
        (None, _) => "lag unknown".into(),
        (Some(0), _) => "no lag".into(),
        (Some(_), Some(secs)) => format!("catches up in ~{} s", secs.ceil().max(1.0)),
        (Some(_), None) if group.lag_trend.len() < 2 => "measuring…".into(),
        (Some(_), None) => "not catching up".into(),
    }
}

#[component]
pub fn Analytics(
    /// Open while this holds (its own view), rather than behind its toggle.
    #[prop(optional, into)]
    open_while: Option<Signal<bool>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    if let Some(shown) = open_while {
        Effect::new(move |_| open.set(shown.get()));
    }
    let data = RwSignal::new(None::<AnalyticsResponse>);
    let failure = RwSignal::new(None::<String>);
    // Each opening starts one reader; a reader stops once the panel is closed or reopened.
    let reader = StoredValue::new(0u64);
    Effect::new(move |_| {
        if !open.get() {
            return;
        }
        reader.update_value(|n| *n += 1);
        let me = reader.get_value();
        spawn_local(async move {
            while open.try_get_untracked() == Some(true) && reader.try_get_value() == Some(me) {
                match api::get::<AnalyticsResponse>("/api/analytics").await {
                    Ok(a) => {
                        data.set(Some(a));
                        failure.set(None);
                    }
                    Err(e) => failure.set(Some(e.message)),
                }
                gloo_timers::future::sleep(Duration::from_secs(1)).await;
            }
        });
    });
    let derive = move |f: fn(&AnalyticsResponse) -> Vec<Series>| {
        Signal::derive(move || data.with(|d| d.as_ref().map(f).unwrap_or_default()))
    };
    let bars = move |amounts: bool| {
        Signal::derive(move || {
            data.with(|d| {
                d.as_ref()
                    .map(|a| status_bars(a, amounts))
                    .unwrap_or_default()
            })
        })
    };
    // The alert box is there only while something is alerting.
    let alerts = move || {
        data.with(|d| {
            d.as_ref()
                .filter(|d| !d.alerts.is_empty())
                .map(|d| (d.error_rate_threshold, d.alerts.clone()))
        })
    };
    let groups = move || {
        data.with(|d| {
            d.as_ref()
                .map(|d| group_table(d).into_string())
                .unwrap_or_default()
        })
    };

    view! {
        <header class="panel-head">
            <h2 id="analytics-title">"Analytics"</h2>
            <button type="button" class="small" data-testid="analytics-toggle" aria-controls="analytics-body"
                aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "hide" } else { "show (live, read each second)" }}
            </button>
        </header>
        <Show when=move || open.get()>
            <div id="analytics-body" class="analytics" data-testid="analytics">
                <Failure failure=failure />
                {move || alerts().map(|(threshold, alerts)| view! {
                    <div class="alert" role="alert" data-testid="analytics-alerts">
                        <strong>{format!("Error rate above {:.0}%", threshold * 100.0)}</strong>
                        <ul>{alerts.into_iter().map(|a| view! { <li>{a}</li> }).collect_view()}</ul>
                    </div>
                })}
                <div class="charts">
                    <section class="chart-card">
                        <h3>"Events per second by type"</h3>
                        <LineChart title="events per second by type, last two minutes" testid="analytics-rates"
                            series=derive(rate_lines) window_ms=WINDOW_MS unit=" /s" decimals=1 />
                    </section>
                    <section class="chart-card">
                        <h3>"Length of claims:events"</h3>
                        <LineChart title="entries in claims:events, last two minutes" testid="analytics-length"
                            series=derive(length_line) window_ms=WINDOW_MS unit=" entries" />
                    </section>
                    <section class="chart-card">
                        <h3>"Claims by status"</h3>
                        <BarChart title="claims that reached each status" testid="analytics-claims" bars=bars(false) />
                    </section>
                    <section class="chart-card">
                        <h3>"Amounts by status"</h3>
                        <BarChart title="amounts of the claims that reached each status" testid="analytics-amounts" bars=bars(true) />
                    </section>
                </div>
                <div inner_html=groups></div>
            </div>
        </Show>
    }
}

/// Each group's trends: its lag over time, when it catches up, processing time, error rate.
fn group_table(d: &AnalyticsResponse) -> Markup {
    let look = Look {
        window_ms: WINDOW_MS,
        unit: "",
        decimals: 0,
        spark: true,
    };
    html! {
        table class="group-trends" data-testid="group-trends" {
            caption { "Consumer groups (dead letters: " (d.dead_letters) ")" }
            thead {
                tr {
                    th scope="col" { "group" }
                    th scope="col" { "lag, last 2 min" }
                    th scope="col" { "catch-up" }
                    th scope="col" { "processing p50 / p99" }
                    th scope="col" { "errors, last min" }
                }
            }
            tbody {
                @for g in &d.groups {
                    @let name = &g.name;
                    @let lag = [Series {
                        name: g.name.clone(),
                        color: 0,
                        points: g.lag_trend.iter().map(|p| (p.at_ms, p.lag as f64)).collect(),
                        now: g.lag.unwrap_or(0) as f64,
                    }];
                    @let testid = format!("lag-chart-{name}");
                    @let title = format!("lag of {name}, last two minutes");
                    @let over = g.error_rate > d.error_rate_threshold;
                    tr data-testid={ "trend-" (name) } {
                        th scope="row" { code { (name) } }
                        td class="lag" {
                            figure class="chart spark" data-testid=(testid) data-points=(g.lag_trend.len()) {
                                (draw(&title, &testid, &lag, look))
                            }
                            span data-testid={ "lag-now-" (name) } {
                                @match g.lag { Some(l) => (l), None => "?" }
                            }
                        }
                        @let (behind, level) = behind(g.lag_ms);
                        td data-testid={ "catch-up-" (name) } {
                            (catch_up(g)) br;
                            span class={ "lag-time lag-" (level) } data-testid={ "behind-" (name) } { (behind) }
                        }
                        td data-testid={ "processing-" (name) } {
                            @match g.processing_ms {
                                Some(p) => { (number(p.p50, 1)) " / " (number(p.p99, 1)) " ms (" (p.samples) " runs)" }
                                None if !g.in_relay => "not run in this relay",
                                None => "no entries yet",
                            }
                        }
                        td class=(if over { "over" } else { "" }) data-testid={ "error-rate-" (name) } data-value=(g.error_rate) {
                            (number(g.error_rate * 100.0, 1)) " %"
                            @if over { " ⚠" }
                        }
                    }
                }
            }
        }
    }
}
