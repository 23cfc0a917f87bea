//! Keyboard shortcuts for live demos: 1 to 5 switch views, p projector mode, ? this list. Keys
//! typed into a field are the field's.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::router::{self, View};

/// The shortcuts, for the help overlay.
pub const LIST: [(&str, &str); 4] = [
    ("1 … 5", "Playground, Lab, Console, Analytics, Instructor"),
    ("p", "projector mode on or off"),
    ("?", "this list"),
    ("Esc", "close this list"),
];

/// Listens on the page for the shortcuts.
pub fn listen(shown: RwSignal<View>, projector: RwSignal<bool>, help: RwSignal<bool>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_key =
        Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |ev: web_sys::KeyboardEvent| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || typing(&ev) {
                return;
            }
            match ev.key().as_str() {
                "p" => projector.update(|p| *p = !*p),
                "?" => help.update(|h| *h = !*h),
                "Escape" => help.set(false),
                key => {
                    let Some(view) = key
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| View::ALL.get(n.wrapping_sub(1)))
                    else {
                        return;
                    };
                    router::go(shown, *view);
                }
            }
            ev.prevent_default();
        });
    let _ = window.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref());
    // Lives as long as the page.
    on_key.forget();
}

/// Whether the key goes to a field being typed in.
fn typing(ev: &web_sys::KeyboardEvent) -> bool {
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}
