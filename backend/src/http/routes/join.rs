//! `GET /api/join`: the address learners open, as the instructor's browser reached the relay,
//! and its QR code, drawn here as SVG so a classroom needs no service on the internet.

use axum::Json;
use axum::http::HeaderMap;
use qrcodegen::{QrCode, QrCodeEcc};
use shared::api::JoinResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(join))
}

#[utoipa::path(get, path = "/join", tag = "join", responses((status = 200, body = JoinResponse)))]
async fn join(headers: HeaderMap) -> Result<Json<JoinResponse>, ApiError> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255)
        .ok_or_else(|| ApiError::bad_request("missing_host", "the request names no Host"))?;
    let url = format!("http://{host}/");
    Ok(Json(JoinResponse {
        qr_svg: qr_svg(&url),
        url,
    }))
}

/// The QR code of `text` as an SVG of dark modules on a light square with a quiet zone.
pub fn qr_svg(text: &str) -> String {
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let size = qr.size();
    let border = 4;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let side = size + 2 * border;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" role="img" aria-label="QR code of the join address" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::qr_svg;

    #[test]
    fn the_code_has_its_finder_patterns_and_quiet_zone() {
        let svg = qr_svg("http://192.168.1.20:8080/");
        assert!(svg.starts_with("<svg"), "{svg}");
        // The top-left finder pattern starts right after the four-module quiet zone.
        assert!(svg.contains("M4,4h1v1h-1z"), "{svg}");
        assert!(!svg.contains("M3,"), "nothing in the quiet zone");
    }
}
