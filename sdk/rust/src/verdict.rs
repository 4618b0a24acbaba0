//! What a guard answers: a [`Verdict`] with a [`Status`] and an optional [`Severity`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a guard concluded. Ordered `Allow < Warn < Deny`, as the engine orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The action may happen.
    Allow,
    /// The action may happen, but a person should look.
    Warn,
    /// The action must not happen.
    Deny,
}

impl Status {
    /// The lower-case name (`allow`, `warn`, `deny`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Allow => "allow",
            Status::Warn => "warn",
            Status::Deny => "deny",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding is. Ordered `Low < Medium < High < Critical`.
///
/// Deserialises from the canonical lower-case names and from the older engine's
/// aliases (`info` = low, `warning` = medium, `error` = high), so configs written for
/// either spelling work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    #[serde(alias = "info")]
    Low,
    /// Worth a look.
    #[serde(alias = "warning")]
    Medium,
    /// Serious.
    #[serde(alias = "error")]
    High,
    /// Must be stopped.
    Critical,
}

impl Severity {
    /// The lower-case name (`low`, `medium`, `high`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A guard's answer for one event.
///
/// Build one with [`Verdict::allow`], [`Verdict::warn`] or [`Verdict::deny`], then add
/// [`Verdict::with_details`] and [`Verdict::with_remediation`] as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// allow, warn or deny.
    pub status: Status,
    /// How serious. `None` lets the engine choose (low for allow, high for deny).
    pub severity: Option<Severity>,
    /// One sentence a person can act on. Never put a secret here: it is logged.
    pub reason: Option<String>,
    /// Machine-readable details (a JSON object), kept in the audit log.
    pub details: Option<serde_json::Value>,
    /// What to do instead, shown to the person who asked.
    pub remediation: Option<String>,
    /// Details sent verbatim instead of `details` (see [`Verdict::with_raw_details`]).
    pub(crate) raw_details: Option<String>,
}

impl Verdict {
    fn new(status: Status, severity: Option<Severity>, reason: String) -> Self {
        Verdict {
            status,
            severity,
            reason: Some(reason),
            details: None,
            remediation: None,
            raw_details: None,
        }
    }

    /// The action may happen. No severity.
    pub fn allow(reason: impl Into<String>) -> Self {
        Self::new(Status::Allow, None, reason.into())
    }

    /// The action may happen, but a person should look.
    pub fn warn(severity: Severity, reason: impl Into<String>) -> Self {
        Self::new(Status::Warn, Some(severity), reason.into())
    }

    /// The action must not happen.
    pub fn deny(severity: Severity, reason: impl Into<String>) -> Self {
        Self::new(Status::Deny, Some(severity), reason.into())
    }

    /// Attach machine-readable details (should be a JSON object).
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self.raw_details = None;
        self
    }

    /// Attach what to do instead.
    #[must_use]
    pub fn with_remediation(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = Some(remediation.into());
        self
    }

    /// Send `text` as the verdict's details without checking that it is JSON.
    ///
    /// Only for testing hosts: the WIT contract says details are a JSON object, and a
    /// host is expected to refuse anything else. Real guards use
    /// [`Verdict::with_details`].
    #[doc(hidden)]
    #[must_use]
    pub fn with_raw_details(mut self, text: impl Into<String>) -> Self {
        self.details = None;
        self.raw_details = Some(text.into());
        self
    }

    /// The details as the JSON text the component returns, if any.
    pub fn details_text(&self) -> Option<String> {
        if let Some(raw) = &self.raw_details {
            return Some(raw.clone());
        }
        self.details.as_ref().map(|d| d.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn allow_has_no_severity_and_deny_keeps_its_own() {
        let a = Verdict::allow("fine");
        assert_eq!((a.status, a.severity), (Status::Allow, None));
        let d = Verdict::deny(Severity::Critical, "no");
        assert_eq!(
            (d.status, d.severity),
            (Status::Deny, Some(Severity::Critical))
        );
        assert_eq!(d.reason.as_deref(), Some("no"));
    }

    #[test]
    fn details_are_serialised_as_json_text() {
        let v = Verdict::warn(Severity::Low, "x").with_details(json!({"a": 1}));
        assert_eq!(v.details_text().as_deref(), Some(r#"{"a":1}"#));
        let raw = v.with_raw_details("not json");
        assert_eq!(raw.details, None);
        assert_eq!(raw.details_text().as_deref(), Some("not json"));
    }

    #[test]
    fn severity_accepts_old_engine_aliases() {
        let s: Vec<Severity> = serde_json::from_value(json!(["info", "warning", "error"])).unwrap();
        assert_eq!(s, [Severity::Low, Severity::Medium, Severity::High]);
        assert!(Severity::Critical > Severity::High && Status::Deny > Status::Warn);
    }
}
