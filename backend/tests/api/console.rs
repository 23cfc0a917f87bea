//! The stream console: every command it runs and refuses, its caps, workspaces kept apart,
//! the class's stream read but never written, and the common issues explained.

use serde_json::json;
use shared::api::{ConsoleResponse, WorkspaceResponse};

use test_support::{TestApp, spawn_app};

/// `POST /api/console` with `line`, in the workspace named `workspace` (`X-Workspace`).
async fn console_in(app: &TestApp, workspace: &str, line: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/console"))
        .header("X-Workspace", workspace)
        .json(&json!({ "line": line }))
        .send()
        .await
        .unwrap()
}

/// A learner with a workspace of their own.
pub struct Learner<'a> {
    app: &'a TestApp,
    pub id: String,
}

impl<'a> Learner<'a> {
    pub async fn new(app: &'a TestApp) -> Self {
        let r = app.post("/api/workspaces", &json!({})).await;
        assert_eq!(r.status(), 201);
        let w: WorkspaceResponse = r.json().await.unwrap();
        assert_eq!(w.id.len(), 32);
        Self { app, id: w.id }
    }

    pub async fn send(&self, line: &str) -> reqwest::Response {
        console_in(self.app, &self.id, line).await
    }

    /// Runs a line; the console answers 200 whatever the command's outcome.
    pub async fn run(&self, line: &str) -> ConsoleResponse {
        let r = self.send(line).await;
        assert_eq!(r.status(), 200, "{line}");
        r.json().await.unwrap()
    }

    /// Runs a line that must succeed, and gives its reply.
    pub async fn ok(&self, line: &str) -> String {
        let answer = self.run(line).await;
        assert_eq!(answer.error, None, "{line}: {answer:?}");
        answer.reply
    }

    /// GETs `path` in this learner's workspace (`X-Workspace`); must answer 200.
    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let r = self
            .app
            .http
            .get(self.app.url(path))
            .header("X-Workspace", &self.id)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }

    /// Runs a line that must fail, and gives the answer.
    async fn fails(&self, line: &str) -> ConsoleResponse {
        let answer = self.run(line).await;
        assert!(answer.error.is_some(), "{line} should fail: {answer:?}");
        assert!(answer.reply.starts_with("(error) "), "{answer:?}");
        answer
    }

    /// The real name of one of this learner's keys.
    fn real(&self, key: &str) -> String {
        format!("lab:{{{}}}:{key}", self.id)
    }
}

/// The id in an XADD's reply (`"1700000000000-0"`).
pub fn id_of(reply: &str) -> String {
    reply.trim_matches('"').to_owned()
}

