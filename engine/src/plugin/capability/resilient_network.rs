//! The `http-request` host call of a WebAssembly guard with an `async:` block, on the
//! resilience layer (SPEC.md §4): the same circuit breaker, rate limit, retries with
//! backoff (honouring `Retry-After`) and `timeout_ms` deadline as every async guard.
//!
//! Every guard's requests go through it; a guard without an `async:` block gets the
//! defaults (a deadline and nothing else). Results are cached per check (`guard:eventId`),
//! not per request, so the request-level layer runs with its cache off. What the sandbox
//! refuses (undeclared hosts, sizes) is the sandbox's answer, never retried and never
//! counted against the service. A 429 or 5xx still standing when retries run out is
//! handed to the guard as the answer it is.

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
        // The last 429/5xx answer: when retries run out, the guard sees it as it came.
        let last_answer = std::cell::RefCell::new(None);
        let call = self.resilience.call("", || {
            let started = Instant::now();
            let outcome = network.request(req.clone(), deadline);
            attempted(&outcome, started.elapsed());
            if let Ok(r) = &outcome {
                if r.status == 429 || r.status >= 500 {
                    *last_answer.borrow_mut() = Some(r.clone());
                }
            }
            std::future::ready(classify(outcome))
        });
        let Some(result) = block_on(call) else {
            return Err(HostCallError::Failed(
                "cannot time the request: no runtime could be started".into(),
            ));
        };
        match (result, last_answer.into_inner()) {
            (Ok((outcome, _)), _) => outcome,
            (Err(CallError::Timeout(_)), _) => Err(HostCallError::Timeout),
            (Err(CallError::Failed(_)), Some(answer)) => Ok(answer),
            (Err(e), _) => Err(HostCallError::Failed(e.to_string())),
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
/// runtime, whose timers this reuses; elsewhere a small process-wide runtime drives the
/// timers. The future itself is polled right here, outside any runtime's executor, so the
/// blocking HTTP client inside it may block.
fn block_on<F: Future>(future: F) -> Option<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Some(futures_executor::block_on(future));
    }
    static TIMERS: std::sync::OnceLock<Option<tokio::runtime::Runtime>> =
        std::sync::OnceLock::new();
    let timers = TIMERS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("clawdstrike-timers")
            .enable_time()
            .build()
            .ok()
    });
    // No runtime could start (no threads left): the call fails rather than run untimed.
    let rt = timers.as_ref()?;
    let _context = rt.enter();
    Some(futures_executor::block_on(future))
}
