//! The claim model shared by the relay and the browser.
//!
//! This crate knows nothing about Redis, HTTP or the browser: it holds the claim events and
//! their flat stream encoding, the claim aggregate (every business rule, as pure functions),
//! the validation both sides run, and the JSON messages they exchange.

pub mod aggregate;
pub mod amount;
pub mod api;
pub mod causes;
pub mod console;
pub mod currency;
pub mod event;
mod fields;
pub mod ids;
#[cfg(feature = "openapi")]
mod openapi;
pub mod snapshot;
pub mod status;
pub mod stream_codec;
pub mod text;
pub mod timestamp;
pub mod upcast;

pub use aggregate::{
    Claim, ClaimCommand, ClaimDetails, DomainError, apply, handle, within_lifecycle,
};
pub use amount::Amount;
pub use currency::Currency;
pub use event::{ClaimEvent, EventPayload, EventType, SCHEMA_VERSION};
pub use ids::{ClaimId, CustomerId, PaymentReference, PolicyNumber};
pub use status::{Action, ClaimStatus};
pub use text::{Adjuster, Description, DocumentName, Note, Reason};
pub use timestamp::Timestamp;

/// A rule an input broke, naming the input so a form can show it beside the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}
