//! What Redis holds: memory used against its limit, each stream's and read model's size, the
//! claims' indexes (estimated), and the streams' lengths over time, from `GET /api/memory`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::MemoryResponse;

use crate::api;
use crate::components::failure::Failure;
use crate::components::line_chart::{LineChart, Series};

/// `1536` as `1.5 KiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn length_lines(m: &MemoryResponse) -> Vec<Series> {
    let mut keys: Vec<&str> = m
        .lengths
        .iter()
        .flat_map(|s| s.lengths.iter().map(|l| l.key.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            let points: Vec<(i64, f64)> = m
                .lengths
                .iter()
                .filter_map(|s| {
                    let l = s.lengths.iter().find(|l| l.key == key)?;
                    Some((s.at_ms, l.length as f64))
                })
                .collect();
            Series {
                name: key.to_owned(),
                color: i,
                now: points.last().map_or(0.0, |p| p.1),
                points,
            }
        })
        .collect()
}

/// Memory used against the limit, each key's size, the indexes' estimate.
fn figures(m: &MemoryResponse) -> Markup {
    html! {
        dl class="memory-facts" {
            dt { "used" } dd data-testid="memory-used" data-bytes=(m.used_bytes) { (bytes(m.used_bytes)) }
            dt { "peak" } dd { (bytes(m.peak_bytes)) }
            dt { "maxmemory" }
            dd data-testid="memory-max" {
                @if m.maxmemory_bytes == 0 { "no limit" } @else { (bytes(m.maxmemory_bytes)) }
            }
            dt { "policy" } dd data-testid="memory-policy" { code { (m.maxmemory_policy) } }
        }
        table class="memory-keys" {
            thead { tr { th scope="col" { "key" } th scope="col" { "memory" } th scope="col" { "entries" } } }
            tbody {
                @for k in &m.keys {
                    tr data-testid={ "memory-key-" (k.key) } data-bytes=[k.bytes] data-length=[k.length] {
                        th scope="row" { code { (k.key) } }
                        td { (k.bytes.map_or("absent".to_owned(), bytes)) }
                        td { (k.length.map_or("—".to_owned(), |l| l.to_string())) }
                    }
                }
            }
        }
        p data-testid="memory-indexes" {
            (m.indexes.lists) " claim indexes (one list per claim): about " (bytes(m.indexes.estimated_bytes))
            ", estimated from " (m.indexes.sampled) " of them."
        }
    }
}

#[component]
pub fn MemoryView(
    /// Bumped to read the figures again (after a trim).
    refresh: RwSignal<u64>,
) -> impl IntoView {
    let memory = RwSignal::new(None::<MemoryResponse>);
    let failure = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        refresh.track();
        spawn_local(async move {
            match api::get::<MemoryResponse>("/api/memory").await {
                Ok(m) => {
                    memory.set(Some(m));
                    failure.set(None);
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    });
    let lengths =
        Signal::derive(move || memory.with(|m| m.as_ref().map(length_lines).unwrap_or_default()));
    let figures = move || {
        memory.with(|m| {
            m.as_ref()
                .map(|m| figures(m).into_string())
                .unwrap_or_default()
        })
    };
    view! {
        <div class="memory" data-testid="memory">
            <header class="panel-head">
                <h3>"Redis memory"</h3>
                <button type="button" class="small" data-testid="memory-refresh" on:click=move |_| refresh.update(|n| *n += 1)>
                    "refresh"
                </button>
            </header>
            <Failure failure=failure />
            <div inner_html=figures></div>
            <h3>"Stream lengths"</h3>
            <LineChart title="entries in each stream over time" testid="memory-lengths" series=lengths unit=" entries" />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn sizes_are_written_in_binary_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
