//! What one guard instance sees while it runs: the store data, its resource limiter and
//! the host functions of the world, each gated by a capability.
//!
//! A store lives for one `init` + `check` and is dropped afterwards, so nothing leaks
//! from one check to the next; what a guard shares across checks is in
//! [`GuardContext`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::audit::PluginAudit;
use super::bindings::clawdstrike::guard::{host, state, types};
use super::capability::filesystem::FileReadAccess;
use super::capability::network::{NetworkAccess, OutgoingRequest};
use super::capability::secrets::SecretAccess;
use super::capability::HostCallError;
use super::limits::{
    CheckLimits, MAX_CORE_INSTANCES_PER_COMPONENT, MAX_LOG_BYTES_PER_CHECK, MAX_LOG_MESSAGE_BYTES,
    MAX_MEMORIES_PER_COMPONENT, MAX_TABLES_PER_COMPONENT, MAX_TABLE_ELEMENTS,
};
use super::state_store::StateStore;

/// What a loaded guard keeps across checks: its capabilities, state and audit identity.
#[derive(Debug)]
pub struct GuardContext {
    /// The guard name.
    pub guard: String,
    /// Network access as declared.
    pub network: NetworkAccess,
    /// File reads as declared.
    pub files: FileReadAccess,
    /// Secrets as declared.
    pub secrets: SecretAccess,
    /// The `state` store.
    pub state: StateStore,
    /// Audit records for this guard.
    pub audit: PluginAudit,
    /// Set for a guard with an `async:` block: `http-request` goes through the
    /// resilience layer.
    pub resilient: std::sync::OnceLock<super::capability::resilient_network::ResilientNetwork>,
}

/// Why the host stopped a guard (as opposed to the guard trapping by itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// A capability the manifest does not declare.
    #[error("{0}")]
    Undeclared(HostCallError),
    /// The memory cap was hit.
    #[error("exceeded its memory limit of {limit_mb} MB")]
    Memory {
        /// The cap in MB.
        limit_mb: usize,
    },
    /// A table, instance or memory count limit was hit.
    #[error("exceeded a resource limit: {0}")]
    Resource(String),
    /// `maxCpuMs` of the checking thread's CPU time was used up.
    #[error("used up its CPU budget of {limit_ms} ms (maxCpuMs)")]
    Cpu {
        /// The budget in ms.
        limit_ms: u128,
    },
    /// The wall-clock limit passed.
    #[error("ran past its wall-clock limit of {limit_ms} ms ({setting})")]
    Wall {
        /// The limit in ms.
        limit_ms: u128,
        /// The setting it comes from (`maxTimeoutMs` or `async.timeout_ms`).
        setting: &'static str,
    },
}

/// Enforces the memory cap and records which limit stopped the guard.
#[derive(Debug)]
pub struct GuardLimiter {
    memory_bytes: usize,
    /// Set when a limit refused a growth.
    pub hit: Option<Stop>,
}

impl ResourceLimiter for GuardLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            let stop = Stop::Memory {
                limit_mb: self.memory_bytes >> 20,
            };
            self.hit = Some(stop.clone());
            // Trap rather than return -1: a guard that runs out of memory is stopped.
            return Err(wasmtime::Error::new(stop));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            let stop = Stop::Resource(format!("a table of {desired} elements"));
            self.hit = Some(stop.clone());
            return Err(wasmtime::Error::new(stop));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES_PER_COMPONENT as usize
    }

    fn tables(&self) -> usize {
        MAX_TABLES_PER_COMPONENT as usize
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES_PER_COMPONENT as usize
    }
}

