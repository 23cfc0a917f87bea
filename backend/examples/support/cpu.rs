//! CPU time, as Linux and Redis report it: a /proc `stat` line, an `INFO cpu` reply.

use anyhow::Context;

/// utime + stime of a /proc `stat` line, in seconds (USER_HZ = 100 ticks, which is what
/// Linux reports there on every common configuration).
pub fn stat_cpu_seconds(stat: &str) -> anyhow::Result<f64> {
    // The command name may contain spaces; the fields after it do not. utime and stime are
    // fields 14 and 15, i.e. the 12th and 13th after the closing parenthesis.
    let after_name = stat.rsplit_once(')').context("odd /proc stat line")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc stat line")?
            .parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// User + system CPU seconds a redis-server has used, from its `INFO cpu` reply (a field it
/// lacks counts 0).
pub fn info_cpu_seconds(info: &str) -> f64 {
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    field("used_cpu_user") + field("used_cpu_sys")
}
