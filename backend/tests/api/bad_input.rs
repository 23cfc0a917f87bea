use test_support::{error_of, spawn_app};

/// (method, path, body, expected status, expected error code)
type Case = (&'static str, String, String, u16, &'static str);

fn submit(body: &str) -> (String, String) {
    ("/api/claims".to_owned(), body.to_owned())
}

#[tokio::test]
async fn bad_input_gets_a_4xx_json_error_and_leaves_the_stream_unchanged() {
    let app = spawn_app().await;
    let existing = app.submit("10.00").await.claim_id;
    let ok = |amount: &str, customer: &str, description: &str| {
        format!(r#"{{"customer_id":{customer:?},"amount":{amount},"description":{description:?}}}"#)
    };
    let long = "x".repeat(501);
    let claim = |action: &str| format!("/api/claims/{existing}/{action}");
    let cases: Vec<Case> = vec![
        (
            "POST",
            submit("not json").0,
            "not json".into(),
            400,
            "invalid_json",
        ),
        ("POST", "/api/claims".into(), "".into(), 400, "invalid_json"),
        (
            "POST",
            "/api/claims".into(),
            "[]".into(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/claims".into(),
            r#"{"customer_id":"C1","description":"d"}"#.into(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/claims".into(),
            r#"{"customer_id":"C1","amount":"1","description":"d","status":"paid"}"#.into(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/claims".into(),
            r#"{"customer_id":7,"amount":"1","description":"d"}"#.into(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("\"-5.00\"", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("-5", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("\"1.234\"", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("1.234", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("0", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("\"1000000.01\"", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("\"1e5\"", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("\"ten\"", "C1", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("1", "", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("1", "CUST 001", "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("1", &"C".repeat(65), "d"),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("1", "C1", "   "),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            ok("1", "C1", &long),
            422,
            "validation_failed",
        ),
        (
            "POST",
            "/api/claims".into(),
            format!(
                r#"{{"customer_id":"C1","amount":1,"description":"{}"}}"#,
                "y".repeat(70_000)
            ),
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/api/claims/CLM-NOPE/approve".into(),
            "".into(),
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/claims/bad%20id/approve".into(),
            "".into(),
            400,
            "invalid_claim_id",
        ),
        ("POST", claim("reject"), "{}".into(), 400, "invalid_json"),
        (
            "POST",
            claim("reject"),
            r#"{"reason":"  "}"#.into(),
            422,
            "validation_failed",
        ),
        (
            "POST",
            claim("review"),
            r#"{"expected_version":"one"}"#.into(),
            400,
            "invalid_json",
        ),
        (
            "POST",
            claim("review"),
            r#"{"expected_version":5}"#.into(),
            409,
            "version_conflict",
        ),
        ("POST", claim("pay"), "".into(), 409, "invalid_transition"),
        ("POST", claim("teleport"), "".into(), 404, "not_found"),
        (
            "GET",
            "/api/claims/CLM-NOPE".into(),
            "".into(),
            404,
            "not_found",
        ),
        (
            "GET",
            "/api/claims?status=lost".into(),
            "".into(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/api/claims?limit=0".into(),
            "".into(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/api/claims?limit=-3".into(),
            "".into(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/api/claims?colour=red".into(),
            "".into(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/api/streams/secrets/entries".into(),
            "".into(),
            400,
            "key_not_allowed",
        ),
        (
            "GET",
            "/api/streams/claims:events/entries?start=yesterday".into(),
            "".into(),
            400,
            "invalid_stream_id",
        ),
        (
            "GET",
            "/api/streams/claims:events/entries?count=100000".into(),
            "".into(),
            400,
            "invalid_query",
        ),
        (
            "GET",
            "/api/streams/claims:{claims:events}:all/entries".into(),
            "".into(),
            400,
            "not_a_stream",
        ),
        (
            "GET",
            "/api/ws?since=abc".into(),
            "".into(),
            400,
            "invalid_stream_id",
        ),
        (
            "GET",
            "/api/ws".into(),
            "".into(),
            400,
            "websocket_required",
        ),
        (
            "GET",
            "/api/nothing-here".into(),
            "".into(),
            404,
            "not_found",
        ),
        (
            "DELETE",
            "/api/claims".into(),
            "".into(),
            405,
            "method_not_allowed",
        ),
    ];
    assert!(cases.len() >= 20);
    let before = app.xrange().await;
    for (method, path, body, status, code) in cases {
        let request = app
            .http
            .request(method.parse().unwrap(), app.url(&path))
            .header("content-type", "application/json")
            .body(body.clone());
        let response = request.send().await.unwrap();
        let (got_status, got_code, message) = error_of(response).await;
        assert_eq!(
            (got_status, got_code.as_str()),
            (status, code),
            "{method} {path} {}: {message}",
            &body[..body.len().min(80)]
        );
        assert!(!message.is_empty());
        assert!(!message.to_lowercase().contains("redis://"), "{message}");
    }
    assert_eq!(app.xrange().await, before, "bad input changed the stream");
}

#[tokio::test]
async fn validation_errors_name_each_field() {
    let app = spawn_app().await;
    let response = app
        .post_raw(
            "/api/claims",
            r#"{"customer_id":"a b","amount":"1.001","description":""}"#,
        )
        .await;
    let body: serde_json::Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["customer_id", "amount", "description"]);
    assert_eq!(
        body["error"]["fields"][1]["message"],
        "must have at most 2 decimals"
    );
}
