//! The `async:` block of a `guards.custom[]` entry (SPEC.md §4).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When the guard runs relative to the synchronous guards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionMode {
    /// Beside the synchronous guards (default).
    #[default]
    Parallel,
    /// After them.
    Sequential,
    /// Not waited for: the default decision now, the real result in the audit log later.
    Background,
}

/// What a call that runs out of time decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// Allow.
    Allow,
    /// Deny.
    Deny,
    /// Warn (default).
    #[default]
    Warn,
    /// A cached result if there is one, else the default.
    Defer,
}

/// `cache:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Default 3600.
    #[serde(default = "hour")]
    pub ttl_seconds: u64,
}

/// `rate_limit:`: exactly one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per minute.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// Requests per second.
    #[serde(default)]
    pub requests_per_second: Option<u32>,
}

/// `circuit_breaker:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit (default 5).
    #[serde(default = "five")]
    pub failure_threshold: u32,
    /// How long it stays open before one trial call (default 30000).
    #[serde(default = "thirty_s")]
    pub reset_timeout_ms: u64,
    /// Successes in half-open that close it again (default 2).
    #[serde(default = "two")]
    pub success_threshold: u32,
}

/// `retry:`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries after the first attempt (default 2).
    #[serde(default = "two")]
    pub max_retries: u32,
    /// First backoff (default 100).
    #[serde(default = "hundred")]
    pub initial_backoff_ms: u64,
    /// Longest backoff (default 5000).
    #[serde(default = "five_s")]
    pub max_backoff_ms: u64,
    /// Growth per retry (default 2.0).
    #[serde(default = "double")]
    pub multiplier: f64,
}

/// The whole `async:` block, defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncConfig {
    /// Deadline of one check, retries included (default 5000).
    #[serde(default = "five_s")]
    pub timeout_ms: u64,
    /// What a timeout decides (default `warn`).
    #[serde(default)]
    pub on_timeout: OnTimeout,
    /// When it runs (default `parallel`).
    #[serde(default)]
    pub execution_mode: ExecutionMode,
    /// Result cache.
    #[serde(default = "default_cache")]
    pub cache: CacheConfig,
    /// Rate limit, if any.
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    /// Circuit breaker, if any.
    #[serde(default)]
    pub circuit_breaker: Option<BreakerConfig>,
    /// Retries, if any.
    #[serde(default)]
    pub retry: Option<RetryConfig>,
}

fn yes() -> bool {
    true
}
fn hour() -> u64 {
    3600
}
fn five() -> u32 {
    5
}
fn two() -> u32 {
    2
}
fn thirty_s() -> u64 {
    30_000
}
fn hundred() -> u64 {
    100
}
fn five_s() -> u64 {
    5000
}
fn double() -> f64 {
    2.0
}
fn default_cache() -> CacheConfig {
    CacheConfig {
        enabled: true,
        ttl_seconds: 3600,
    }
}

impl Default for AsyncConfig {
    fn default() -> Self {
        AsyncConfig {
            timeout_ms: five_s(),
            on_timeout: OnTimeout::default(),
            execution_mode: ExecutionMode::default(),
            cache: default_cache(),
            rate_limit: None,
            circuit_breaker: None,
            retry: None,
        }
    }
}

