//! Stream entry ids (`<ms>-<seq>`), parsed so they can be validated and compared.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EntryId {
    pub ms: u64,
    pub seq: u64,
}

impl EntryId {
    pub const ZERO: EntryId = EntryId { ms: 0, seq: 0 };

    /// The newest id a point in time covers: an entry id as it is, or an RFC 3339 time (or a
    /// bare millisecond, as `XRANGE` reads an end) as every entry appended up to that
    /// millisecond: a stream id starts with its append time.
    pub fn point_in_time(at: &str) -> Result<Self, String> {
        if let Ok(id) = at.parse::<Self>() {
            let seq = if at.contains('-') { id.seq } else { u64::MAX };
            return Ok(Self { seq, ..id });
        }
        let time: shared::Timestamp = at.parse().map_err(|_| {
            format!("{at:?} is neither a stream id like 1700000000000-0 nor an RFC 3339 time")
        })?;
        Ok(Self {
            ms: time.unix_millis() as u64,
            seq: u64::MAX,
        })
    }
}

/// The newer of two entry ids by time, ids of different streams included (as text, `9-1`
/// would pass `10-0`); one that does not parse counts as older.
pub fn newest(a: Option<String>, b: Option<String>) -> Option<String> {
    let id = |x: &Option<String>| x.as_deref().and_then(|i| i.parse::<EntryId>().ok());
    if id(&b) > id(&a) { b } else { a.or(b) }
}

impl FromStr for EntryId {
    type Err = String;

    /// Accepts `1700000000000-3` and, as Redis does, a bare `1700000000000` (sequence 0).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a stream id like 1700000000000-0");
        let (ms, seq) = match s.split_once('-') {
            Some((ms, seq)) => (ms, seq),
            None => (s, "0"),
        };
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(bad());
        }
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_newest_of_two_ids_is_by_number_not_by_text() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(super::newest(some("9-1"), some("10-0")), some("10-0"));
        assert_eq!(super::newest(some("5-10"), some("5-9")), some("5-10"));
        assert_eq!(super::newest(None, some("1-0")), some("1-0"));
        assert_eq!(super::newest(some("1-0"), None), some("1-0"));
    }

    use super::*;

    #[test]
    fn ids_parse_compare_and_print() {
        let a: EntryId = "1700000000000-2".parse().unwrap();
        let b: EntryId = "1700000000001".parse().unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "1700000000001-0");
        for bad in [
            "",
            "-",
            "1-",
            "x-1",
            "1-2-3",
            "+",
            "99999999999999999999999",
        ] {
            assert!(bad.parse::<EntryId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_point_in_time_is_an_id_or_every_entry_up_to_a_millisecond() {
        let at = |s: &str| EntryId::point_in_time(s).unwrap().to_string();
        assert_eq!(at("1700000000000-2"), "1700000000000-2");
        assert_eq!(at("1700000000000"), format!("1700000000000-{}", u64::MAX));
        assert_eq!(
            at("2023-11-14T22:13:20.000Z"),
            format!("1700000000000-{}", u64::MAX)
        );
        assert!(EntryId::point_in_time("yesterday").is_err());
    }
}
