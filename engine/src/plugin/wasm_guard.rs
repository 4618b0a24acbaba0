//! A guard that runs as a WebAssembly component: a fresh, limited instance per check.
//!
//! Every way a guard can fail — a trap, running out of CPU time, memory or wall-clock time,
//! reaching for an undeclared capability, returning an error or a malformed verdict —
//! becomes a **deny** with a reason naming the guard and what happened, plus a
//! `plugin_error` audit record. The engine carries on with the next event.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use wasmtime::{Store, Trap, UpdateDeadline};

use super::bindings::{self, GuardPre};
use super::cpu_clock::CpuMeter;
use super::error::PluginError;
use super::instance_state::{truncate, GuardContext, Stop, StoreState};
use super::limits::{CheckLimits, MAX_EVENT_BYTES, MAX_REASON_BYTES, MAX_VERDICT_BYTES};
use super::manifest::{GuardDecl, TrustTier};
use crate::decision::{Severity, Status, Verdict};
use crate::event::{EventType, PolicyEvent};
use crate::guards::Guard;

/// A loaded WebAssembly guard.
pub struct WasmGuard {
    name: String,
    version: String,
    handles: Vec<EventType>,
    code: CodeSlot,
    ctx: Arc<GuardContext>,
    config_json: String,
    limits: CheckLimits,
    tier: TrustTier,
}

impl std::fmt::Debug for WasmGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmGuard")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("handles", &self.handles)
            .field("tier", &self.tier)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The compiled guard a check instantiates: its engine and pre-linked instance.
pub(crate) struct Code {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) pre: GuardPre<StoreState>,
    /// Built by the optimising compiler (not the baseline one).
    pub(crate) optimized: bool,
}

/// Where a guard's code lives. A guard loaded on baseline code gets its optimised code
/// swapped in here when the background compile finishes; checks in flight keep the code
/// they started with.
pub(crate) type CodeSlot = Arc<std::sync::RwLock<Arc<Code>>>;

/// Why one run did not produce a verdict.
#[derive(Debug, Clone, PartialEq)]
enum Failure {
    /// `init` returned an error.
    Init(String),
    /// `check` returned an error.
    GuardError(String),
    /// The host stopped the guard or it trapped.
    Stopped(String),
    /// The verdict broke the contract.
    BadResult(String),
}

impl Failure {
    fn kind(&self) -> &'static str {
        match self {
            Failure::Init(_) => "init",
            Failure::GuardError(_) => "error",
            Failure::Stopped(_) => "stopped",
            Failure::BadResult(_) => "result",
        }
    }
}

impl WasmGuard {
    pub(crate) fn new(
        decl: &GuardDecl,
        code: CodeSlot,
        ctx: Arc<GuardContext>,
        config_json: String,
        limits: CheckLimits,
        tier: TrustTier,
    ) -> Self {
        WasmGuard {
            name: decl.name.clone(),
            version: String::new(),
            handles: decl.handles.clone(),
            code,
            ctx,
            config_json,
            limits,
            tier,
        }
    }

