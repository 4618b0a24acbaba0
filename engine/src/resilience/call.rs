//! One resilient call: cache, circuit breaker, rate limit, retries with backoff, and a
//! deadline over all of it — in that order, so a cached answer costs no permit and an open
//! circuit costs no request.

use std::future::Future;
use std::time::{Duration, Instant};

use super::{AsyncConfig, Backoff, CircuitBreaker, RateLimiter, ResultCache};

/// What one attempt of the operation reports.
#[derive(Debug)]
pub enum Attempt<V> {
    /// Success.
    Done(V),
    /// A failure worth retrying (5xx, 429, a reset connection), with the server's
    /// `Retry-After` if it sent one.
    Retry {
        /// What went wrong.
        error: String,
        /// The server's requested wait.
        retry_after: Option<Duration>,
    },
    /// A failure that retrying cannot fix (4xx, a malformed answer).
    Fail(String),
}

/// Why a call produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The deadline (`timeout_ms`) passed first.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The circuit is open; no request was made.
    #[error("circuit open; next trial in {0:?}")]
    CircuitOpen(Duration),
    /// The rate limit has no permit now (the call does not wait for one); no request
    /// was made.
    #[error("rate limited; next permit in {0:?}")]
    RateLimited(Duration),
    /// The operation failed (after its retries, if the failure was retryable).
    #[error("{0}")]
    Failed(String),
}

/// How an answer was obtained (for the audit record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// From the cache (no request made).
    pub cached: bool,
    /// Requests made.
    pub attempts: u32,
}

/// The resilience settings of one guard, shared by all of its calls.
pub struct Resilience<V: Clone + Send + Sync + 'static> {
    timeout: Duration,
    cache: Option<ResultCache<V>>,
    limiter: Option<RateLimiter>,
    breaker: Option<CircuitBreaker>,
    backoff: Option<Backoff>,
}

impl<V: Clone + Send + Sync + 'static> std::fmt::Debug for Resilience<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resilience")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// An admitted attempt's claim on the breaker: settled with its outcome, or counted as a
/// failure when dropped unsettled (the deadline cancelled it).
struct PendingAttempt<'a> {
    breaker: Option<&'a CircuitBreaker>,
}

impl PendingAttempt<'_> {
    fn settle(mut self, ok: bool) {
        if let Some(b) = self.breaker.take() {
            b.record(ok, Instant::now());
        }
    }
}

impl Drop for PendingAttempt<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.breaker.take() {
            b.record(false, Instant::now());
        }
    }
}

