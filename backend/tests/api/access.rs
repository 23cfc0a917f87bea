//! Roles and cross-site protection: instructor actions need the token; requests another
//! site's page could make through a learner's browser change nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::group_named;
use test_support::{TestApp, error_of, spawn_app_with};

/// Request headers as (name, value) pairs.
type Headers<'a> = &'a [(&'a str, &'a str)];

const TOKEN: &str = "class-of-2026";
const GROUP: &str = "claims-notifications";

/// Everything an instructor may do that a learner may not: (method, path, body).
fn instructor_actions(letter: &str) -> Vec<(&'static str, String, Value)> {
    let g = format!("/api/groups/{GROUP}");
    vec![
        ("POST", format!("{g}/consumers"), json!({})),
        ("POST", format!("{g}/consumers/notifier-1/crash"), json!({})),
        ("DELETE", format!("{g}/consumers/notifier-2"), json!({})),
        ("POST", format!("{g}/pause"), json!({"paused": true})),
        ("POST", format!("{g}/inject"), json!({"fail_ratio": 1.0})),
        ("POST", format!("{g}/claim"), json!({"min_idle_ms": 0})),
        ("POST", format!("{g}/position"), json!({"rewind": 1})),
        (
            "POST",
            format!("/api/dead-letters/{letter}/replay"),
            json!({}),
        ),
        (
            "POST",
            format!("/api/dead-letters/{letter}/discard"),
            json!({}),
        ),
    ]
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .http
        .request(method.parse().unwrap(), app.url(path))
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// What the instructor actions change, read from Redis and the API.
async fn class_state(app: &TestApp) -> (Value, u64, u64) {
    let groups: Value = app.get_json("/api/groups").await;
    let notifications = group_named(&groups, GROUP);
    let seen = json!({
        "consumers": notifications["consumers"],
        "running": notifications["members"].as_array().unwrap().iter()
            .filter(|m| m["running"] == true).count(),
        "paused": notifications["paused"],
        "fail_ratio": notifications["fail_ratio"],
    });
    let failed: u64 = redis::cmd("XLEN")
        .arg("claims:failed")
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    (seen, failed, app.xlen().await)
}

async fn plant_dead_letter(app: &TestApp) -> String {
    redis::cmd("XADD")
        .arg("claims:failed")
        .arg("*")
        .arg(&["group", GROUP, "original_id", "1-1", "error", "planted"])
        .query_async(&mut app.redis().await)
        .await
        .unwrap()
}

/// Waits until the groups run, so a refused action is refused for the right reason.
async fn groups_running(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let groups: Value = app.get_json("/api/groups").await;
        let running = groups["groups"].as_array().is_some_and(|gs| {
            gs.iter().any(|g| {
                g["name"] == GROUP && g["members"].as_array().is_some_and(|m| m.len() == 2)
            })
        });
        if running {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "groups never ran");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn instructor_actions_need_the_token_and_a_learner_changes_nothing() {
    let app = spawn_app_with(|c| {
        c.workers = true;
        c.auto_review = false;
        c.instructor_token = Some(TOKEN.into());
    })
    .await;
    groups_running(&app).await;
    let letter = plant_dead_letter(&app).await;
    let before = class_state(&app).await;
    let json = ("content-type", "application/json");
    let wrong = format!("Bearer not-{TOKEN}");
    for (method, path, body) in instructor_actions(&letter) {
        let response = send(&app, method, &path, &body, &[json]).await;
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap()),
            Some("Bearer"),
            "{method} {path}"
        );
        let (status, code, message) = error_of(response).await;
        assert_eq!(
            (status, code.as_str()),
            (401, "unauthorized"),
            "{method} {path}"
        );
        assert!(message.contains("Authorization: Bearer"), "{message}");

        let response = send(
            &app,
            method,
            &path,
            &body,
            &[json, ("authorization", &wrong)],
        )
        .await;
        let (status, code, _) = error_of(response).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "wrong_token"),
            "{method} {path}"
        );
    }
    assert_eq!(
        class_state(&app).await,
        before,
        "a refused action changed something"
    );

    // Learners still submit and move claims.
    let claim = app.submit("10.00").await.claim_id;
    assert_eq!(app.act(&claim, "review").await.status(), 200);

    let right = format!("Bearer {TOKEN}");
    for (method, path, body) in instructor_actions(&letter) {
        let response = send(
            &app,
            method,
            &path,
            &body,
            &[json, ("authorization", &right)],
        )
        .await;
        let status = response.status();
        // The planted letter's entry does not exist, so replaying it is refused by the
        // handler, past the gate; discarding it works.
        let expected = if path.ends_with("/replay") {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        assert_eq!(
            status,
            expected,
            "{method} {path}: {}",
            response.text().await.unwrap()
        );
    }
    let (after, failed, _) = class_state(&app).await;
    assert_eq!(after["paused"], true);
    assert_eq!(after["fail_ratio"], 1.0);
    assert_eq!(failed, 0, "the letter was discarded");
}

