//! Every limit the WebAssembly guard host enforces, in one place.
//!
//! Per-guard limits come from the manifest's `resources` (capped by the trust tier, see
//! [`crate::plugin::manifest`]); the constants here bound what no manifest can raise and
//! size the host's own buffers. Changing one of these changes the sandbox: say why in the
//! commit.

use std::time::Duration;

use crate::plugin::manifest::Resources;

/// How often the epoch ticker advances the engine's epoch. At every tick each running
/// guard's store calls back on the guard's own thread, which reads that thread's CPU
/// clock and the wall clock: a guard stops within about one tick of either limit.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The documented bound on how far a guard may run past `maxCpuMs` of CPU time: the
/// larger of 10 % of the budget and 5 ms (in practice about one [`EPOCH_TICK`]).
pub fn cpu_overshoot_bound(budget: Duration) -> Duration {
    (budget / 10).max(Duration::from_millis(5))
}

/// Native stack available to a guard's WebAssembly code. Unbounded recursion traps
/// with a stack overflow instead of taking the process down.
pub const MAX_WASM_STACK: usize = 512 * 1024;

/// Largest linear memory any guard may have, whatever its manifest says; also the size
/// of a pooling-allocator memory slot.
pub const MAX_MEMORY_BYTES: usize = 1 << 30;

/// Concurrent guard instances the pooling allocator can hold (one per check in flight).
pub const POOL_COMPONENT_INSTANCES: u32 = 128;

/// Core module instances in the pool (a ComponentizeJS guard uses several per instance).
pub const POOL_CORE_INSTANCES: u32 = 1024;

/// Bytes of each memory slot reset in place (not unmapped) when an instance ends.
pub const POOL_KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Linear memories in the pool.
pub const POOL_MEMORIES: u32 = 512;

/// Tables in the pool.
pub const POOL_TABLES: u32 = 1024;

/// Memories one component instance may create.
pub const MAX_MEMORIES_PER_COMPONENT: u32 = 16;

/// Tables one component instance may create.
pub const MAX_TABLES_PER_COMPONENT: u32 = 64;

/// Core instances one component instance may create.
pub const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 128;

/// Elements in one table.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Largest component file the host will read.
pub const MAX_COMPONENT_BYTES: u64 = 64 << 20;

/// Largest event JSON handed to a guard; a larger event is denied without running it.
pub const MAX_EVENT_BYTES: usize = 4 << 20;

/// Largest verdict text a guard may return (reason + details + remediation).
pub const MAX_VERDICT_BYTES: usize = 64 << 10;

/// Longest `reason` kept from a guard; longer ones are cut at a character boundary.
pub const MAX_REASON_BYTES: usize = 4 << 10;

/// Bytes of log (host `log` calls plus stdout/stderr) kept per check.
pub const MAX_LOG_BYTES_PER_CHECK: usize = 64 << 10;

/// Longest single log message kept.
pub const MAX_LOG_MESSAGE_BYTES: usize = 4 << 10;

/// Largest file `read-file` returns.
pub const MAX_READ_FILE_BYTES: u64 = 8 << 20;

/// Longest path `read-file` accepts.
pub const MAX_PATH_BYTES: usize = 4096;

/// Longest URL `http-request` accepts.
pub const MAX_URL_BYTES: usize = 8192;

/// Most request headers, and their total size.
pub const MAX_REQUEST_HEADERS: usize = 64;
/// Total size of request headers.
pub const MAX_REQUEST_HEADER_BYTES: usize = 16 << 10;

/// The longest any HTTP request may take, whatever the guard asks.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Redirects followed (each one checked against the allowlist).
pub const MAX_REDIRECTS: usize = 5;

/// Host `state` store: longest key, largest value, most keys, total bytes per guard.
pub const STATE_MAX_KEY_BYTES: usize = 256;
/// Largest value in the `state` store.
pub const STATE_MAX_VALUE_BYTES: usize = 64 << 10;
/// Most keys in the `state` store.
pub const STATE_MAX_KEYS: usize = 1024;
/// Total bytes (keys + values) in one guard's `state` store.
pub const STATE_MAX_TOTAL_BYTES: usize = 1 << 20;

/// The limits applied to one check of one guard, derived from its manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckLimits {
    /// Linear memory cap in bytes.
    pub memory_bytes: usize,
    /// CPU time for one `init` + `check` (the checking thread's CPU clock).
    pub cpu: Duration,
    /// Wall-clock budget for one `init` + `check`, host calls included.
    pub wall: Duration,
    /// The setting `wall` comes from, for messages: `maxTimeoutMs`, or the `async:`
    /// block's `timeout_ms` when that is shorter.
    pub wall_setting: &'static str,
    /// How long past `wall` the guard is actually stopped: zero, or
    /// [`ASYNC_STOP_GRACE`] under an `async:` block.
    pub wall_grace: Duration,
}

/// Under an `async:` block the async layer answers at `timeout_ms` (with `on_timeout`);
/// the guard's own run is stopped this much later, so that a run stopped at the same
/// instant never races the layer's timeout and turns a documented `on_timeout` into a
/// deny. It only bounds how long a runaway guard holds its thread.
pub const ASYNC_STOP_GRACE: Duration = Duration::from_millis(25);

impl CheckLimits {
    /// The limits for a guard with these declared resources.
    pub fn from_resources(resources: &Resources) -> Self {
        let memory = (resources.max_memory_mb as usize).saturating_mul(1 << 20);
        CheckLimits {
            memory_bytes: memory.min(MAX_MEMORY_BYTES),
            cpu: Duration::from_millis(u64::from(resources.max_cpu_ms)),
            wall: Duration::from_millis(u64::from(resources.max_timeout_ms)),
            wall_setting: "maxTimeoutMs",
            wall_grace: Duration::ZERO,
        }
    }

    /// These limits with the wall clock cut to `max` when that is shorter: a guard under
    /// an `async:` block is not waited for past its `timeout_ms`, so running longer
    /// would only hold an instance and a thread for an answer nobody takes.
    pub fn with_async_timeout(mut self, max: Duration) -> Self {
        if max < self.wall {
            self.wall = max;
            self.wall_setting = "async.timeout_ms";
            self.wall_grace = ASYNC_STOP_GRACE;
        }
        self
    }
}

/// Request body cap for a guard declaring `network: true` (no size fields to read).
pub const ANY_HOST_MAX_REQUEST_BYTES: u64 = 1 << 20;
/// Response body cap for a guard declaring `network: true`.
pub const ANY_HOST_MAX_RESPONSE_BYTES: u64 = 10 << 20;
