//! The blocking HTTP client of the registry client: only the configured registry URLs,
//! same-origin redirects only, timeouts, size-capped bodies, problem+json errors.

use std::io::Read;
use std::sync::Once;
use std::time::Duration;

use super::config::{url_is_loopback, RegistryConfig};

/// Largest JSON document read (versions, details, keys).
pub const MAX_JSON_BYTES: u64 = 8 << 20;
/// Largest signed manifest read.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest archive or component downloaded.
pub const MAX_DOWNLOAD_BYTES: u64 = 64 << 20;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout of a JSON request.
pub const JSON_TIMEOUT: Duration = Duration::from_secs(30);
/// Whole-request timeout of a download.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_REDIRECTS: usize = 5;

/// How a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// 404, with the problem detail if any.
    NotFound(String),
    /// Another non-2xx status, with the problem title/detail.
    Status(u16, String),
    /// No answer: connection refused, DNS, TLS, timeout.
    Transport(String),
    /// The body is larger than the limit.
    TooLarge(u64),
    /// The body could not be read.
    Body(String),
}

/// Progress of a download: (bytes so far, total if known).
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// Two clients: direct for loopback registries, with the environment's proxy settings
/// for the others.
#[derive(Debug, Clone)]
pub struct Http {
    direct: reqwest::blocking::Client,
    proxied: reqwest::blocking::Client,
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn builder() -> reqwest::blocking::ClientBuilder {
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin {
            attempt.follow()
        } else {
            let msg = format!(
                "redirect to {} refused: the registry client only talks to the configured registry URL",
                attempt.url()
            );
            attempt.error(msg)
        }
    });
    reqwest::blocking::Client::builder()
        .redirect(redirects)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("clawdstrike-engine/", env!("CARGO_PKG_VERSION")))
}

impl Http {
    /// Build the clients.
    pub fn new() -> Result<Http, String> {
        install_crypto_provider();
        let build = |b: reqwest::blocking::ClientBuilder| {
            b.build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        };
        Ok(Http {
            direct: build(builder().no_proxy())?,
            proxied: build(builder())?,
        })
    }

    /// GET `url` (which must be under the registry's URL) with the registry's token.
    pub fn get(
        &self,
        registry: Option<&RegistryConfig>,
        url: &str,
        accept: &str,
        limit: u64,
        timeout: Duration,
        mut progress: Option<Progress<'_>>,
    ) -> Result<Vec<u8>, HttpError> {
        let client = if url_is_loopback(url) {
            &self.direct
        } else {
            &self.proxied
        };
        let mut request = client.get(url).header("accept", accept).timeout(timeout);
        if let Some(token) = registry.and_then(|r| r.token.as_deref()) {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .map_err(|e| HttpError::Transport(describe(&e)))?;
        let status = response.status();
        if !status.is_success() {
            let mut body = Vec::new();
            let _ = (&mut response).take(64 * 1024).read_to_end(&mut body);
            let detail = problem_detail(&body);
            return Err(if status.as_u16() == 404 {
                HttpError::NotFound(detail)
            } else {
                HttpError::Status(status.as_u16(), detail)
            });
        }
        let total = response.content_length();
        if total.is_some_and(|n| n > limit) {
            return Err(HttpError::TooLarge(limit));
        }
        let mut body = Vec::with_capacity(total.unwrap_or(0).min(limit) as usize);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = response.read(&mut chunk).map_err(|e| {
                if is_timeout(&e) {
                    HttpError::Transport(format!("timed out after {} s", timeout.as_secs()))
                } else {
                    HttpError::Body(e.to_string())
                }
            })?;
            if n == 0 {
                break;
            }
            if body.len() as u64 + n as u64 > limit {
                return Err(HttpError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk[..n]);
            if let Some(p) = progress.as_mut() {
                p(body.len() as u64, total);
            }
        }
        Ok(body)
    }
}

impl Http {
    /// POST `body` to `url` with a bearer `token`; the response body (at most 64 KiB) of
    /// a 2xx answer, else the status and the problem's detail.
    pub fn post(
        &self,
        url: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, HttpError> {
        let client = if url_is_loopback(url) {
            &self.direct
        } else {
            &self.proxied
        };
        let mut response = client
            .post(url)
            .bearer_auth(token)
            .header("content-type", content_type)
            .header("accept", "application/json")
            .timeout(timeout)
            .body(body)
            .send()
            .map_err(|e| HttpError::Transport(describe(&e)))?;
        let status = response.status();
        let mut answer = Vec::new();
        (&mut response)
            .take(64 * 1024)
            .read_to_end(&mut answer)
            .map_err(|e| HttpError::Body(e.to_string()))?;
        if !status.is_success() {
            return Err(HttpError::Status(status.as_u16(), problem_detail(&answer)));
        }
        Ok(answer)
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::TimedOut
}

/// The root cause of a transport error, which is where the useful words are.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut msg = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    msg
}

/// `title: detail` of a problem+json body, else the start of the body as text.
fn problem_detail(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let title = v.get("title").and_then(|t| t.as_str());
        let detail = v.get("detail").and_then(|t| t.as_str());
        match (title, detail) {
            (Some(t), Some(d)) => return format!("{t}: {d}"),
            (Some(t), None) => return t.to_string(),
            (None, Some(d)) => return d.to_string(),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.trim().to_string()
}

/// `%40acme%2Fsecrets`: the name as one path segment.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A component path as URL path segments, each encoded (`/` kept between them).
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_segment() {
        assert_eq!(encode_segment("@acme/secrets"), "%40acme%2Fsecrets");
        assert_eq!(encode_segment("acme_guard-1.x~"), "acme_guard-1.x~");
        assert_eq!(encode_path("dist/my guard.wasm"), "dist/my%20guard.wasm");
    }

    #[test]
    fn problem_details() {
        assert_eq!(
            problem_detail(
                br#"{"type":"about:blank","title":"Not Found","status":404,"detail":"no guard x"}"#
            ),
            "Not Found: no guard x"
        );
        assert_eq!(problem_detail(b"  plain  "), "plain");
    }
}
