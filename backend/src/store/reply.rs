//! Reading Redis's replies: text, stream entries in field order, and the field-value lists of
//! `XINFO` (RESP2 arrays or RESP3 maps alike). It knows no command and no key.

use redis::Value;

/// Reads a reply as text, lossily: an entry written by someone else may hold any bytes.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

/// Parses an XRANGE/XREVRANGE reply (and one stream of an XREAD reply) keeping field order,
/// which the typed reply in `redis::streams` (a HashMap) loses. Takes the reply to move its
/// bytes into the strings rather than copy them: a long history is megabytes.
pub fn entries(v: Value) -> Vec<(String, Vec<(String, String)>)> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let Value::Array(parts) = item else {
                return None;
            };
            let mut parts = parts.into_iter();
            let id = into_text(parts.next()?)?;
            let fields = match parts.next() {
                Some(Value::Array(flat)) => {
                    let mut flat = flat.into_iter();
                    std::iter::from_fn(|| Some((flat.next()?, flat.next()?)))
                        .filter_map(|(k, v)| Some((into_text(k)?, into_text(v)?)))
                        .collect()
                }
                Some(Value::Map(pairs)) => pairs
                    .into_iter()
                    .filter_map(|(k, v)| Some((into_text(k)?, into_text(v)?)))
                    .collect(),
                _ => Vec::new(),
            };
            Some((id, fields))
        })
        .collect()
}

/// Parses an `XREAD`/`XREADGROUP` reply: `[[key, [entries...]]]` (RESP2) or `{key:
/// [entries...]}` (RESP3), every stream's entries together, in field order.
pub fn read_entries(v: Value) -> Vec<(String, Vec<(String, String)>)> {
    match v {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(kv) => kv.into_iter().nth(1),
                _ => None,
            })
            .flat_map(entries)
            .collect(),
        Value::Map(streams) => streams.into_iter().flat_map(|(_, v)| entries(v)).collect(),
        _ => Vec::new(),
    }
}

/// [`text`] of a reply the caller gives up.
fn into_text(v: Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        other => text(&other),
    }
}

/// A flat `field value field value` reply (RESP2) or a map (RESP3), as pairs.
pub(crate) fn fields(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Array(flat) => flat
            .chunks(2)
            .filter_map(|kv| Some((text(kv.first()?)?, kv.get(1)?.clone())))
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, v.clone())))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn get<'a>(fields: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

pub(crate) fn rows(v: &Value) -> Vec<Vec<(String, Value)>> {
    match v {
        Value::Array(items) => items.iter().map(fields).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    /// `[id, [field, value, ...]]` as XRANGE sends each entry.
    fn entry(id: &str, fields: &[&str]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(fields.iter().map(|f| bulk(f)).collect()),
        ])
    }

    #[test]
    fn an_xread_reply_gives_every_streams_entries_with_fields_in_order_in_both_protocols() {
        let first = entry("1-1", &["type", "claim_submitted", "amount", "12.00"]);
        let second = entry("2-1", &["b", "2", "a", "1"]);
        let resp2 = Value::Array(vec![
            Value::Array(vec![bulk("s1"), Value::Array(vec![first.clone()])]),
            Value::Array(vec![bulk("s2"), Value::Array(vec![second.clone()])]),
        ]);
        let resp3 = Value::Map(vec![
            (bulk("s1"), Value::Array(vec![first])),
            (bulk("s2"), Value::Array(vec![second])),
        ]);
        let expected = vec![
            (
                "1-1".to_owned(),
                vec![
                    ("type".to_owned(), "claim_submitted".to_owned()),
                    ("amount".to_owned(), "12.00".to_owned()),
                ],
            ),
            (
                "2-1".to_owned(),
                vec![
                    ("b".to_owned(), "2".to_owned()),
                    ("a".to_owned(), "1".to_owned()),
                ],
            ),
        ];
        assert_eq!(read_entries(resp2), expected);
        assert_eq!(read_entries(resp3), expected);
        assert_eq!(read_entries(Value::Nil), Vec::new());
    }
}
