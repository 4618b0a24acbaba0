//! The `http-request` host call of a WebAssembly guard with an `async:` block, on the
//! resilience layer (SPEC.md §4): the same circuit breaker, rate limit, retries with
//! backoff (honouring `Retry-After`) and `timeout_ms` deadline as every async guard.
//!
//! Results are cached per check (`guard:eventId`), not per request, so the request-level
//! layer runs with its cache off. What the sandbox refuses (undeclared hosts, sizes) is
//! the sandbox's answer, never retried and never counted against the service.

use std::future::Future;
use std::time::{Duration, Instant};

use super::network::{IncomingResponse, NetworkAccess, OutgoingRequest};
use super::HostCallError;
use crate::resilience::{parse_retry_after, AsyncConfig, Attempt, CallError, Resilience};

type Outcome = Result<IncomingResponse, HostCallError>;

/// A guard's network access under its `async:` settings.
pub struct ResilientNetwork {
    resilience: Resilience<Outcome>,
    timeout: Duration,
}

impl std::fmt::Debug for ResilientNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResilientNetwork")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ResilientNetwork {
    /// From the guard's validated `async:` block.
    pub fn new(config: &AsyncConfig) -> Self {
        let mut per_request = config.clone();
        per_request.cache.enabled = false;
        ResilientNetwork {
            resilience: Resilience::new(&per_request),
            timeout: config.timeout(),
        }
    }

    /// Make the request through the layer; `attempted` sees every attempt (the audit).
    pub fn request(
        &self,
        network: &NetworkAccess,
        req: OutgoingRequest,
        guard_deadline: Instant,
        attempted: &dyn Fn(&Outcome, Duration),
    ) -> Outcome {
        let deadline = guard_deadline.min(Instant::now() + self.timeout);
        let call = self.resilience.call("", || {
            let started = Instant::now();
            let outcome = network.request(req.clone(), deadline);
            attempted(&outcome, started.elapsed());
            std::future::ready(classify(outcome))
        });
        match block_on(call) {
            Ok((outcome, _)) => outcome,
            Err(CallError::Timeout(_)) => Err(HostCallError::Timeout),
            Err(e) => Err(HostCallError::Failed(e.to_string())),
        }
    }
}

/// 429, 5xx, timeouts and connection failures are the service's trouble: retryable.
fn classify(outcome: Outcome) -> Attempt<Outcome> {
    match outcome {
        Ok(r) if r.status == 429 || r.status >= 500 => {
            let retry_after = r
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| parse_retry_after(v, chrono::Utc::now()));
            Attempt::Retry {
                error: format!("answered {}", r.status),
                retry_after,
            }
        }
        Err(e @ (HostCallError::Timeout | HostCallError::Failed(_))) => Attempt::Retry {
            error: e.to_string(),
            retry_after: None,
        },
        other => Attempt::Done(other),
    }
}

/// Host calls are synchronous. Async guards run them on a blocking thread of the engine's
/// runtime, whose timers this reuses; elsewhere a small runtime of this thread's own.
fn block_on<F: Future>(future: F) -> F::Output {
    if tokio::runtime::Handle::try_current().is_ok() {
        return futures_executor::block_on(future);
    }
    thread_local! {
        static RT: Option<tokio::runtime::Runtime> = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .ok();
    }
    RT.with(|rt| match rt {
        Some(rt) => rt.block_on(future),
        None => futures_executor::block_on(future),
    })
}
