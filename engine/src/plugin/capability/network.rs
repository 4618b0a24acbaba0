//! `http-request`: declared hosts, methods and sizes, checked on the actual destination.
//!
//! * The URL's host (and port, when the entry names one) must match `allowedHosts`:
//!   exact names, `*.domain` wildcards (subdomains only), or IP literals.
//! * DNS answers are vetted by our own resolver: an address that is not publicly
//!   routable (loopback, private, link-local, unique-local, CGNAT, multicast,
//!   unspecified) is refused unless that very IP literal is declared (or the name is
//!   `localhost` and `localhost` is declared). A listed name that resolves to an
//!   internal address (DNS rebinding) is therefore refused.
//! * Redirects are followed by hand-checked hops, each host checked again, at most
//!   [`MAX_REDIRECTS`].
//! * Request and response bodies are capped by the declared sizes; the call has its own
//!   deadline (host calls cannot be interrupted by epochs).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use super::{Capability, HostCallError};
use crate::normalize::host::parse_host;
use crate::plugin::limits::{
    MAX_HTTP_TIMEOUT, MAX_REDIRECTS, MAX_REQUEST_HEADERS, MAX_REQUEST_HEADER_BYTES, MAX_URL_BYTES,
};
use crate::plugin::manifest::NetworkCapability;

/// One request a guard makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// HTTP method, any case.
    pub method: String,
    /// Absolute http(s) URL.
    pub url: String,
    /// Header pairs.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<Vec<u8>>,
    /// The guard's own deadline, if shorter.
    pub timeout: Option<Duration>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingResponse {
    /// Status code.
    pub status: u16,
    /// Header pairs, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// A compiled `allowedHosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com` stored as `.example.com`.
    Subdomains(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    pattern: HostPattern,
    port: Option<u16>,
}

/// The compiled rules, shared with the resolver and redirect policy.
#[derive(Debug)]
struct Rules {
    any_host: bool,
    hosts: Vec<HostRule>,
    methods: Vec<String>,
    max_request: u64,
    max_response: u64,
}

impl Rules {
    fn host_allowed(&self, host: &str, port: Option<u16>) -> bool {
        if self.any_host {
            return true;
        }
        let ip: Option<IpAddr> = host.parse().ok();
        self.hosts.iter().any(|rule| {
            let host_ok = match (&rule.pattern, ip) {
                (HostPattern::Ip(a), Some(b)) => *a == b,
                (HostPattern::Ip(_), None) => false,
                (HostPattern::Exact(h), _) => h == host,
                (HostPattern::Subdomains(suffix), None) => host.ends_with(suffix.as_str()),
                (HostPattern::Subdomains(_), Some(_)) => false,
            };
            host_ok && rule.port.is_none_or(|p| Some(p) == port)
        })
    }

    /// Whether `ip`, an answer for `name`, may be connected to.
    fn address_allowed(&self, name: &str, ip: IpAddr) -> bool {
        if is_public(ip) {
            return true;
        }
        self.hosts.iter().any(|rule| match &rule.pattern {
            HostPattern::Ip(a) => *a == ip,
            HostPattern::Exact(h) => h == "localhost" && name == "localhost" && ip.is_loopback(),
            HostPattern::Subdomains(_) => false,
        })
    }
}

/// Whether an address is publicly routable.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 CGNAT
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15 benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)) // documentation
        }
    }
}

/// Refusal raised inside the resolver or redirect policy, found again in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

