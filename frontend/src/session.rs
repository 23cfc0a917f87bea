//! The instructor's session: the token, given once in the URL (`#token=...`), is exchanged for
//! an HttpOnly session cookie (`POST /api/session`) and never kept where page script could
//! read it; the browser sends the cookie itself. The relay decides the role; the app only asks
//! it (the same `POST`, or `GET /api/session`) to know which controls to show.

/// Takes a `#token=...` off the address bar (a projector shows it, the history keeps it) and
/// returns it as the body of `POST /api/session`. Removes the token that versions before the
/// cookie kept in local storage.
pub fn take_token_from_url() -> Option<String> {
    let window = web_sys::window()?;
    if let Ok(Some(storage)) = window.local_storage() {
        let _ = storage.remove_item("claimstream.instructor_token");
    }
    let hash = window.location().hash().ok()?;
    let token = hash.strip_prefix("#token=")?;
    let path = window.location().pathname().unwrap_or_else(|_| "/".into());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    // The browser's own JSON writer escapes the token: less code in the app than serde's.
    let token = String::from(js_sys::JSON::stringify(&token.into()).ok()?);
    Some(format!("{{\"token\":{token}}}"))
}
