//! An entry's field/value pairs as both readers take them (`stream_codec` for the schemas
//! written today, `upcast` for what older writers left), and the [`DecodeError`] that names
//! what is wrong with them.

use crate::event::SCHEMA_VERSION;

/// An entry that is not a claim event this version understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("field `{0}` appears more than once")]
    DuplicateField(String),
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("unsupported schema version {0:?} (this relay reads v0 to v{SCHEMA_VERSION})")]
    UnsupportedVersion(String),
    #[error("field `{field}`: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
}

/// An entry's field/value pairs, looked up by name.
pub(crate) struct Fields<'a, K, V>(pub(crate) &'a [(K, V)]);

impl<K: AsRef<str>, V: AsRef<str>> Fields<'_, K, V> {
    pub(crate) fn check_no_duplicates(&self) -> Result<(), DecodeError> {
        for (i, (name, _)) in self.0.iter().enumerate() {
            if self.0[..i]
                .iter()
                .any(|(other, _)| other.as_ref() == name.as_ref())
            {
                return Err(DecodeError::DuplicateField(name.as_ref().to_owned()));
            }
        }
        Ok(())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    }

    pub(crate) fn required(&self, name: &'static str) -> Result<&str, DecodeError> {
        self.get(name).ok_or(DecodeError::MissingField(name))
    }

    pub(crate) fn parse<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, DecodeError> {
        parse(self.required(name)?).map_err(|message| DecodeError::InvalidField {
            field: name,
            message,
        })
    }

    pub(crate) fn optional<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, DecodeError> {
        self.get(name)
            .map(|value| {
                parse(value).map_err(|message| DecodeError::InvalidField {
                    field: name,
                    message,
                })
            })
            .transpose()
    }
}
