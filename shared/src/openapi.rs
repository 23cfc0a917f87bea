//! The value types written as strings on the wire, described as the strings they are: their
//! serde impls are hand-written, so a derived schema would describe the Rust value instead.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::amount::Amount;
use crate::currency::Currency;
use crate::timestamp::Timestamp;

/// A type written as a string: its schema, under its own name.
macro_rules! string_schema {
    ($type:ty, $name:literal, $description:literal, $pattern:literal, $example:literal) => {
        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .pattern(Some($pattern))
                    .examples([serde_json::Value::from($example)])
                    .into()
            }
        }

        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                $name.into()
            }
        }
    };
}

string_schema!(
    Amount,
    "Amount",
    "Money as a decimal string with at most two decimals.",
    r"^[0-9]+(\.[0-9]{1,2})?$",
    "1250.00"
);
string_schema!(
    Timestamp,
    "Timestamp",
    "RFC 3339 in UTC with milliseconds.",
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$",
    "2026-11-23T08:34:53.123Z"
);
string_schema!(
    Currency,
    "Currency",
    "An ISO 4217 code: three upper-case letters.",
    "^[A-Z]{3}$",
    "USD"
);
