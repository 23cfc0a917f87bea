//! The currency of a claim's amount: an ISO 4217 code such as `USD` (schema v2 onwards).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Three upper-case letters. Which codes exist is the payment system's business; the claim
/// only needs a well-formed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// What claims written before v2 (which had no currency) are read as.
    pub const BEFORE_V2: Currency = Currency(*b"USD");

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("checked ASCII at construction")
    }
}

impl FromStr for Currency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(format!(
                "{s:?} is not a currency code: three capital letters such as USD or EUR"
            )),
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_three_capital_letters_are_a_currency() {
        assert_eq!("EUR".parse::<Currency>().unwrap().as_str(), "EUR");
        for bad in ["eur", "EURO", "EU", "", "E1R", "ÉUR"] {
            assert!(bad.parse::<Currency>().is_err(), "{bad:?} was accepted");
        }
    }
}
