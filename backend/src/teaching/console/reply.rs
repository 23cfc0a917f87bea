//! Replies written the way `redis-cli` prints them on a terminal: `(integer) 3`, `(nil)`,
//! quoted strings, numbered and indented arrays, `(empty array)`.

use redis::Value;

/// The reply as `redis-cli` shows it, without the final newline; `rename` gives the name a
/// key was typed as, for the workspace's real key names the reply holds.
pub fn format(value: &Value, rename: &dyn Fn(&[u8]) -> Option<String>) -> String {
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
pub fn quoted(bytes: &[u8]) -> String {
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

/// Longest reply shown: as much as Redis may build for a line (`caps::MAX_REPLY_BYTES`); a
/// reply whose `redis-cli` form is longer (indentation, quoting) is cut on a line's end.
pub const MAX_SHOWN_BYTES: usize = shared::console::caps::MAX_REPLY_BYTES;

/// The reply, cut at [`MAX_SHOWN_BYTES`] on a line's end, saying so.
pub fn cut(reply: String) -> (String, Option<String>) {
    if reply.len() <= MAX_SHOWN_BYTES {
        return (reply, None);
    }
    let mut end = MAX_SHOWN_BYTES;
    while !reply.is_char_boundary(end) {
        end -= 1;
    }
    let end = reply[..end].rfind('\n').unwrap_or(end);
    (
        format!("{}\n…", &reply[..end]),
        Some(format!(
            "the reply was {} bytes; the console shows the first {} KB (ask for less with COUNT or a narrower range)",
            reply.len(),
            MAX_SHOWN_BYTES / 1024
        )),
    )
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

    #[test]
    fn long_replies_are_cut_on_a_line_end() {
        let reply = "1) \"x\"\n".repeat(20_000);
        let (shown, note) = cut(reply);
        assert!(shown.len() <= MAX_SHOWN_BYTES + 4);
        assert!(
            shown.ends_with("\"x\"\n…"),
            "{}",
            &shown[shown.len() - 20..]
        );
        assert!(note.unwrap().contains("64 KB"));
    }
}
