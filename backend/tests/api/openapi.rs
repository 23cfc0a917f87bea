//! `GET /api/openapi.json`: every route the relay serves is described there, everything
//! described is served, and real answers match the schemas they are described with.

use reqwest::Method;
use serde_json::{Value, json};
use test_support::{TestApp, spawn_app_with};

const TOKEN: &str = "a-token-for-the-description";

async fn description(app: &TestApp) -> Value {
    let answer = app.get("/api/openapi.json").await;
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// The described operations: (method, path template).
fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                found.push((method.to_uppercase().parse().unwrap(), path.clone()));
            }
        }
    }
    found
}

/// Whether the relay's router refused the path or method itself, as it does for anything it
/// does not serve (`http::routes`' fallbacks).
async fn unrouted(answer: reqwest::Response) -> Option<String> {
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    let fallback = (status == 404 && message == "no such API endpoint")
        || (status == 405 && code == "method_not_allowed");
    fallback.then(|| format!("{status} {code}"))
}

#[tokio::test]
async fn every_route_is_described_and_every_described_route_is_served() {
    let app = spawn_app_with(|c| c.instructor_token = Some(TOKEN.into())).await;
    let doc = description(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let described = operations(&doc);
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    assert_eq!(ids.len(), described.len(), "an operation without an id");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), described.len(), "operation ids repeat: {ids:?}");
    // What the README lists: the API's routes and `/metrics` (docs' own list).
    for must in [
        (Method::POST, "/api/claims"),
        (Method::GET, "/api/claims/{id}/trace"),
        (Method::POST, "/api/groups/{group}/position"),
        (Method::GET, "/api/openapi.json"),
        (Method::GET, "/metrics"),
    ] {
        assert!(
            described.iter().any(|(m, p)| *m == must.0 && p == must.1),
            "{} {} is not described",
            must.0,
            must.1
        );
    }
    // Each described operation reaches a handler (signed in, so instructor controls do too):
    // with placeholders for its path's parameters and no body, it is refused by the handler,
    // not by the router.
    let mut not_served = Vec::new();
    for (method, template) in &described {
        let path = template
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "CLM-PLACEHOLDER"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let answer = app
            .http
            .request(method.clone(), app.url(&path))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/json")
            .send()
            .await
            .unwrap();
        if let Some(refusal) = unrouted(answer).await {
            not_served.push(format!("{method} {template}: {refusal}"));
        }
    }
    assert!(
        not_served.is_empty(),
        "described, not served: {not_served:#?}"
    );
    // The other way round: routes are added only with their description (`routes!` reads the
    // method and path from the handler's `#[utoipa::path]`), never with a bare `.route(`.
    let http = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut bare = Vec::new();
    for dir in [http.to_owned(), format!("{http}/routes")] {
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains(".route(") {
                    bare.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        bare.is_empty(),
        "routes added without a description: {bare:?}"
    );
}

/// The routes the README's API section names: (method, path without its query).
fn readme_routes() -> Vec<(Method, String)> {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("\n## The API\n")
        .nth(1)
        .expect("the README has an API section");
    let section = section.split("\n## ").next().unwrap();
    let mut named = Vec::new();
    for code in section.split('`').skip(1).step_by(2) {
        let Some((method, path)) = code.split_once(' ') else {
            continue;
        };
        if let Ok(method) = method.parse::<Method>()
            && ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method.as_str())
            && path.starts_with('/')
        {
            let path = path.split('?').next().unwrap().to_owned();
            named.push((method, path));
        }
    }
    named.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
    named.dedup();
    named
}

#[tokio::test]
async fn the_readme_lists_the_routes_the_description_has() {
    let app = test_support::spawn_app().await;
    let mut described = operations(&description(&app).await);
    described.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
    let listed = readme_routes();
    let missing: Vec<_> = described.iter().filter(|d| !listed.contains(d)).collect();
    let unknown: Vec<_> = listed.iter().filter(|l| !described.contains(l)).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "README.md's API section and GET /api/openapi.json differ:\n\
         described, not in the README: {missing:#?}\n\
         in the README, not described: {unknown:#?}"
    );
}