    fn current_code(&self) -> Arc<Code> {
        match self.code.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Whether the guard runs optimised code (false while a first load's optimised
    /// compile is still running in the background).
    pub fn is_optimized(&self) -> bool {
        self.current_code().optimized
    }

    /// Wait up to `timeout` for optimised code; true when it is in place.
    pub fn wait_optimized(&self, timeout: std::time::Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_optimized() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        true
    }

    pub(crate) fn code_slot(&self) -> &CodeSlot {
        &self.code
    }

    /// The tier the guard runs at.
    pub fn tier(&self) -> TrustTier {
        self.tier
    }

    /// The guard's own version, as `describe` reported it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Send its `http-request` host calls through the resilience layer with these
    /// settings (a guard with an `async:` block).
    pub fn route_http_through(&self, config: &crate::resilience::AsyncConfig) {
        let _ =
            self.ctx
                .resilient
                .set(super::capability::resilient_network::ResilientNetwork::new(
                    config,
                ));
    }

    /// Stop each check at `timeout` when that is shorter than `maxTimeoutMs` (a guard
    /// under an `async:` block; see [`CheckLimits::with_async_timeout`]).
    pub fn cap_wall_clock(&mut self, timeout: std::time::Duration) {
        self.limits = self.limits.with_async_timeout(timeout);
    }

    /// The event types the guard examines.
    pub fn handles(&self) -> &[EventType] {
        &self.handles
    }

    /// The per-check limits.
    pub fn limits(&self) -> CheckLimits {
        self.limits
    }

    /// Instantiate once at load: `describe` must agree with the manifest and `init` must
    /// accept the configuration.
    pub(crate) fn probe(&mut self) -> Result<(), PluginError> {
        let describe_err = |message: String| PluginError::Describe {
            guard: self.name.clone(),
            message,
        };
        let (mut store, guard) = self
            .instantiate(None)
            .map_err(|f| describe_err(message_of(&f)))?;
        let info = guard.call_describe(&mut store).map_err(|e| {
            describe_err(format!(
                "describe failed: {}",
                classify(&e, &store, &self.limits)
            ))
        })?;
        if info.name != self.name {
            return Err(describe_err(format!(
                "the component describes itself as `{}`, but the manifest declares `{}`",
                info.name, self.name
            )));
        }
        let mut described: Vec<EventType> = Vec::new();
        for h in &info.handles {
            match EventType::parse(h) {
                Some(t) => described.push(t),
                None => {
                    return Err(describe_err(format!(
                        "describe names unknown event type `{h}`"
                    )))
                }
            }
        }
        let mut declared = self.handles.clone();
        declared.sort_by_key(|t| t.as_str());
        described.sort_by_key(|t| t.as_str());
        declared.dedup();
        described.dedup();
        if declared != described {
            return Err(describe_err(format!(
                "describe handles [{}] but the manifest declares [{}]",
                described
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                declared
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )));
        }
        self.version = truncate(&info.version, 64).to_string();
        self.ctx.audit.set_version(&self.version);
        match guard.call_init(&mut store, &self.config_json) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(PluginError::Init {
                guard: self.name.clone(),
                message: truncate(&message, MAX_REASON_BYTES).to_string(),
            }),
            Err(e) => Err(PluginError::Init {
                guard: self.name.clone(),
                message: classify(&e, &store, &self.limits),
            }),
        }
    }

    fn instantiate(
        &self,
        event_id: Option<&str>,
    ) -> Result<(Store<StoreState>, bindings::Guard), Failure> {
        let state = StoreState::new(self.ctx.clone(), &self.limits, event_id.map(String::from));
        let code = self.current_code();
        let mut store = Store::new(&code.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Both limits are checked on this thread at every epoch tick: its own CPU clock
        // for `maxCpuMs` (so a slower or busier host, or baseline code, buys a guard no
        // extra CPU), the wall clock for `maxTimeoutMs`.
        let limits = self.limits;
        let meter = CpuMeter::start();
        store.epoch_deadline_callback(move |_| {
            if meter.used() >= limits.cpu {
                return Err(Stop::Cpu {
                    limit_ms: limits.cpu.as_millis(),
                }
                .into());
            }
            if meter.elapsed() >= limits.wall + limits.wall_grace {
                return Err(Stop::Wall {
                    limit_ms: limits.wall.as_millis(),
                    setting: limits.wall_setting,
                }
                .into());
            }
            Ok(UpdateDeadline::Continue(1))
        });
        store.set_epoch_deadline(1);
        match code.pre.instantiate(&mut store) {
            Ok(guard) => Ok((store, guard)),
            Err(e) => {
                let message = classify(&e, &store, &self.limits);
                Err(Failure::Stopped(format!("could not start: {message}")))
            }
        }
    }

    /// One `init` + `check` on a fresh instance.
    fn run(&self, event_id: &str, event_json: &str) -> (Result<Verdict, Failure>, String) {
        let (mut store, guard) = match self.instantiate(Some(event_id)) {
            Ok(v) => v,
            Err(f) => return (Err(f), String::new()),
        };
        let result = match guard.call_init(&mut store, &self.config_json) {
            Ok(Ok(())) => match guard.call_check(&mut store, event_json) {
                Ok(Ok(verdict)) => convert(verdict),
                Ok(Err(message)) => Err(Failure::GuardError(
                    truncate(&message, MAX_REASON_BYTES).to_string(),
                )),
                Err(e) => Err(Failure::Stopped(classify(&e, &store, &self.limits))),
            },
            Ok(Err(message)) => Err(Failure::Init(
                truncate(&message, MAX_REASON_BYTES).to_string(),
            )),
            Err(e) => Err(Failure::Stopped(classify(&e, &store, &self.limits))),
        };
        let log = store.data_mut().take_log();
        (result, log)
    }
}

fn message_of(f: &Failure) -> String {
    match f {
        Failure::Init(m) | Failure::GuardError(m) | Failure::Stopped(m) | Failure::BadResult(m) => {
            m.clone()
        }
    }
}

/// Say which limit or fault stopped a guard.
fn classify(err: &wasmtime::Error, store: &Store<StoreState>, limits: &CheckLimits) -> String {
    let state = store.data();
    if let Some(stop) = state.violation.as_ref().or(state.limiter.hit.as_ref()) {
        return stop.to_string();
    }
    if let Some(stop) = err.downcast_ref::<Stop>() {
        return stop.to_string();
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => format!(
                "ran past its wall-clock limit of {} ms ({})",
                limits.wall.as_millis(),
                limits.wall_setting
            ),
            Trap::StackOverflow => "overflowed its stack (unbounded recursion?)".to_string(),
            Trap::UnreachableCodeReached => {
                "trapped: unreachable code was reached (a panic or abort in the guard)".to_string()
            }
            // A Rust guest keeps its stack in linear memory: when it overflows, the stack
            // pointer leaves memory and the next access traps here.
            Trap::MemoryOutOfBounds => {
                "trapped: out-of-bounds memory access (in a Rust guard, usually its stack \
                 overflowing through unbounded recursion)"
                    .to_string()
            }
            other => format!("trapped: {other}"),
        };
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return format!("called exit({})", exit.0);
    }
    format!(
        "failed: {}",
        truncate(&format!("{err:#}"), MAX_REASON_BYTES)
    )
}

/// Check a guest verdict against the contract and turn it into the engine's.
fn convert(v: bindings::Verdict) -> Result<Verdict, Failure> {
    let size = v.reason.as_ref().map_or(0, String::len)
        + v.details.as_ref().map_or(0, String::len)
        + v.remediation.as_ref().map_or(0, String::len);
    if size > MAX_VERDICT_BYTES {
        return Err(Failure::BadResult(format!(
            "returned a verdict of {size} bytes; the limit is {MAX_VERDICT_BYTES}"
        )));
    }
    let status = match v.status {
        bindings::Status::Allow => Status::Allow,
        bindings::Status::Warn => Status::Warn,
        bindings::Status::Deny => Status::Deny,
    };
    let severity = match v.severity {
        Some(bindings::Severity::Low) => Severity::Low,
        Some(bindings::Severity::Medium) => Severity::Medium,
        Some(bindings::Severity::High) => Severity::High,
        Some(bindings::Severity::Critical) => Severity::Critical,
        None => match status {
            Status::Allow => Severity::Low,
            Status::Warn => Severity::Medium,
            Status::Deny => Severity::High,
        },
    };
    let mut details = match v.details.as_deref() {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Some(Value::Object(map)),
            Ok(_) => {
                return Err(Failure::BadResult(
                    "returned details that are not a JSON object".into(),
                ))
            }
            Err(e) => {
                return Err(Failure::BadResult(format!(
                    "returned details that are not valid JSON: {e}"
                )))
            }
        },
    };
    if let Some(r) = v.remediation {
        let map = details.get_or_insert_with(|| json!({}));
        map["remediation"] = Value::String(truncate(&r, MAX_REASON_BYTES).to_string());
    }
    let message = match v.reason {
        Some(r) => truncate(&r, MAX_REASON_BYTES).to_string(),
        None => String::new(),
    };
    Ok(Verdict {
        status,
        severity,
        message,
        details,
    })
}

