//! Free-text fields, length-limited so one event stays small and a form can say why.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_REASON_CHARS: usize = 300;
pub const MAX_NOTE_CHARS: usize = 1000;
pub const MAX_NAME_CHARS: usize = 100;

fn check_text(value: &str, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Trims surrounding whitespace, then checks it is non-empty and short enough.
            pub fn parse(value: &str) -> Result<Self, String> {
                check_text(value, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(t: $name) -> String {
                t.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// What the claim is for, at most 500 characters.
    Description,
    MAX_DESCRIPTION_CHARS
);
text_type!(
    /// Why a claim was rejected or its status changed, at most 300 characters.
    Reason,
    MAX_REASON_CHARS
);
text_type!(
    /// An adjuster's note on a claim, at most 1000 characters.
    Note,
    MAX_NOTE_CHARS
);
text_type!(
    /// Who wrote a note, at most 100 characters.
    Adjuster,
    MAX_NAME_CHARS
);

/// The name of a document attached to a claim, e.g. `invoice-2291.pdf`: a file name, never a
/// path, so nobody reads it as a place to fetch from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct DocumentName(String);

impl DocumentName {
    pub fn parse(value: &str) -> Result<Self, String> {
        let name = check_text(value, MAX_NAME_CHARS)?;
        if name.contains(['/', '\\', '\n']) || name == "." || name == ".." {
            return Err("must be a file name, without '/', '\\' or line breaks".into());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DocumentName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<DocumentName> for String {
    fn from(t: DocumentName) -> String {
        t.0
    }
}

impl fmt::Display for DocumentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_limited() {
        assert_eq!(
            Description::parse("  water damage ").unwrap().as_str(),
            "water damage"
        );
        assert_eq!(Description::parse("   ").unwrap_err(), "must not be empty");
        assert!(Description::parse(&"x".repeat(501)).is_err());
        assert!(Description::parse(&"é".repeat(500)).is_ok());
        assert!(Reason::parse(&"x".repeat(301)).is_err());
        assert!(Reason::parse("bad\u{7}bell").is_err());
        assert!(Note::parse(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn document_names_are_file_names_not_paths() {
        assert_eq!(
            DocumentName::parse(" invoice 2291.pdf ").unwrap().as_str(),
            "invoice 2291.pdf"
        );
        assert!(DocumentName::parse("../etc/passwd").is_err());
        assert!(DocumentName::parse("a\\b").is_err());
        assert!(DocumentName::parse("..").is_err());
    }
}
