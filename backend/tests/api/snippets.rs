//! `GET /api/snippets`: each sample line, run as `redis-cli` sends it, as its node-redis v4
//! snippet in Node.js, and as its redis-py snippet in Python, each on keys of its own from the
//! same starting point, leaves Redis the same (or fails in all three).

use std::collections::HashMap;
use std::fmt::Write as _;

use redis::aio::MultiplexedConnection;
use shared::console::{Snippets, tokenize};
use test_support::{TestApp, expect_error, spawn_app};

/// Lines over a stream `{k}` holding 1-1, 2-1 and 3-1, with a group `g` whose consumer `c`
/// has 1-1 pending, and a key `{k2}` that does not exist.
const SAMPLES: &[&str] = &[
    "XADD {k} 5-1 type claim_submitted claim_id c-1 amount 1500",
    "XADD {k} MAXLEN 2 5-1 a 1",
    "XADD {k} NOMKSTREAM MAXLEN ~ 100 5-1 a 1",
    "XADD {k} MINID 2-1 5-1 a 1",
    r#"XADD {k} 6-0 note "it's \"quoted\"\nnext" 7 seven"#,
    "XADD {k} 5-1 a 1 a 2",
    "XADD {k} 2-1 a 1",
    "XADD {k2} NOMKSTREAM 1-1 a 1",
    "XGROUP CREATE {k} g2 0",
    "XGROUP CREATE {k2} g $ MKSTREAM",
    "XGROUP CREATE {k2} g 0",
    "XGROUP CREATE {k} g3 $ ENTRIESREAD 3",
    "XGROUP SETID {k} g 0 ENTRIESREAD 0",
    "XGROUP SETID {k} g 2-1",
    "XREADGROUP GROUP g c2 COUNT 1 STREAMS {k} >",
    "XREADGROUP GROUP g c NOACK STREAMS {k} >",
    "XREADGROUP GROUP g c STREAMS {k} 0",
    "XACK {k} g 1-1",
    "XACK {k} g 1-1 2-1",
    "XCLAIM {k} g c3 0 1-1",
    "XCLAIM {k} g c3 0 1-1 JUSTID",
    "XCLAIM {k} g c3 0 3-1 FORCE",
    "XAUTOCLAIM {k} g c4 0 0-0 COUNT 10",
    "XTRIM {k} MAXLEN 1",
    "XTRIM {k} MINID 2-1",
    "XDEL {k} 1-1 2-1",
    "XDEL {k} 3-1",
    "XGROUP CREATECONSUMER {k} g c9",
    "XGROUP DELCONSUMER {k} g c",
    "XGROUP DESTROY {k} g",
    "DEL {k} {k2}",
    "XRANGE {k} - + COUNT 2",
    "XREVRANGE {k} + - COUNT 1",
    "XRANGE {k} - + COUNT 0",
    "XREAD COUNT 2 STREAMS {k} 0",
    "XLEN {k}",
    "XINFO GROUPS {k}",
    "XINFO CONSUMERS {k} g",
    "XINFO STREAM {k}",
    "XPENDING {k} g",
    "XPENDING {k} g - + 10 c",
    "TYPE {k}",
    "EXISTS {k} {k2}",
    "MEMORY USAGE {k}",
    "PING",
];

const LANGUAGES: [&str; 3] = ["cli", "node", "python"];

fn line(sample: &str, prefix: &str) -> String {
    sample
        .replace("{k2}", &format!("{prefix}k2"))
        .replace("{k}", &format!("{prefix}k"))
}

async fn setup(conn: &mut MultiplexedConnection, prefix: &str) {
    let k = format!("{prefix}k");
    let mut pipe = redis::pipe();
    for (id, n) in [("1-1", "1"), ("2-1", "2"), ("3-1", "3")] {
        pipe.cmd("XADD").arg(&k).arg(id).arg("a").arg(n).ignore();
    }
    pipe.cmd("XGROUP")
        .arg("CREATE")
        .arg(&k)
        .arg("g")
        .arg("0")
        .ignore();
    pipe.cmd("XREADGROUP")
        .arg("GROUP")
        .arg("g")
        .arg("c")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&k)
        .arg(">")
        .ignore();
    pipe.query_async::<()>(conn).await.unwrap();
}

