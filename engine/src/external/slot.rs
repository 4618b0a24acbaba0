//! One async guard as the engine runs it: the resilience layer around its calls,
//! `on_timeout` when no answer comes, and background results in the audit log.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;

use super::http::ServiceClient;
use super::service::{ServiceGuard, Subject};
use crate::audit::AuditLog;
use crate::decision::{Severity, Status, Verdict};
use crate::event::PolicyEvent;
use crate::guards::Guard;
use crate::plugin::WasmGuard;
use crate::resilience::{AsyncConfig, Attempt, CallError, ExecutionMode, OnTimeout, Resilience};

/// How long `on_timeout: defer` may fall back on a result past its `ttl_seconds`.
pub const LAST_KNOWN_TTL: Duration = Duration::from_secs(24 * 3600);

/// What the guard is.
#[derive(Debug)]
pub enum SlotKind {
    /// A first-party integration and its HTTP client.
    Service {
        /// The integration.
        guard: Arc<dyn ServiceGuard>,
        /// Its client.
        client: ServiceClient,
    },
    /// A WebAssembly guard with an `async:` block; its check runs on a blocking thread.
    Wasm(Arc<WasmGuard>),
}

/// The work for one event: the cache key and, for services, what to ask.
#[derive(Debug, Clone)]
pub struct Plan {
    key: String,
    subject: Option<Subject>,
}

/// How one run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The verdict (`on_timeout` applied when the service gave none); `None` when the
    /// guard did not examine the event.
    pub verdict: Option<Verdict>,
    /// Wall time of the run.
    pub micros: u64,
    /// Requests made (0 for a cached answer).
    pub attempts: u32,
    /// Answer from the cache.
    pub cached: bool,
    /// Why the service gave no answer, if it did not.
    pub error: Option<CallError>,
}

/// An async guard with its settings and state (cache, breaker, limiter) shared by every
/// event it sees.
pub struct AsyncSlot {
    name: String,
    kind: SlotKind,
    config: AsyncConfig,
    resilience: Resilience<Option<Verdict>>,
    /// Results kept past `ttl_seconds` for `on_timeout: defer` (only when caching is on).
    last_known: Option<moka::sync::Cache<String, Option<Verdict>>>,
    audit: OnceLock<Arc<AuditLog>>,
}

