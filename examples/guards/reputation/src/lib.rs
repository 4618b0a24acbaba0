//! `url_reputation`: asks a reputation service about the host of every `network_egress`
//! and denies or warns on a bad score. Answers are remembered in the host's state store
//! for 60 seconds (64 hosts at most), so a burst of requests to one host costs one call.

use clawdstrike_guard_sdk::host::{self, Request};
use clawdstrike_guard_sdk::{export_guard, state, Event, EventType, Guard, Severity, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How long a remembered answer is used, in seconds.
pub const CACHE_SECONDS: i64 = 60;
/// How many hosts are remembered.
pub const CACHE_HOSTS: usize = 64;
/// State key of the list of remembered hosts, oldest first.
pub const INDEX_KEY: &str = "hosts";

/// What to do when the service cannot give an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Let the connection happen.
    Allow,
    /// Let it happen with a warning.
    Warn,
    /// Stop it (default: fail closed).
    #[default]
    Deny,
}

/// The guard's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The service endpoint; `?host=<host>` is appended.
    pub service_url: String,
    /// Name of the secret holding the service's API key (sent as a bearer token).
    pub api_key_secret: Option<String>,
    /// Deny at or above this score (0–100).
    pub block_score: u8,
    /// Warn at or above this score (0–100, at most `block_score`).
    pub warn_score: u8,
    /// What to do when the service cannot answer.
    pub fail_mode: FailMode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            service_url: "https://reputation.acme.example/v1/score".into(),
            api_key_secret: None,
            block_score: 70,
            warn_score: 40,
            fail_mode: FailMode::Deny,
        }
    }
}

/// The service's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Answer {
    score: f64,
    #[serde(default)]
    categories: Vec<String>,
}

/// A remembered answer (state key `host:<name>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cached {
    /// Event time (Unix seconds) of the lookup.
    at: i64,
    /// The verdict's status when it was made.
    status: String,
    score: f64,
    categories: Vec<String>,
}

/// The guard.
#[derive(Debug)]
pub struct UrlReputation {
    config: Config,
}

/// `Name.Example.` → `name.example`; `[::1]:443` → `::1`; `host:8080` → `host`.
pub fn normalize_host(raw: &str) -> String {
    let h = raw.trim();
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if h.matches(':').count() == 1 {
        h.split(':').next().unwrap_or(h)
    } else {
        h
    };
    h.trim_end_matches('.').to_ascii_lowercase()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 timestamp as Unix seconds (`None` when it is not one).
pub fn parse_rfc3339(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = ts.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match ts.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && matches!(&tz[0..1], "+" | "-") && &tz[3..4] == ":" => {
            let mins = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if tz.starts_with('-') {
                -mins
            } else {
                mins
            }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset * 60)
}

/// A score as JSON: `50`, not `50.0`, when it is a whole number.
fn score_json(score: f64) -> serde_json::Value {
    if score.fract() == 0.0 {
        json!(score as i64)
    } else {
        json!(score)
    }
}

impl UrlReputation {
    fn url_for(&self, host: &str) -> String {
        let sep = if self.config.service_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}host={}",
            self.config.service_url,
            percent_encode(host)
        )
    }

    fn lookup(&self, host: &str) -> Result<Answer, String> {
        let mut request = Request::get(self.url_for(host)).header("accept", "application/json");
        if let Some(name) = &self.config.api_key_secret {
            let key =
                host::get_secret(name).map_err(|e| format!("cannot read secret {name}: {e}"))?;
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let response = host::http_request(&request)
            .map_err(|e| format!("reputation service unreachable: {e}"))?;
        if !response.is_success() {
            return Err(format!(
                "reputation service answered HTTP {}",
                response.status
            ));
        }
        let answer: Answer = response
            .json_body()
            .map_err(|e| format!("reputation service answer is malformed: {e}"))?;
        if !(0.0..=100.0).contains(&answer.score) {
            return Err(format!(
                "reputation service answer is malformed: score {} is not 0-100",
                answer.score
            ));
        }
        Ok(answer)
    }

    fn verdict(&self, host: &str, answer: &Answer, cached: bool) -> Verdict {
        let c = &self.config;
        let score = score_json(answer.score);
        let details = json!({"host": host, "score": score, "categories": answer.categories, "cached": cached});
        let v = if answer.score >= f64::from(c.block_score) {
            Verdict::deny(
                Severity::High,
                format!(
                    "{host} has reputation score {score} (blocked at {})",
                    c.block_score
                ),
            )
            .with_remediation("Use another host, or ask security to review this one.")
        } else if answer.score >= f64::from(c.warn_score) {
            Verdict::warn(
                Severity::Medium,
                format!(
                    "{host} has reputation score {score} (warning at {})",
                    c.warn_score
                ),
            )
        } else {
            Verdict::allow(format!("{host} has reputation score {score}"))
        };
        v.with_details(details)
    }

    fn failed(&self, host: &str, why: String) -> Verdict {
        let details = json!({"host": host, "error": why, "fail_mode": self.config.fail_mode});
        let v = match self.config.fail_mode {
            FailMode::Allow => Verdict::allow(format!(
                "reputation of {host} unknown ({why}); allowed by fail_mode"
            )),
            FailMode::Warn => Verdict::warn(
                Severity::Medium,
                format!("reputation of {host} unknown ({why}); fail_mode is warn"),
            ),
            FailMode::Deny => Verdict::deny(
                Severity::High,
                format!("reputation of {host} unknown ({why}); denied by fail_mode"),
            ),
        };
        v.with_details(details)
    }

    fn remember(&self, host: &str, now: i64, answer: &Answer, status: &str) {
        let key = format!("host:{host}");
        let entry = Cached {
            at: now,
            status: status.to_string(),
            score: answer.score,
            categories: answer.categories.clone(),
        };
        if let Err(e) = state::set_json(&key, &entry) {
            host::warn(&format!("url_reputation: cannot remember {host}: {e}"));
            return;
        }
        let mut index: Vec<String> = state::get_json(INDEX_KEY).unwrap_or_default();
        index.retain(|h| h != host);
        index.push(host.to_string());
        while index.len() > CACHE_HOSTS {
            let old = index.remove(0);
            state::delete(&format!("host:{old}"));
        }
        if let Err(e) = state::set_json(INDEX_KEY, &index) {
            host::warn(&format!(
                "url_reputation: cannot update the cache index: {e}"
            ));
        }
    }
}

