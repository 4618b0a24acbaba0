//! `GET /api/v1/keys`: the trust root engines pin.

use axum::extract::State;
use axum::Json;

use crate::error::ApiError;
use crate::state::AppState;
use clawdstrike_formats::api::KeyList;

/// Every signing key with its id, window and status.
#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", responses((status = 200, body = KeyList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<KeyList>, ApiError> {
    let keys = state
        .keys
        .public_keys()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(KeyList { keys }))
}
