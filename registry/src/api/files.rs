//! The bytes: signed manifests, package archives and guard components. Archives and
//! components are content-addressed and immutable (long cache, ETag = SHA-256); a signed
//! manifest changes when the tier changes, so it is cached briefly and revalidated.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::lookup;
use crate::blob::BlobKey;
use crate::error::ApiError;
use crate::state::{AppState, CachedBlob};

/// Media type of a DSSE envelope.
pub const DSSE_JSON: &str = "application/vnd.dsse.envelope.v1+json";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A signed manifest is small; anything bigger in the store is not ours.
const MAX_MANIFEST: u64 = 1 << 20;

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
        })
}

fn with_headers(
    mut response: Response,
    content_type: &str,
    etag: &str,
    cache: &'static str,
) -> Response {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The signed manifest (DSSE envelope over an in-toto statement) of a version.
#[utoipa::path(get, path = "/api/v1/guards/{name}/{version}/manifest", tag = "guards",
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 200, description = "DSSE envelope", content_type = "application/vnd.dsse.envelope.v1+json"),
        (status = 304, description = "Not modified"), (status = 404, body = crate::error::Problem)))]
pub async fn manifest(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = (name, version);
    let cached = match state.manifests.get(&key) {
        Some(c) => c,
        None => {
            let (_, v) = lookup::version(&state, &key.0, &key.1).await?;
            let blob = BlobKey::from_sha256_hex(&v.envelope_sha256)?;
            let bytes = state.blobs.get_bytes(&blob, MAX_MANIFEST).await?;
            let c = CachedBlob {
                bytes,
                etag: format!("\"{}\"", v.envelope_sha256),
            };
            state.manifests.insert(key, c.clone());
            c
        }
    };
    if not_modified(&headers, &cached.etag) {
        return Ok(with_headers(
            StatusCode::NOT_MODIFIED.into_response(),
            DSSE_JSON,
            &cached.etag,
            "public, max-age=60",
        ));
    }
    Ok(with_headers(
        cached.bytes.into_response(),
        DSSE_JSON,
        &cached.etag,
        "public, max-age=60",
    ))
}

async fn stream(
    state: &AppState,
    sha256: &str,
    content_type: &str,
    headers: &HeaderMap,
    file_name: Option<&str>,
) -> Result<Response, ApiError> {
    let etag = format!("\"{sha256}\"");
    if not_modified(headers, &etag) {
        return Ok(with_headers(
            StatusCode::NOT_MODIFIED.into_response(),
            content_type,
            &etag,
            IMMUTABLE,
        ));
    }
    let blob = state.blobs.get(&BlobKey::from_sha256_hex(sha256)?).await?;
    let mut response = with_headers(
        Body::from_stream(blob.body).into_response(),
        content_type,
        &etag,
        IMMUTABLE,
    );
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(blob.len));
    if let Some(name) = file_name {
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(response)
}

/// The package archive of a version, as published.
#[utoipa::path(get, path = "/api/v1/guards/{name}/{version}/artifact", tag = "guards",
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 200, description = "The archive", content_type = "application/gzip"),
        (status = 404, body = crate::error::Problem)))]
pub async fn artifact(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, v) = lookup::version(&state, &name, &version).await?;
    stream(
        &state,
        &v.archive_sha256,
        "application/gzip",
        &headers,
        Some(&v.archive_name),
    )
    .await
}

/// One guard component of a version, by its path inside the package (as the signed
/// manifest's subjects name it).
#[utoipa::path(get, path = "/api/v1/guards/{name}/{version}/artifact/{path}", tag = "guards",
    params(("name" = String, Path), ("version" = String, Path), ("path" = String, Path, description = "The component's path inside the package; may contain `/` (e.g. dist/guard.wasm)")),
    responses((status = 200, description = "The component", content_type = "application/wasm"),
        (status = 404, body = crate::error::Problem)))]
pub async fn component(
    State(state): State<AppState>,
    Path((name, version, path)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, v) = lookup::version(&state, &name, &version).await?;
    let files = state.db.version_files(v.id).await?;
    let file = files.iter().find(|f| f.path == path).ok_or_else(|| {
        let known: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        ApiError::NotFound(format!(
            "{name}@{version} has no component `{path}` (it has: {})",
            known.join(", ")
        ))
    })?;
    stream(&state, &file.sha256, "application/wasm", &headers, None).await
}