#[tokio::test]
async fn the_session_tells_the_caller_its_role() {
    let app = spawn_app_with(|c| c.instructor_token = Some(TOKEN.into())).await;
    let role = |auth: Option<&'static str>| {
        let app = &app;
        async move {
            let mut request = app.http.get(app.url("/api/session"));
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            (
                body["role"].as_str().unwrap().to_owned(),
                body["instructor_by"].clone(),
            )
        }
    };
    assert_eq!(role(None).await, ("learner".into(), json!("token")));
    assert_eq!(role(Some("Bearer nope")).await.0, "learner");
    assert_eq!(role(Some("Bearer class-of-2026")).await.0, "instructor");

    let local = spawn_app_with(|_| {}).await;
    let body: Value = local.get_json("/api/session").await;
    assert_eq!(
        body,
        json!({"role": "instructor", "instructor_by": "loopback"})
    );
}

#[tokio::test]
async fn a_relay_listening_beyond_loopback_makes_a_token_and_asks_for_it() {
    let app = spawn_app_with(|c| {
        c.workers = true;
        c.listen = "0.0.0.0:0".parse().unwrap();
    })
    .await;
    groups_running(&app).await;
    let path = format!("/api/groups/{GROUP}/pause");
    let (status, code, _) = error_of(app.post(&path, &json!({"paused": true})).await).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    let body: Value = app.get_json("/api/session").await;
    assert_eq!(body, json!({"role": "learner", "instructor_by": "token"}));
}

/// Every route that changes state, as a learner's browser on another site would send it.
fn state_changing_routes(claim: &str, letter: &str) -> Vec<(&'static str, String, Value)> {
    let mut routes = vec![
        (
            "POST",
            "/api/claims".to_owned(),
            json!({"customer_id": "CUST-9", "amount": "9.00", "description": "forged"}),
        ),
        ("POST", format!("/api/claims/{claim}/review"), json!({})),
        ("POST", format!("/api/claims/{claim}/approve"), json!({})),
        (
            "POST",
            format!("/api/claims/{claim}/reject"),
            json!({"reason": "forged"}),
        ),
        ("POST", format!("/api/claims/{claim}/pay"), json!({})),
    ];
    routes.extend(instructor_actions(letter));
    routes
}

#[tokio::test]
async fn requests_from_other_sites_are_refused_and_change_nothing() {
    let app = spawn_app_with(|c| {
        c.workers = true;
        c.auto_review = false;
        c.allowed_origins = vec!["http://127.0.0.1:8081".into()];
    })
    .await;
    groups_running(&app).await;
    let claim = app.submit("10.00").await.claim_id;
    let letter = plant_dead_letter(&app).await;
    let before = class_state(&app).await;
    let attempts: [(Headers, u16, &str); 5] = [
        (
            &[
                ("content-type", "application/json"),
                ("origin", "http://evil.example"),
            ],
            403,
            "cross_site",
        ),
        (
            &[("content-type", "application/json"), ("origin", "null")],
            403,
            "cross_site",
        ),
        (
            &[("content-type", "text/plain")],
            415,
            "unsupported_media_type",
        ),
        (
            &[("content-type", "application/x-www-form-urlencoded")],
            415,
            "unsupported_media_type",
        ),
        (&[], 415, "unsupported_media_type"),
    ];
    for (method, path, body) in state_changing_routes(&claim, &letter) {
        for (headers, status, code) in attempts {
            let (got, got_code, _) =
                error_of(send(&app, method, &path, &body, headers).await).await;
            assert_eq!(
                (got, got_code.as_str()),
                (status, code),
                "{method} {path} {headers:?}"
            );
        }
    }
    assert_eq!(
        class_state(&app).await,
        before,
        "a refused request changed something"
    );
    let claim_now: Value = app.get_json(&format!("/api/claims/{claim}")).await;
    assert_eq!(claim_now["claim"]["version"], 1);

    // The relay's own pages, and an origin the instructor allowed, may act.
    let own = format!("http://{}", app.address);
    for origin in [own.as_str(), "http://127.0.0.1:8081"] {
        let response = send(
            &app,
            "POST",
            "/api/claims",
            &json!({"customer_id": "CUST-9", "amount": "9.00", "description": "ours"}),
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("origin", origin),
            ],
        )
        .await;
        assert_eq!(response.status(), 201, "{origin}");
    }
}

