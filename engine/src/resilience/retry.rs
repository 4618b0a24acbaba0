//! Retries: exponential backoff with full jitter, and `Retry-After` honoured.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::RetryConfig;

/// The backoff schedule of one guard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    config: RetryConfig,
}

impl Backoff {
    /// From the `retry:` block.
    pub fn new(config: RetryConfig) -> Backoff {
        Backoff { config }
    }

    /// Retries allowed after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.config.max_retries
    }

    /// The ceiling for retry `n` (1-based): `initial × multiplier^(n-1)`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exp = self
            .config
            .multiplier
            .powi(retry.saturating_sub(1).min(64) as i32);
        let ms =
            (self.config.initial_backoff_ms as f64 * exp).min(self.config.max_backoff_ms as f64);
        Duration::from_millis(ms as u64)
    }

    /// The wait before retry `n`: a uniformly random point below the ceiling ("full
    /// jitter", so many clients do not retry in step), or the server's `Retry-After` when
    /// it asks for longer — capped by `max_backoff_ms`. `unit` is a random number in [0, 1).
    pub fn delay(&self, retry: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let jittered = self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0));
        let cap = Duration::from_millis(self.config.max_backoff_ms);
        match retry_after {
            Some(wait) if wait > jittered => wait.min(cap),
            _ => jittered,
        }
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), relative
/// to `now`. A date in the past means "now"; anything else unreadable is ignored.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(24 * 3600)));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff::new(RetryConfig {
            max_retries: 4,
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            multiplier: 2.0,
        })
    }

    #[test]
    fn ceilings_grow_exponentially_up_to_the_cap() {
        let b = backoff();
        let ms: Vec<u128> = (1..=6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn jitter_stays_below_the_ceiling_and_retry_after_wins_when_longer() {
        let b = backoff();
        assert_eq!(b.delay(3, 0.5, None), Duration::from_millis(200));
        assert_eq!(b.delay(3, 0.0, None), Duration::ZERO);
        assert_eq!(
            b.delay(1, 0.5, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            b.delay(1, 0.5, Some(Duration::from_secs(60))),
            Duration::from_millis(1000),
            "capped"
        );
        assert_eq!(
            b.delay(4, 0.9, Some(Duration::from_millis(10))),
            Duration::from_millis(720)
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now: DateTime<Utc> = "2026-11-24T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
