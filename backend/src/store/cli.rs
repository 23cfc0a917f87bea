//! A learner's console line sent to Redis as it stands, and its reply written the way
//! `redis-cli` prints it on a terminal: `(integer) 3`, `(nil)`, quoted strings, numbered and
//! indented arrays, `(empty array)`. The console checks, caps and maps the line first; this
//! knows nothing of which commands it allows.

use std::time::Duration;

use redis::Value;

use crate::store::db::{Db, DbError};
use crate::store::trace::Trace;

/// What Redis answered a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply(Value);

impl Reply {
    /// Nothing found: nil, 0, or an empty array.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Value::Nil | Value::Int(0) => true,
            Value::Array(items) => items.is_empty(),
            _ => false,
        }
    }

    /// Nil: what a blocking read answers when its time ran out.
    pub fn is_nil(&self) -> bool {
        self.0 == Value::Nil
    }

    /// The integer Redis answered (`XACK`, `XTRIM`, `XLEN`, ...).
    pub fn integer(&self) -> Option<u64> {
        match &self.0 {
            Value::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// How many entries a stream read (`XREAD`, `XREADGROUP`) gave, over all its streams: 0
    /// for nil.
    pub fn entries_read(&self) -> Option<u64> {
        let in_stream = |entries: &Value| match entries {
            Value::Array(e) => e.len() as u64,
            _ => 0,
        };
        match &self.0 {
            Value::Nil => Some(0),
            Value::Array(streams) => Some(
                streams
                    .iter()
                    .map(|s| match s {
                        Value::Array(pair) => pair.get(1).map_or(0, in_stream),
                        _ => 0,
                    })
                    .sum(),
            ),
            Value::Map(streams) => Some(streams.iter().map(|(_, e)| in_stream(e)).sum()),
            _ => None,
        }
    }

    /// The reply as `redis-cli` shows it, without the final newline; `rename` gives the name
    /// a key was typed as, for the real key names the reply holds.
    pub fn format(&self, rename: &dyn Fn(&[u8]) -> Option<String>) -> String {
        format(&self.0, rename)
    }
}

/// Sends the line (`argv`, keys already real) on the shared connection.
pub async fn run(db: &Db, trace: &mut Trace, argv: &[String]) -> Result<Reply, DbError> {
    db.run::<Value, _>(trace, argv).await.map(Reply)
}

/// Sends a blocking read (`BLOCK ms`) on a connection of its own, so it holds up no one else.
pub async fn run_blocking(
    db: &Db,
    trace: &mut Trace,
    argv: &[String],
    ms: u64,
) -> Result<Reply, DbError> {
    let mut conn = db
        .dedicated_connection(Duration::from_millis(ms + 2000))
        .await?;
    let cmd = crate::store::db::command(argv);
    trace.record(&cmd);
    cmd.query_async(&mut conn)
        .await
        .map(Reply)
        .map_err(|e| db.classify(e))
}

/// Whether `key` exists.
pub async fn exists(db: &Db, key: &str) -> Result<bool, DbError> {
    db.run(&mut Trace::off(), &["EXISTS", key]).await
}

fn format(value: &Value, rename: &dyn Fn(&[u8]) -> Option<String>) -> String {
    let mut out = String::new();
    write(&mut out, value, 0, rename);
    out.truncate(out.trim_end_matches('\n').len());
    out
}

fn write(out: &mut String, value: &Value, indent: usize, rename: &dyn Fn(&[u8]) -> Option<String>) {
    match value {
        Value::Nil => out.push_str("(nil)\n"),
        Value::Int(n) => out.push_str(&std::format!("(integer) {n}\n")),
        Value::BulkString(bytes) => {
            let shown = rename(bytes).map(String::into_bytes);
            out.push_str(&quoted(shown.as_deref().unwrap_or(bytes)));
            out.push('\n');
        }
        Value::SimpleString(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Okay => out.push_str("OK\n"),
        Value::Double(d) => out.push_str(&std::format!("(double) {d}\n")),
        Value::Boolean(b) => out.push_str(&std::format!("({b})\n")),
        Value::VerbatimString { text, .. } => {
            out.push_str(text);
            out.push('\n');
        }
        Value::BigNumber(n) => out.push_str(&std::format!("(big number) {n}\n")),
        Value::ServerError(e) => {
            out.push_str("(error) ");
            out.push_str(e.code());
            if let Some(details) = e.details() {
                out.push(' ');
                out.push_str(details);
            }
            out.push('\n');
        }
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => list(
            out,
            items.iter().map(|v| (None, v)),
            items.len(),
            indent,
            rename,
        ),
        Value::Map(pairs) => list(
            out,
            pairs.iter().map(|(k, v)| (Some(k), v)),
            pairs.len(),
            indent,
            rename,
        ),
        Value::Attribute { data, .. } => write(out, data, indent, rename),
        _ => out.push_str("(unknown reply)\n"),
    }
}

/// `1) ...` lines, the index right-aligned to the widest; what an element spans over several
/// lines is indented under its first.
fn list<'a>(
    out: &mut String,
    items: impl Iterator<Item = (Option<&'a Value>, &'a Value)>,
    len: usize,
    indent: usize,
    rename: &dyn Fn(&[u8]) -> Option<String>,
) {
    if len == 0 {
        out.push_str("(empty array)\n");
        return;
    }
    let width = len.to_string().len();
    for (i, (key, item)) in items.enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(indent));
        }
        match key {
            // RESP3 maps, as redis-cli writes them: `1# "field" => value`.
            Some(key) => {
                out.push_str(&std::format!("{:>width$}# ", i + 1));
                let mut k = String::new();
                write(&mut k, key, 0, rename);
                out.push_str(k.trim_end());
                out.push_str(" => ");
            }
            None => out.push_str(&std::format!("{:>width$}) ", i + 1)),
        }
        write(out, item, indent + width + 2, rename);
    }
}

