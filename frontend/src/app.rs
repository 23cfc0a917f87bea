//! The page: every panel, and the live feed that keeps them current.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{EntriesPage, GroupsResponse, Role, ServerMessage, SessionResponse};

use crate::api;
use crate::components::{
    analytics::Analytics,
    connection::ConnectionIndicator,
    console::Console,
    instructor::Instructor,
    lab::Lab,
    projector::{self, JoinBox, ProjectorToggle},
    shortcut_help::ShortcutHelp,
};
use crate::router::{self, View};
use crate::store::Store;
use crate::views::playground::Playground;

/// Entries the timeline shows before the live feed takes over.
const FIRST_PAGE: usize = 100;

#[component]
pub fn App() -> impl IntoView {
    let store = Store::new();
    provide_context(store);
    provide_context(crate::components::language::Shown::remembered());
    let shown = router::current();
    let projector_on = RwSignal::new(projector::asked());
    let shortcut_help = RwSignal::new(false);
    crate::shortcuts::listen(shown, projector_on, shortcut_help);
    let is = move |v: View| Signal::derive(move || shown.get() == v);
    // The token exchanged for the session cookie answers the role, as the GET does.
    let token = crate::session::take_token_from_url();
    let method = if token.is_some() { "POST" } else { "GET" };
    spawn_local(async move {
        if let Ok(session) = api::send::<SessionResponse>(method, "/api/session", token).await {
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
        // What arrived and waits for a frame is held too: a reconnect asks for what follows.
        let since = move || {
            store.apply_incoming();
            store.last_id().or_else(|| Some("0".into()))
        };
        api::follow_feed(
            since,
            move |message| match message {
                ServerMessage::Entry { entry } => store.receive([entry]),
                ServerMessage::Entries { entries } => store.receive(entries),
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
            <ProjectorToggle on=projector_on />
            <ConnectionIndicator />
        </header>
        <JoinBox on=projector_on />
        <ShortcutHelp open=shortcut_help />
        <nav class="views" aria-label="views">
            {View::ALL
                .into_iter()
                .map(|v| view! {
                    <a href=v.path() data-testid=format!("nav-{}", v.title().to_ascii_lowercase())
                        class:current=move || shown.get() == v
                        on:click=move |ev| {
                            ev.prevent_default();
                            router::go(shown, v);
                        }>{v.title()}</a>
                })
                .collect_view()}
        </nav>
        // Every view stays mounted and is hidden when not shown: switching keeps their state,
        // and a static tree costs the app far less code than one rebuilt per view.
        <Playground shown=is(View::Playground) />
        <main class="lab-view" hidden=move || !matches!(shown.get(), View::Lab | View::Console)
            class:console-only=move || shown.get() == View::Console>
            <section class="panel lab-panel" data-testid="lab-panel" hidden=move || shown.get() != View::Lab>
                <Lab shown=is(View::Lab) />
            </section>
            <section class="panel console-panel">
                <h2>"Console"</h2>
                <Console />
            </section>
        </main>
        <main class="single" hidden=move || shown.get() != View::Analytics>
            <section class="panel analytics-panel"><Analytics open_while=is(View::Analytics) /></section>
        </main>
        <main class="instructor-view" hidden=move || shown.get() != View::Instructor>
            <Instructor shown=is(View::Instructor) />
        </main>
    }
}