#[tokio::test]
async fn every_command_of_the_lab_runs_in_a_workspace_as_redis_cli_prints_it() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;

    assert_eq!(me.ok("PING").await, "PONG");
    let first = id_of(&me.ok("XADD orders * type demo n 1").await);
    let second = id_of(&me.ok(r#"XADD orders * type demo note "two words""#).await);
    let third = id_of(&me.ok("xadd orders * type demo n 3").await);
    assert_eq!(me.ok("XLEN orders").await, "(integer) 3");
    let range = me.ok("XRANGE orders - +").await;
    assert!(
        range.starts_with(&format!(
            "1) 1) \"{first}\"\n   2) 1) \"type\"\n      2) \"demo\""
        )),
        "{range}"
    );
    assert!(range.contains("\"two words\""), "{range}");
    let newest = me.ok("XREVRANGE orders + - COUNT 1").await;
    assert!(
        newest.starts_with(&format!("1) 1) \"{third}\"")),
        "{newest}"
    );
    // Key names in replies are shown as typed, never with the workspace's prefix.
    let read = me.ok("XREAD COUNT 1 STREAMS orders 0").await;
    assert!(read.starts_with("1) 1) \"orders\""), "{read}");
    assert!(!read.contains("lab:{"), "{read}");

    assert_eq!(me.ok("XGROUP CREATE orders workers 0").await, "OK");
    assert_eq!(
        me.ok("XGROUP CREATECONSUMER orders workers c2").await,
        "(integer) 1"
    );
    let delivered = me
        .ok("XREADGROUP GROUP workers c1 COUNT 2 STREAMS orders >")
        .await;
    assert!(
        delivered.contains(&first) && delivered.contains(&second),
        "{delivered}"
    );
    let summary = me.ok("XPENDING orders workers").await;
    assert!(summary.starts_with("1) (integer) 2"), "{summary}");
    let each = me.ok("XPENDING orders workers - + 10").await;
    assert!(each.contains("\"c1\""), "{each}");
    assert_eq!(
        me.ok(&format!("XACK orders workers {first}")).await,
        "(integer) 1"
    );
    let claimed = me
        .ok(&format!("XCLAIM orders workers c2 0 {second} JUSTID"))
        .await;
    assert_eq!(claimed, format!("1) \"{second}\""));
    let auto = me.ok("XAUTOCLAIM orders workers c1 0 0 JUSTID").await;
    assert!(auto.contains(&second), "{auto}");
    let stream = me.ok("XINFO STREAM orders").await;
    assert!(stream.contains("\"length\"\n 2) (integer) 3"), "{stream}");
    assert!(me.ok("XINFO GROUPS orders").await.contains("\"workers\""));
    assert!(
        me.ok("XINFO CONSUMERS orders workers")
            .await
            .contains("\"c2\"")
    );
    assert_eq!(me.ok("XGROUP SETID orders workers 0").await, "OK");
    assert_eq!(
        me.ok("XGROUP DELCONSUMER orders workers c2").await,
        "(integer) 0"
    );
    assert_eq!(me.ok("XTRIM orders MAXLEN 2").await, "(integer) 1");
    assert_eq!(me.ok(&format!("XDEL orders {third}")).await, "(integer) 1");
    assert_eq!(me.ok("TYPE orders").await, "stream");
    assert_eq!(me.ok("EXISTS orders nothing").await, "(integer) 1");
    assert!(me.ok("MEMORY USAGE orders").await.starts_with("(integer) "));
    assert!(me.ok("INFO memory").await.contains("used_memory:"));
    assert_eq!(me.ok("XGROUP DESTROY orders workers").await, "(integer) 1");

    // What was sent names the real key.
    let answer = me.run("XLEN orders").await;
    assert_eq!(
        answer.redis,
        [format!("XLEN {}", quote(&me.real("orders")))]
    );
    assert_eq!(me.ok("DEL orders").await, "(integer) 1");
    let exists: bool = app.query(&["EXISTS", &me.real("orders")]).await;
    assert!(!exists);
}

/// A key as `redis-cli` would be given it: braces need no quotes.
fn quote(key: &str) -> String {
    shared::console::quote(key)
}

#[tokio::test]
async fn refused_commands_say_why_and_send_nothing() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    me.ok("XADD mine * a 1").await;
    for line in [
        "FLUSHALL",
        "flushdb",
        "CONFIG GET *",
        "EVAL \"return 1\" 0",
        "KEYS *",
        "SCAN 0",
        "DEBUG SLEEP 0",
        "SHUTDOWN NOSAVE",
        "MODULE LIST",
        "SUBSCRIBE news",
        "MONITOR",
        "CLIENT LIST",
        "SELECT 1",
        "RENAME mine yours",
    ] {
        let answer = me.fails(line).await;
        let name = line.split(' ').next().unwrap().to_ascii_uppercase();
        let error = answer.error.unwrap();
        assert!(
            error.starts_with(&format!("{name} is not allowed here: ")),
            "{error}"
        );
        assert!(answer.hint.is_some());
        assert!(answer.redis.is_empty(), "{line} sent {:?}", answer.redis);
    }
    // FLUSHALL and the others left the key as it was.
    assert_eq!(me.ok("XLEN mine").await, "(integer) 1");

    let typo = me.fails("XADDD mine * a 1").await;
    assert_eq!(typo.error.as_deref(), Some("unknown command 'XADDD'"));
    assert!(typo.hint.unwrap().contains("did you mean XADD?"));
    let arity = me.fails("XADD mine *").await;
    assert!(arity.hint.unwrap().starts_with("usage: XADD key"));
    let quotes = me.fails("XADD mine * note \"open").await;
    assert_eq!(quotes.error.as_deref(), Some("unbalanced quotes"));
    let long = me
        .fails(&format!("XADD mine * a {}", "x".repeat(5000)))
        .await;
    assert!(long.error.unwrap().contains("4096"));
    let listed: shared::api::ConsoleHelp = me.get("/api/console/help").await;
    assert_eq!(listed.keys[0], "mine", "{:?}", listed.keys);
    assert!(listed.keys.contains(&"demo:claims:events".to_owned()));
    assert_eq!(listed.commands.len(), shared::console::COMMANDS.len());
    let help = me.ok("HELP XAUTOCLAIM").await;
    assert!(
        help.starts_with("XAUTOCLAIM key group consumer min-idle-ms start"),
        "{help}"
    );
}