/// A string in double quotes with `redis-cli`'s escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\a`,
/// `\b`, and `\xHH` for other bytes that do not print.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    match std::str::from_utf8(bytes) {
        // Text prints as text, letters beyond ASCII included, as redis-cli does with --no-raw
        // off; only control characters are escaped.
        Ok(text) => {
            for c in text.chars() {
                shared::console::escape_char(&mut out, c);
            }
        }
        Err(_) => {
            for &b in bytes {
                if b.is_ascii() {
                    shared::console::escape_char(&mut out, char::from(b));
                } else {
                    out.push_str(&std::format!("\\x{b:02x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(v: &Value) -> String {
        format(v, &|_| None)
    }

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn nothing_found_is_nil_zero_or_an_empty_array() {
        assert!(Reply(Value::Nil).is_empty() && Reply(Value::Nil).is_nil());
        assert!(Reply(Value::Int(0)).is_empty() && !Reply(Value::Int(0)).is_nil());
        assert!(Reply(Value::Array(vec![])).is_empty());
        assert!(!Reply(Value::Array(vec![Value::Nil])).is_empty());
        assert!(!Reply(Value::Int(2)).is_empty());
    }

    #[test]
    fn scalars_print_as_redis_cli_prints_them() {
        assert_eq!(shown(&Value::Int(3)), "(integer) 3");
        assert_eq!(shown(&Value::Nil), "(nil)");
        assert_eq!(shown(&Value::Okay), "OK");
        assert_eq!(shown(&Value::SimpleString("PONG".into())), "PONG");
        assert_eq!(shown(&bulk("a \"b\"\n")), r#""a \"b\"\n""#);
        assert_eq!(shown(&Value::BulkString(vec![0xff, b'a'])), r#""\xffa""#);
        assert_eq!(shown(&Value::Array(vec![])), "(empty array)");
    }

    #[test]
    fn nested_arrays_are_numbered_and_indented_under_their_first_line() {
        // XRANGE s - + of one entry with two fields.
        let entry = Value::Array(vec![
            bulk("1-0"),
            Value::Array(vec![bulk("type"), bulk("demo"), bulk("n"), bulk("1")]),
        ]);
        let reply = Value::Array(vec![entry.clone(), entry]);
        assert_eq!(
            shown(&reply),
            "1) 1) \"1-0\"\n   2) 1) \"type\"\n      2) \"demo\"\n      3) \"n\"\n      4) \"1\"\n\
             2) 1) \"1-0\"\n   2) 1) \"type\"\n      2) \"demo\"\n      3) \"n\"\n      4) \"1\""
        );
    }

    #[test]
    fn indexes_are_right_aligned_to_the_widest() {
        let reply = Value::Array((0..10).map(Value::Int).collect());
        let text = shown(&reply);
        assert!(
            text.starts_with(" 1) (integer) 0\n 2) (integer) 1"),
            "{text}"
        );
        assert!(text.ends_with("\n10) (integer) 9"), "{text}");
    }

    #[test]
    fn the_workspaces_key_names_are_shown_as_typed() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("lab:{abc}:orders"),
            Value::Array(vec![]),
        ])]);
        let rename = |b: &[u8]| (b == b"lab:{abc}:orders").then(|| "orders".to_owned());
        assert_eq!(
            format(&reply, &rename),
            "1) 1) \"orders\"\n   2) (empty array)"
        );
    }
}
