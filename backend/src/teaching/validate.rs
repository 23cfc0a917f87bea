//! Environment validation: is this Redis fit for the lab? Shown as a checklist in the page
//! (`GET /api/validate`) and run by `backend validate` for instructors' setup scripts.

use std::time::Instant;

use shared::api::{CheckStatus, EnvironmentCheck, ValidationResponse};

use crate::store::db::Db;
use crate::store::trace::Trace;

/// `XAUTOCLAIM` came with Redis 6.2; consumer-group lag with 7.0.
const XAUTOCLAIM_SINCE: (u32, u32) = (6, 2);
const LAG_SINCE: (u32, u32) = (7, 0);

/// What is checked, against the Redis at `db` or, with none given, the `redis-server` the
/// relay would start itself.
pub enum Target<'a> {
    Redis(&'a Db),
    Embedded,
}

pub async fn run(target: Target<'_>) -> ValidationResponse {
    let mut checks = match target {
        Target::Redis(db) => against_redis(db).await,
        Target::Embedded => against_embedded().await,
    };
    checks.push(check(
        "relay_version",
        "relay version",
        CheckStatus::Pass,
        format!(
            "claimstream relay {}, writing event schema v{} and reading v0 to v{}",
            env!("CARGO_PKG_VERSION"),
            shared::SCHEMA_VERSION,
            shared::SCHEMA_VERSION
        ),
        None,
    ));
    ValidationResponse {
        ok: checks.iter().all(|c| c.status != CheckStatus::Fail),
        checks,
    }
}

fn check(
    id: &str,
    title: &str,
    status: CheckStatus,
    detail: String,
    fix: Option<&str>,
) -> EnvironmentCheck {
    EnvironmentCheck {
        id: id.to_owned(),
        title: title.to_owned(),
        status,
        detail,
        fix: fix.map(str::to_owned),
    }
}

