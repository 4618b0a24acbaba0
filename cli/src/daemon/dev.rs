//! `clawdstrike guard dev`: a guard author's loop. One local package is served over HTTP
//! and reloaded whenever its manifest or one of its components changes, so the author can
//! rebuild and send the same event again without restarting anything.
//!
//! * `POST /check`: one event (the engine's event JSON) → the verdict of every guard of
//!   the package, or only of `?guard=NAME`. A guard whose `handles` does not include the
//!   event type says so instead of deciding.
//! * `GET /`: the package as loaded: its guards, the generation, and why the last reload
//!   was refused, if it was.
//!
//! Guards load exactly as a policy's `path:` entry loads them (same host, limits, tier
//! rules), so what passes here passes in a policy. A reload that fails keeps the previous
//! build answering.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::reload::{fingerprint, poll_changes};
use super::{json_body, now, problem};
use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::{PackageRequest, PluginError, PluginHost, WasmGuard};
use clawdstrike_engine::PolicyEvent;
use clawdstrike_formats::manifest::{PluginManifest, TrustTier};

/// The package being developed and how to load it.
pub struct DevPackage {
    /// The host guards load into.
    pub host: PluginHost,
    /// The package directory, or its manifest.
    pub path: PathBuf,
    /// The configuration every guard of the package is initialised with.
    pub config: Value,
    /// The tier to load at (what a policy would grant it).
    pub tier: TrustTier,
}

impl DevPackage {
    /// Load every guard of the package, as a policy would.
    pub fn load(&self) -> Result<Vec<WasmGuard>, PluginError> {
        self.host.load(PackageRequest {
            path: &self.path,
            config: &self.config,
            trust_override: None,
            entitled: self.tier,
        })
    }

    /// The files whose change means a reload: the manifest and every guard's component.
    /// While the manifest cannot be read, whichever manifest files exist, so fixing one
    /// is noticed.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        match PluginManifest::load(&self.path) {
            Ok(loaded) => std::iter::once(loaded.manifest_path.clone())
                .chain(
                    loaded
                        .manifest
                        .guards
                        .iter()
                        .filter_map(|g| loaded.entrypoint_path(g).ok()),
                )
                .collect(),
            Err(_) if self.path.is_file() => vec![self.path.clone()],
            Err(_) => ["clawdstrike.plugin.json", "clawdstrike.plugin.toml"]
                .iter()
                .map(|name| self.path.join(name))
                .filter(|p| p.is_file())
                .collect(),
        }
    }
}

/// One successful load.
struct Build {
    guards: Vec<WasmGuard>,
    generation: u64,
    loaded_at: String,
}

/// Shared state of the dev server.
pub struct DevServer {
    package: DevPackage,
    current: RwLock<Arc<Build>>,
    /// Why the newest reload was refused; cleared by a successful one.
    last_error: RwLock<Option<String>>,
}

impl DevServer {
    /// A server for `package`, whose guards are already loaded as `guards`.
    pub fn new(package: DevPackage, guards: Vec<WasmGuard>) -> Arc<DevServer> {
        Arc::new(DevServer {
            package,
            current: RwLock::new(Arc::new(Build {
                guards,
                generation: 1,
                loaded_at: now(),
            })),
            last_error: RwLock::new(None),
        })
    }

    fn current(&self) -> Arc<Build> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_error(&self, error: Option<String>) {
        match self.last_error.write() {
            Ok(mut g) => *g = error,
            Err(p) => *p.into_inner() = error,
        }
    }

