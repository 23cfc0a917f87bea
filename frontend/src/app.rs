//! The page: every panel, and the live feed that keeps them current.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{EntriesPage, GroupsResponse, Role, ServerMessage, SessionResponse};

use crate::api;
use crate::components::{
    analytics::Analytics, claim_detail::ClaimDetail, claim_form::ClaimForm,
    claims_board::ClaimsBoard, connection::ConnectionIndicator, dead_letters::DeadLetters,
    groups::Groups, projection::Projection, redis_panel::RedisPanel, retention::Retention,
    time_travel::TimeTravel, timeline::Timeline,
};
use crate::store::Store;

/// Entries the timeline shows before the live feed takes over.
const FIRST_PAGE: usize = 100;

#[component]
pub fn App() -> impl IntoView {
    let store = Store::new();
    provide_context(store);
    crate::session::take_token_from_url();
    spawn_local(async move {
        if let Ok(session) = api::get::<SessionResponse>("/api/session").await {
            store.role.set(session.role);
        }
    });
    spawn_local(async move {
        // Recent history first, then the feed from its newest id, so the seam is exact.
        let path = format!("/api/streams/claims:events/entries?rev=true&count={FIRST_PAGE}");
        if let Ok(page) = api::get::<EntriesPage>(&path).await {
            let more = page.next.is_some();
            let mut entries = page.entries;
            entries.reverse();
            store.prepend_history(entries, more);
        }
        // The groups come pushed each second; one read fills the panel at once.
        if let Ok(groups) = api::get::<GroupsResponse>("/api/groups").await {
            store.groups.set(Some(groups));
        }
        let since = move || store.last_id().or_else(|| Some("0".into()));
        api::follow_feed(
            since,
            move |message| match message {
                ServerMessage::Entry { entry } => store.push_live(entry),
                ServerMessage::Groups { groups } => store.groups.set(Some(groups)),
                ServerMessage::Projection { projection } => store.set_projection(projection),
                ServerMessage::CaughtUp { .. }
                | ServerMessage::Lagged { .. }
                | ServerMessage::Unavailable { .. } => {}
            },
            move |c| store.connection.set(c),
        )
        .await;
    });

    view! {
        <header class="topbar">
            <h1>"claimstream"</h1>
            <span class="subtitle">"claims event sourcing on Redis Streams"</span>
            <span class="badge role" data-testid="role" title="instructors run the controls that change things for the whole class">
                {move || match store.role.get() {
                    Role::Instructor => "instructor",
                    Role::Learner => "learner",
                }}
            </span>
            <ConnectionIndicator />
        </header>
        <main class="layout">
            <section class="panel form-panel" aria-labelledby="form-title">
                <h2 id="form-title">"Submit a claim"</h2>
                <ClaimForm />
            </section>
            <section class="panel timeline-panel" aria-labelledby="timeline-title">
                <h2 id="timeline-title">"Live events: claims:events"</h2>
                <Timeline />
            </section>
            <section class="panel detail-panel" aria-labelledby="detail-title">
                <h2 id="detail-title">"Claim"</h2>
                <ClaimDetail />
            </section>
            <section class="panel board-panel" aria-labelledby="board-title">
                <h2 id="board-title">"Claims by status"</h2>
                <ClaimsBoard />
            </section>
            <section class="panel travel-panel" aria-labelledby="travel-title" data-testid="travel-panel">
                <h2 id="travel-title">"Time travel: the board replayed from claims:events"</h2>
                <TimeTravel />
            </section>
            <section class="panel projection-panel" aria-labelledby="projection-title" data-testid="projection-panel">
                <h2 id="projection-title">"Projection: the board's read model"</h2>
                <Projection />
            </section>
            <section class="panel redis-panel" aria-labelledby="redis-title">
                <h2 id="redis-title">"What Redis did"</h2>
                <RedisPanel />
            </section>
            <section class="panel groups-panel" aria-labelledby="groups-title" data-testid="groups-panel">
                <h2 id="groups-title">"Consumer groups on claims:events"</h2>
                <Groups />
                <DeadLetters />
            </section>
            <section class="panel analytics-panel" id="analytics" aria-labelledby="analytics-title">
                <Analytics />
            </section>
            <section class="panel retention-panel" aria-labelledby="retention-title" data-testid="retention-panel">
                <h2 id="retention-title">"Retention and memory"</h2>
                <Retention />
            </section>
        </main>
    }
}
