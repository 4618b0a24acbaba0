//! Uploading a packed guard package to a registry (`POST /api/v1/guards`), as
//! `clawdstrike guard publish` does.

use std::time::Duration;

use clawdstrike_formats::api::Published;

use clawdstrike_engine::resolve::config::check_url;
use clawdstrike_engine::resolve::http::{Http, HttpError};

/// An upload may carry megabytes of components and the registry scans before answering.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The registry URL is not acceptable (not https, not loopback http, malformed).
    #[error("{0}")]
    Url(String),
    /// The registry could not be reached or the upload broke off.
    #[error("{url}: {message}")]
    Transport {
        /// The upload URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The registry refused the package; `detail` says what to change.
    #[error("the registry refused the package ({status}): {detail}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The problem's title and detail.
        detail: String,
    },
    /// The registry answered something that is not a publish result.
    #[error("unexpected answer from {url}: {message}")]
    Answer {
        /// The upload URL.
        url: String,
        /// Why it could not be read.
        message: String,
    },
}

/// Upload `archive` (a gzip'd npm tarball or `.crate`) to the registry at `registry_url`
/// with the publish `token`.
pub fn publish(
    registry_url: &str,
    token: &str,
    archive: Vec<u8>,
) -> Result<Published, PublishError> {
    let base = check_url(registry_url).map_err(PublishError::Url)?;
    let url = format!("{base}/api/v1/guards");
    let http = Http::new().map_err(PublishError::Url)?;
    let body = http
        .post(&url, token, "application/gzip", archive, PUBLISH_TIMEOUT)
        .map_err(|e| match e {
            HttpError::Status(status, detail) => PublishError::Refused { status, detail },
            HttpError::NotFound(detail) => PublishError::Refused {
                status: 404,
                detail: format!("{detail} (is {base} a Clawdstrike registry?)"),
            },
            HttpError::Transport(message) | HttpError::Body(message) => PublishError::Transport {
                url: url.clone(),
                message,
            },
            HttpError::TooLarge(limit) => PublishError::Answer {
                url: url.clone(),
                message: format!("larger than {limit} bytes"),
            },
        })?;
    serde_json::from_slice(&body).map_err(|e| PublishError::Answer {
        url,
        message: e.to_string(),
    })
}
