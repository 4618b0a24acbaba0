//! Errors as HTTP answers: every failure becomes an RFC 9457 `application/problem+json`
//! body whose `detail` tells the caller what to change.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::blob::BlobError;
use crate::db::DbError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:clawdstrike:problem:<kind>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, fixed summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time and what to do about it.
    pub detail: String,
    /// The request path this occurrence answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// Every way an API call can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// No or bad credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials valid but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such resource (404).
    #[error("{0}")]
    NotFound(String),
    /// Conflicts with what is stored (409).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// The package or body is well-formed but unacceptable (422).
    #[error("{0}")]
    Unprocessable(String),
    /// A dependency (database, blob store) is down (503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected state (500); details go to the log, not the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The problem kind and title of a status: one spelling per status, whoever answers.
pub fn kind_and_title(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad-request", "Bad request"),
        401 => ("unauthorized", "Authentication required"),
        403 => ("forbidden", "Not allowed"),
        404 => ("not-found", "Not found"),
        405 => ("method-not-allowed", "Method not allowed"),
        408 => ("timeout", "Request took too long"),
        409 => ("conflict", "Conflict"),
        413 => ("too-large", "Request body too large"),
        415 => ("unsupported-media-type", "Unsupported media type"),
        422 => ("invalid-package", "Package refused"),
        503 => ("unavailable", "Service unavailable"),
        500 => ("internal", "Internal server error"),
        _ if status.is_client_error() => ("client-error", "Request refused"),
        _ => ("server-error", "Server error"),
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        let status = self.status();
        let (kind, title) = kind_and_title(status);
        (status, kind, title)
    }

    /// The problem kind (`not-found`, `conflict`, ...), for metrics and logs.
    pub fn kind(&self) -> &'static str {
        self.parts().1
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.parts();
        let detail = match self {
            // Never leak internals; the log has them under the request id.
            ApiError::Internal(_) => {
                "an internal error occurred; the server log has details".into()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:clawdstrike:problem:{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            instance: None,
        }
    }
}

/// Builds a problem response for a status the router produces itself (404 for unknown
/// routes, 405, 413 from the body limit, 408 from the timeout).
pub fn problem_response(status: StatusCode, detail: impl Into<String>) -> Response {
    let (kind, title) = kind_and_title(status);
    let body = Problem {
        kind: format!("urn:clawdstrike:problem:{kind}"),
        title: title.into(),
        status: status.as_u16(),
        detail: detail.into(),
        instance: None,
    };
    problem_body(status, &body)
}

fn problem_body(status: StatusCode, problem: &Problem) -> Response {
    let bytes = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.parts();
        if let ApiError::Internal(message) = &self {
            tracing::error!(error = %message, "internal error");
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self, "dependency unavailable");
        }
        let mut response = problem_body(status, &self.problem());
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"clawdstrike-registry\""),
            );
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(m) => ApiError::Unavailable(format!("database unavailable: {m}")),
            DbError::Conflict(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound { .. } => ApiError::Internal(format!("stored blob missing: {e}")),
            BlobError::Corrupt { .. } => ApiError::Internal(format!("stored blob corrupt: {e}")),
            BlobError::Unavailable { .. } => {
                ApiError::Unavailable(format!("blob store unavailable: {e}"))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}
