//! The instructor token: given once in the URL (`#token=...`), kept in this browser's local
//! storage and sent with every request. The relay decides the role; the app only asks it
//! (`GET /api/session`) to know which controls to show.

const KEY: &str = "claimstream.instructor_token";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Moves a `#token=...` from the address bar into local storage, so it is not left on screen
/// (a projector) or in the history.
pub fn take_token_from_url() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let hash = window.location().hash().unwrap_or_default();
    let Some(token) = hash.strip_prefix("#token=") else {
        return;
    };
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, token);
    }
    let path = window.location().pathname().unwrap_or_else(|_| "/".into());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
}

/// The stored token, if this browser was given one.
pub fn token() -> Option<String> {
    storage()?.get_item(KEY).ok()?.filter(|t| !t.is_empty())
}
