//! Retention: what Redis holds, for everyone, and the trim form, for the instructor only.

use leptos::prelude::*;

use crate::components::memory::MemoryView;
use crate::components::trim_form::TrimForm;
use crate::store::Store;

#[component]
pub fn Retention() -> impl IntoView {
    let store = expect_context::<Store>();
    // Bumped by a trim, so the memory figures are read again.
    let trimmed = RwSignal::new(0u64);
    view! {
        <div class="retention" data-testid="retention">
            <Show when=move || store.is_instructor()>
                <TrimForm trimmed=trimmed />
            </Show>
            <MemoryView refresh=trimmed />
        </div>
    }
}
