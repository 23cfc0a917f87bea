//! The instructor's session: the token, given once in the URL (`#token=...`), is exchanged for
//! an HttpOnly session cookie (`POST /api/session`) and never kept where page script could
//! read it; the browser sends the cookie itself. The relay decides the role; the app only asks
//! it to know which controls to show.

use shared::api::{SessionRequest, SessionResponse};

use crate::api;

/// Where versions before the cookie kept the token.
const OLD_KEY: &str = "claimstream.instructor_token";

/// Takes a `#token=...` off the address bar (a projector shows it, the history keeps it),
/// exchanges it for the session cookie, and answers the caller's role. A token an older version
/// left in local storage is exchanged once and removed.
pub async fn start() -> Option<SessionResponse> {
    let window = web_sys::window()?;
    let hash = window.location().hash().unwrap_or_default();
    let mut token = hash.strip_prefix("#token=").map(str::to_owned);
    if token.is_some() {
        let path = window.location().pathname().unwrap_or_else(|_| "/".into());
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
    }
    if let Ok(Some(storage)) = window.local_storage() {
        let old = storage.get_item(OLD_KEY).ok().flatten();
        token = token.or(old).filter(|t| !t.is_empty());
        let _ = storage.remove_item(OLD_KEY);
    }
    if let Some(token) = token {
        let request = SessionRequest { token };
        if let Ok(session) = api::post("/api/session", &request).await {
            return Some(session);
        }
    }
    api::get("/api/session").await.ok()
}