/// The store data of one guard instance.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory and table limits.
    pub limiter: GuardLimiter,
    ctx: Arc<GuardContext>,
    deadline: Instant,
    event_id: Option<String>,
    log: String,
    log_dropped: usize,
    stdout: MemoryOutputPipe,
    /// The first undeclared-capability call, which stopped the guard.
    pub violation: Option<Stop>,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl StoreState {
    /// Fresh state for one run with these limits, starting now.
    pub fn new(ctx: Arc<GuardContext>, limits: &CheckLimits, event_id: Option<String>) -> Self {
        let stdout = MemoryOutputPipe::new(MAX_LOG_BYTES_PER_CHECK);
        // Deny-all WASI: no arguments, no environment, no preopened directories, no
        // sockets, no name lookups, stdin empty, stdout/stderr into a capped buffer, a
        // fixed seed for randomness.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stdout.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .secure_random(wasmtime_wasi::Deterministic::new(vec![
                0x5a, 0xa5, 0x3c, 0xc3,
            ]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0x17, 0x71]))
            .insecure_random_seed(0x0123_4567_89ab_cdef)
            .build();
        StoreState {
            wasi,
            table: ResourceTable::new(),
            limiter: GuardLimiter {
                memory_bytes: limits.memory_bytes,
                hit: None,
            },
            ctx,
            deadline: Instant::now() + limits.wall,
            event_id,
            log: String::new(),
            log_dropped: 0,
            stdout,
            violation: None,
        }
    }

    /// The guard's log for this run: `log` calls, then anything written to stdout/stderr.
    pub fn take_log(&mut self) -> String {
        let mut log = std::mem::take(&mut self.log);
        let out = self.stdout.contents();
        if !out.is_empty() {
            log.push_str("[stdio] ");
            log.push_str(&String::from_utf8_lossy(&out));
        }
        if self.log_dropped > 0 {
            log.push_str(&format!("\n[{} bytes of log dropped]", self.log_dropped));
        }
        log
    }

    fn append_log(&mut self, level: &str, message: &str) {
        let message = truncate(message, MAX_LOG_MESSAGE_BYTES);
        let line_len = level.len() + message.len() + 3;
        if self.log.len() + line_len > MAX_LOG_BYTES_PER_CHECK {
            self.log_dropped += line_len;
            return;
        }
        if !self.log.is_empty() {
            self.log.push('\n');
        }
        self.log.push('[');
        self.log.push_str(level);
        self.log.push_str("] ");
        self.log.push_str(message);
    }

    /// Audit a capability use and turn the outcome into what the guest sees: a value,
    /// a `host-error`, or (for an undeclared capability) a trap that stops the guard.
    fn finish<T>(
        &mut self,
        capability: &'static str,
        resource: &str,
        outcome: Result<T, HostCallError>,
    ) -> wasmtime::Result<Result<T, host::HostError>> {
        let event_id = self.event_id.as_deref();
        match outcome {
            Ok(v) => {
                self.ctx
                    .audit
                    .capability_used(capability, resource, event_id);
                Ok(Ok(v))
            }
            Err(e) => {
                if e.is_denial() {
                    self.ctx.audit.capability_denied(
                        capability,
                        resource,
                        &e.to_string(),
                        event_id,
                    );
                }
                match e {
                    HostCallError::Undeclared { .. } => {
                        let stop = Stop::Undeclared(e);
                        self.violation.get_or_insert(stop.clone());
                        Err(wasmtime::Error::new(stop))
                    }
                    HostCallError::Denied(m) => Ok(Err(host::HostError::Denied(m))),
                    HostCallError::NotFound => Ok(Err(host::HostError::NotFound)),
                    HostCallError::Timeout => Ok(Err(host::HostError::Timeout)),
                    HostCallError::TooLarge(_) => Ok(Err(host::HostError::TooLarge)),
                    HostCallError::Failed(m) => Ok(Err(host::HostError::Failed(m))),
                }
            }
        }
    }
}

/// Cut `s` to at most `max` bytes at a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl types::Host for StoreState {}

impl host::Host for StoreState {
    fn log(&mut self, level: host::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            host::LogLevel::Trace => "trace",
            host::LogLevel::Debug => "debug",
            host::LogLevel::Info => "info",
            host::LogLevel::Warn => "warn",
            host::LogLevel::Error => "error",
        };
        tracing::debug!(guard = %self.ctx.guard, level, message = %truncate(&message, 256), "guard log");
        self.append_log(level, &message);
        Ok(())
    }

    fn http_request(
        &mut self,
        request: host::Request,
    ) -> wasmtime::Result<Result<host::Response, host::HostError>> {
        let resource = format!("{} {}", request.method, truncate(&request.url, 512));
        let outgoing = OutgoingRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout: request
                .timeout_ms
                .map(|ms| Duration::from_millis(ms.into())),
        };
        let ctx = &self.ctx;
        let event_id = self.event_id.as_deref();
        let request_bytes = outgoing.body.as_ref().map_or(0, Vec::len);
        // One `plugin_http` record per request actually attempted.
        let attempted = |outcome: &Result<_, HostCallError>, elapsed: Duration| {
            let detail = match outcome {
                Ok(r) => {
                    let r: &super::capability::network::IncomingResponse = r;
                    json!({"status": r.status, "requestBytes": request_bytes, "responseBytes": r.body.len()})
                }
                Err(e) => json!({"error": e.to_string(), "requestBytes": request_bytes}),
            };
            ctx.audit.http_call(&resource, elapsed, detail, event_id);
        };
        // Every request goes through the resilience layer: the guard's `async:` settings
        // if it has them, else the defaults (a deadline, nothing else).
        let layer = ctx.resilient.get_or_init(|| {
            super::capability::resilient_network::ResilientNetwork::new(
                &crate::resilience::AsyncConfig::default(),
            )
        });
        let outcome = layer.request(&ctx.network, outgoing, self.deadline, &attempted);
        let outcome = outcome.map(|r| host::Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        });
        self.finish("network", &resource, outcome)
    }

    fn read_file(&mut self, path: String) -> wasmtime::Result<Result<Vec<u8>, host::HostError>> {
        let outcome = self.ctx.files.read(&path);
        self.finish("filesystem.read", truncate(&path, 1024), outcome)
    }

    fn get_secret(&mut self, name: String) -> wasmtime::Result<Result<String, host::HostError>> {
        let outcome = self.ctx.secrets.get(&name);
        // The audit names the secret, never its value.
        self.finish("secrets", truncate(&name, 256), outcome)
    }
}

impl state::Host for StoreState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.ctx.state.get(&key))
    }

    fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), host::HostError>> {
        Ok(self
            .ctx
            .state
            .set(&key, value)
            .map_err(|_| host::HostError::TooLarge))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.ctx.state.delete(&key);
        Ok(())
    }
}
