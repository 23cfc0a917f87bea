//! The playground: submit claims, watch the stream, the fold, the read model and the groups.

use leptos::prelude::*;

use crate::components::{
    analytics::Analytics, claim_detail::ClaimDetail, claim_form::ClaimForm,
    claims_board::ClaimsBoard, command_log::CommandLog, dead_letters::DeadLetters, groups::Groups,
    projection::Projection, redis_panel::RedisPanel, retention::Retention, time_travel::TimeTravel,
    timeline::Timeline,
};

#[component]
pub fn Playground(
    /// Whether it is on screen (it stays mounted, hidden, under the other views).
    #[prop(into)]
    shown: Signal<bool>,
) -> impl IntoView {
    view! {
        <main class="layout" hidden=move || !shown.get()>
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
            <section class="panel commands-panel" aria-labelledby="commands-title" data-testid="commands-panel">
                <CommandLog />
            </section>
            <section class="panel retention-panel" aria-labelledby="retention-title" data-testid="retention-panel">
                <h2 id="retention-title">"Retention and memory"</h2>
                <Retention />
            </section>
        </main>
    }
}
