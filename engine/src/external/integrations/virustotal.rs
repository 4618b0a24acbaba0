//! `clawdstrike-virustotal`: file and URL reputation from the VirusTotal v3 API.
//!
//! * A `file_write` is looked up by the SHA-256 of its content: `GET {base}/files/{sha256}`.
//! * A `network_egress` is looked up by the SHA-256 of its URL (VirusTotal accepts a URL's
//!   SHA-256 as its identifier, so the URL itself is not sent): `GET {base}/urls/{sha256}`.
//!
//! The key goes in the `x-apikey` header. An answer's
//! `data.attributes.last_analysis_stats.malicious` is the number of engines that flag the
//! object: `min_detections` or more deny, fewer but some warn, none allow. 404
//! (`NotFoundError`) means VirusTotal has never seen it: allow. The free tier allows 4
//! requests a minute, which is the default rate limit.

use futures_util::future::BoxFuture;
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

use super::{base, egress_url, join, key, parse, sha256_hex, written_file_sha256, ConfigError};
use crate::decision::{Severity, Status, Verdict};
use crate::event::PolicyEvent;
use crate::external::http::{Call, ServiceRequest};
use crate::external::service::{ServiceGuard, Subject};
use crate::resilience::config::RateLimitConfig;
use crate::resilience::Attempt;

/// Package name.
pub const PACKAGE: &str = "clawdstrike-virustotal";
/// Guard name.
pub const NAME: &str = "virustotal";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The API root, e.g. `https://<virustotal>/api/v3`.
    base_url: String,
    api_key: String,
    #[serde(default = "three")]
    min_detections: u32,
    #[serde(default = "yes")]
    check_files: bool,
    #[serde(default = "yes")]
    check_urls: bool,
}

fn three() -> u32 {
    3
}
fn yes() -> bool {
    true
}

/// The guard.
#[derive(Debug)]
pub struct VirusTotal {
    base: Url,
    api_key: String,
    min_detections: u32,
    check_files: bool,
    check_urls: bool,
}

impl VirusTotal {
    /// From `config`.
    pub fn new(config: &serde_json::Value) -> Result<Self, ConfigError> {
        let c: Config = parse(config)?;
        if c.min_detections == 0 {
            return Err(ConfigError::at("min_detections", "must be at least 1"));
        }
        Ok(VirusTotal {
            base: base("base_url", &c.base_url)?,
            api_key: key("api_key", &c.api_key)?,
            min_detections: c.min_detections,
            check_files: c.check_files,
            check_urls: c.check_urls,
        })
    }
}

impl ServiceGuard for VirusTotal {
    fn name(&self) -> &str {
        NAME
    }

    fn subject(&self, event: &PolicyEvent) -> Option<Subject> {
        if self.check_files {
            if let Some(hash) = written_file_sha256(event) {
                return Some(Subject {
                    cache_key: Some(format!("file:{hash}")),
                    items: vec![format!("files/{hash}")],
                });
            }
        }
        if self.check_urls {
            if let Some(url) = egress_url(event) {
                let id = sha256_hex(url.as_str().as_bytes());
                return Some(Subject {
                    cache_key: Some(format!("url:{id}")),
                    items: vec![format!("urls/{id}")],
                });
            }
        }
        None
    }

    fn ask<'a>(
        &'a self,
        subject: &'a Subject,
        _event: &'a PolicyEvent,
        call: Call<'a>,
    ) -> BoxFuture<'a, Attempt<Verdict>> {
        Box::pin(async move {
            let Some(path) = subject.items.first() else {
                return Attempt::Fail("nothing to ask".into());
            };
            let request =
                ServiceRequest::get(join(&self.base, path)).header("x-apikey", &self.api_key);
            let response = match call.send(request).await {
                Ok(r) => r,
                Err(attempt) => return attempt,
            };
            let what = if path.starts_with("files/") {
                "file"
            } else {
                "URL"
            };
            match response.status {
                404 => Attempt::Done(Verdict {
                    status: Status::Allow,
                    severity: Severity::Low,
                    message: format!("VirusTotal has no report on this {what}"),
                    details: Some(json!({"known": false})),
                }),
                401 | 403 => Attempt::Fail(format!(
                    "VirusTotal refused the API key ({})",
                    response.status
                )),
                200 => {
                    let body = match response.json("VirusTotal") {
                        Ok(b) => b,
                        Err(a) => return a,
                    };
                    let stats = &body["data"]["attributes"]["last_analysis_stats"];
                    let Some(malicious) = stats["malicious"].as_u64() else {
                        return Attempt::Fail(
                            "VirusTotal answered without data.attributes.last_analysis_stats.malicious"
                                .into(),
                        );
                    };
                    let suspicious = stats["suspicious"].as_u64().unwrap_or(0);
                    let details = json!({"known": true, "malicious": malicious, "suspicious": suspicious, "minDetections": self.min_detections});
                    let (status, severity, message) = if malicious >= u64::from(self.min_detections)
                    {
                        (
                            Status::Deny,
                            Severity::Critical,
                            format!("{malicious} VirusTotal engines flag this {what} as malicious"),
                        )
                    } else if malicious > 0 {
                        (
                            Status::Warn,
                            Severity::Medium,
                            format!(
                                "{malicious} VirusTotal engine(s) flag this {what}, below min_detections {}",
                                self.min_detections
                            ),
                        )
                    } else {
                        (
                            Status::Allow,
                            Severity::Low,
                            format!("no VirusTotal engine flags this {what}"),
                        )
                    };
                    Attempt::Done(Verdict {
                        status,
                        severity,
                        message,
                        details: Some(details),
                    })
                }
                other => Attempt::Fail(format!("VirusTotal answered {other}")),
            }
        })
    }

    fn default_rate_limit(&self) -> Option<RateLimitConfig> {
        Some(RateLimitConfig {
            requests_per_minute: Some(4),
            requests_per_second: None,
        })
    }
}
