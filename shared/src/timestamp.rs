//! Event time: RFC 3339 in UTC with milliseconds, e.g. `2026-11-23T08:34:53.123Z`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Milliseconds since the Unix epoch. The caller supplies the clock, so this crate stays pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// From the Unix epoch to the end of year 9999, the last year RFC 3339 can write.
const MIN_MS: i64 = 0;
const MAX_MS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub fn from_unix_millis(ms: i64) -> Option<Self> {
        (MIN_MS..=MAX_MS).contains(&ms).then_some(Self(ms))
    }

    pub fn unix_millis(self) -> i64 {
        self.0
    }

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .expect("range checked at construction")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.to_datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl FromStr for Timestamp {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))?
            .to_offset(UtcOffset::UTC);
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms)
            .ok()
            .and_then(Self::from_unix_millis)
            .ok_or_else(|| format!("{s:?} is out of range"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        let t = Timestamp::from_unix_millis(1_795_422_893_123).unwrap();
        assert_eq!(t.to_string(), "2026-11-23T08:34:53.123Z");
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t: Timestamp = "2026-11-23T09:34:53.123+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-23T08:34:53.123Z");
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(ms in MIN_MS..=MAX_MS) {
            let t = Timestamp::from_unix_millis(ms).unwrap();
            prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }
}