/// An `async:` block that cannot be used: the field (relative to `async`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("async.{field}: {message}")]
pub struct AsyncConfigError {
    /// The field, e.g. `rate_limit`.
    pub field: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> AsyncConfigError {
    AsyncConfigError {
        field: field.into(),
        message: message.into(),
    }
}

impl AsyncConfig {
    /// Parses and validates an `async:` block.
    pub fn from_value(value: &serde_json::Value) -> Result<AsyncConfig, AsyncConfigError> {
        let config: AsyncConfig =
            serde_json::from_value(value.clone()).map_err(|e| err("", e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and combinations.
    pub fn validate(&self) -> Result<(), AsyncConfigError> {
        if !(1..=300_000).contains(&self.timeout_ms) {
            return Err(err(
                "timeout_ms",
                "must be between 1 and 300000 (5 minutes)",
            ));
        }
        if self.cache.enabled && self.cache.ttl_seconds == 0 {
            return Err(err(
                "cache.ttl_seconds",
                "must be at least 1; use `enabled: false` to turn the cache off",
            ));
        }
        if let Some(r) = &self.rate_limit {
            match (r.requests_per_minute, r.requests_per_second) {
                (Some(_), Some(_)) => {
                    return Err(err(
                        "rate_limit",
                        "give `requests_per_minute` or `requests_per_second`, not both",
                    ))
                }
                (None, None) => {
                    return Err(err(
                        "rate_limit",
                        "needs `requests_per_minute` or `requests_per_second`",
                    ))
                }
                (Some(0), _) | (_, Some(0)) => {
                    return Err(err("rate_limit", "a rate must be at least 1"))
                }
                _ => {}
            }
        }
        if let Some(b) = &self.circuit_breaker {
            if b.failure_threshold == 0 || b.success_threshold == 0 {
                return Err(err(
                    "circuit_breaker",
                    "`failure_threshold` and `success_threshold` must be at least 1",
                ));
            }
            if b.reset_timeout_ms == 0 {
                return Err(err(
                    "circuit_breaker.reset_timeout_ms",
                    "must be at least 1",
                ));
            }
        }
        if let Some(r) = &self.retry {
            if r.max_retries > 10 {
                return Err(err("retry.max_retries", "at most 10"));
            }
            if !(r.multiplier.is_finite() && r.multiplier >= 1.0) {
                return Err(err("retry.multiplier", "must be a number ≥ 1"));
            }
            if r.initial_backoff_ms > r.max_backoff_ms {
                return Err(err(
                    "retry",
                    "`initial_backoff_ms` must not exceed `max_backoff_ms`",
                ));
            }
        }
        Ok(())
    }

    /// The deadline of one check.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_block_gets_spec_defaults() {
        let c = AsyncConfig::from_value(&json!({})).unwrap();
        assert_eq!(c.timeout_ms, 5000);
        assert_eq!(c.on_timeout, OnTimeout::Warn);
        assert_eq!(c.execution_mode, ExecutionMode::Parallel);
        assert_eq!(
            c.cache,
            CacheConfig {
                enabled: true,
                ttl_seconds: 3600
            }
        );
        assert_eq!(c, AsyncConfig::default());
    }

    #[test]
    fn every_field_of_the_spec_parses() {
        let c = AsyncConfig::from_value(&json!({
            "timeout_ms": 800, "on_timeout": "defer", "execution_mode": "background",
            "cache": {"enabled": false}, "rate_limit": {"requests_per_minute": 4},
            "circuit_breaker": {"failure_threshold": 3, "reset_timeout_ms": 1000, "success_threshold": 1},
            "retry": {"max_retries": 3, "initial_backoff_ms": 50, "max_backoff_ms": 400, "multiplier": 3}
        }))
        .unwrap();
        assert_eq!(c.on_timeout, OnTimeout::Defer);
        assert_eq!(c.execution_mode, ExecutionMode::Background);
        assert_eq!(c.retry.unwrap().multiplier, 3.0);
        assert_eq!(c.circuit_breaker.unwrap().failure_threshold, 3);
    }

    #[test]
    fn mistakes_name_their_field() {
        for (block, field) in [
            (json!({"timeout_ms": 0}), "timeout_ms"),
            (json!({"on_timeout": "explode"}), ""),
            (
                json!({"rate_limit": {"requests_per_minute": 1, "requests_per_second": 1}}),
                "rate_limit",
            ),
            (json!({"rate_limit": {}}), "rate_limit"),
            (
                json!({"circuit_breaker": {"failure_threshold": 0}}),
                "circuit_breaker",
            ),
            (json!({"retry": {"multiplier": 0.5}}), "retry.multiplier"),
            (
                json!({"retry": {"initial_backoff_ms": 900, "max_backoff_ms": 100}}),
                "retry",
            ),
            (json!({"timeout": 5}), ""),
        ] {
            let e = AsyncConfig::from_value(&block).unwrap_err();
            assert_eq!(e.field, field, "{block}: {e}");
        }
    }
}
