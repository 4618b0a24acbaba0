//! The engine daemon: a long-running process that agent runtimes call over HTTP, so
//! caches, circuit state and compiled guards survive between decisions.
//!
//! * `POST /api/v1/check`: one event (a JSON object) or a batch (a JSON array) → the
//!   decision(s), in the same JSON as `clawdstrike check --json`.
//! * `GET /healthz`: the policy in force and its generation.
//! * `GET /metrics`: Prometheus text.
//!
//! The policy file is watched ([`reload`]): a new version is built off the request path
//! and swapped in atomically; one that fails to load is refused with its problems logged,
//! and the old engine keeps deciding.

pub mod dev;
pub mod reload;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use serde_json::Value;

use clawdstrike_engine::{Engine, PolicyEvent};

/// Builds an engine from the policy as it is on disk now (the CLI supplies this: it knows
/// the secrets file, the registry configuration and the audit log).
pub type EngineFactory =
    Arc<dyn Fn() -> Result<Engine, clawdstrike_engine::policy::PolicyError> + Send + Sync>;

/// The engine in force.
pub struct Loaded {
    /// The engine.
    pub engine: Engine,
    /// 1 for the first load, +1 per successful reload.
    pub generation: u64,
    /// When it was built (RFC 3339).
    pub loaded_at: String,
    /// Whether checks run on the blocking pool (WebAssembly guards may block).
    pub offload: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

/// Counters exported at `/metrics`.
pub struct Metrics {
    registry: prometheus_client::registry::Registry,
    decisions: Family<StatusLabel, Counter>,
    reloads: Family<StatusLabel, Counter>,
    latency: Histogram,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = prometheus_client::registry::Registry::with_prefix("clawdstrike_daemon");
        let decisions = Family::<StatusLabel, Counter>::default();
        let reloads = Family::<StatusLabel, Counter>::default();
        let latency = Histogram::new(exponential_buckets(0.000_01, 2.0, 18));
        registry.register("decisions", "Decisions by status", decisions.clone());
        registry.register("reloads", "Policy reloads by outcome", reloads.clone());
        registry.register(
            "check_request_duration_seconds",
            "Time to answer POST /api/v1/check",
            latency.clone(),
        );
        Metrics {
            registry,
            decisions,
            reloads,
            latency,
        }
    }

    /// Records a reload attempt.
    pub fn reload(&self, ok: bool) {
        let status = if ok { "ok" } else { "refused" };
        self.reloads
            .get_or_create(&StatusLabel {
                status: status.into(),
            })
            .inc();
    }
}

/// Shared state of the daemon.
pub struct Daemon {
    current: RwLock<Arc<Loaded>>,
    generation: AtomicU64,
    /// Metrics.
    pub metrics: Metrics,
    max_batch: usize,
}

impl Daemon {
    /// A daemon deciding with `engine`.
    pub fn new(engine: Engine, offload: bool) -> Arc<Daemon> {
        Arc::new(Daemon {
            current: RwLock::new(Arc::new(Loaded {
                engine,
                generation: 1,
                loaded_at: now(),
                offload,
            })),
            generation: AtomicU64::new(1),
            metrics: Metrics::new(),
            max_batch: 10_000,
        })
    }

    /// The engine in force.
    pub fn current(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Swaps in a new engine; requests in flight finish on the old one.
    pub fn replace(&self, engine: Engine, offload: bool) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let loaded = Arc::new(Loaded {
            engine,
            generation,
            loaded_at: now(),
            offload,
        });
        let old = match self.current.write() {
            Ok(mut g) => std::mem::replace(&mut *g, loaded),
            Err(p) => std::mem::replace(&mut *p.into_inner(), loaded),
        };
        // Background checks of the old policy still record their results.
        if old.engine.background_pending() > 0 {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let wait = old.engine.longest_async_timeout();
                    old.engine.drain_background_async(wait).await;
                });
            }
        }
        generation
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// A request body as JSON, or why it is not (located, for the 400).
fn json_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "invalid JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        )
    })
}