    fn last_error(&self) -> Option<String> {
        match self.last_error.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Load the package again; swap the new guards in if every one loads.
    async fn reload(self: &Arc<Self>) {
        let server = self.clone();
        let loaded = tokio::task::spawn_blocking(move || server.package.load()).await;
        match loaded {
            Ok(Ok(guards)) => {
                let generation = self.current().generation + 1;
                let names = names(&guards);
                let build = Arc::new(Build {
                    guards,
                    generation,
                    loaded_at: now(),
                });
                match self.current.write() {
                    Ok(mut g) => *g = build,
                    Err(p) => *p.into_inner() = build,
                }
                self.set_error(None);
                eprintln!("clawdstrike guard dev: reloaded {names} (generation {generation})");
            }
            Ok(Err(e)) => {
                eprintln!(
                    "clawdstrike guard dev: refused the change; the previous build keeps answering:\n  error: {e}"
                );
                self.set_error(Some(e.to_string()));
            }
            Err(e) => {
                eprintln!("clawdstrike guard dev: reload failed: {e}");
                self.set_error(Some(format!("reload failed: {e}")));
            }
        }
    }
}

fn names(guards: &[WasmGuard]) -> String {
    guards
        .iter()
        .map(|g| format!("`{}`", g.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The router.
pub fn router(server: Arc<DevServer>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/", get(info))
        .route("/check", post(check))
        .fallback(|| async {
            problem(
                StatusCode::NOT_FOUND,
                "no such route; POST /check decides an event, GET / describes the package",
            )
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(server)
}

async fn info(State(server): State<Arc<DevServer>>) -> Response {
    let build = server.current();
    let guards: Vec<Value> = build
        .guards
        .iter()
        .map(|g| {
            json!({
                "name": g.name(),
                "version": g.version(),
                "tier": g.tier().as_str(),
                "handles": g.handles().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let body = json!({
        "package": server.package.path.display().to_string(),
        "generation": build.generation,
        "loadedAt": build.loaded_at,
        "guards": guards,
        "lastReloadError": server.last_error(),
    });
    json_response(StatusCode::OK, &body)
}

#[derive(serde::Deserialize)]
struct CheckQuery {
    guard: Option<String>,
}

async fn check(
    State(server): State<Arc<DevServer>>,
    Query(query): Query<CheckQuery>,
    body: Bytes,
) -> Response {
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    let event = match PolicyEvent::from_value(value) {
        Ok(e) => e,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let build = server.current();
    if let Some(name) = &query.guard {
        if !build.guards.iter().any(|g| g.name() == name) {
            return problem(
                StatusCode::NOT_FOUND,
                format!(
                    "the package has no guard `{name}`; it has {}",
                    names(&build.guards)
                ),
            );
        }
    }
    let generation = build.generation;
    // Guards may block in host calls (network, files): keep them off the async threads.
    let results = tokio::task::spawn_blocking(move || {
        build
            .guards
            .iter()
            .filter(|g| query.guard.as_deref().is_none_or(|n| n == g.name()))
            .map(|g| run(g, &event))
            .collect::<Vec<Value>>()
    })
    .await;
    match results {
        Ok(results) => json_response(
            StatusCode::OK,
            &json!({"generation": generation, "results": results}),
        ),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("check failed: {e}"),
        ),
    }
}

/// One guard on one event, as JSON.
fn run(guard: &WasmGuard, event: &PolicyEvent) -> Value {
    if !guard.handles().contains(&event.event_type) {
        return json!({
            "guard": guard.name(),
            "handled": false,
            "reason": format!(
                "`{}` does not handle {} (it handles {})",
                guard.name(),
                event.event_type.as_str(),
                guard.handles().iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let started = Instant::now();
    let verdict = guard.check(event);
    let duration_us = started.elapsed().as_micros() as u64;
    match verdict {
        Some(v) => json!({
            "guard": guard.name(),
            "handled": true,
            "status": v.status,
            "severity": v.severity,
            "reason": v.message,
            "details": v.details,
            "durationUs": duration_us,
        }),
        None => json!({"guard": guard.name(), "handled": false}),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// What `clawdstrike guard dev` runs.
pub struct DevOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// How often to look for changed files.
    pub reload_interval: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
}

/// Serves until SIGINT or SIGTERM; prints the URL once listening.
pub async fn serve(server: Arc<DevServer>, options: DevOptions) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    println!(
        "clawdstrike guard dev: {} on http://{}",
        names(&server.current().guards),
        listener.local_addr()?
    );
    let watcher = server.clone();
    tokio::spawn(async move {
        let watched = || fingerprint(&watcher.package.watched_files());
        poll_changes(watched, options.reload_interval, || watcher.reload()).await
    });
    axum::serve(listener, router(server, options.max_body_bytes))
        .with_graceful_shutdown(super::shutdown_signal())
        .await
}