#[tokio::test]
async fn two_workspaces_never_see_or_change_each_others_keys() {
    let app = spawn_app().await;
    let ana = Learner::new(&app).await;
    let ben = Learner::new(&app).await;
    assert_ne!(ana.id, ben.id);

    ana.ok("XADD claims:events * who ana").await;
    let empty = ben.run("XLEN claims:events").await;
    assert_eq!(empty.reply, "(integer) 0");
    assert!(
        empty
            .hint
            .unwrap()
            .contains("nothing has been published to claims:events yet"),
    );
    ben.ok("XADD claims:events * who ben").await;
    ben.ok("XGROUP CREATE claims:events g 0").await;
    let seen = ana.ok("XRANGE claims:events - +").await;
    assert!(
        seen.contains("\"ana\"") && !seen.contains("\"ben\""),
        "{seen}"
    );
    // Ana's group of the same name is her own: Ben's is not in her way.
    assert_eq!(ana.ok("XGROUP CREATE claims:events g 0").await, "OK");
    assert_eq!(ana.ok("DEL claims:events").await, "(integer) 1");
    assert_eq!(ben.ok("XLEN claims:events").await, "(integer) 1");

    // A group and a consumer named STREAMS do not move where the keys are read from.
    ana.ok("XADD s * who ana").await;
    ana.ok("XGROUP CREATE s STREAMS 0").await;
    let read = ana.ok("XREADGROUP GROUP STREAMS STREAMS STREAMS s >").await;
    assert!(
        read.starts_with("1) 1) \"s\"") && read.contains("\"ana\""),
        "{read}"
    );

    // Neither touched the class's stream, whose name they typed.
    assert_eq!(app.xlen().await, 0);
    let ben_len: u64 = app.query(&["XLEN", &ben.real("claims:events")]).await;
    assert_eq!(ben_len, 1);
}

#[tokio::test]
async fn the_class_stream_is_read_as_demo_but_never_written() {
    let app = spawn_app().await;
    let claim = app.submit("12.00").await;
    let me = Learner::new(&app).await;

    let read = me.ok("XRANGE demo:claims:events - +").await;
    assert!(read.contains(&claim.claim_id), "{read}");
    assert_eq!(me.ok("XLEN demo:claims:events").await, "(integer) 1");
    assert!(
        me.ok("XINFO GROUPS demo:claims:events")
            .await
            .contains("claims-projections")
    );
    let named = me.ok("XREAD STREAMS demo:claims:events 0").await;
    assert!(named.starts_with("1) 1) \"demo:claims:events\""), "{named}");

    for line in [
        "XADD demo:claims:events * type forged",
        "XGROUP CREATE demo:claims:events mine $",
        "XREADGROUP GROUP claims-projections me STREAMS demo:claims:events >",
        "XTRIM demo:claims:events MAXLEN 0",
        "XDEL demo:claims:events 0-1",
        "DEL demo:claims:events",
        "XACK demo:claims:events claims-projections 0-1",
    ] {
        let answer = me.fails(line).await;
        assert!(
            answer.error.unwrap().contains("the class's shared stream"),
            "{line}"
        );
        assert!(answer.redis.is_empty());
    }
    assert!(
        me.fails("XLEN demo:secrets")
            .await
            .error
            .unwrap()
            .contains("demo:claims:events")
    );
    assert_eq!(app.xlen().await, 1);
}

