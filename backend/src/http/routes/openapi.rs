//! `GET /api/openapi.json`: the API described in OpenAPI 3.1, made at startup from the routes
//! themselves (each handler's `#[utoipa::path]`, the `shared` wire types as schemas). Knows
//! nothing of what any route does.

use std::sync::Arc;

use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use shared::api::ErrorBody;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(serve))
}

/// The description, written out once.
#[derive(Clone)]
pub struct Description(Arc<str>);

impl Description {
    /// `/metrics` and the API under `/api`, with what every operation may answer instead.
    pub fn of(top: OpenApi, api: OpenApi) -> Self {
        let mut doc = top.nest("/api", api);
        doc.info.title = "claimstream relay".to_owned();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc.info.description = Some(
            "Claims event sourcing on Redis Streams: commands append to `claims:events`, \
             consumer groups react, a read model answers queries."
                .to_owned(),
        );
        name_operations(&mut doc);
        errors_everywhere(&mut doc);
        Self(
            serde_json::to_string(&doc)
                .expect("an OpenAPI document writes as JSON")
                .into(),
        )
    }
}

/// The operations of a description, with their paths.
fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// Operation ids unique across the API (`claims_list`, not `list`, which several modules
/// have), and a description for every answer that has none.
fn name_operations(doc: &mut OpenApi) {
    for operation in operations(doc) {
        let tag = operation
            .tags
            .iter()
            .flatten()
            .next()
            .cloned()
            .unwrap_or_default();
        if let Some(id) = &mut operation.operation_id {
            *id = format!("{tag}_{id}");
        }
        for (status, response) in &mut operation.responses.responses {
            if let RefOr::T(response) = response
                && response.description.is_empty()
            {
                response.description = status
                    .parse::<u16>()
                    .ok()
                    .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Answer")
                    .to_owned();
            }
        }
    }
}

/// Every operation may be refused: a 4xx or 5xx answer is always an [`ErrorBody`]
/// (`http::error`), so each operation says so once, here.
fn errors_everywhere(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_default();
    let mut needed = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
    ErrorBody::schemas(&mut needed);
    for (name, schema) in needed {
        components.schemas.entry(name).or_insert(schema);
    }
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                        .build(),
                )
                .build(),
        )
    };
    for operation in operations(doc) {
        let responses = &mut operation.responses.responses;
        responses
            .entry("4XX".to_owned())
            .or_insert_with(|| error("Refused: what is wrong and, where there is one, the limit."));
        responses
            .entry("5XX".to_owned())
            .or_insert_with(|| error("Redis out of reach or too slow, or the relay too busy."));
    }
}

/// This description.
#[utoipa::path(get, path = "/openapi.json", tag = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API.", content_type = "application/json")))]
async fn serve(Extension(description): Extension<Description>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        description.0.to_string(),
    )
}
