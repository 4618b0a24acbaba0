//! `{{guard}}`: asks a reputation service about the host of every `network_egress` and
//! denies a bad score. The call goes through the host's `http-request`, which the
//! manifest must allow (`capabilities.network`), and the policy's `async:` block gives it
//! a deadline, a cache, retries and a circuit breaker.

use clawdstrike_guard_sdk::host::{self, Request};
use clawdstrike_guard_sdk::{export_guard, Event, EventType, Guard, Severity, Verdict};
use serde::Deserialize;
use serde_json::json;

/// The guard's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The service endpoint; `?host=<host>` is appended. Its host must be listed in the
    /// manifest's `capabilities.network.allowedHosts`.
    pub service_url: String,
    /// Name of the secret holding the service's API key (sent as a bearer token); it
    /// must be listed in `capabilities.secrets.allowedKeys`.
    pub api_key_secret: String,
    /// Deny at or above this score (0–100).
    pub block_score: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            service_url: "https://reputation.example.com/v1/score".into(),
            api_key_secret: "REPUTATION_API_KEY".into(),
            block_score: 70,
        }
    }
}

/// The service's answer.
#[derive(Debug, Deserialize)]
struct Answer {
    score: u8,
}

/// The guard.
pub struct {{type}} {
    config: Config,
}

impl Guard for {{type}} {
    const NAME: &'static str = "{{guard}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &[EventType::NetworkEgress];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if !config.service_url.starts_with("https://") && !config.service_url.starts_with("http://") {
            return Err("config.service_url must be an http(s) URL".into());
        }
        if config.block_score > 100 {
            return Err("config.block_score must be between 0 and 100".into());
        }
        Ok({{type}} { config })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        let net = event.network().ok_or("expected network data")?;
        let key = host::get_secret(&self.config.api_key_secret)
            .map_err(|e| format!("cannot read the API key: {e}"))?;
        let request = Request::get(format!("{}?host={}", self.config.service_url, net.host))
            .header("authorization", format!("Bearer {key}"));
        // An error fails closed: the check is a deny with this message. The policy's
        // `async.on_timeout` decides what a timeout means instead.
        let response = host::http_request(&request)
            .map_err(|e| format!("reputation service unreachable: {e}"))?;
        if response.status != 200 {
            return Err(format!("reputation service answered {}", response.status));
        }
        let answer: Answer = response
            .json_body()
            .map_err(|e| format!("reputation service sent a malformed answer: {e}"))?;
        let details = json!({ "host": net.host, "score": answer.score });
        Ok(if answer.score >= self.config.block_score {
            Verdict::deny(
                Severity::High,
                format!("{} has a bad reputation (score {})", net.host, answer.score),
            )
            .with_details(details)
        } else {
            Verdict::allow(format!("{} scores {}", net.host, answer.score)).with_details(details)
        })
    }
}

export_guard!({{type}});
