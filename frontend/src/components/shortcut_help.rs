//! The list of keyboard shortcuts, over the page while asked for (`?`).

use leptos::prelude::*;

use crate::shortcuts::LIST;

#[component]
pub fn ShortcutHelp(open: RwSignal<bool>) -> impl IntoView {
    let rows = LIST
        .iter()
        .map(
            |(key, what)| view! { <tr><th scope="row"><kbd>{*key}</kbd></th><td>{*what}</td></tr> },
        )
        .collect_view();
    view! {
        <div class="overlay" role="dialog" aria-label="keyboard shortcuts" data-testid="shortcut-help"
            hidden=move || !open.get() on:click=move |_| open.set(false)>
            <div class="overlay-box">
                <h2>"Keyboard shortcuts"</h2>
                <table><tbody>{rows}</tbody></table>
                <p class="muted">"Esc or a click closes this."</p>
            </div>
        </div>
    }
}
