//! The resilience layer for calls to external services (SPEC.md §4): one implementation,
//! meant for every async guard and for the `http-request` host call of WebAssembly guards.
//!
//! * [`config`]: the `async:` block of a custom guard, with SPEC's field names, defaults
//!   and validation.
//! * [`breaker`]: a circuit breaker (closed → open after `failure_threshold` failures →
//!   half-open after `reset_timeout_ms` → closed after `success_threshold` successes).
//! * [`retry`]: exponential backoff with full jitter that honours `Retry-After`.
//! * [`limiter`]: requests per second or per minute (governor's GCRA).
//! * [`result_cache`]: results kept for `ttl_seconds` (moka).
//! * [`call`]: [`Resilience::call`] puts them together around one operation, under a
//!   deadline.
//!
//! Each piece takes the time as an argument or uses tokio's clock, so tests run on a
//! paused clock and never sleep.

pub mod breaker;
pub mod call;
pub mod config;
pub mod limiter;
pub mod result_cache;
pub mod retry;

pub use breaker::{BreakerState, CircuitBreaker, Rejected};
pub use call::{Attempt, CallError, Provenance, Resilience};
pub use config::{AsyncConfig, AsyncConfigError, ExecutionMode, OnTimeout};
pub use limiter::RateLimiter;
pub use result_cache::ResultCache;
pub use retry::{parse_retry_after, Backoff};
