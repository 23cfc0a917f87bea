//! A claim's transition buttons.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Action;
use shared::api::{ClaimView, CommandResponse};

use crate::api;
use crate::components::failure::Failure;
use crate::store::Store;

/// Buttons for the transitions allowed now; a refusal or conflict is shown in words.
#[component]
pub fn Actions(
    /// The claim as loaded; its version is the one the command expects.
    claim: ClaimView,
    /// Called once the command is appended, to reload the claim.
    on_done: Callback<()>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let reason = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = claim.claim_id.clone();
    let version = claim.version;

    let act = move |action: Action| {
        let id = id.clone();
        failure.set(None);
        let body = match action {
            Action::Reject => match shared::Reason::parse(&reason.get_untracked()) {
                Ok(r) => serde_json::json!({"reason": r.as_str(), "expected_version": version}),
                Err(m) => {
                    failure.set(Some(format!("reason: {m}")));
                    return;
                }
            },
            _ => serde_json::json!({"expected_version": version}),
        };
        busy.set(true);
        spawn_local(async move {
            let path = format!("/api/claims/{id}/{action}");
            match api::post::<_, CommandResponse>(&path, &body).await {
                Ok(done) => {
                    store.record_scripts(format!("POST {path}"), done.redis, done.scripts);
                    on_done.run(());
                }
                Err(e) => failure.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let allowed = claim.allowed_actions.clone();
    let can_reject = allowed.contains(&Action::Reject);
    view! {
        <div class="actions">
            {allowed
                .into_iter()
                .map(|action| {
                    let act = act.clone();
                    view! {
                        <button
                            type="button"
                            class=format!("action action-{action}")
                            data-testid=format!("action-{action}")
                            disabled=move || busy.get()
                            on:click=move |_| act(action)
                        >
                            {capitalize(action.as_str())}
                        </button>
                    }
                })
                .collect_view()}
            {can_reject.then(|| view! {
                <label class="reason">
                    "Reason for rejecting "
                    <input
                        data-testid="reject-reason"
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))
                    />
                </label>
            })}
            {claim.status.is_final().then(|| view! { <p class="muted">{format!("{} is final.", claim.status)}</p> })}
            <Failure failure=failure testid="action-error" />
        </div>
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
