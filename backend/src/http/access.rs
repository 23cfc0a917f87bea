//! Who may do what. Learners read everything and submit or move claims; instructors also run
//! the controls that change things for the whole class. And no other web site may act here
//! through a learner's browser.
//!
//! Both rules are middleware applied by the router (`routes/mod.rs`), never repeated in
//! handlers: [`refuse_cross_site`] guards the whole API, [`require_instructor`] the routes of
//! instructor actions. The instructor shows the token as `Authorization: Bearer` (scripts,
//! `curl`) or as the session cookie the browser got for it (`POST /api/session`), whose value
//! is derived from the token so page script never holds the token and any relay with the same
//! token accepts it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use shared::api::Role;

use crate::http::error::ApiError;

/// How instructors are recognised.
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "claimstream_session";

/// How long a browser keeps the session cookie: a class day and then some.
pub const SESSION_MAX_AGE_SECS: u64 = 12 * 60 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
enum InstructorRule {
    /// `Authorization: Bearer <token>`, or the session cookie whose value is [`session_value`]
    /// of the token (kept here, with the token).
    Token { token: String, session: String },
    /// Every caller: the relay listens on loopback only, so callers are on this machine, and
    /// other sites are kept out by [`refuse_cross_site`].
    Loopback,
}

#[derive(Debug, Clone)]
pub struct Access {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rule: InstructorRule,
    /// Origins besides the relay's own whose pages may act (e.g. `trunk serve`'s).
    allowed_origins: Vec<String>,
    /// Whether the relay listens on a loopback address only: then the `Host` a request names
    /// must be a loopback one too, so a page whose name was rebound to 127.0.0.1 is refused.
    loopback_only: bool,
}

impl Access {
    /// The rules for a relay listening on `listen`. Without a token on a non-loopback address
    /// a random one is made; it is returned so it can be printed once.
    pub fn new(
        listen: SocketAddr,
        token: Option<String>,
        allowed_origins: &[String],
    ) -> (Self, Option<String>) {
        let loopback_only = listen.ip().is_loopback();
        let token = token.filter(|t| !t.trim().is_empty());
        let (rule, generated) = match token {
            Some(token) => (InstructorRule::token(token), None),
            None if loopback_only => (InstructorRule::Loopback, None),
            None => {
                let token = random_token();
                (InstructorRule::token(token.clone()), Some(token))
            }
        };
        let allowed_origins = allowed_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        let inner = Inner {
            rule,
            allowed_origins,
            loopback_only,
        };
        (
            Self {
                inner: Arc::new(inner),
            },
            generated,
        )
    }

