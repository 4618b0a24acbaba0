//! The HTTP client of the reference integrations: one per guard, shared by its calls.
//!
//! Every request leaves one `external_call` audit record (SPEC.md §4): method, URL with
//! credentials masked, request and response sizes, duration, status, and whether it ended
//! in a response, an error or a timeout. A request that a deadline cancels mid-flight is
//! recorded as a timeout when its future is dropped.

use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::json;

use crate::audit::AuditLog;
use crate::resilience::{parse_retry_after, Attempt};

/// The largest answer read from a service; a bigger one is a failed call.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Query parameters that carry credentials; masked in audit records.
const SECRET_PARAMS: [&str; 5] = ["key", "apikey", "api_key", "token", "access_token"];

/// Check a configured base URL: `https`, or `http` to a loopback address only (a local
/// proxy, a test server). Data minimisation says TLS only; loopback never leaves the host.
pub fn base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "`{raw}` is plain http; external services are reached over https only \
                 (plain http is accepted for loopback addresses)"
            ))
        }
        other => return Err(format!("`{raw}`: scheme `{other}` is not http(s)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{raw}` carries credentials; give them as `api_key`, not in the URL"
        ));
    }
    Ok(url)
}

/// A guard's HTTP client: no redirects, no proxy, bounded connect time.
#[derive(Debug, Clone)]
pub struct ServiceClient {
    inner: reqwest::Client,
}

impl ServiceClient {
    /// Build the client.
    pub fn new() -> Result<Self, String> {
        crate::plugin::capability::network::install_crypto_provider();
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("clawdstrike-engine/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ServiceClient { inner })
    }

    /// A handle for the requests of one check.
    pub fn call<'a>(
        &'a self,
        audit: Option<&'a AuditLog>,
        guard: &'a str,
        event_id: &'a str,
    ) -> Call<'a> {
        Call {
            client: self,
            audit,
            guard,
            event_id,
        }
    }
}

/// One request to a service.
#[derive(Debug, Clone)]
pub struct ServiceRequest {
    /// Method.
    pub method: Method,
    /// Full URL.
    pub url: Url,
    /// Headers (credentials included; never recorded).
    pub headers: Vec<(&'static str, String)>,
    /// Body, if any.
    pub body: Option<Vec<u8>>,
}

impl ServiceRequest {
    /// A GET.
    pub fn get(url: Url) -> Self {
        ServiceRequest {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A POST of a JSON body.
    pub fn post_json(url: Url, body: &serde_json::Value) -> Self {
        ServiceRequest {
            method: Method::POST,
            url,
            headers: vec![("content-type", "application/json".into())],
            body: Some(body.to_string().into_bytes()),
        }
    }

    /// Add a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A service's answer (any status other than 429 and 5xx, which are retried).
#[derive(Debug, Clone)]
pub struct ServiceResponse {
    /// HTTP status.
    pub status: u16,
    /// Body (at most [`MAX_RESPONSE_BYTES`]).
    pub body: Vec<u8>,
}

impl ServiceResponse {
    /// The body as JSON, or a failed attempt naming the service's mistake.
    pub fn json<V>(&self, what: &str) -> Result<serde_json::Value, Attempt<V>> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Attempt::Fail(format!(
                "{what} answered {} with a body that is not JSON: {e}",
                self.status
            ))
        })
    }
}

/// The requests of one check, audited under its guard and event.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    client: &'a ServiceClient,
    audit: Option<&'a AuditLog>,
    guard: &'a str,
    event_id: &'a str,
}

/// The audit record of a request, written exactly once: when it ends, or when a deadline
/// drops it.
struct InFlight<'a> {
    call: Call<'a>,
    method: String,
    url: String,
    request_bytes: usize,
    started: Instant,
    written: bool,
}