/// What Redis holds under `prefix`, with the prefix taken out: each key's type, a stream's
/// entries, its groups (last id, entries read, pending), their consumers and pending entries.
async fn effect(conn: &mut MultiplexedConnection, prefix: &str) -> String {
    let mut out = String::new();
    for name in ["k", "k2"] {
        let key = format!("{prefix}{name}");
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(conn)
            .await
            .unwrap();
        writeln!(out, "{name}: {kind}").unwrap();
        if kind != "stream" {
            continue;
        }
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .query_async(conn)
            .await
            .unwrap();
        writeln!(out, "  entries {entries:?}").unwrap();
        let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&key)
            .query_async(conn)
            .await
            .unwrap();
        for group in groups {
            let group_name: String = redis::from_redis_value(group["name"].clone()).unwrap();
            writeln!(
                out,
                "  group {group_name} last {:?} read {:?} pending {:?}",
                group["last-delivered-id"], group["entries-read"], group["pending"]
            )
            .unwrap();
            let consumers: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
                .arg("CONSUMERS")
                .arg(&key)
                .arg(&group_name)
                .query_async(conn)
                .await
                .unwrap();
            for consumer in consumers {
                writeln!(
                    out,
                    "    consumer {:?} pending {:?}",
                    consumer["name"], consumer["pending"]
                )
                .unwrap();
            }
            let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
                .arg(&key)
                .arg(&group_name)
                .arg("-")
                .arg("+")
                .arg(100)
                .query_async(conn)
                .await
                .unwrap();
            for (id, owner, _idle, deliveries) in pending {
                writeln!(out, "    pending {id} {owner} delivered {deliveries}").unwrap();
            }
        }
    }
    out
}

async fn snippets(app: &TestApp, line: &str) -> Snippets {
    let encoded: String = line.bytes().map(|b| format!("%{b:02X}")).collect();
    app.get_json(&format!("/api/snippets?line={encoded}")).await
}

#[tokio::test]
async fn node_and_python_snippets_do_what_the_redis_cli_line_does() {
    let app = spawn_app().await;
    let mut conn = app.redis().await;
    let prefix = |language: &str, i: usize| format!("snip:{language}:{i}:");

    let mut node = Vec::new();
    let mut python = Vec::new();
    let mut cli_errors = Vec::new();
    for (i, sample) in SAMPLES.iter().enumerate() {
        for language in LANGUAGES {
            setup(&mut conn, &prefix(language, i)).await;
        }
        // redis-cli sends the line's words as they are.
        let words = tokenize(&line(sample, &prefix("cli", i))).unwrap();
        let sent = snippets(&app, &line(sample, &prefix("cli", i))).await;
        assert_eq!(
            tokenize(&sent.cli).unwrap(),
            words,
            "{sample}: cli reads back"
        );
        let ran: redis::RedisResult<redis::Value> = redis::cmd(&words[0])
            .arg(&words[1..])
            .query_async(&mut conn)
            .await;
        cli_errors.push(ran.err().map(|e| e.to_string()));
        node.push(snippets(&app, &line(sample, &prefix("node", i))).await.node);
        python.push(
            snippets(&app, &line(sample, &prefix("python", i)))
                .await
                .python,
        );
    }
    let node_errors = test_support::node::snippets(&app.redis_url(), &node).await;
    let python_errors = test_support::python::snippets(&app.redis_url(), &python).await;

    for (i, sample) in SAMPLES.iter().enumerate() {
        let expected = effect(&mut conn, &prefix("cli", i)).await;
        for (language, code, errors) in [
            ("node", &node[i], &node_errors),
            ("python", &python[i], &python_errors),
        ] {
            assert_eq!(
                errors[i].is_some(),
                cli_errors[i].is_some(),
                "{sample} as {language}: `{code}` failed with {:?}, redis-cli with {:?}",
                errors[i],
                cli_errors[i]
            );
            assert_eq!(
                effect(&mut conn, &prefix(language, i)).await,
                expected,
                "{sample} as {language}: `{code}` left Redis otherwise than redis-cli"
            );
        }
    }
    // The samples fail where a learner's line would, and most read as the clients' own
    // methods rather than a raw command.
    assert_eq!(cli_errors.iter().filter(|e| e.is_some()).count(), 2);
    let raw = |code: &[String], marker: &str| code.iter().filter(|c| c.contains(marker)).count();
    assert!(raw(&node, "sendCommand") <= 6, "{node:#?}");
    assert!(raw(&python, "execute_command") <= 3, "{python:#?}");
}

#[tokio::test]
async fn snippets_refuse_what_is_not_a_line() {
    let app = spawn_app().await;
    let long = format!("/api/snippets?line=XLEN%20{}", "k".repeat(5000));
    let message = expect_error(app.get(&long).await, 400, "line_too_long").await;
    assert!(message.contains("4096"), "{message}");
    expect_error(
        app.get("/api/snippets?line=XLEN%20%22k").await,
        400,
        "invalid_line",
    )
    .await;
    expect_error(app.get("/api/snippets?line=%20").await, 400, "invalid_line").await;
    expect_error(app.get("/api/snippets").await, 400, "invalid_query").await;
}
