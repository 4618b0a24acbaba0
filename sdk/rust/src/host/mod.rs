//! Calls from the guard into the host: logging, HTTP, files and secrets.
//!
//! Every call except [`log`] needs a capability declared in the guard's manifest
//! (`capabilities.network`, `filesystem.read`, `secrets`), and never reaches a resource
//! the manifest does not allow. Using a capability the manifest does not declare at all
//! stops the guard in the engine (a deny); a resource outside a declared capability
//! (a host not listed, a secret not named) returns [`HostError::Denied`].
//!
//! On `wasm32` these functions call the component's imports. On native targets (unit
//! tests) they call the thread's test host ([`crate::testing::TestHost`]), which denies
//! every capability unless a test grants it, and records log lines.

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod test_host;

#[cfg(target_arch = "wasm32")]
use crate::__private::bindings::clawdstrike::guard::host as wit;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected, handled.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    /// The lower-case name (`trace`, `debug`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Why a host call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The manifest does not declare this use; the message says which capability.
    #[error("denied: {0}")]
    Denied(String),
    /// The resource does not exist (no such file, no such secret).
    #[error("not found")]
    NotFound,
    /// The call ran out of its deadline.
    #[error("timed out")]
    Timeout,
    /// A request or response exceeded its declared size limit.
    #[error("too large")]
    TooLarge,
    /// Anything else: connection refused, malformed URL, I/O error.
    #[error("failed: {0}")]
    Failed(String),
}

/// One HTTP request for [`http_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// GET, POST, PUT, PATCH, DELETE or HEAD.
    pub method: String,
    /// An absolute http or https URL; its host must be in the manifest's `allowedHosts`.
    pub url: String,
    /// Request headers as (name, value) pairs.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// A deadline shorter than the host's, in milliseconds.
    pub timeout_ms: Option<u32>,
}

impl Request {
    /// A request with no headers, body or deadline of its own.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A POST request with a body.
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Request {
            body: Some(body.into()),
            ..Self::new("POST", url)
        }
    }

    /// Add a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Set a deadline shorter than the host's.
    #[must_use]
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.timeout_ms = Some(ms);
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The answer to an [`http_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response headers as (name, value) pairs, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a status and a body, no headers (handy in tests).
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A 200 response with a JSON body and `content-type: application/json`.
    pub fn json(value: &serde_json::Value) -> Self {
        Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Write a line to the guard's log (size-capped by the host; kept in the audit log).
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        let level = match level {
            Level::Trace => wit::LogLevel::Trace,
            Level::Debug => wit::LogLevel::Debug,
            Level::Info => wit::LogLevel::Info,
            Level::Warn => wit::LogLevel::Warn,
            Level::Error => wit::LogLevel::Error,
        };
        wit::log(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    test_host::log(level, message);
}

/// [`log`] at [`Level::Trace`].
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// [`log`] at [`Level::Debug`].
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// [`log`] at [`Level::Info`].
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// [`log`] at [`Level::Warn`].
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// [`log`] at [`Level::Error`].
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Make an HTTP request (capability `network`, listing the host and the method).
pub fn http_request(request: &Request) -> Result<Response, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        let wit_request = wit::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            timeout_ms: request.timeout_ms,
        };
        wit::http_request(&wit_request)
            .map(|r| Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(from_wit)
    }
    #[cfg(not(target_arch = "wasm32"))]
    test_host::http_request(request)
}

/// Read a whole file (capability `filesystem.read` covering the resolved path).
pub fn read_file(path: &str) -> Result<Vec<u8>, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        wit::read_file(path).map_err(from_wit)
    }
    #[cfg(not(target_arch = "wasm32"))]
    test_host::read_file(path)
}

/// Read a named secret (capability `secrets.allowedKeys` naming it).
pub fn get_secret(name: &str) -> Result<String, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        wit::get_secret(name).map_err(from_wit)
    }
    #[cfg(not(target_arch = "wasm32"))]
    test_host::get_secret(name)
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn from_wit(e: wit::HostError) -> HostError {
    match e {
        wit::HostError::Denied(m) => HostError::Denied(m),
        wit::HostError::NotFound => HostError::NotFound,
        wit::HostError::Timeout => HostError::Timeout,
        wit::HostError::TooLarge => HostError::TooLarge,
        wit::HostError::Failed(m) => HostError::Failed(m),
    }
}
