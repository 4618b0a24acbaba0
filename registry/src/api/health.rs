//! `/healthz` (the process answers), `/readyz` (database and blob store answer) and
//! `/metrics` (Prometheus text format).

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::views::{Check, Health};
use crate::state::AppState;

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        checks: vec![],
    })
}

/// Readiness: 200 when the database and the blob store both answer within 2 s, else 503.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let limit = Duration::from_secs(2);
    // Clients learn which dependency is down; the details (hosts, paths, OS errors) go to
    // the log only.
    let db = match tokio::time::timeout(limit, state.db.ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database");
            "unavailable".to_string()
        }
        Err(_) => "timed out".to_string(),
    };
    let blobs = match tokio::time::timeout(limit, state.blobs.check()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: blob store");
            "unavailable".to_string()
        }
        Err(_) => "timed out".to_string(),
    };
    let ready = db == "ok" && blobs == "ok";
    let body = Health {
        status: if ready { "ok" } else { "unavailable" },
        checks: vec![
            Check {
                name: "database",
                status: db,
            },
            Check {
                name: "blob_store",
                status: blobs,
            },
        ],
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