fn jitter_unit() -> f64 {
    let mut b = [0u8; 8];
    // Without randomness the backoff stays correct, only less spread.
    let _ = getrandom::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

impl<V: Clone + Send + Sync + 'static> Resilience<V> {
    /// From a validated `async:` block.
    pub fn new(config: &AsyncConfig) -> Resilience<V> {
        Resilience {
            timeout: config.timeout(),
            cache: config
                .cache
                .enabled
                .then(|| ResultCache::new(Duration::from_secs(config.cache.ttl_seconds), 100_000)),
            limiter: config.rate_limit.as_ref().map(RateLimiter::new),
            breaker: config.circuit_breaker.map(CircuitBreaker::new),
            backoff: config.retry.map(Backoff::new),
        }
    }

    /// A cached answer, if any (for `on_timeout: defer`).
    pub fn cached(&self, key: &str) -> Option<V> {
        self.cache.as_ref()?.get(key)
    }

    /// Runs `op` (called once per attempt) under every setting; `key` selects the cache
    /// entry (`guard:eventId` by default, or the guard's own key).
    pub async fn call<F, Fut>(&self, key: &str, mut op: F) -> Result<(V, Provenance), CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<V>>,
    {
        if let Some(v) = self.cached(key) {
            return Ok((
                v,
                Provenance {
                    cached: true,
                    attempts: 0,
                },
            ));
        }
        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut attempts = 0u32;
        let work = async {
            loop {
                if let Some(b) = &self.breaker {
                    b.admit(Instant::now())
                        .map_err(|r| CallError::CircuitOpen(r.retry_in))?;
                }
                if let Some(l) = &self.limiter {
                    if let Err(wait) = l.try_acquire() {
                        if let Some(b) = &self.breaker {
                            // The admitted trial did not happen: count it as neither.
                            b.release();
                        }
                        return Err(CallError::RateLimited(wait));
                    }
                }
                attempts += 1;
                // If the deadline drops this attempt mid-flight, it counts as a failure:
                // a service that hangs must open the circuit, and a half-open trial must
                // not hold its slot forever.
                let pending = PendingAttempt {
                    breaker: self.breaker.as_ref(),
                };
                let outcome = op().await;
                let ok = matches!(outcome, Attempt::Done(_));
                pending.settle(ok);
                match outcome {
                    Attempt::Done(v) => return Ok(v),
                    Attempt::Fail(e) => return Err(CallError::Failed(e)),
                    Attempt::Retry { error, retry_after } => {
                        let Some(backoff) = &self.backoff else {
                            return Err(CallError::Failed(error));
                        };
                        if attempts > backoff.max_retries() {
                            return Err(CallError::Failed(format!(
                                "{error} (after {attempts} attempts)"
                            )));
                        }
                        let wait = backoff.delay(attempts, jitter_unit(), retry_after);
                        if Instant::now() + wait >= deadline {
                            // Waiting would outlive the deadline: fail now with the real cause.
                            return Err(CallError::Failed(format!(
                                "{error} (no time left to retry)"
                            )));
                        }
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        };
        let value = match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r?,
            Err(_) => return Err(CallError::Timeout(self.timeout)),
        };
        if let Some(c) = &self.cache {
            c.insert(key.to_string(), value.clone());
        }
        Ok((
            value,
            Provenance {
                cached: false,
                attempts,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn resilience(block: serde_json::Value) -> Resilience<u32> {
        Resilience::new(&AsyncConfig::from_value(&block).unwrap())
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_cached_answer_is_reused_within_the_ttl_without_a_request() {
        let r = resilience(json!({"cache": {"ttl_seconds": 60}}));
        let calls = AtomicU32::new(0);
        rt().block_on(async {
            for _ in 0..3 {
                let (v, p) = r
                    .call("g:e1", || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Attempt::Done(7)
                    })
                    .await
                    .unwrap();
                assert_eq!(v, 7);
                assert!(p.attempts <= 1);
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn retries_back_off_and_then_succeed_or_give_up() {
        let r = resilience(json!({"cache": {"enabled": false},
            "retry": {"max_retries": 2, "initial_backoff_ms": 1, "max_backoff_ms": 5}}));
        let calls = AtomicU32::new(0);
        rt().block_on(async {
            let (v, p) = r
                .call("k", || async {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        Attempt::Retry {
                            error: "503".into(),
                            retry_after: None,
                        }
                    } else {
                        Attempt::Done(1)
                    }
                })
                .await
                .unwrap();
            assert_eq!((v, p.attempts), (1, 3));
            let e = r
                .call("k", || async {
                    Attempt::<u32>::Retry {
                        error: "503".into(),
                        retry_after: None,
                    }
                })
                .await
                .unwrap_err();
            assert!(
                matches!(&e, CallError::Failed(m) if m.contains("after 3 attempts")),
                "{e}"
            );
            let e = r
                .call("k", || async { Attempt::<u32>::Fail("404".into()) })
                .await
                .unwrap_err();
            assert_eq!(e, CallError::Failed("404".into()));
        });
    }

    #[test]
    fn a_retry_after_longer_than_the_deadline_fails_at_once() {
        let r = resilience(json!({"timeout_ms": 200, "cache": {"enabled": false},
            "retry": {"max_retries": 3, "initial_backoff_ms": 1, "max_backoff_ms": 60000}}));
        rt().block_on(async {
            let started = Instant::now();
            let e = r
                .call("k", || async {
                    Attempt::<u32>::Retry {
                        error: "429".into(),
                        retry_after: Some(Duration::from_secs(30)),
                    }
                })
                .await
                .unwrap_err();
            assert!(
                matches!(&e, CallError::Failed(m) if m.contains("429")),
                "{e}"
            );
            assert!(started.elapsed() < Duration::from_millis(150));
        });
    }

    #[test]
    fn a_slow_service_times_out_at_the_deadline() {
        let r = resilience(json!({"timeout_ms": 50, "cache": {"enabled": false}}));
        rt().block_on(async {
            let e = r
                .call("k", || async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Attempt::Done(1)
                })
                .await
                .unwrap_err();
            assert_eq!(e, CallError::Timeout(Duration::from_millis(50)));
        });
    }

    #[test]
    fn a_burst_of_failures_opens_the_circuit_and_no_request_is_made_while_open() {
        let r = resilience(json!({"cache": {"enabled": false},
            "circuit_breaker": {"failure_threshold": 3, "reset_timeout_ms": 60000, "success_threshold": 1}}));
        let calls = AtomicU32::new(0);
        rt().block_on(async {
            for _ in 0..3 {
                let _ = r
                    .call("k", || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Attempt::<u32>::Retry {
                            error: "500".into(),
                            retry_after: None,
                        }
                    })
                    .await;
            }
            let e = r
                .call("k", || async { Attempt::Done(1) })
                .await
                .unwrap_err();
            assert!(matches!(e, CallError::CircuitOpen(_)), "{e}");
        });
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_rate_limit_refuses_without_a_request() {
        let r = resilience(
            json!({"cache": {"enabled": false}, "rate_limit": {"requests_per_minute": 2}}),
        );
        rt().block_on(async {
            for _ in 0..2 {
                r.call("k", || async { Attempt::Done(1) }).await.unwrap();
            }
            let e = r
                .call("k", || async { Attempt::Done(1) })
                .await
                .unwrap_err();
            assert!(
                matches!(e, CallError::RateLimited(w) if w > Duration::from_secs(10)),
                "{e}"
            );
        });
    }

    #[test]
    fn an_attempt_cut_off_by_the_deadline_counts_as_a_failure() {
        let r = resilience(json!({"timeout_ms": 20, "cache": {"enabled": false},
            "circuit_breaker": {"failure_threshold": 1, "reset_timeout_ms": 30, "success_threshold": 1}}));
        let calls = AtomicU32::new(0);
        let hang = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            Attempt::Done(1)
        };
        rt().block_on(async {
            assert!(matches!(
                r.call("k", hang).await,
                Err(CallError::Timeout(_))
            ));
            // A hanging service opens the circuit like a failing one.
            assert!(matches!(
                r.call("k", hang).await,
                Err(CallError::CircuitOpen(_))
            ));
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            // A half-open trial that hangs reopens it rather than holding the slot.
            tokio::time::sleep(Duration::from_millis(40)).await;
            assert!(matches!(
                r.call("k", hang).await,
                Err(CallError::Timeout(_))
            ));
            assert!(matches!(
                r.call("k", hang).await,
                Err(CallError::CircuitOpen(_))
            ));
            tokio::time::sleep(Duration::from_millis(40)).await;
            let ok = r.call("k", || async { Attempt::Done(7) }).await;
            assert_eq!(ok.unwrap().0, 7, "the next trial is admitted");
        });
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