/// The router.
pub fn router(daemon: Arc<Daemon>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/api/v1/check", post(check))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            problem(
                StatusCode::NOT_FOUND,
                "no such route; POST /api/v1/check decides events",
            )
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(daemon)
}

async fn check(State(daemon): State<Arc<Daemon>>, body: Bytes) -> Response {
    let started = Instant::now();
    let value = match json_body(&body) {
        Ok(v) => v,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    let (values, batch) = match value {
        Value::Array(items) => (items, true),
        other => (vec![other], false),
    };
    if values.len() > daemon.max_batch {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a batch holds at most {} events; this one has {}",
                daemon.max_batch,
                values.len()
            ),
        );
    }
    let mut events = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        match PolicyEvent::from_value(v) {
            Ok(e) => events.push(e),
            Err(e) => {
                let at = if batch {
                    format!("event {i}: ")
                } else {
                    String::new()
                };
                return problem(StatusCode::BAD_REQUEST, format!("{at}{e}"));
            }
        }
    }
    let loaded = daemon.current();
    let offload = loaded.offload;
    let run_async = !offload && loaded.engine.has_async_guards();
    let events_len = events.len();
    let async_events = if run_async {
        std::mem::take(&mut events)
    } else {
        Vec::new()
    };
    let decide = move || -> Vec<clawdstrike_engine::Decision> {
        events.iter().map(|e| loaded.engine.check(e)).collect()
    };
    let decisions = if offload {
        // WebAssembly guards may make blocking host calls: keep them off the async threads.
        match tokio::task::spawn_blocking(decide).await {
            Ok(d) => d,
            Err(e) => {
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("check failed: {e}"),
                )
            }
        }
    } else if run_async {
        let loaded = daemon.current();
        let mut out = Vec::with_capacity(events_len);
        for e in &async_events {
            out.push(loaded.engine.check_async(e).await);
        }
        out
    } else {
        decide()
    };
    for d in &decisions {
        let status = StatusLabel {
            status: d.status.as_str().into(),
        };
        daemon.metrics.decisions.get_or_create(&status).inc();
    }
    let body = if batch {
        serde_json::to_vec(&decisions)
    } else {
        serde_json::to_vec(&decisions[0])
    };
    daemon
        .metrics
        .latency
        .observe(started.elapsed().as_secs_f64());
    match body {
        Ok(b) => ([(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render decisions: {e}"),
        ),
    }
}

async fn healthz(State(daemon): State<Arc<Daemon>>) -> Response {
    let loaded = daemon.current();
    let body = serde_json::json!({
        "status": "ok",
        "policy": {"generation": loaded.generation, "loadedAt": loaded.loaded_at},
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn metrics(State(daemon): State<Arc<Daemon>>) -> Response {
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, &daemon.metrics.registry);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// What `clawdstrike daemon` runs.
pub struct DaemonOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The policy file to watch (none for a built-in ruleset).
    pub watch: Option<std::path::PathBuf>,
    /// How often to look at it.
    pub reload_interval: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Whether checks go to the blocking pool.
    pub offload: bool,
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term => {} }
}

/// Serves until SIGINT or SIGTERM; prints the URL once listening.
pub async fn serve(
    engine: Engine,
    build: EngineFactory,
    options: DaemonOptions,
) -> std::io::Result<()> {
    let daemon = Daemon::new(engine, options.offload);
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    println!(
        "clawdstrike daemon listening on http://{}",
        listener.local_addr()?
    );
    if let Some(path) = options.watch.clone() {
        tokio::spawn(reload::watch(
            daemon.clone(),
            build,
            path,
            options.reload_interval,
            options.offload,
        ));
    }
    let daemon_for_shutdown = daemon.clone();
    axum::serve(listener, router(daemon, options.max_body_bytes))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // Let background checks record their results before the process goes.
    let last = daemon_for_shutdown.current();
    if !last
        .engine
        .drain_background_async(last.engine.longest_async_timeout())
        .await
    {
        eprintln!(
            "warning: {} background check(s) did not finish before shutdown",
            last.engine.background_pending()
        );
    }
    Ok(())
}
