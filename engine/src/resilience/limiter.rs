//! Rate limiting: `requests_per_second` or `requests_per_minute`, with governor's GCRA
//! (a steady rate with a burst of one period's worth).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter as Gcra};

use super::config::RateLimitConfig;

/// The limiter of one guard.
pub struct RateLimiter {
    gcra: Gcra<governor::state::NotKeyed, governor::state::InMemoryState, DefaultClock>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// From a validated `rate_limit:` block (a zero rate is treated as one).
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        let one = NonZeroU32::MIN;
        let quota = match (config.requests_per_second, config.requests_per_minute) {
            (Some(n), _) => Quota::per_second(NonZeroU32::new(n).unwrap_or(one)),
            (None, Some(n)) => Quota::per_minute(NonZeroU32::new(n).unwrap_or(one)),
            (None, None) => Quota::per_second(NonZeroU32::MAX),
        };
        let clock = DefaultClock::default();
        RateLimiter {
            gcra: Gcra::direct_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Takes a permit now, or says how long until one is free.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        self.gcra
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_per_minute_quota_allows_its_burst_then_asks_to_wait() {
        let l = RateLimiter::new(&RateLimitConfig {
            requests_per_minute: Some(4),
            requests_per_second: None,
        });
        for _ in 0..4 {
            l.try_acquire().unwrap();
        }
        let wait = l.try_acquire().unwrap_err();
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(15),
            "{wait:?}"
        );
    }
}