impl InFlight<'_> {
    fn finish(
        &mut self,
        outcome: &str,
        status: Option<u16>,
        response_bytes: usize,
        error: Option<&str>,
    ) {
        self.written = true;
        let Some(audit) = self.call.audit else { return };
        let mut fields = json!({
            "guard": self.call.guard,
            "eventId": self.call.event_id,
            "method": self.method,
            "url": self.url,
            "requestBytes": self.request_bytes,
            "responseBytes": response_bytes,
            "durationUs": self.started.elapsed().as_micros() as u64,
            "status": status,
            "outcome": outcome,
        });
        if let Some(e) = error {
            fields["error"] = e.into();
        }
        audit.record_event("external_call", fields);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.written {
            self.finish(
                "timeout",
                None,
                0,
                Some("cancelled at the guard's deadline"),
            );
        }
    }
}

impl<'a> Call<'a> {
    /// Send one request. 429 and 5xx answers, and transport failures, come back as
    /// retryable attempts (with the server's `Retry-After`); any other answer is the
    /// caller's to judge.
    pub async fn send<V>(&self, req: ServiceRequest) -> Result<ServiceResponse, Attempt<V>> {
        let mut record = InFlight {
            call: *self,
            method: req.method.to_string(),
            url: masked(&req.url),
            request_bytes: req.body.as_ref().map_or(0, Vec::len),
            started: Instant::now(),
            written: false,
        };
        let host = req.url.host_str().unwrap_or_default().to_string();
        let mut builder = self.client.inner.request(req.method, req.url);
        for (name, value) in req.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let mut response = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                let error = format!("{host}: {}", root_cause(&e));
                let outcome = if e.is_timeout() { "timeout" } else { "error" };
                record.finish(outcome, None, 0, Some(&error));
                return Err(Attempt::Retry {
                    error,
                    retry_after: None,
                });
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        let error = format!(
                            "{host} answered more than {MAX_RESPONSE_BYTES} bytes; the answer was dropped"
                        );
                        record.finish(
                            "error",
                            Some(status),
                            body.len() + chunk.len(),
                            Some(&error),
                        );
                        return Err(Attempt::Fail(error));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let error = format!("{host}: answer cut short: {}", root_cause(&e));
                    record.finish("error", Some(status), body.len(), Some(&error));
                    return Err(Attempt::Retry {
                        error,
                        retry_after: None,
                    });
                }
            }
        }
        record.finish("response", Some(status), body.len(), None);
        if status == 429 || status >= 500 {
            return Err(Attempt::Retry {
                error: format!("{host} answered {status}"),
                retry_after,
            });
        }
        Ok(ServiceResponse { status, body })
    }
}

/// The URL with credential-bearing query parameters masked.
fn masked(url: &Url) -> String {
    if url.query().is_none() {
        return url.to_string();
    }
    let mut copy = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let secret = SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s));
            (
                k.into_owned(),
                if secret {
                    "REDACTED".into()
                } else {
                    v.into_owned()
                },
            )
        })
        .collect();
    copy.query_pairs_mut().clear().extend_pairs(pairs);
    copy.to_string()
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_tls_or_loopback() {
        assert!(base_url("https://vt.example/api").is_ok());
        assert!(base_url("http://127.0.0.1:9000/").is_ok());
        assert!(base_url("http://[::1]:9000/").is_ok());
        assert!(base_url("http://localhost:9000/").is_ok());
        assert!(base_url("http://vt.example/")
            .unwrap_err()
            .contains("https only"));
        assert!(base_url("ftp://vt.example/").is_err());
        assert!(base_url("https://u:p@vt.example/")
            .unwrap_err()
            .contains("credentials"));
        assert!(base_url("not a url").is_err());
    }

    #[test]
    fn credentials_in_the_query_are_masked() {
        let url =
            Url::parse("https://sb.example/v5/hashes:search?key=SECRET&hashPrefixes=AAAA").unwrap();
        let m = masked(&url);
        assert!(!m.contains("SECRET"), "{m}");
        assert!(
            m.contains("key=REDACTED") && m.contains("hashPrefixes=AAAA"),
            "{m}"
        );
    }
}