impl Guard for UrlReputation {
    const NAME: &'static str = "url_reputation";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &[EventType::NetworkEgress];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if !(config.service_url.starts_with("http://")
            || config.service_url.starts_with("https://"))
        {
            return Err(format!(
                "config.service_url must be an http or https URL, got {:?}",
                config.service_url
            ));
        }
        if config.block_score > 100 || config.warn_score > 100 {
            return Err("config.block_score and config.warn_score must be 0-100".into());
        }
        if config.warn_score > config.block_score {
            return Err(format!(
                "config.warn_score ({}) must not exceed config.block_score ({})",
                config.warn_score, config.block_score
            ));
        }
        Ok(UrlReputation { config })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        let Some(net) = event.network() else {
            return Ok(Verdict::allow("event type not handled"));
        };
        let host = normalize_host(&net.host);
        if host.is_empty() {
            return Ok(self.failed(&net.host, "the event has no host".into()));
        }
        // Without an event time there is no clock to expire entries by: no caching.
        let now = event.timestamp.as_deref().and_then(parse_rfc3339);
        if let Some(now) = now {
            if let Some(c) = state::get_json::<Cached>(&format!("host:{host}")) {
                if now >= c.at && now - c.at < CACHE_SECONDS {
                    let answer = Answer {
                        score: c.score,
                        categories: c.categories,
                    };
                    return Ok(self.verdict(&host, &answer, true));
                }
            }
        }
        match self.lookup(&host) {
            Ok(answer) => {
                let verdict = self.verdict(&host, &answer, false);
                if let Some(now) = now {
                    self.remember(&host, now, &answer, verdict.status.as_str());
                }
                Ok(verdict)
            }
            // Failures are not remembered: the next check tries again.
            Err(why) => Ok(self.failed(&host, why)),
        }
    }
}

export_guard!(UrlReputation);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-03-01T12:00:30.123+01:00"),
            Some(1_772_362_830)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "2026-03-01",
            "2026-13-01T00:00:00Z",
            "2026-03-01T00:00:00",
            "2026-03-01T00:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn hosts_normalise_and_encode() {
        assert_eq!(normalize_host("Evil.Example."), "evil.example");
        assert_eq!(normalize_host("h.example:8443"), "h.example");
        assert_eq!(normalize_host("[::1]:443"), "::1");
        assert_eq!(normalize_host("::1"), "::1");
        assert_eq!(percent_encode("a b&c=d"), "a%20b%26c%3Dd");
    }
}
