//! The address learners open, with its QR code, for the projector.

use serde::{Deserialize, Serialize};

/// `GET /api/join`: the address learners open, and its QR code as SVG, for the projector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinResponse {
    pub url: String,
    /// A standalone `<svg>`, drawn by the relay (no service on the internet involved).
    pub qr_svg: String,
}
