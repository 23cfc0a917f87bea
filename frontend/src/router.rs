//! The app's views, each with a deep link: a path per view, kept in the address bar with the
//! History API. Hand-made rather than leptos_router, which measured 58 KB more gzipped wasm
//! (the app's budget is 400 KB) for five flat paths.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Playground,
    Lab,
    Console,
    Analytics,
    Instructor,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Playground,
        View::Lab,
        View::Console,
        View::Analytics,
        View::Instructor,
    ];

    pub fn path(self) -> &'static str {
        match self {
            View::Playground => "/",
            View::Lab => "/lab",
            View::Console => "/console",
            View::Analytics => "/analytics",
            View::Instructor => "/instructor",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Playground => "Playground",
            View::Lab => "Lab",
            View::Console => "Console",
            View::Analytics => "Analytics",
            View::Instructor => "Instructor",
        }
    }

    /// The view a path shows; an unknown path shows the playground.
    pub fn of(path: &str) -> View {
        let path = path.trim_end_matches('/');
        View::ALL
            .into_iter()
            .find(|v| v.path() != "/" && v.path() == path)
            .unwrap_or(View::Playground)
    }
}

fn location_view() -> View {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    View::of(&path)
}

/// The view shown, following the address bar (back and forward included).
pub fn current() -> RwSignal<View> {
    let view = RwSignal::new(location_view());
    if let Some(window) = web_sys::window() {
        let follow = Closure::<dyn Fn()>::new(move || view.set(location_view()));
        let _ =
            window.add_event_listener_with_callback("popstate", follow.as_ref().unchecked_ref());
        // Lives as long as the page.
        follow.forget();
    }
    view
}

/// Shows `to`, keeping the query (e.g. `?projector=1`) and adding a history entry.
pub fn go(view: RwSignal<View>, to: View) {
    if let Some(window) = web_sys::window() {
        let query = window.location().search().unwrap_or_default();
        if let Ok(history) = window.history() {
            let url = format!("{}{query}", to.path());
            let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    }
    view.set(to);
}

#[cfg(test)]
mod tests {
    use super::View;

    #[test]
    fn each_path_leads_to_its_view_and_others_to_the_playground() {
        for view in View::ALL {
            assert_eq!(View::of(view.path()), view);
        }
        assert_eq!(View::of("/lab/"), View::Lab);
        assert_eq!(View::of("/nowhere"), View::Playground);
        assert_eq!(View::of(""), View::Playground);
    }
}