    /// "token" or "loopback", for `GET /api/session`.
    pub fn instructor_by(&self) -> &'static str {
        match self.inner.rule {
            InstructorRule::Token { .. } => "token",
            InstructorRule::Loopback => "loopback",
        }
    }

    /// The caller's role; a missing or wrong token makes a learner.
    pub fn role(&self, headers: &HeaderMap) -> Role {
        match self.check_instructor(headers) {
            Ok(()) => Role::Instructor,
            Err(_) => Role::Learner,
        }
    }

    /// The caller's role from the bearer header alone, the cookie left aside (what a caller is
    /// after signing out).
    pub fn role_without_cookie(&self, headers: &HeaderMap) -> Role {
        match &self.inner.rule {
            InstructorRule::Loopback => Role::Instructor,
            InstructorRule::Token { token, .. } => match bearer(headers) {
                Some(given) if same(given, token) => Role::Instructor,
                _ => Role::Learner,
            },
        }
    }

    /// The value of the session cookie for `given`, if it is the instructor token; `Ok(None)`
    /// when the relay needs no token (loopback), so there is nothing to keep.
    pub fn exchange(&self, given: &str) -> Result<Option<String>, ApiError> {
        match &self.inner.rule {
            InstructorRule::Loopback => Ok(None),
            InstructorRule::Token { token, session } if same(given.trim(), token) => {
                Ok(Some(session.clone()))
            }
            InstructorRule::Token { .. } => Err(wrong_token()),
        }
    }

    fn check_instructor(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let InstructorRule::Token { token, session } = &self.inner.rule else {
            return Ok(());
        };
        // A header decides when there is one: a script's token is what it means.
        if let Some(given) = bearer(headers) {
            return if same(given, token) {
                Ok(())
            } else {
                Err(wrong_token())
            };
        }
        match cookie(headers, SESSION_COOKIE) {
            Some(given) if same(given, session) => Ok(()),
            Some(_) => Err(ApiError::Forbidden {
                code: "wrong_token",
                message: "this browser's instructor session was made for another instructor \
                          token (was the relay restarted with a new one?); open the \
                          instructor's link with #token= again"
                    .into(),
            }),
            None => Err(ApiError::Unauthorized(
                "this is an instructor action: send `Authorization: Bearer <token>` with the \
                 token the relay printed at start (or its --instructor-token), or exchange it \
                 once for a session cookie with POST /api/session {\"token\": \"...\"}"
                    .into(),
            )),
        }
    }

    /// Refuses requests another site's page could make through a learner's browser: a foreign
    /// `Origin`, a rebound `Host`, and state changes without a JSON content type (which a page
    /// cannot send to another site without the relay's consent).
    fn check_same_site(&self, request: &Request) -> Result<(), ApiError> {
        let headers = request.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase);
        if self.inner.loopback_only
            && let Some(host) = &host
            && !is_loopback_host(host)
        {
            return Err(ApiError::Forbidden {
                code: "foreign_host",
                message: format!(
                    "this relay listens on loopback only and does not answer for host {host:?}; \
                     open it as http://127.0.0.1 or http://localhost"
                ),
            });
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default().to_ascii_lowercase();
            let own = host.as_deref().is_some_and(|host| {
                origin.strip_prefix("http://") == Some(host)
                    || origin.strip_prefix("https://") == Some(host)
            });
            if !own && !self.inner.allowed_origins.contains(&origin) {
                return Err(ApiError::Forbidden {
                    code: "cross_site",
                    message: format!(
                        "requests from pages of {origin} may not act on this relay; an instructor \
                         can allow that origin with --allowed-origin"
                    ),
                });
            }
        }
        if !request.method().is_safe() && !is_json(headers) {
            return Err(ApiError::UnsupportedMediaType(
                "state-changing requests must be sent with `Content-Type: application/json` \
                 (curl: -H 'Content-Type: application/json'), which other sites' pages cannot \
                 send here"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Middleware for the whole API: see [`Access::check_same_site`].
pub async fn refuse_cross_site(
    State(access): State<Access>,
    request: Request,
    next: Next,
) -> Response {
    match access.check_same_site(&request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Middleware for the routes of instructor actions: 401 without a token, 403 with a wrong one.
pub async fn require_instructor(
    State(access): State<Access>,
    request: Request,
    next: Next,
) -> Response {
    match access.check_instructor(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

impl InstructorRule {
    fn token(token: String) -> Self {
        let session = session_value(&token);
        Self::Token { token, session }
    }
}

/// The session cookie's value for an instructor token: a hash, so the cookie cannot be used
/// as a bearer token nor turned back into one, and any relay with the same token computes the
/// same value (relays keep no sessions).
fn session_value(token: &str) -> String {
    let digest = Sha256::digest(format!("claimstream-session:{token}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn same(given: &str, expected: &str) -> bool {
    constant_time_eq::constant_time_eq(given.as_bytes(), expected.as_bytes())
}

fn wrong_token() -> ApiError {
    ApiError::Forbidden {
        code: "wrong_token",
        message: "the instructor token is not the relay's; instructor actions are refused".into(),
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one ("" if the header
/// is of another scheme, which is then a wrong token).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let given = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .unwrap_or_default();
    Some(
        given
            .strip_prefix("Bearer ")
            .or_else(|| given.strip_prefix("bearer "))
            .unwrap_or_default()
            .trim(),
    )
}

/// The value of cookie `name` in the request's `Cookie` headers, if not empty.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (n, value) = pair.trim().split_once('=')?;
            (n == name).then_some(value.trim())
        })
        // A cleared cookie's empty value is no session at all.
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value keeping `value` as the session for `max_age_secs` (0 clears it).
/// `Secure` only when the page came over https: on the plain http of a class LAN a browser
/// would drop a Secure cookie.
pub fn session_cookie(value: &str, max_age_secs: u64, headers: &HeaderMap) -> String {
    let secure = if over_https(headers) { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/api; \
         Max-Age={max_age_secs}{secure}"
    )
}

/// Whether the request came over https: its page's `Origin` is https (browsers send it on
/// every POST and DELETE), or a TLS-terminating proxy says so in `X-Forwarded-Proto`.
fn over_https(headers: &HeaderMap) -> bool {
    let says = |name: &str, prefix: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(prefix))
    };
    says("origin", "https://") || says("x-forwarded-proto", "https")
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// `localhost`, `127.0.0.1:8080`, `[::1]:8080`, `app.localhost` ...
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// 128 random bits, hex.
fn random_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is asking, as the command log names them: an instructor or a learner, by the rule
/// above.
pub struct Asker(pub shared::api::CommandBy);

impl axum::extract::FromRequestParts<crate::http::state::AppState> for Asker {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::http::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(match state.access.role(&parts.headers) {
            Role::Instructor => shared::api::CommandBy::Instructor,
            Role::Learner => shared::api::CommandBy::Learner,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised_with_and_without_ports() {
        for host in [
            "localhost",
            "localhost:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:80",
            "[::1]:8080",
            "app.localhost:8080",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn a_token_is_made_only_for_a_relay_reachable_from_other_machines() {
        let loopback = "127.0.0.1:8080".parse().unwrap();
        let open = "0.0.0.0:8080".parse().unwrap();
        let (access, made) = Access::new(loopback, None, &[]);
        assert_eq!((access.instructor_by(), made), ("loopback", None));
        let (access, made) = Access::new(open, None, &[]);
        assert_eq!(access.instructor_by(), "token");
        assert_eq!(made.map(|t| t.len()), Some(32));
        let (access, made) = Access::new(open, Some("s3cret".into()), &[]);
        assert_eq!((access.instructor_by(), made), ("token", None));
    }

    #[test]
    fn the_session_value_is_the_same_on_every_relay_with_the_token_and_is_not_the_token() {
        let open = "0.0.0.0:8080".parse().unwrap();
        let (one, _) = Access::new(open, Some("s3cret".into()), &[]);
        let (two, _) = Access::new(open, Some("s3cret".into()), &[]);
        let (other, _) = Access::new(open, Some("other".into()), &[]);
        let value = one.exchange("s3cret").unwrap().unwrap();
        assert_eq!(two.exchange("s3cret").unwrap(), Some(value.clone()));
        assert!(!value.contains("s3cret"));
        assert!(other.exchange("s3cret").is_err());
        let cookie: HeaderMap = [(header::COOKIE, format!("a=1; {SESSION_COOKIE}={value}"))]
            .into_iter()
            .map(|(n, v)| (n, v.parse().unwrap()))
            .collect();
        assert_eq!(two.role(&cookie), Role::Instructor);
        assert_eq!(other.role(&cookie), Role::Learner);
    }
}
