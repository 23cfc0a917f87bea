//! A typed HTTP client of one relay's REST API on loopback: requests by path, claims submitted
//! and acted on, the error body every 4xx carries, the WebSocket feed opened.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shared::api::{ClaimEventsResponse, ClaimResponse, CommandResponse, ErrorBody};

use crate::ws::WsClient;

/// Where a relay answers, and the HTTP client that talks to it.
#[derive(Clone)]
pub struct ApiClient {
    /// `127.0.0.1:<port>`.
    pub address: String,
    pub http: reqwest::Client,
}

impl ApiClient {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            http: reqwest::Client::new(),
        }
    }

    pub fn port(&self) -> u16 {
        let (_, port) = self.address.rsplit_once(':').expect("host:port");
        port.parse().expect("a port number")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path`, its body read as `T`; panics (with the body) unless it is one.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> T {
        json_of(self.get(path).await).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST path`, its answer read as `T`; panics (with the body) unless it is one.
    pub async fn post_json<T: DeserializeOwned>(&self, path: &str, body: &Value) -> T {
        json_of(self.post(path, body).await).await
    }

    /// `GET /api/claims/{id}`: the claim as the relay loads it from its events.
    pub async fn claim(&self, claim_id: &str) -> ClaimResponse {
        self.get_json(&format!("/api/claims/{claim_id}")).await
    }

    /// `GET /api/claims/{id}/events`: the claim's events, each with the state after it.
    pub async fn claim_events(&self, claim_id: &str) -> ClaimEventsResponse {
        self.get_json(&format!("/api/claims/{claim_id}/events"))
            .await
    }

    /// `POST path` with `body` sent as it is, labelled JSON (for bodies that are not).
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Submits a valid claim of `amount` for `CUST-001`; panics unless the relay accepts it.
    pub async fn submit(&self, amount: &str) -> CommandResponse {
        self.submit_claim("CUST-001", amount, "Water damage").await
    }

    /// Submits a valid claim of 120.00 for `customer`; panics unless the relay accepts it.
    pub async fn submit_for(&self, customer: &str) -> CommandResponse {
        self.submit_claim(customer, "120.00", "Hail").await
    }

    /// Submits a claim; panics (with the body) unless the relay answers 201.
    pub async fn submit_claim(
        &self,
        customer: &str,
        amount: &str,
        description: &str,
    ) -> CommandResponse {
        let response = self
            .post(
                "/api/claims",
                &json!({"customer_id": customer, "amount": amount, "description": description}),
            )
            .await;
        let status = response.status();
        let body = response.text().await.expect("a response body");
        assert_eq!(status, 201, "{body}");
        serde_json::from_str(&body).expect("a command response")
    }

    /// Submits a claim of 120.00 for `customer`: its id if the relay accepted it, `None` if the
    /// request failed (the relay gone, or no answer within 10 s) or was refused.
    pub async fn try_submit(&self, customer: &str) -> Option<String> {
        let response = self
            .http
            .post(self.url("/api/claims"))
            .json(&json!({"customer_id": customer, "amount": "120.00", "description": "Hail"}))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        if response.status() != 201 {
            return None;
        }
        let answer: CommandResponse = response.json().await.ok()?;
        Some(answer.claim_id)
    }

    /// `POST /api/claims/{id}/{action}` (a reject gives a reason).
    pub async fn act(&self, claim_id: &str, action: &str) -> reqwest::Response {
        let body = if action == "reject" {
            json!({"reason": "not covered"})
        } else {
            json!({})
        };
        self.post(&format!("/api/claims/{claim_id}/{action}"), &body)
            .await
    }

    /// [`ApiClient::act`], its answer read as the command's.
    pub async fn act_json(&self, claim_id: &str, action: &str) -> CommandResponse {
        json_of(self.act(claim_id, action).await).await
    }

    /// The claim's status as the relay loads it from its events.
    pub async fn status_of(&self, claim_id: &str) -> Option<String> {
        let response = self.get(&format!("/api/claims/{claim_id}")).await;
        let claim: Value = response.json().await.ok()?;
        claim["claim"]["status"].as_str().map(str::to_owned)
    }

    /// The live feed, from the start of the stream's retained window or after `since`.
    pub async fn ws(&self, since: Option<&str>) -> WsClient {
        WsClient::connect(&self.address, since).await
    }
}

/// A response's body read as `T`; panics with the status and body unless it is one.
pub async fn json_of<T: DeserializeOwned>(response: reqwest::Response) -> T {
    let status = response.status();
    let body = response.text().await.expect("a response body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{status} {body:?} is not one: {e}"))
}

/// The error body every 4xx carries: `(status, error.code, error.message)`.
pub async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: ErrorBody = response.json().await.expect("error bodies are JSON");
    (status, body.error.code, body.error.message)
}

/// Asserts `response` is the error `status` with `error.code` `code`; its message.
pub async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> String {
    let (got, got_code, message) = error_of(response).await;
    assert_eq!((got, got_code.as_str()), (status, code), "{message}");
    message
}