#[tokio::test]
async fn counts_blocking_replies_and_a_workspaces_memory_are_capped() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let mut redis = app.redis().await;
    let big = me.real("big");
    let mut pipe = redis::pipe();
    for n in 0..150 {
        pipe.cmd("XADD")
            .arg(&big)
            .arg("*")
            .arg("n")
            .arg(n)
            .arg("pad")
            .arg("p".repeat(1000));
    }
    let _: Vec<String> = pipe.query_async(&mut redis).await.unwrap();

    let capped = me.run("XRANGE big - + COUNT 1000").await;
    let hint = capped.hint.unwrap();
    assert!(
        hint.starts_with("COUNT 1000 is 100 in the console; the reply was "),
        "{hint}"
    );
    assert!(hint.contains("first 64 KB"), "{hint}");
    assert!(capped.redis[0].ends_with("COUNT 100"), "{:?}", capped.redis);
    let lines = capped
        .reply
        .lines()
        .filter(|l| l.trim_start().starts_with("2) 1) \"n\""))
        .count();
    assert!(
        (50..100).contains(&lines),
        "cut before 100 entries of 1 KB: {lines}"
    );
    assert!(capped.reply.len() <= 64 * 1024 + 4);
    assert!(capped.reply.ends_with('…'));
    let small = me.ok("XRANGE big - + COUNT 3").await;
    assert!(
        small.starts_with("1) 1) \"") && small.contains("\n3) 1) \""),
        "{small}"
    );

    // BLOCK 0 would wait forever: the console waits at most 5 s, and an entry ends it sooner.
    let waiting = me.send("XREAD BLOCK 0 STREAMS big $");
    let adding = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        me.ok("XADD big * n fresh").await
    };
    let (answer, added) = tokio::join!(waiting, adding);
    let answer: ConsoleResponse = answer.json().await.unwrap();
    assert!(answer.reply.contains(&id_of(&added)), "{answer:?}");
    assert!(answer.hint.unwrap().contains("waits 5000 ms at most"));
    assert!(answer.redis[0].contains("BLOCK 5000"), "{:?}", answer.redis);

    // The XADD above recorded what `big` takes (about 150 KB); make it 1.2 MB behind the
    // console's back, and the next write that grows the workspace records it, the one after
    // is refused until room is made.
    let mut pipe = redis::pipe();
    for _ in 0..1000 {
        pipe.cmd("XADD")
            .arg(&big)
            .arg("*")
            .arg("pad")
            .arg("q".repeat(1000));
    }
    let _: Vec<String> = pipe.query_async(&mut redis).await.unwrap();
    me.ok("XADD big * n recorded").await;
    let full = me.fails("XADD big * n refused").await;
    assert!(
        full.error.unwrap().starts_with("your workspace holds "),
        "full"
    );
    assert!(full.hint.unwrap().contains("XTRIM"));
    assert_eq!(me.ok("XTRIM big MAXLEN 10").await, "(integer) 1142");
    me.ok("XADD big * n room-again").await;

    // At most 32 keys: `big` and 31 more.
    for n in 1..32 {
        me.ok(&format!("XADD k{n} * n {n}")).await;
    }
    let many = me.fails("XADD k32 * n 32").await;
    assert!(many.error.unwrap().contains("its most is 32"));
}