#[derive(Debug)]
struct VettingResolver {
    rules: Arc<Rules>,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rules = self.rules.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused(format!("`{host}` has no DNS answer"))) as _);
            }
            if let Some(bad) = addrs.iter().find(|a| !rules.address_allowed(&host, a.ip())) {
                return Err(Box::new(Refused(format!(
                    "`{host}` resolves to {}, an internal address that is not declared in \
                     capabilities.network.allowedHosts",
                    bad.ip()
                ))) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// What a guard may reach over the network.
#[derive(Debug)]
pub struct NetworkAccess {
    rules: Option<Arc<Rules>>,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl NetworkAccess {
    /// Compile the manifest's `network` declaration.
    pub fn new(declared: &NetworkCapability) -> Result<Self, String> {
        let rules = match declared {
            NetworkCapability::Denied => None,
            NetworkCapability::Any => Some(Rules {
                any_host: true,
                hosts: Vec::new(),
                methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
                    .map(String::from)
                    .to_vec(),
                max_request: crate::plugin::limits::ANY_HOST_MAX_REQUEST_BYTES,
                max_response: crate::plugin::limits::ANY_HOST_MAX_RESPONSE_BYTES,
            }),
            NetworkCapability::Hosts(rules) => Some(Rules {
                any_host: false,
                hosts: rules
                    .allowed_hosts
                    .iter()
                    .map(|h| compile_host(h))
                    .collect::<Result<_, _>>()?,
                methods: rules
                    .allowed_methods
                    .iter()
                    .map(|m| m.to_ascii_uppercase())
                    .collect(),
                max_request: rules.max_request_size_bytes,
                max_response: rules.max_response_size_bytes,
            }),
        };
        Ok(NetworkAccess {
            rules: rules.map(Arc::new),
            client: OnceLock::new(),
        })
    }

    fn client(&self, rules: &Arc<Rules>) -> Result<&reqwest::blocking::Client, HostCallError> {
        self.client
            .get_or_init(|| build_client(rules.clone()))
            .as_ref()
            .map_err(|e| HostCallError::Failed(e.clone()))
    }

    /// Make the request if the declaration allows it.
    pub fn request(
        &self,
        req: OutgoingRequest,
        deadline: Instant,
    ) -> Result<IncomingResponse, HostCallError> {
        let Some(rules) = &self.rules else {
            return Err(HostCallError::Undeclared {
                capability: Capability::Network,
                call: "http-request",
            });
        };
        if req.url.len() > MAX_URL_BYTES {
            return Err(HostCallError::Denied(format!(
                "URL is {} bytes; the limit is {MAX_URL_BYTES}",
                req.url.len()
            )));
        }
        let url = Url::parse(&req.url)
            .map_err(|e| HostCallError::Failed(format!("invalid URL `{}`: {e}", req.url)))?;
        check_url(rules, &url)?;
        let method = req.method.to_ascii_uppercase();
        if !rules.methods.contains(&method) {
            return Err(HostCallError::Denied(format!(
                "method {method} is not in capabilities.network.allowedMethods"
            )));
        }
        let body_len = req.body.as_ref().map_or(0, |b| b.len() as u64);
        if body_len > rules.max_request {
            return Err(HostCallError::TooLarge(format!(
                "request body is {body_len} bytes; maxRequestSizeBytes is {}",
                rules.max_request
            )));
        }
        if req.headers.len() > MAX_REQUEST_HEADERS
            || req
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
                > MAX_REQUEST_HEADER_BYTES
        {
            return Err(HostCallError::TooLarge(format!(
                "request headers exceed {MAX_REQUEST_HEADERS} entries or {MAX_REQUEST_HEADER_BYTES} bytes"
            )));
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        let timeout = req
            .timeout
            .unwrap_or(MAX_HTTP_TIMEOUT)
            .min(remaining)
            .min(MAX_HTTP_TIMEOUT);
        if timeout.is_zero() {
            return Err(HostCallError::Timeout);
        }
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| HostCallError::Failed(e.to_string()))?;
        let client = self.client(rules)?;
        let mut builder = client.request(method, url).timeout(timeout);
        for (name, value) in &req.headers {
            // The transport owns framing and routing headers.
            let lower = name.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "host" | "content-length" | "transfer-encoding" | "connection" | "upgrade"
            ) {
                continue;
            }
            builder = builder.header(name, value);
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let started = Instant::now();
        let response = builder.send().map_err(map_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if response
            .content_length()
            .is_some_and(|n| n > rules.max_response)
        {
            return Err(too_large_response(rules.max_response));
        }
        let mut body = Vec::new();
        let mut reader = response.take(rules.max_response + 1);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if started.elapsed() > timeout {
                return Err(HostCallError::Timeout);
            }
            match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(HostCallError::Timeout)
                }
                Err(e) => return Err(HostCallError::Failed(format!("reading the response: {e}"))),
            }
            if body.len() as u64 > rules.max_response {
                return Err(too_large_response(rules.max_response));
            }
        }
        Ok(IncomingResponse {
            status,
            headers,
            body,
        })
    }
}

fn too_large_response(max: u64) -> HostCallError {
    HostCallError::TooLarge(format!(
        "response body exceeds maxResponseSizeBytes ({max} bytes)"
    ))
}

fn check_url(rules: &Rules, url: &Url) -> Result<(), HostCallError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HostCallError::Denied(format!(
            "scheme `{}` is not allowed; use http or https",
            url.scheme()
        )));
    }
    let raw_host = url.host_str().unwrap_or_default();
    let (host, _) = parse_host(raw_host.trim_start_matches('[').trim_end_matches(']'));
    let port = url.port_or_known_default();
    if !rules.host_allowed(&host, port) {
        let shown = match port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        return Err(HostCallError::Denied(format!(
            "`{shown}` is not in capabilities.network.allowedHosts"
        )));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        // A literal address skips the resolver, so vet it here.
        if !rules.address_allowed(&host, ip) {
            return Err(HostCallError::Denied(format!(
                "{ip} is an internal address that is not declared in capabilities.network.allowedHosts"
            )));
        }
    }
    Ok(())
}

