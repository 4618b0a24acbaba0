//! The HTTP API (DESIGN.md §3.6): one file per resource, assembled into a router here with
//! the cross-cutting layers — request ids, tracing, metrics, timeouts, body limits,
//! compression, panic catching — and one rule: every error body is problem+json.

pub mod admin;
pub mod files;
pub mod guards;
pub mod health;
pub mod keys;
pub mod lookup;
pub mod openapi;
pub mod owners;
pub mod publish;
pub mod versions;
pub mod views;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, put};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{problem_response, PROBLEM_JSON};
use crate::metrics::RequestLabels;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole service.
pub fn router(state: AppState) -> Router {
    let limits = state.config.limits.clone();
    let publish_limit = usize::try_from(limits.max_publish_bytes).unwrap_or(usize::MAX);
    let body_limit = usize::try_from(limits.max_body_bytes).unwrap_or(usize::MAX);
    let api = Router::new()
        .route(
            "/api/v1/guards",
            get(guards::list).post(publish::create).layer(
                ServiceBuilder::new()
                    .layer(DefaultBodyLimit::disable())
                    .layer(RequestBodyLimitLayer::new(publish_limit)),
            ),
        )
        .route("/api/v1/guards/{name}", get(guards::details))
        .route("/api/v1/guards/{name}/versions", get(versions::list))
        .route(
            "/api/v1/guards/{name}/owners",
            get(owners::list).post(owners::add),
        )
        .route(
            "/api/v1/guards/{name}/owners/{publisher}",
            delete(owners::remove),
        )
        .route(
            "/api/v1/guards/{name}/{version}/manifest",
            get(files::manifest),
        )
        .route(
            "/api/v1/guards/{name}/{version}/artifact",
            get(files::artifact),
        )
        .route(
            "/api/v1/guards/{name}/{version}/artifact/{*path}",
            get(files::component),
        )
        .route("/api/v1/guards/{name}/{version}/yank", put(versions::yank))
        .route(
            "/api/v1/guards/{name}/{version}/deprecate",
            put(versions::deprecate),
        )
        .route(
            "/api/v1/admin/guards/{name}/{version}/tier",
            put(admin::set_tier),
        )
        .route("/api/v1/keys", get(keys::list))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(|| async {
            problem_response(
                StatusCode::NOT_FOUND,
                "no such route; see /api/v1/openapi.json",
            )
        })
        .method_not_allowed_fallback(|| async {
            problem_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "this route does not take that method; see /api/v1/openapi.json",
            )
        });

    // Archives and components are already compressed; JSON is worth compressing.
    let compress = SizeAbove::new(1024)
        .and(NotForContentType::new("application/gzip"))
        .and(NotForContentType::new("application/wasm"))
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES);

    // Router::layer turns each layer's response back into a plain `Response`, so the
    // middleware functions below see one body type. Last added = outermost.
    api.layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            problem_response(StatusCode::INTERNAL_SERVER_ERROR, "an internal error occurred; the server log has details")
        }))
        .layer(middleware::from_fn(problem_bodies))
        .layer(middleware::from_fn_with_state(state.clone(), record_metrics))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CompressionLayer::new().compress_when(compress)),
        )
    .with_state(state)
}

async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    state.metrics.observe(
        RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed(),
    );
    response
}

/// Makes every error body problem+json: the plain-text errors of layers and extractors
/// (413 from the body limit, 408 from the timeout, 400/415/422 from the JSON and path
/// extractors) keep their message as the detail; a JSON body that does not fit the
/// route's schema is a 400 like malformed JSON; and each problem names its `instance`.
async fn problem_bodies(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.starts_with("application/json") {
        // Readiness reports are JSON on purpose.
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024)
        .await
        .unwrap_or_default();
    let mut problem: serde_json::Value = if content_type.starts_with(PROBLEM_JSON) {
        serde_json::from_slice(&body).unwrap_or_default()
    } else {
        let text = String::from_utf8_lossy(&body).trim().to_string();
        let detail = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                "the request body is larger than this registry accepts".to_string()
            }
            StatusCode::REQUEST_TIMEOUT => {
                "the request took longer than the server allows".to_string()
            }
            _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_string(),
            _ => text,
        };
        // axum's Json extractor answers 422 for well-formed JSON of the wrong shape; here 422
        // means "package refused", so a bad body is a 400 like any other malformed request.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        parts.status = status;
        let (kind, title) = crate::error::kind_and_title(status);
        parts.headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(PROBLEM_JSON),
        );
        serde_json::json!({"type": format!("urn:clawdstrike:problem:{kind}"), "title": title,
            "status": status.as_u16(), "detail": detail})
    };
    if let Some(map) = problem.as_object_mut() {
        map.entry("instance")
            .or_insert(serde_json::Value::String(path));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(problem.to_string()))
}
