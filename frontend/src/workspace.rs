//! The learner's console workspace: made once by the relay, its id kept in this browser's
//! local storage so a reload keeps the work (the relay forgets it after a day unused).

use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::WorkspaceResponse;

use crate::api::{self, ApiFailure};

const KEY: &str = "claimstream.workspace";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn stored() -> Option<String> {
    storage()?.get_item(KEY).ok()?.filter(|id| !id.is_empty())
}

/// This browser's workspace, made if it has none.
async fn id() -> Result<String, ApiFailure> {
    if let Some(id) = stored() {
        return Ok(id);
    }
    let made: WorkspaceResponse = api::post("/api/workspaces", &()).await?;
    if let Some(storage) = storage() {
        let _ = storage.set_item(KEY, &made.id);
    }
    Ok(made.id)
}

/// Sends a request in the workspace, its answer as text; a workspace the relay no longer
/// knows (expired) is replaced by a new one, once. Not generic, so it is in the app once.
async fn send(method: &str, path: &str, body: Option<String>) -> Result<String, ApiFailure> {
    let first = api::fetch_in(method, path, body.clone(), &id().await?).await;
    match first {
        Err(e) if e.status == 404 && e.code == "not_found" => {
            if let Some(storage) = storage() {
                let _ = storage.remove_item(KEY);
            }
            api::fetch_in(method, path, body, &id().await?).await
        }
        other => other,
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    api::parse(send("GET", path, None).await)
}

pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    let body = serde_json::to_string(body).map_err(|e| ApiFailure {
        status: 0,
        code: "network".into(),
        message: e.to_string(),
        fields: Vec::new(),
    })?;
    api::parse(send("POST", path, Some(body)).await)
}

/// A file of the workspace (the lab's report) as text.
pub async fn text(path: &str) -> Result<String, ApiFailure> {
    send("GET", path, None).await
}
