//! A circuit breaker. Closed: calls pass and consecutive failures are counted; at
//! `failure_threshold` it opens. Open: calls are refused until `reset_timeout` has passed,
//! then it is half-open. Half-open: one trial call at a time; a failure opens it again, and
//! `success_threshold` successes close it.
//!
//! Time is passed in, so the state machine is exact under test.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::BreakerConfig;

/// The breaker's state, for metrics and audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused.
    Open,
    /// Trial calls pass, one at a time.
    HalfOpen,
}

/// A call the breaker refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open: the service failed repeatedly; next trial in {retry_in:?}")]
pub struct Rejected {
    /// Time until the breaker lets a trial call through.
    pub retry_in: Duration,
}

#[derive(Debug)]
enum Inner {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    HalfOpen {
        successes: u32,
        trial_in_flight: bool,
    },
}

/// A circuit breaker shared by every call to one service.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> CircuitBreaker {
        CircuitBreaker {
            config,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent state machine; keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state at `now` (an open breaker whose timeout passed reads as half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match &*self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if now < *until => BreakerState::Open,
            Inner::Open { .. } | Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`. Every `Ok` must be followed by [`record`](Self::record).
    pub fn admit(&self, now: Instant) -> Result<(), Rejected> {
        let mut inner = self.lock();
        match &mut *inner {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } if now < *until => Err(Rejected {
                retry_in: *until - now,
            }),
            Inner::Open { .. } => {
                *inner = Inner::HalfOpen {
                    successes: 0,
                    trial_in_flight: true,
                };
                Ok(())
            }
            Inner::HalfOpen {
                trial_in_flight, ..
            } => {
                if *trial_in_flight {
                    // One trial at a time: the others wait for its verdict.
                    Err(Rejected {
                        retry_in: Duration::from_millis(self.config.reset_timeout_ms.min(1000)),
                    })
                } else {
                    *trial_in_flight = true;
                    Ok(())
                }
            }
        }
    }

    /// Records the outcome of an admitted call.
    pub fn record(&self, ok: bool, now: Instant) {
        let open = || Inner::Open {
            until: now + Duration::from_millis(self.config.reset_timeout_ms),
        };
        let mut inner = self.lock();
        let next = match (&*inner, ok) {
            (Inner::Closed { .. }, true) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, false)
                if failures + 1 >= self.config.failure_threshold =>
            {
                open()
            }
            (Inner::Closed { failures }, false) => Inner::Closed {
                failures: failures + 1,
            },
            (Inner::HalfOpen { successes, .. }, true)
                if successes + 1 >= self.config.success_threshold =>
            {
                Inner::Closed { failures: 0 }
            }
            (Inner::HalfOpen { successes, .. }, true) => Inner::HalfOpen {
                successes: successes + 1,
                trial_in_flight: false,
            },
            (Inner::HalfOpen { .. }, false) => open(),
            // A call admitted before the circuit opened finished late: it changes nothing.
            (Inner::Open { until }, _) => Inner::Open { until: *until },
        };
        *inner = next;
    }

    /// An admitted call that never happened (the rate limiter refused it): frees the
    /// half-open trial slot without counting a success or a failure.
    pub fn release(&self) {
        if let Inner::HalfOpen {
            trial_in_flight, ..
        } = &mut *self.lock()
        {
            *trial_in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            reset_timeout_ms: 1000,
            success_threshold: 2,
        })
    }

    #[test]
    fn opens_after_the_threshold_half_opens_after_the_timeout_and_closes_after_successes() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..2 {
            b.admit(t0).unwrap();
            b.record(false, t0);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        b.admit(t0).unwrap();
        b.record(false, t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        let e = b.admit(t0 + Duration::from_millis(400)).unwrap_err();
        assert_eq!(e.retry_in, Duration::from_millis(600));

        let t1 = t0 + Duration::from_millis(1000);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        b.admit(t1).unwrap();
        assert!(b.admit(t1).is_err(), "one trial at a time");
        b.record(true, t1);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        b.admit(t1).unwrap();
        b.record(true, t1);
        assert_eq!(b.state(t1), BreakerState::Closed);
    }

    #[test]
    fn a_failed_trial_opens_it_again_and_a_success_resets_the_count() {
        let b = breaker();
        let t0 = Instant::now();
        for ok in [false, false, true, false, false] {
            b.admit(t0).unwrap();
            b.record(ok, t0);
        }
        assert_eq!(
            b.state(t0),
            BreakerState::Closed,
            "the success reset the count"
        );
        b.admit(t0).unwrap();
        b.record(false, t0);
        let t1 = t0 + Duration::from_secs(1);
        b.admit(t1).unwrap();
        b.record(false, t1);
        assert_eq!(b.state(t1), BreakerState::Open);
        assert_eq!(b.admit(t1).unwrap_err().retry_in, Duration::from_secs(1));
    }

    #[test]
    fn a_released_trial_counts_as_neither() {
        let cfg = BreakerConfig {
            failure_threshold: 1,
            reset_timeout_ms: 10,
            success_threshold: 2,
        };
        let b = CircuitBreaker::new(cfg);
        let t0 = Instant::now();
        b.admit(t0).unwrap();
        b.record(false, t0);
        let later = t0 + Duration::from_millis(20);
        b.admit(later).unwrap();
        assert!(b.admit(later).is_err(), "one trial at a time");
        b.release();
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        b.admit(later).unwrap();
        b.record(true, later);
        assert_eq!(b.state(later), BreakerState::HalfOpen, "one success of two");
    }
}
