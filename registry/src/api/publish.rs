//! `POST /api/v1/guards`: publish a package archive with a bearer token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use bytes::Bytes;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::publish::{publish, Publishing};
use crate::state::AppState;
use clawdstrike_formats::api::Published;

/// Publishes an npm package tarball or a `.crate` carrying a plugin manifest and its
/// components. The body is the archive itself; its kind is read from its contents.
/// Bodies above the configured limit are refused from their `Content-Length` before any
/// byte is read.
#[utoipa::path(post, path = "/api/v1/guards", tag = "publishing",
    request_body(content = Vec<u8>, content_type = "application/gzip", description = "npm tarball or .crate"),
    security(("bearer" = [])),
    responses((status = 201, body = Published),
        (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 413, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 503, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "the body must be the package archive (.tgz or .crate)".into(),
        ));
    }
    let published = publish(&state, Publishing::Caller(&caller), body).await?;
    if let Err(e) = state.db.touch_token(caller.0.token_id).await {
        tracing::debug!(error = %e, "cannot record token use");
    }
    Ok((StatusCode::CREATED, Json(published)))
}
