//! `clawdstrike-webhook`: ask your own service.
//!
//! `POST {url}` with a minimised event and `Authorization: Bearer TOKEN` when a token is
//! configured:
//!
//! ```json
//! {"eventId": "...", "eventType": "file_write", "sessionId": "...",
//!  "subject": {"path": "/src/app.ts", "contentSha256": "..."}}
//! ```
//!
//! `subject` by event type: files send path and content SHA-256 (never content); network
//! sends host (`[internal]` when internal), port and protocol (never the URL's path or
//! query); commands send the command and arguments; patches the file path and patch
//! SHA-256; tool calls the tool name (never parameters); secret access nothing; custom
//! events their type. The answer is `{"decision": "allow" | "warn" | "deny", "reason":
//! "..."}`; anything else is a malformed answer.

use futures_util::future::BoxFuture;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{key, parse, sha256_hex, ConfigError};
use crate::decision::{Severity, Status, Verdict};
use crate::event::{EventData, EventType, PolicyEvent};
use crate::external::hosts;
use crate::external::http::{Call, ServiceRequest};
use crate::external::service::{ServiceGuard, Subject};
use crate::resilience::Attempt;

/// Package name.
pub const PACKAGE: &str = "clawdstrike-webhook";
/// Guard name.
pub const NAME: &str = "webhook";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    url: String,
    #[serde(default)]
    token: Option<String>,
    /// Only these event types are sent (default: all).
    #[serde(default)]
    event_types: Vec<EventType>,
}

/// The guard.
#[derive(Debug)]
pub struct Webhook {
    url: Url,
    token: Option<String>,
    event_types: Vec<EventType>,
}

impl Webhook {
    /// From `config`.
    pub fn new(config: &serde_json::Value) -> Result<Self, ConfigError> {
        let c: Config = parse(config)?;
        let url = crate::external::http::base_url(&c.url).map_err(|m| ConfigError::at("url", m))?;
        let token = match c.token {
            Some(t) => Some(key("token", &t)?),
            None => None,
        };
        Ok(Webhook {
            url,
            token,
            event_types: c.event_types,
        })
    }
}

/// What is sent about an event.
pub fn minimised(event: &PolicyEvent) -> Value {
    let subject = match &event.data {
        EventData::File(f) => json!({
            "path": f.path,
            "operation": f.operation,
            "contentSha256": f.content.as_ref().map(|c| sha256_hex(c.as_bytes())),
        }),
        EventData::Network(n) => {
            let (host, port) = match n.host.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => {
                    (h, p.parse::<u16>().ok())
                }
                _ => (n.host.as_str(), None),
            };
            json!({"host": hosts::redact(host), "port": n.port.or(port), "protocol": n.protocol})
        }
        EventData::Command(c) => json!({"command": c.command, "args": c.args}),
        EventData::Patch(p) => {
            json!({"filePath": p.file_path, "patchSha256": sha256_hex(p.patch_content.as_bytes())})
        }
        EventData::Tool(t) => json!({"toolName": t.tool_name}),
        EventData::Secret(_) => json!({}),
        EventData::Custom(c) => json!({"customType": c.custom_type}),
    };
    json!({
        "eventId": event.event_id,
        "eventType": event.event_type.as_str(),
        "sessionId": event.session_id,
        "subject": subject,
    })
}

impl ServiceGuard for Webhook {
    fn name(&self) -> &str {
        NAME
    }

    fn subject(&self, event: &PolicyEvent) -> Option<Subject> {
        if !self.event_types.is_empty() && !self.event_types.contains(&event.event_type) {
            return None;
        }
        Some(Subject {
            cache_key: None,
            items: Vec::new(),
        })
    }

    fn ask<'a>(
        &'a self,
        _subject: &'a Subject,
        event: &'a PolicyEvent,
        call: Call<'a>,
    ) -> BoxFuture<'a, Attempt<Verdict>> {
        Box::pin(async move {
            let mut request = ServiceRequest::post_json(self.url.clone(), &minimised(event));
            if let Some(t) = &self.token {
                request = request.header("authorization", format!("Bearer {t}"));
            }
            let response = match call.send(request).await {
                Ok(r) => r,
                Err(a) => return a,
            };
            if !(200..300).contains(&response.status) {
                return Attempt::Fail(format!("the webhook answered {}", response.status));
            }
            let body = match response.json("the webhook") {
                Ok(b) => b,
                Err(a) => return a,
            };
            let reason = body["reason"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(500)
                .collect::<String>();
            let (status, severity) = match body["decision"].as_str() {
                Some("allow") => (Status::Allow, Severity::Low),
                Some("warn") => (Status::Warn, Severity::Medium),
                Some("deny") => (Status::Deny, Severity::High),
                _ => {
                    return Attempt::Fail(
                        "the webhook answered without `decision`: allow, warn or deny".into(),
                    )
                }
            };
            let message = if reason.is_empty() {
                format!("the webhook says {}", status.as_str())
            } else {
                format!("the webhook says {}: {reason}", status.as_str())
            };
            Attempt::Done(Verdict {
                status,
                severity,
                message,
                details: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_is_minimised() {
        let sent = minimised(&PolicyEvent::file_write(
            "e1",
            "/src/a.ts",
            "SECRET CONTENT",
        ));
        let text = sent.to_string();
        assert!(!text.contains("SECRET CONTENT"), "{text}");
        assert_eq!(sent["subject"]["contentSha256"].as_str().unwrap().len(), 64);
        let sent = minimised(&PolicyEvent::network("e2", "db.internal", 5432));
        assert_eq!(sent["subject"]["host"], "[internal]");
        assert_eq!(sent["subject"]["port"], 5432);
        let sent = minimised(&PolicyEvent::network("e3", "example.com:8443", 0));
        assert_eq!(sent["subject"]["host"], "example.com");
    }
}