#[tokio::test]
async fn the_common_issues_are_explained_where_they_happen() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;

    let missing = me.fails("XGROUP CREATE nothing g $").await;
    assert!(missing.hint.unwrap().contains("MKSTREAM"));
    assert_eq!(me.ok("XGROUP CREATE s g $ MKSTREAM").await, "OK");
    let busy = me.fails("XGROUP CREATE s g $").await;
    assert!(busy.error.unwrap().starts_with("BUSYGROUP"));
    assert!(busy.hint.unwrap().contains("XGROUP DESTROY"));
    let nogroup = me.fails("XREADGROUP GROUP other c STREAMS s >").await;
    assert!(nogroup.error.unwrap().starts_with("NOGROUP"));
    assert!(nogroup.hint.unwrap().contains("XGROUP CREATE"));
    let id = id_of(&me.ok("XADD s * a 1").await);
    let older = me.fails("XADD s 1-1 a 2").await;
    assert!(older.hint.unwrap().contains("give *"), "{id}");
    let bad_id = me.fails("XRANGE s yesterday +").await;
    assert!(bad_id.hint.unwrap().contains("milliseconds"));
    let nothing = me.run("XRANGE never - +").await;
    assert_eq!(nothing.reply, "(empty array)");
    assert!(
        nothing
            .hint
            .unwrap()
            .contains("nothing has been published to never yet")
    );

    let mut redis = app.redis().await;
    let _: () = redis::cmd("SET")
        .arg(me.real("text"))
        .arg("not a stream")
        .query_async(&mut redis)
        .await
        .unwrap();
    let wrong = me.fails("XLEN text").await;
    assert!(wrong.error.unwrap().starts_with("WRONGTYPE"));
    assert!(wrong.hint.unwrap().contains("TYPE <key>"));
}

#[tokio::test]
async fn a_workspace_must_be_named_and_every_key_it_makes_expires() {
    let mut app = spawn_app().await;
    let r = app.post("/api/console", &json!({ "line": "PING" })).await;
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_workspace");
    let r = console_in(&app, "../../etc", "PING").await;
    assert_eq!(r.status(), 400);
    let r = console_in(&app, "0123456789abcdef0123456789abcdef", "PING").await;
    assert_eq!(r.status(), 404);

    let me = Learner::new(&app).await;
    me.ok("XADD a * n 1").await;
    me.ok("XGROUP CREATE b g $ MKSTREAM").await;
    me.ok("XREADGROUP GROUP g c STREAMS b >").await;
    let mut redis = app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("lab:{{{}}}*", me.id))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!((1..=24 * 3600).contains(&ttl), "{key} expires in {ttl}");
    }
    let registered: Option<f64> = redis::cmd("ZSCORE")
        .arg("lab:workspaces")
        .arg(&me.id)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(registered.is_some());

    let id = me.id.clone();
    app.stop_redis().await;
    let r = app
        .http
        .post(app.url("/api/console"))
        .header("X-Workspace", id)
        .json(&json!({ "line": "PING" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let answer: ConsoleResponse = r.json().await.unwrap();
    assert!(answer.hint.unwrap().starts_with("connection refused"));
}

#[tokio::test]
async fn random_lines_get_an_answer_never_a_server_error() {
    use rand::prelude::*;
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    me.ok("XADD s * a 1").await;
    let words = [
        "XADD",
        "XRANGE",
        "XREAD",
        "XREADGROUP",
        "XGROUP",
        "CREATE",
        "SETID",
        "XINFO",
        "STREAM",
        "XPENDING",
        "XCLAIM",
        "XAUTOCLAIM",
        "XTRIM",
        "MAXLEN",
        "~",
        "STREAMS",
        "GROUP",
        "COUNT",
        "BLOCK",
        "IDLE",
        "s",
        "demo:claims:events",
        "g",
        "c",
        "*",
        "$",
        ">",
        "0",
        "-",
        "+",
        "1-1",
        "-5",
        "99999999999999999999",
        "\"",
        "'",
        "\\x",
        "\"a b\"",
        "é",
        "{}",
        "",
    ];
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..150 {
        let n = rng.random_range(1..8);
        let line: Vec<&str> = (0..n).map(|_| *words.choose(&mut rng).unwrap()).collect();
        let line = line.join(" ");
        let r = me.send(&line).await;
        assert_eq!(r.status(), 200, "{line}");
        let answer: ConsoleResponse = r.json().await.unwrap();
        assert!(!answer.reply.is_empty(), "{line}");
    }
}
