//! The language commands are shown in (redis-cli, Node.js with node-redis v4, Python with
//! redis-py): one choice for the whole page, remembered by this browser, and the switch that
//! sets it. The code itself comes from `shared::console::snippets`, the same that
//! `GET /api/snippets` answers, so no request is needed.

use leptos::prelude::*;
use shared::console::{Language, Snippets, tokenize};

const KEY: &str = "claimstream.language";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The page's choice, shared by every place that shows commands.
#[derive(Clone, Copy)]
pub struct Shown(pub RwSignal<Language>);

impl Shown {
    /// The choice this browser made last time (redis-cli at first).
    pub fn remembered() -> Self {
        let language = storage()
            .and_then(|s| s.get_item(KEY).ok().flatten())
            .and_then(|id| Language::from_id(&id))
            .unwrap_or_default();
        Self(RwSignal::new(language))
    }
}

/// A redis-cli line in `language`; a line that does not read as one stays as it is.
pub fn in_language(language: Language, line: &str) -> String {
    match tokenize(line) {
        Ok(words) if !words.is_empty() => Snippets::of(&words).get(language).to_owned(),
        _ => line.to_owned(),
    }
}

/// `line` in the page's language, following the switch.
pub fn shown(line: String) -> impl Fn() -> String + Send + Sync + 'static {
    let Shown(language) = expect_context::<Shown>();
    move || in_language(language.get(), &line)
}

/// redis-cli / Node.js / Python: switching here switches every command on the page.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let Shown(language) = expect_context::<Shown>();
    let choose = move |chosen: Language| {
        language.set(chosen);
        if let Some(storage) = storage() {
            let _ = storage.set_item(KEY, chosen.id());
        }
    };
    view! {
        <span class="language-switch" role="group" aria-label="show commands as" data-testid="language-switch">
            {Language::ALL
                .into_iter()
                .map(|l| view! {
                    <button type="button" class="small" data-testid=format!("language-{}", l.id())
                        aria-pressed=move || (language.get() == l).to_string()
                        on:click=move |_| choose(l)>
                        {l.label()}
                    </button>
                })
                .collect_view()}
        </span>
    }
}