#[tokio::test]
async fn a_host_rebound_to_loopback_is_refused() {
    let app = spawn_app_with(|_| {}).await;
    let response = app
        .http
        .get(app.url("/api/claims"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (403, "foreign_host"));
    let response = app
        .http
        .get(app.url("/api/claims"))
        .header(
            "host",
            format!("localhost:{}", app.address.rsplit(':').next().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_websocket_from_another_site_is_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app_with(|_| {}).await;
    let url = format!("ws://{}/api/ws", app.address);
    let mut request = url.clone().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    let mut request = url.into_client_request().unwrap();
    let own = format!("http://{}", app.address);
    request.headers_mut().insert("origin", own.parse().unwrap());
    let (_, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// `POST /api/session` with this token and these headers besides the JSON content type.
async fn sign_in(app: &TestApp, token: &str, headers: Headers<'_>) -> reqwest::Response {
    let mut all = vec![JSON];
    all.extend_from_slice(headers);
    send(app, "POST", "/api/session", &json!({"token": token}), &all).await
}

fn set_cookie(response: &reqwest::Response) -> Option<String> {
    let mut cookies = response.headers().get_all("set-cookie").iter();
    let cookie = cookies.next()?.to_str().unwrap().to_owned();
    assert!(cookies.next().is_none(), "one cookie");
    Some(cookie)
}

/// The cookie's `name=value`, to send back as a `Cookie` header, and its attributes.
fn split_cookie(set_cookie: &str) -> (String, Vec<String>) {
    let mut parts = set_cookie.split(';').map(|p| p.trim().to_owned());
    (parts.next().unwrap(), parts.collect())
}

async fn role_with(app: &TestApp, headers: Headers<'_>) -> String {
    let mut request = app.http.get(app.url("/api/session"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    body["role"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_token_is_exchanged_for_an_http_only_cookie_that_alone_opens_instructor_actions() {
    let app = spawn_app_with(|c| {
        c.workers = true;
        c.instructor_token = Some(TOKEN.into());
    })
    .await;
    groups_running(&app).await;
    let pause = format!("/api/groups/{GROUP}/pause");
    let paused = json!({"paused": true});
    let (status, code, _) = error_of(send(&app, "POST", &pause, &paused, &[JSON]).await).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    assert_eq!(class_state(&app).await.0["paused"], false);

    let response = sign_in(&app, TOKEN, &[]).await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response).expect("a session cookie");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"role": "instructor", "instructor_by": "token"})
    );
    let (pair, attributes) = split_cookie(&cookie);
    let value = pair.strip_prefix("claimstream_session=").expect(&cookie);
    assert_eq!(value.len(), 64, "{cookie}");
    assert!(
        !cookie.contains(TOKEN),
        "the cookie holds the token: {cookie}"
    );
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/api", "Max-Age=43200"] {
        assert!(attributes.iter().any(|a| a == wanted), "{wanted}: {cookie}");
    }
    assert!(
        !attributes.iter().any(|a| a == "Secure"),
        "plain http: a Secure cookie would be dropped: {cookie}"
    );

    // The cookie alone makes the instructor, and runs a control.
    let with_cookie = [("cookie", pair.as_str())];
    assert_eq!(role_with(&app, &with_cookie).await, "instructor");
    let both = [JSON, ("cookie", pair.as_str())];
    let response = send(&app, "POST", &pause, &paused, &both).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(class_state(&app).await.0["paused"], true);

    // Among other cookies too; but it is no bearer token, and a forged one opens nothing.
    let among = format!("theme=dark; {pair}; lang=en");
    assert_eq!(role_with(&app, &[("cookie", &among)]).await, "instructor");
    let as_bearer = format!("Bearer {value}");
    let forged = format!("claimstream_session={}", "0".repeat(64));
    for headers in [
        [JSON, ("authorization", as_bearer.as_str())],
        [JSON, ("cookie", forged.as_str())],
    ] {
        let response = send(&app, "POST", &pause, &json!({"paused": false}), &headers).await;
        let (status, code, _) = error_of(response).await;
        assert_eq!((status, code.as_str()), (403, "wrong_token"), "{headers:?}");
    }
    assert_eq!(class_state(&app).await.0["paused"], true);
}

#[tokio::test]
async fn a_wrong_missing_or_cross_site_token_gets_no_cookie() {
    let app = spawn_app_with(|c| c.instructor_token = Some(TOKEN.into())).await;
    let response = sign_in(&app, "not-the-token", &[]).await;
    assert_eq!(set_cookie(&response), None);
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (403, "wrong_token"));

    for body in [json!({}), json!({"token": ""}), json!({"token": "  "})] {
        let response = send(&app, "POST", "/api/session", &body, &[JSON]).await;
        assert_eq!(set_cookie(&response), None, "{body}");
        let (status, _, _) = error_of(response).await;
        assert_eq!(status, 400, "{body}");
    }

    let evil = [("origin", "http://evil.example")];
    let response = sign_in(&app, TOKEN, &evil).await;
    assert_eq!(set_cookie(&response), None);
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (403, "cross_site"));
    let body = json!({"token": TOKEN});
    let response = send(
        &app,
        "POST",
        "/api/session",
        &body,
        &[("content-type", "text/plain")],
    );
    let response = response.await;
    assert_eq!(set_cookie(&response), None);
    assert_eq!(response.status(), 415);

    // Behind https (the page's origin, or a TLS-terminating proxy) the cookie is Secure.
    let own_https = format!("https://{}", app.address);
    for headers in [
        [("origin", own_https.as_str())],
        [("x-forwarded-proto", "https")],
    ] {
        let response = sign_in(&app, TOKEN, &headers).await;
        assert_eq!(response.status(), 200);
        let (_, attributes) = split_cookie(&set_cookie(&response).unwrap());
        assert!(attributes.iter().any(|a| a == "Secure"), "{headers:?}");
    }
}

#[tokio::test]
async fn signing_out_clears_the_cookie_and_the_bearer_header_still_works() {
    let app = spawn_app_with(|c| c.instructor_token = Some(TOKEN.into())).await;
    let cookie = set_cookie(&sign_in(&app, TOKEN, &[]).await).unwrap();
    let (pair, _) = split_cookie(&cookie);
    let response = send(
        &app,
        "DELETE",
        "/api/session",
        &json!({}),
        &[JSON, ("cookie", &pair)],
    )
    .await;
    assert_eq!(response.status(), 200);
    let cleared = set_cookie(&response).expect("a clearing cookie");
    let (cleared_pair, attributes) = split_cookie(&cleared);
    assert_eq!(cleared_pair, "claimstream_session=");
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/api", "Max-Age=0"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "{wanted}: {cleared}"
        );
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["role"], "learner");
    // What a browser sends once it dropped the cookie.
    assert_eq!(
        role_with(&app, &[("cookie", &cleared_pair)]).await,
        "learner"
    );
    let pause = format!("/api/groups/{GROUP}/pause");
    let signed_out = [JSON, ("cookie", cleared_pair.as_str())];
    let response = send(&app, "POST", &pause, &json!({"paused": true}), &signed_out).await;
    let (status, code, _) = error_of(response).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));

    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        role_with(&app, &[("authorization", &bearer)]).await,
        "instructor"
    );
    let response = send(
        &app,
        "DELETE",
        "/api/session",
        &json!({}),
        &[JSON, ("authorization", &bearer)],
    )
    .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["role"], "instructor", "a script keeps its header");

    // On loopback without a token everyone is the instructor: no cookie to keep.
    let local = spawn_app_with(|_| {}).await;
    let response = sign_in(&local, "anything", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(set_cookie(&response), None);
    assert_eq!(role_with(&local, &[]).await, "instructor");
}

/// A group's pending entries name consumers and ids: listing them is the instructor's.
#[tokio::test]
async fn a_groups_pending_list_is_read_by_the_instructor_only() {
    let app = spawn_app_with(|c| c.instructor_token = Some(TOKEN.into())).await;
    let _: () = app
        .query(&[
            "XGROUP",
            "CREATE",
            "claims:events",
            "readers",
            "$",
            "MKSTREAM",
        ])
        .await;
    let path = "/api/groups/readers/pending";
    let learner = send(&app, "GET", path, &Value::Null, &[]).await;
    assert_eq!(learner.status(), StatusCode::UNAUTHORIZED);
    let right = format!("Bearer {TOKEN}");
    let instructor = send(
        &app,
        "GET",
        path,
        &Value::Null,
        &[("authorization", &right)],
    )
    .await;
    assert_eq!(instructor.status(), StatusCode::OK);
}