fn compile_host(entry: &str) -> Result<HostRule, String> {
    let trimmed = entry.trim();
    let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
        // `[::1]:8080`
        let (inner, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("allowedHosts: `{entry}` has an unclosed `[`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(
                p.parse()
                    .map_err(|_| format!("allowedHosts: bad port in `{entry}`"))?,
            ),
            None => None,
        };
        (inner.to_string(), port)
    } else if trimmed.matches(':').count() == 1 {
        let (h, p) = trimmed.split_once(':').unwrap_or((trimmed, ""));
        let port = p
            .parse()
            .map_err(|_| format!("allowedHosts: bad port in `{entry}`"))?;
        (h.to_string(), Some(port))
    } else {
        (trimmed.to_string(), None)
    };
    let host = host.to_ascii_lowercase();
    let pattern = if let Ok(ip) = host.parse::<IpAddr>() {
        HostPattern::Ip(ip)
    } else if let Some(domain) = host.strip_prefix("*.") {
        HostPattern::Subdomains(format!(".{}", domain.trim_end_matches('.')))
    } else if host.contains('*') {
        return Err(format!(
            "allowedHosts: `{entry}`: only a leading `*.` wildcard is supported"
        ));
    } else {
        HostPattern::Exact(host.trim_end_matches('.').to_string())
    };
    Ok(HostRule { pattern, port })
}

