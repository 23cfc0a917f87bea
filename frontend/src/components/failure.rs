//! Why a panel's last request failed, shown while it stands.

use leptos::prelude::*;

/// The alert under a panel's controls. One component for every panel rather than a view in
/// each: every inline view is a type of its own, and so more code in the app.
#[component]
pub fn Failure(
    /// The message; none once a request succeeds.
    failure: RwSignal<Option<String>>,
    /// Where tests read it, if they do.
    #[prop(optional)]
    testid: Option<&'static str>,
) -> impl IntoView {
    move || {
        failure
            .get()
            .map(|m| view! { <p class="error" role="alert" data-testid=testid>{m}</p> })
    }
}