impl Guard for WasmGuard {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.handles.contains(&event.event_type) {
            return None;
        }
        let started = Instant::now();
        let (result, log) = match serde_json::to_string(event) {
            Ok(json) if json.len() <= MAX_EVENT_BYTES => self.run(&event.event_id, &json),
            Ok(json) => (
                Err(Failure::BadResult(format!(
                    "the event is {} bytes; a guard accepts at most {MAX_EVENT_BYTES}",
                    json.len()
                ))),
                String::new(),
            ),
            Err(e) => (
                Err(Failure::BadResult(format!(
                    "the event could not be encoded: {e}"
                ))),
                String::new(),
            ),
        };
        let elapsed = started.elapsed();
        let audit = &self.ctx.audit;
        let event_type = event.event_type.as_str();
        Some(match result {
            Ok(mut verdict) => {
                if verdict.message.is_empty() {
                    verdict.message = format!("guard `{}` returned {}", self.name, verdict.status);
                }
                audit.check(
                    &event.event_id,
                    event_type,
                    || json!({"status": verdict.status, "severity": verdict.severity, "reason": verdict.message}),
                    elapsed,
                    &log,
                );
                verdict
            }
            Err(failure) => {
                let reason = message_of(&failure);
                audit.error(Some(&event.event_id), failure.kind(), &reason, &log);
                audit.check(
                    &event.event_id,
                    event_type,
                    || json!({"status": "deny", "failure": failure.kind(), "reason": reason}),
                    elapsed,
                    &log,
                );
                let message = match &failure {
                    Failure::GuardError(m) => format!(
                        "{m} (guard `{}` returned an error; failing closed)",
                        self.name
                    ),
                    Failure::Init(m) => format!(
                        "guard `{}` refused its configuration: {m}; failing closed",
                        self.name
                    ),
                    Failure::Stopped(m) => {
                        format!("guard `{}` was stopped: {m}; failing closed", self.name)
                    }
                    Failure::BadResult(m) => format!("guard `{}` {m}; failing closed", self.name),
                };
                Verdict::deny(Severity::High, message)
                    .with_details(json!({"failure": failure.kind(), "guard": self.name}))
            }
        })
    }
}