pub(crate) fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn build_client(rules: Arc<Rules>) -> Result<reqwest::blocking::Client, String> {
    install_crypto_provider();
    let redirect_rules = rules.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(Refused(format!("more than {MAX_REDIRECTS} redirects")));
        }
        match check_url(&redirect_rules, attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(e) => {
                let msg = format!("redirect to {} refused: {e}", attempt.url());
                attempt.error(Refused(msg))
            }
        }
    });
    reqwest::blocking::Client::builder()
        .dns_resolver(Arc::new(VettingResolver { rules }))
        .redirect(policy)
        .no_proxy()
        .connect_timeout(MAX_HTTP_TIMEOUT)
        .user_agent(concat!("clawdstrike-engine/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

fn map_error(e: reqwest::Error) -> HostCallError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return HostCallError::Denied(refused.0.clone());
        }
        source = err.source();
    }
    if e.is_timeout() {
        HostCallError::Timeout
    } else if e.is_connect() {
        HostCallError::Failed(format!("connection failed: {}", root_cause(&e)))
    } else {
        HostCallError::Failed(root_cause(&e))
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::manifest::NetworkRules;

    fn rules(hosts: &[&str]) -> Rules {
        Rules {
            any_host: false,
            hosts: hosts.iter().map(|h| compile_host(h).unwrap()).collect(),
            methods: vec!["GET".into()],
            max_request: 10,
            max_response: 10,
        }
    }

    #[test]
    fn host_patterns() {
        let r = rules(&[
            "api.example.com",
            "*.cdn.example",
            "127.0.0.1:8080",
            "[::1]",
        ]);
        assert!(r.host_allowed("api.example.com", Some(443)));
        assert!(!r.host_allowed("evil.api.example.com", Some(443)));
        assert!(r.host_allowed("a.b.cdn.example", Some(80)));
        assert!(!r.host_allowed("cdn.example", Some(80)));
        assert!(!r.host_allowed("xcdn.example", Some(80)));
        assert!(r.host_allowed("127.0.0.1", Some(8080)));
        assert!(!r.host_allowed("127.0.0.1", Some(8081)));
        assert!(r.host_allowed("::1", Some(1)));
        assert!(compile_host("a*b.example").is_err());
    }

    #[test]
    fn internal_answers_need_an_explicit_ip() {
        let r = rules(&["api.example.com", "10.0.0.5", "localhost"]);
        assert!(r.address_allowed("api.example.com", "93.184.216.34".parse().unwrap()));
        assert!(!r.address_allowed("api.example.com", "127.0.0.1".parse().unwrap()));
        assert!(!r.address_allowed("api.example.com", "169.254.169.254".parse().unwrap()));
        assert!(!r.address_allowed("api.example.com", "::ffff:10.0.0.6".parse().unwrap()));
        assert!(r.address_allowed("api.example.com", "10.0.0.5".parse().unwrap()));
        assert!(r.address_allowed("localhost", "127.0.0.1".parse().unwrap()));
        assert!(!r.address_allowed("localhost", "10.1.1.1".parse().unwrap()));
        assert!(!is_public("100.64.1.1".parse().unwrap()));
        assert!(!is_public("fd00::1".parse().unwrap()));
    }

    #[test]
    fn request_checks_happen_before_any_connection() {
        let access = NetworkAccess::new(&NetworkCapability::Hosts(NetworkRules {
            allowed_hosts: vec!["api.example.com".into()],
            allowed_methods: vec!["GET".into()],
            max_request_size_bytes: 4,
            max_response_size_bytes: 10,
        }))
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        let req = |method: &str, url: &str, body: Option<&[u8]>| OutgoingRequest {
            method: method.into(),
            url: url.into(),
            headers: vec![],
            body: body.map(<[u8]>::to_vec),
            timeout: None,
        };
        let denied = |r: Result<IncomingResponse, HostCallError>| match r {
            Err(HostCallError::Denied(m)) => m,
            other => panic!("expected denied, got {other:?}"),
        };
        assert!(
            denied(access.request(req("GET", "https://evil.example/x", None), deadline))
                .contains("evil.example")
        );
        assert!(
            denied(access.request(req("POST", "https://api.example.com/", None), deadline))
                .contains("POST")
        );
        assert!(
            denied(access.request(req("GET", "file:///etc/passwd", None), deadline))
                .contains("scheme")
        );
        assert!(matches!(
            access.request(
                req("GET", "https://api.example.com/", Some(b"12345")),
                deadline
            ),
            Err(HostCallError::TooLarge(_))
        ));
        assert!(matches!(
            access.request(req("GET", "https://api.example.com/", None), Instant::now()),
            Err(HostCallError::Timeout)
        ));
        let none = NetworkAccess::new(&NetworkCapability::Denied).unwrap();
        assert!(matches!(
            none.request(req("GET", "https://api.example.com/", None), deadline),
            Err(HostCallError::Undeclared { .. })
        ));
    }
}