async fn against_redis(db: &Db) -> Vec<EnvironmentCheck> {
    let mut trace = Trace::off();
    let started = Instant::now();
    // The default sections (server, persistence and memory among them), not `everything`: the
    // lab asks for this every two seconds per learner.
    let info = match db.info(&mut trace, None).await {
        Ok(info) => info,
        Err(e) => {
            let mut checks = vec![check(
                "redis_reachable",
                "Redis reachable",
                CheckStatus::Fail,
                format!("{e}"),
                Some(
                    "start redis-server, or point --redis-url / REDIS_URL at a running one \
                     (leave it unset and the relay starts its own)",
                ),
            )];
            for (id, title) in [
                (
                    "redis_version_xautoclaim",
                    "Redis 6.2 or later (XAUTOCLAIM)",
                ),
                ("redis_version_lag", "Redis 7 or later (group lag)"),
                ("persistence", "persistence"),
                ("maxmemory", "memory limit and eviction policy"),
            ] {
                checks.push(check(
                    id,
                    title,
                    CheckStatus::Fail,
                    "not checked: Redis cannot be reached".into(),
                    None,
                ));
            }
            return checks;
        }
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    // On a cluster, the first primary stands for all: they are set up alike.
    let field = |name: &str| info.field(name).unwrap_or_default().to_owned();
    let mut checks = vec![check(
        "redis_reachable",
        "Redis reachable",
        CheckStatus::Pass,
        format!("{} answered in {ms:.1} ms", db.location),
        None,
    )];
    checks.extend(versions(&field("redis_version")));
    checks.push(persistence(
        field("aof_enabled") == "1",
        &field("rdb_last_save_time"),
        db.config_get(&mut trace, "save").await.ok().flatten(),
    ));
    checks.push(memory(
        field("maxmemory").parse().unwrap_or(0),
        &field("maxmemory_policy"),
    ));
    checks
}

/// The two version checks, from `redis_version` (e.g. `7.0.15`).
fn versions(version: &str) -> Vec<EnvironmentCheck> {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let at_least = |need: (u32, u32)| found >= need;
    let verdict = |need: (u32, u32), id: &str, title: &str, without: &str| {
        if at_least(need) {
            check(
                id,
                title,
                CheckStatus::Pass,
                format!("Redis {version}"),
                None,
            )
        } else {
            check(
                id,
                title,
                CheckStatus::Fail,
                format!("Redis {version}: {without}"),
                Some("install Redis 7 or later (Debian 12 and Ubuntu 24.04 ship it)"),
            )
        }
    };
    vec![
        verdict(
            XAUTOCLAIM_SINCE,
            "redis_version_xautoclaim",
            "Redis 6.2 or later (XAUTOCLAIM)",
            "no XAUTOCLAIM, so entries of crashed consumers are not taken over",
        ),
        verdict(
            LAG_SINCE,
            "redis_version_lag",
            "Redis 7 or later (group lag)",
            "XINFO GROUPS gives no lag, so the lag charts stay empty",
        ),
    ]
}

fn persistence(aof: bool, last_save: &str, save: Option<String>) -> EnvironmentCheck {
    let rdb = save.as_deref().is_some_and(|s| !s.trim().is_empty());
    let title = "persistence";
    match (aof, rdb) {
        (true, _) => check(
            "persistence",
            title,
            CheckStatus::Pass,
            "append-only file on: every write is kept across a restart".into(),
            None,
        ),
        (false, true) => check(
            "persistence",
            title,
            CheckStatus::Pass,
            format!(
                "RDB snapshots (save {}, last at {last_save}); writes since the last snapshot are lost in a crash",
                save.unwrap_or_default()
            ),
            None,
        ),
        (false, false) => check(
            "persistence",
            title,
            CheckStatus::Warn,
            "none: a restart of Redis loses every stream".into(),
            Some("CONFIG SET appendonly yes (or start redis-server --appendonly yes)"),
        ),
    }
}

fn memory(maxmemory: u64, policy: &str) -> EnvironmentCheck {
    let id = "maxmemory";
    let title = "memory limit and eviction policy";
    let limit = if maxmemory == 0 {
        "no maxmemory".to_owned()
    } else {
        format!("maxmemory {} MB", maxmemory / (1024 * 1024))
    };
    if policy != "noeviction" && maxmemory > 0 {
        return check(
            id,
            title,
            CheckStatus::Fail,
            format!("{limit} with {policy}: at the limit Redis would silently evict streams"),
            Some("CONFIG SET maxmemory-policy noeviction: writes are refused, nothing is lost"),
        );
    }
    if maxmemory == 0 {
        return check(
            id,
            title,
            CheckStatus::Warn,
            format!("{limit} ({policy}): Redis may take all the machine's memory"),
            Some("CONFIG SET maxmemory 512mb (with maxmemory-policy noeviction)"),
        );
    }
    check(
        id,
        title,
        CheckStatus::Pass,
        format!("{limit}, {policy}: at the limit writes are refused, nothing is evicted"),
        None,
    )
}

/// Without a Redis URL the relay starts `redis-server` itself: check that one is installed.
async fn against_embedded() -> Vec<EnvironmentCheck> {
    let output = tokio::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .await;
    let version = output.ok().and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        // `Redis server v=7.0.15 sha=...`
        text.split_whitespace()
            .find_map(|w| w.strip_prefix("v="))
            .map(str::to_owned)
    });
    let Some(version) = version else {
        return vec![check(
            "redis_reachable",
            "Redis reachable",
            CheckStatus::Fail,
            "no REDIS_URL, and no redis-server on PATH for the relay to start".into(),
            Some(
                "install redis-server (Debian/Ubuntu: apt-get install redis-server), or set REDIS_URL",
            ),
        )];
    };
    let mut checks = vec![check(
        "redis_reachable",
        "Redis reachable",
        CheckStatus::Pass,
        format!("no REDIS_URL: the relay starts its own redis-server {version}"),
        None,
    )];
    checks.extend(versions(&version));
    checks.push(check(
        "persistence",
        "persistence",
        CheckStatus::Pass,
        "the relay's own redis-server keeps an append-only file in its data directory".into(),
        None,
    ));
    checks
}

/// One line per check for a terminal: `ok`, `WARN` or `FAIL`, what was found, and the fix.
pub fn report(result: &ValidationResponse) -> String {
    result
        .checks
        .iter()
        .map(|c| {
            let mark = match c.status {
                CheckStatus::Pass => "ok  ",
                CheckStatus::Warn => "WARN",
                CheckStatus::Fail => "FAIL",
            };
            let fix = c
                .fix
                .as_ref()
                .map(|f| format!(" (fix: {f})"))
                .unwrap_or_default();
            format!("{mark} {}: {}{fix}", c.title, c.detail)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compared_as_numbers() {
        let statuses = |v: &str| versions(v).iter().map(|c| c.status).collect::<Vec<_>>();
        assert_eq!(statuses("7.0.15"), [CheckStatus::Pass, CheckStatus::Pass]);
        assert_eq!(statuses("6.2.0"), [CheckStatus::Pass, CheckStatus::Fail]);
        assert_eq!(statuses("6.0.16"), [CheckStatus::Fail, CheckStatus::Fail]);
        assert_eq!(statuses("10.0.0"), [CheckStatus::Pass, CheckStatus::Pass]);
    }

    #[test]
    fn an_evicting_policy_under_a_limit_fails() {
        assert_eq!(memory(1 << 30, "allkeys-lru").status, CheckStatus::Fail);
        assert_eq!(memory(1 << 30, "noeviction").status, CheckStatus::Pass);
        assert_eq!(memory(0, "noeviction").status, CheckStatus::Warn);
    }
}
