//! Money as integer cents. On the wire an amount is a decimal string with at most two
//! decimals ("5000.00"); floats never hold money.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The largest amount a claim may carry: 1,000,000.00.
pub const MAX_CLAIM_CENTS: i64 = 100_000_000;

/// A positive or zero amount in cents. Range rules for claims live in the aggregate's
/// validation; this type only guarantees a well-formed decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount {
    cents: i64,
}

impl Amount {
    pub const fn from_cents(cents: i64) -> Self {
        Self { cents }
    }

    pub const fn cents(self) -> i64 {
        self.cents
    }

    /// Checks the claim rules: more than 0 and at most 1,000,000.00.
    pub fn check_claim_range(self) -> Result<Self, String> {
        if self.cents <= 0 {
            Err("must be greater than 0".into())
        } else if self.cents > MAX_CLAIM_CENTS {
            Err("must be at most 1000000.00".into())
        } else {
            Ok(self)
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.cents < 0 { "-" } else { "" };
        let abs = self.cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Amount {
    type Err = String;

    /// Parses "5000", "5000.5" or "5000.50"; refuses signs other than a leading '-',
    /// exponents, separators and more than two decimals.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) {
            return Err(format!("{s:?} is not a decimal number like 5000.00"));
        }
        if digits.contains('.') && frac.is_empty() {
            return Err(format!("{s:?} is not a decimal number like 5000.00"));
        }
        if frac.len() > 2 {
            return Err("must have at most 2 decimals".into());
        }
        let whole: i64 = whole
            .parse()
            .ok()
            .filter(|w: &i64| *w < i64::MAX / 100)
            .ok_or_else(|| "is too large".to_string())?;
        let frac_cents = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().unwrap_or(0) * 10,
            _ => frac.parse::<i64>().unwrap_or(0),
        };
        let cents = whole * 100 + frac_cents;
        Ok(Self::from_cents(if negative { -cents } else { cents }))
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        AmountInput::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// An amount as a person typed it into JSON: a string ("5000.00") or a number (5000.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum AmountInput {
    Text(String),
    Number(f64),
}

impl AmountInput {
    pub fn parse(&self) -> Result<Amount, String> {
        match self {
            Self::Text(s) => s.parse(),
            // `Display` for f64 prints the shortest text that reads back as the same number,
            // so 10.1 stays "10.1" and 10.123 is still refused for its third decimal.
            Self::Number(n) if n.is_finite() => n.to_string().parse(),
            Self::Number(_) => Err("is not a finite number".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_whole_and_decimal_forms() {
        assert_eq!("5000".parse::<Amount>().unwrap().cents(), 500_000);
        assert_eq!("5000.5".parse::<Amount>().unwrap().cents(), 500_050);
        assert_eq!("0.07".parse::<Amount>().unwrap().cents(), 7);
        assert_eq!("-1.50".parse::<Amount>().unwrap().cents(), -150);
    }

    #[test]
    fn refuses_three_decimals_exponents_and_junk() {
        assert_eq!(
            "1.234".parse::<Amount>().unwrap_err(),
            "must have at most 2 decimals"
        );
        for bad in ["", "1e3", "+1", "1,000", "1.", ".5", "abc", "1.2.3", "--1"] {
            assert!(bad.parse::<Amount>().is_err(), "{bad:?} was accepted");
        }
        assert!("99999999999999999999".parse::<Amount>().is_err());
    }

    #[test]
    fn json_numbers_keep_their_decimals() {
        let n: AmountInput = serde_json::from_str("10.1").unwrap();
        assert_eq!(n.parse().unwrap().cents(), 1010);
        let n: AmountInput = serde_json::from_str("10.123").unwrap();
        assert!(n.parse().is_err());
    }

    #[test]
    fn claim_range_is_exclusive_of_zero_and_inclusive_of_one_million() {
        assert!(Amount::from_cents(0).check_claim_range().is_err());
        assert!(Amount::from_cents(1).check_claim_range().is_ok());
        assert!(
            Amount::from_cents(MAX_CLAIM_CENTS)
                .check_claim_range()
                .is_ok()
        );
        assert!(
            Amount::from_cents(MAX_CLAIM_CENTS + 1)
                .check_claim_range()
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(cents in -10_000_000_000i64..10_000_000_000) {
            let a = Amount::from_cents(cents);
            prop_assert_eq!(a.to_string().parse::<Amount>().unwrap(), a);
        }
    }
}