impl std::fmt::Debug for AsyncSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSlot")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AsyncSlot {
    /// A first-party integration under a validated `async:` block. The service's own
    /// default rate limit applies when the block sets none.
    pub fn service(
        guard: Arc<dyn ServiceGuard>,
        mut config: AsyncConfig,
    ) -> Result<AsyncSlot, String> {
        if config.rate_limit.is_none() {
            config.rate_limit = guard.default_rate_limit();
        }
        let client = ServiceClient::new()?;
        let name = guard.name().to_string();
        Ok(Self::build(
            name,
            SlotKind::Service { guard, client },
            config,
        ))
    }

    /// A WebAssembly guard under a validated `async:` block.
    pub fn wasm(mut guard: WasmGuard, config: AsyncConfig) -> AsyncSlot {
        // Its `http-request` calls share the same settings (breaker, limit, retries).
        guard.route_http_through(&config);
        // Nobody waits past `timeout_ms`, so the check need not run longer either.
        guard.cap_wall_clock(std::time::Duration::from_millis(config.timeout_ms));
        let name = guard.name().to_string();
        Self::build(name, SlotKind::Wasm(Arc::new(guard)), config)
    }

    fn build(name: String, kind: SlotKind, config: AsyncConfig) -> AsyncSlot {
        let last_known = config.cache.enabled.then(|| {
            moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(LAST_KNOWN_TTL)
                .build()
        });
        AsyncSlot {
            resilience: Resilience::new(&config),
            name,
            kind,
            config,
            last_known,
            audit: OnceLock::new(),
        }
    }

    /// The guard's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When it runs.
    pub fn mode(&self) -> ExecutionMode {
        self.config.execution_mode
    }

    /// Its settings.
    pub fn config(&self) -> &AsyncConfig {
        &self.config
    }

    /// Send `external_call` and `async_result` records here.
    pub fn set_audit(&self, audit: Arc<AuditLog>) {
        let _ = self.audit.set(audit);
    }

    /// What to do for `event`; `None` when the guard does not examine it.
    pub fn plan(&self, event: &PolicyEvent) -> Option<Plan> {
        let default_key = || format!("{}:{}", self.name, event.event_id);
        match &self.kind {
            SlotKind::Service { guard, .. } => {
                let subject = guard.subject(event)?;
                let key = match &subject.cache_key {
                    Some(k) => format!("{}:{k}", self.name),
                    None => default_key(),
                };
                Some(Plan {
                    key,
                    subject: Some(subject),
                })
            }
            SlotKind::Wasm(guard) => guard.handles().contains(&event.event_type).then(|| Plan {
                key: default_key(),
                subject: None,
            }),
        }
    }

    /// A cached answer within `ttl_seconds`, without any I/O.
    pub fn cached(&self, plan: &Plan) -> Option<Option<Verdict>> {
        self.resilience.cached(&plan.key)
    }

    /// Ask, under every resilience setting; `on_timeout` decides when no answer comes.
    pub async fn run(self: Arc<Self>, event: Arc<PolicyEvent>, plan: Plan) -> Finished {
        let started = Instant::now();
        let audit = self.audit.get().map(Arc::as_ref);
        let result = match &self.kind {
            SlotKind::Service { guard, client } => {
                let subject = plan.subject.as_ref();
                let call = client.call(audit, &self.name, &event.event_id);
                self.resilience
                    .call(&plan.key, || async {
                        match subject {
                            Some(s) => match guard.ask(s, &event, call).await {
                                Attempt::Done(v) => Attempt::Done(Some(v)),
                                Attempt::Retry { error, retry_after } => {
                                    Attempt::Retry { error, retry_after }
                                }
                                Attempt::Fail(e) => Attempt::Fail(e),
                            },
                            None => Attempt::Done(None),
                        }
                    })
                    .await
            }
            SlotKind::Wasm(guard) => {
                self.resilience
                    .call(&plan.key, || {
                        let guard = guard.clone();
                        let event = event.clone();
                        async move {
                            match tokio::task::spawn_blocking(move || guard.check(&event)).await {
                                Ok(v) => Attempt::Done(v),
                                Err(e) => Attempt::Fail(format!("the check did not finish: {e}")),
                            }
                        }
                    })
                    .await
            }
        };
        let micros = started.elapsed().as_micros() as u64;
        match result {
            Ok((verdict, provenance)) => {
                if let Some(last) = &self.last_known {
                    if !provenance.cached {
                        last.insert(plan.key.clone(), verdict.clone());
                    }
                }
                Finished {
                    verdict,
                    micros,
                    attempts: provenance.attempts,
                    cached: provenance.cached,
                    error: None,
                }
            }
            Err(error) => Finished {
                verdict: Some(self.fallback(&plan, &error.to_string())),
                micros,
                attempts: 0,
                cached: false,
                error: Some(error),
            },
        }
    }

    /// The verdict when the service gives no answer: `on_timeout`.
    pub fn fallback(&self, plan: &Plan, why: &str) -> Verdict {
        let why = format!("{}: {why}", self.name);
        let details = |used: &str| {
            Some(json!({"onTimeout": self.config.on_timeout, "reason": why, "used": used}))
        };
        let plain = |status: Status, severity: Severity, word: &str, setting: &str| Verdict {
            status,
            severity,
            message: format!("{why}; {word} (on_timeout: {setting})"),
            details: details("default"),
        };
        match self.config.on_timeout {
            OnTimeout::Allow => plain(Status::Allow, Severity::Low, "allowed", "allow"),
            OnTimeout::Deny => plain(Status::Deny, Severity::High, "denied", "deny"),
            OnTimeout::Warn => plain(Status::Warn, Severity::Medium, "warning", "warn"),
            OnTimeout::Defer => {
                let last = self
                    .last_known
                    .as_ref()
                    .and_then(|c| c.get(&plan.key))
                    .flatten();
                match last {
                    Some(mut v) => {
                        v.message = format!("{} (last known result; {why})", v.message);
                        v.details = details("last_known");
                        v
                    }
                    None => Verdict {
                        status: Status::Warn,
                        severity: Severity::Medium,
                        message: format!(
                            "{why}; no earlier result to defer to, warning (on_timeout: defer)"
                        ),
                        details: details("default"),
                    },
                }
            }
        }
    }

    /// What a background guard contributes now: its `on_timeout` setting.
    pub fn background_default(&self, plan: &Plan, event: &PolicyEvent) -> Verdict {
        let mut v = self.fallback(
            plan,
            &format!(
                "runs in the background; its result goes to the audit log under event `{}`",
                event.event_id
            ),
        );
        if let Some(d) = v.details.as_mut() {
            d["mode"] = "background".into();
        }
        v
    }

    /// Run in the background and record the real result (kind `async_result`) under the
    /// event's id, next to the `returned` verdict the decision used.
    pub async fn run_in_background(
        self: Arc<Self>,
        event: Arc<PolicyEvent>,
        plan: Plan,
        returned: Status,
    ) {
        let finished = self.clone().run(event.clone(), plan).await;
        let Some(audit) = self.audit.get() else {
            return;
        };
        let result = finished.verdict.as_ref().map(|v| {
            json!({"status": v.status, "severity": v.severity, "message": v.message, "details": v.details})
        });
        audit.record_event(
            "async_result",
            json!({
                "guard": self.name,
                "eventId": event.event_id,
                "eventType": event.event_type.as_str(),
                "mode": "background",
                "returned": returned,
                "result": result,
                "durationUs": finished.micros,
                "attempts": finished.attempts,
                "cached": finished.cached,
                "error": finished.error.map(|e| e.to_string()),
            }),
        );
    }
}

/// The table entry of an async guard, so rules and names find it. The engine fills its
/// outcome before any rule looks, so this `check` only runs if that invariant breaks — and
/// then it fails closed.
#[derive(Debug)]
pub struct AsyncPlaceholder {
    name: String,
}

impl AsyncPlaceholder {
    /// For the guard called `name`.
    pub fn new(name: &str) -> Self {
        AsyncPlaceholder { name: name.into() }
    }
}

impl Guard for AsyncPlaceholder {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, _event: &PolicyEvent) -> Option<Verdict> {
        Some(Verdict {
            status: Status::Deny,
            severity: Severity::High,
            message: format!("{}: async guard reached outside the async path", self.name),
            details: None,
        })
    }
}