/// Checks `answer` against the schema `doc` gives `method path` for its status.
async fn matches_description(doc: &Value, method: &str, template: &str, answer: reqwest::Response) {
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    let responses = &doc["paths"][template][method]["responses"];
    let range = format!("{}XX", status / 100);
    let described = [status.to_string(), range]
        .into_iter()
        .find_map(|key| responses.get(&key))
        .unwrap_or_else(|| panic!("{method} {template}: {status} is not described"));
    let schema = &described["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {template}: no JSON schema for {status}"
    );
    // The schema with the document's components beside it, so its `$ref`s resolve.
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{method} {template}: the schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {template} {status} does not match its description: {errors:#?}\n{body:#}"
    );
}

#[tokio::test]
async fn answers_match_the_schemas_they_are_described_with() {
    let app = spawn_app_with(|c| c.instructor_token = Some(TOKEN.into())).await;
    let doc = description(&app).await;
    let check = async |method: &str, template: &str, answer: reqwest::Response| {
        matches_description(&doc, method, template, answer).await;
    };

    let submitted = app
        .post(
            "/api/claims",
            &json!({"customer_id": "CUST-DOC", "amount": "120.00", "description": "described"}),
        )
        .await;
    let created: Value = {
        assert_eq!(submitted.status(), 201);
        let bytes = submitted.bytes().await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let claim = created["claim_id"].as_str().unwrap().to_owned();
    check(
        "post",
        "/api/claims",
        app.post(
            "/api/claims",
            &json!({"customer_id": "CUST-DOC", "amount": "7.00", "description": "again"}),
        )
        .await,
    )
    .await;
    // Refusals: a field error, a refused transition, an unknown claim.
    check(
        "post",
        "/api/claims",
        app.post(
            "/api/claims",
            &json!({"customer_id": "CUST-DOC", "amount": "-1", "description": "bad"}),
        )
        .await,
    )
    .await;
    check(
        "post",
        "/api/claims/{id}/approve",
        app.act(&claim, "approve").await,
    )
    .await;
    check(
        "post",
        "/api/claims/{id}/review",
        app.act(&claim, "review").await,
    )
    .await;
    check(
        "get",
        "/api/claims/{id}",
        app.get("/api/claims/CLM-NOBODY").await,
    )
    .await;

    let claim_path = |tail: &str| format!("/api/claims/{claim}{tail}");
    for (template, path) in [
        ("/api/claims/{id}", claim_path("")),
        ("/api/claims/{id}/events", claim_path("/events")),
        ("/api/claims/{id}/trace", claim_path("/trace")),
        ("/api/claims", "/api/claims".to_owned()),
        ("/api/commands", "/api/commands".to_owned()),
        ("/api/groups", "/api/groups".to_owned()),
        ("/api/health", "/api/health".to_owned()),
        ("/api/projections", "/api/projections".to_owned()),
        (
            "/api/projections/debug",
            "/api/projections/debug?steps=5".to_owned(),
        ),
        ("/api/analytics", "/api/analytics".to_owned()),
        ("/api/memory", "/api/memory".to_owned()),
        ("/api/state", "/api/state".to_owned()),
        ("/api/session", "/api/session".to_owned()),
        ("/api/validate", "/api/validate".to_owned()),
        ("/api/scenarios", "/api/scenarios".to_owned()),
        ("/api/traffic", "/api/traffic".to_owned()),
        (
            "/api/snippets",
            "/api/snippets?line=XLEN%20claims:events".to_owned(),
        ),
        ("/api/console/help", "/api/console/help".to_owned()),
        (
            "/api/streams/{key}/entries",
            "/api/streams/claims:events/entries".to_owned(),
        ),
        (
            "/api/streams/{key}/search",
            "/api/streams/claims:events/search?type=claim_submitted".to_owned(),
        ),
    ] {
        check("get", template, app.get(&path).await).await;
    }
    // An instructor's view.
    let pending = app
        .http
        .get(app.url("/api/groups/claims-processors/pending"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    check("get", "/api/groups/{group}/pending", pending).await;
}
