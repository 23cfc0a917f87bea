//! Who the caller is: learner or instructor, and the token exchanged for a session cookie.

use serde::{Deserialize, Serialize};

/// Who the caller is to the relay: learners read and submit; instructors also run the
/// controls that change things for the whole class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Learner,
    Instructor,
}

/// `GET /api/session`: the caller's role, so the app shows instructor controls only to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionResponse {
    pub role: Role,
    /// How instructors are recognised: "token" (an `Authorization: Bearer` header, or the
    /// session cookie `POST /api/session` gives for it) or "loopback" (every local caller, on a
    /// relay that listens on loopback only).
    pub instructor_by: String,
}

/// `POST /api/session`: the instructor token, exchanged for an HttpOnly session cookie so the
/// browser app never keeps the token where page script could read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionRequest {
    pub token: String,
}
