//! Local HTTP servers that follow the documented request and response shapes of
//! VirusTotal v3, Safe Browsing v5, the Snyk REST API and our webhook contract — the only
//! stand-ins allowed (DESIGN.md §4). Each can be told to misbehave: answer slowly, fail
//! with a status (and `Retry-After`), or send a malformed body. Every request is logged.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const KEY: &str = "test-key-123";

/// What the next request gets instead of a normal answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer normally after this long.
    Slow(Duration),
    /// This status, with a `Retry-After` header if given.
    Status(u16, Option<String>),
    /// 200 with a body that is not what the service sends.
    Malformed,
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

#[derive(Default)]
pub struct Inner {
    pub faults: VecDeque<Fault>,
    /// Applied to every request when `faults` is empty.
    pub always: Option<Fault>,
    pub seen: Vec<Seen>,
    /// VirusTotal: sha256 (of a file or of a URL) → malicious count.
    pub vt: HashMap<String, u64>,
    /// Safe Browsing: listed expressions (`host/path`) → threat type.
    pub sb: Vec<(String, String)>,
    /// Snyk: purl → [(id, severity)].
    pub snyk: HashMap<String, Vec<(String, String)>>,
}

#[derive(Clone)]
pub struct Fake(pub Arc<Mutex<Inner>>);

pub struct Server {
    pub addr: SocketAddr,
    pub fake: Fake,
    _rt: tokio::runtime::Runtime,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    pub fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.fake.0.lock().unwrap())
    }
    pub fn requests(&self) -> Vec<Seen> {
        self.with(|i| i.seen.clone())
    }
    pub fn count(&self) -> usize {
        self.with(|i| i.seen.len())
    }
    pub fn push(&self, fault: Fault) {
        self.with(|i| i.faults.push_back(fault));
    }
    pub fn always(&self, fault: Option<Fault>) {
        self.with(|i| i.always = fault);
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Start the server on a loopback port.
pub fn start() -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = Fake(Arc::new(Mutex::new(Inner::default())));
    let app = Router::new()
        .route("/api/v3/files/{id}", get(vt))
        .route("/api/v3/urls/{id}", get(vt))
        .route("/v5/hashes:search", get(safe_browsing))
        .route("/rest/orgs/{org}/packages/{purl}/issues", get(snyk))
        .route("/hook", post(webhook))
        .with_state(fake.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        addr,
        fake,
        _rt: rt,
    }
}

/// A loopback address where nothing listens.
pub fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// Log the request and apply the next fault; `Some(response)` replaces the answer.
async fn intake(
    fake: &Fake,
    method: &str,
    path: String,
    query: Option<String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    let fault = {
        let mut inner = fake.0.lock().unwrap();
        inner.seen.push(Seen {
            method: method.into(),
            path,
            query: query.unwrap_or_default(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
        inner.faults.pop_front().or_else(|| inner.always.clone())
    };
    match fault {
        None => None,
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::Status(code, retry_after)) => {
            let mut r = (
                StatusCode::from_u16(code).unwrap(),
                json!({"error": {"code": "Injected", "message": "injected"}}).to_string(),
            )
                .into_response();
            if let Some(v) = retry_after {
                r.headers_mut().insert("retry-after", v.parse().unwrap());
            }
            Some(r)
        }
        Some(Fault::Malformed) => Some((StatusCode::OK, "<html>not json").into_response()),
    }
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// VirusTotal v3: `GET /api/v3/files/{sha256}` and `GET /api/v3/urls/{id}`, key in
/// `x-apikey`.
async fn vt(
    State(fake): State<Fake>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = intake(
        &fake,
        "GET",
        uri.path().into(),
        None,
        &headers,
        &Bytes::new(),
    )
    .await
    {
        return r;
    }
    if headers.get("x-apikey").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "WrongCredentialsError", "message": "Wrong API key"}}),
        );
    }
    let known = fake.0.lock().unwrap().vt.get(&id).copied();
    match known {
        None => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "NotFoundError", "message": format!("{id} not found")}}),
        ),
        Some(malicious) => json_response(
            StatusCode::OK,
            json!({"data": {"type": "file", "id": id, "attributes": {"last_analysis_stats": {
                "malicious": malicious, "suspicious": 0, "undetected": 60 - malicious, "harmless": 0, "timeout": 0}}}}),
        ),
    }
}

/// Safe Browsing v5 `hashes.search`: `hashPrefixes` (base64, repeated) and `key` in the
/// query; answers the full hashes of listed expressions that share a prefix.
async fn safe_browsing(
    State(fake): State<Fake>,
    RawQuery(query): RawQuery,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = intake(
        &fake,
        "GET",
        uri.path().into(),
        query.clone(),
        &headers,
        &Bytes::new(),
    )
    .await
    {
        return r;
    }
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://q/?{query}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    if !pairs.iter().any(|(k, v)| k == "key" && v == KEY) {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({"error": {"code": 403, "message": "API key not valid.", "status": "PERMISSION_DENIED"}}),
        );
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let prefixes: Vec<Vec<u8>> = pairs
        .iter()
        .filter(|(k, _)| k == "hashPrefixes")
        .filter_map(|(_, v)| b64.decode(v).ok())
        .collect();
    let listed = fake.0.lock().unwrap().sb.clone();
    let mut full = Vec::new();
    for (expr, threat) in listed {
        let h = Sha256::digest(expr.as_bytes());
        if prefixes.iter().any(|p| h.starts_with(p)) {
            full.push(json!({"fullHash": b64.encode(h), "fullHashDetails": [{"threatType": threat, "attributes": []}]}));
        }
    }
    if full.is_empty() {
        json_response(StatusCode::OK, json!({"cacheDuration": "300s"}))
    } else {
        json_response(
            StatusCode::OK,
            json!({"fullHashes": full, "cacheDuration": "300s"}),
        )
    }
}

/// Snyk REST: `GET /rest/orgs/{org}/packages/{purl}/issues?version=...`,
/// `Authorization: token KEY`, JSON:API answer.
async fn snyk(
    State(fake): State<Fake>,
    Path((_org, purl)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = intake(
        &fake,
        "GET",
        uri.path().into(),
        query.clone(),
        &headers,
        &Bytes::new(),
    )
    .await
    {
        return r;
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("token {KEY}")) {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"jsonapi": {"version": "1.0"}, "errors": [{"status": "401", "detail": "Unauthorized"}]}),
        );
    }
    if !query.unwrap_or_default().contains("version=") {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"status": "400", "detail": "version is required"}]}),
        );
    }
    let issues = fake.0.lock().unwrap().snyk.get(&purl).cloned();
    let Some(issues) = issues else {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"errors": [{"status": "404", "detail": "package not found"}]}),
        );
    };
    let data: Vec<Value> = issues
        .into_iter()
        .map(|(id, sev)| json!({"id": id, "type": "issue", "attributes": {"key": id, "title": "Prototype Pollution", "type": "package_vulnerability", "effective_severity_level": sev}}))
        .collect();
    json_response(
        StatusCode::OK,
        json!({"jsonapi": {"version": "1.0"}, "data": data, "links": {}}),
    )
}

/// The webhook contract: deny commands named `deploy`, allow everything else.
async fn webhook(
    State(fake): State<Fake>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = intake(&fake, "POST", uri.path().into(), None, &headers, &body).await {
        return r;
    }
    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
    if event["subject"]["command"] == "deploy" {
        json_response(
            StatusCode::OK,
            json!({"decision": "deny", "reason": "deploys need approval"}),
        )
    } else {
        json_response(StatusCode::OK, json!({"decision": "allow"}))
    }
}
