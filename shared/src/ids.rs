//! Identifiers: 1 to 64 characters of `[A-Za-z0-9_-]`, so they are safe inside Redis keys,
//! URLs and log lines without escaping.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const MAX_ID_LEN: usize = 64;

fn check_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > MAX_ID_LEN {
        return Err(format!("must be at most {MAX_ID_LEN} characters"));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "may only contain letters, digits, '_' and '-' (found {bad:?})"
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks the id rules; the error says which one was broken.
            pub fn parse(value: &str) -> Result<Self, String> {
                check_id(value)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                check_id(&value)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A claim's id, `CLM-...` when the relay generates it.
    ClaimId
);
id_type!(
    /// The customer who filed a claim, e.g. `CUST-001`.
    CustomerId
);
id_type!(
    /// The reference of the payment that settled a claim, `PAY-...` when generated.
    PaymentReference
);
id_type!(
    /// The insurance policy a claim is made under, e.g. `POL-2024-001` (schema v2).
    PolicyNumber
);

impl CustomerId {
    /// Whom a claim is for when no entry said: only a submission built by hand can leave it
    /// out, since decoding requires one to name its customer.
    pub fn unknown() -> Self {
        Self::parse("unknown").expect("a valid id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_documented_alphabet() {
        assert!(ClaimId::parse("CLM-0001_a").is_ok());
        assert!(ClaimId::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn ids_refuse_empty_long_and_foreign_characters() {
        assert_eq!(ClaimId::parse("").unwrap_err(), "must not be empty");
        assert!(ClaimId::parse(&"a".repeat(65)).unwrap_err().contains("64"));
        assert!(CustomerId::parse("a b").unwrap_err().contains("' '"));
        assert!(CustomerId::parse("a:b").is_err());
        assert!(CustomerId::parse("ü").is_err());
    }
}
