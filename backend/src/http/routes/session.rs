//! `/api/session`: the caller's role (`GET`), so the browser app shows instructor controls only
//! to the instructor (the relay enforces the rule whatever the app shows); the instructor token
//! exchanged for an HttpOnly session cookie (`POST`), and that cookie cleared (`DELETE`, signing
//! out).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use shared::api::{Role, SessionRequest, SessionResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::access::{self, SESSION_MAX_AGE_SECS};
use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(session, sign_in, sign_out))
}

#[utoipa::path(get, path = "/session", tag = "session", responses((status = 200, body = SessionResponse)))]
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Json<SessionResponse> {
    answer(&state, state.access.role(&headers))
}

/// 200 with the role and the cookie for the right token, 403 for a wrong one, 400 without one.
#[utoipa::path(post, path = "/session", tag = "session", request_body = SessionRequest, responses((status = 200, body = SessionResponse, description = "Signed in: the session cookie (HttpOnly) is set.")))]
async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<SessionRequest>,
) -> Result<Response, ApiError> {
    if request.token.trim().is_empty() {
        return Err(ApiError::bad_request(
            "missing_token",
            "send the instructor token as {\"token\": \"...\"}: the one in the instructor's \
             link after #token=, or the relay's --instructor-token",
        ));
    }
    let mut response = answer(&state, Role::Instructor).into_response();
    // A loopback relay needs no token: everyone here is the instructor, nothing to keep.
    if let Some(value) = state.access.exchange(&request.token)? {
        set_cookie(
            &mut response,
            &access::session_cookie(&value, SESSION_MAX_AGE_SECS, &headers),
        );
    }
    Ok(response)
}

/// Clears the cookie; answers the role the caller has without it.
#[utoipa::path(delete, path = "/session", tag = "session", responses((status = 200, body = SessionResponse, description = "Signed out: the session cookie is cleared.")))]
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = answer(&state, state.access.role_without_cookie(&headers)).into_response();
    set_cookie(&mut response, &access::session_cookie("", 0, &headers));
    response
}

fn answer(state: &AppState, role: Role) -> Json<SessionResponse> {
    Json(SessionResponse {
        role,
        instructor_by: state.access.instructor_by().to_owned(),
    })
}

fn set_cookie(response: &mut Response, cookie: &str) {
    let value = HeaderValue::from_str(cookie).expect("a cookie of hex digits and ASCII");
    response.headers_mut().insert(header::SET_COOKIE, value);
}
