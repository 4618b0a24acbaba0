//! Verdicts, severities and the decision the engine returns for an event.
//!
//! A verdict is three-valued: `allow` (true), `warn` (unknown) and `deny` (false). The
//! ordering `Allow < Warn < Deny` is "how severe": the policy decision is the maximum.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The status of a guard, rule or decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The action may happen.
    Allow,
    /// The action may happen, but someone should look (Kleene "unknown").
    Warn,
    /// The action must not happen.
    Deny,
}

impl Status {
    /// The lower-case name used in JSON and YAML.
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

/// How serious a finding is. The old engine's `info | warning | error` are accepted as
/// aliases of `low | medium | high` on input; output is always canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational (alias `info`).
    #[serde(alias = "info")]
    Low,
    /// Worth a look (alias `warning`).
    #[serde(alias = "warning")]
    Medium,
    /// Serious (alias `error`).
    #[serde(alias = "error")]
    High,
    /// Must be stopped.
    Critical,
}

impl Severity {
    /// The canonical lower-case name.
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

/// What one guard concluded about one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// allow, warn or deny.
    pub status: Status,
    /// How serious it is (`low` for a plain allow).
    pub severity: Severity,
    /// One human sentence: what was found, or why it is fine.
    pub message: String,
    /// Guard-specific structured details (matched pattern, score, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl Verdict {
    /// An allow with a message.
    pub fn allow(message: impl Into<String>) -> Self {
        Self {
            status: Status::Allow,
            severity: Severity::Low,
            message: message.into(),
            details: None,
        }
    }

    /// A warn with a severity and message.
    pub fn warn(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            status: Status::Warn,
            severity,
            message: message.into(),
            details: None,
        }
    }

    /// A deny with a severity and message.
    pub fn deny(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            status: Status::Deny,
            severity,
            message: message.into(),
            details: None,
        }
    }

    /// Attach structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// What kind of thing produced a [`Contribution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContributionKind {
    /// A built-in or custom guard evaluated directly.
    Guard,
    /// A composition rule.
    Rule,
    /// The engine itself (e.g. the unexamined-event policy).
    Engine,
}

/// One entry in a composition trace: an operand or operator and what it yielded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    /// The guard name, or the operator (`AND`, `OR`, ...) with its position.
    pub node: String,
    /// The verdict, or `None` when the operand was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// True when the operand did not examine the event (or was short-circuited).
    pub skipped: bool,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Wall-clock time spent, in microseconds.
    pub duration_us: u64,
    /// The score, for SCORE operators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// One guard or rule that contributed to a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Contribution {
    /// Guard or rule name.
    pub name: String,
    /// Guard, rule or engine.
    pub kind: ContributionKind,
    /// Its status.
    pub status: Status,
    /// Its severity.
    pub severity: Severity,
    /// Its message.
    pub message: String,
    /// Wall-clock time spent, in microseconds.
    pub duration_us: u64,
    /// Guard details, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// Score of a SCORE rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// For rules: every operand and operator evaluated, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceEntry>,
}

/// The engine's answer for one event (DESIGN.md §3.4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The event's id.
    pub event_id: String,
    /// The final status: the most severe contribution.
    pub status: Status,
    /// `status != deny`.
    pub allowed: bool,
    /// `status == deny`.
    pub denied: bool,
    /// `status == warn`.
    pub warn: bool,
    /// The guard or rule that decided (the most severe contribution), if any.
    pub guard: Option<String>,
    /// Severity of the deciding contribution (`low` when allowed).
    pub severity: Severity,
    /// Message of the deciding contribution.
    pub message: String,
    /// Why the decision is what it is, in one sentence.
    pub reason: String,
    /// Every guard and rule that contributed.
    pub results: Vec<Contribution>,
}

impl Decision {
    /// Build a decision from its contributions: the most severe wins (deny > warn > allow;
    /// among equal statuses the higher severity, then the first listed).
    pub fn from_contributions(event_id: String, results: Vec<Contribution>) -> Self {
        let decider = results
            .iter()
            .enumerate()
            .max_by(|(ia, a), (ib, b)| {
                (a.status, a.severity)
                    .cmp(&(b.status, b.severity))
                    .then(ib.cmp(ia))
            })
            .map(|(_, c)| c);
        let (status, severity, guard, message, reason) = match decider {
            None => (
                Status::Allow,
                Severity::Low,
                None,
                String::from("no guard examined this event"),
                String::from("allowed: no guard or rule examined this event"),
            ),
            Some(c) if c.status == Status::Allow => (
                Status::Allow,
                Severity::Low,
                None,
                String::from("allowed"),
                format!(
                    "allowed: {} examined the event and none objected",
                    plural(results.len(), "guard or rule", "guards and rules")
                ),
            ),
            Some(c) => (
                c.status,
                c.severity,
                Some(c.name.clone()),
                c.message.clone(),
                format!(
                    "{} by {} {}: {}",
                    match c.status {
                        Status::Deny => "denied",
                        _ => "warning",
                    },
                    match c.kind {
                        ContributionKind::Rule => "rule",
                        ContributionKind::Guard => "guard",
                        ContributionKind::Engine => "engine",
                    },
                    c.name,
                    c.message
                ),
            ),
        };
        Decision {
            event_id,
            status,
            allowed: status != Status::Deny,
            denied: status == Status::Deny,
            warn: status == Status::Warn,
            guard,
            severity,
            message,
            reason,
            results,
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
