//! Policy tests: a YAML file of events with the decisions a policy author expects, so a
//! policy can be tested like code (`clawdstrike policy test FILE`).
//!
//! ```yaml
//! policy: ./policy.yaml          # relative to this file, or a built-in ruleset name
//! tests:
//!   - name: ssh keys are off limits
//!     event: {eventType: file_read, data: {path: /home/me/.ssh/id_rsa}}
//!     expect: {status: deny, guard: forbidden_path, severity: critical, message: forbidden path}
//! ```

use serde::Deserialize;
use serde_json::Value;

use clawdstrike_engine::decision::{Severity, Status};
use clawdstrike_engine::event::PolicyEvent;
use clawdstrike_engine::Engine;

/// A policy test file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTestFile {
    /// The policy under test (a path relative to the test file, or a ruleset name);
    /// the command line may override it.
    #[serde(default)]
    pub policy: Option<String>,
    /// The cases.
    pub tests: Vec<PolicyTestCase>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTestCase {
    /// What the case checks.
    pub name: String,
    /// The event (same JSON shape as `clawdstrike check` reads; `eventId` optional).
    pub event: Value,
    /// What the decision must be.
    pub expect: Expectation,
}

/// Expected decision; every field given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// allow, warn or deny.
    #[serde(default)]
    pub status: Option<Status>,
    /// The deciding guard or rule.
    #[serde(default)]
    pub guard: Option<String>,
    /// The decision's severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// A substring of the decision's message or reason (case-insensitive).
    #[serde(default)]
    pub message: Option<String>,
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The case's name.
    pub name: String,
    /// Every expectation that did not hold; empty = passed.
    pub failures: Vec<String>,
}

impl CaseOutcome {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl PolicyTestFile {
    /// Parse a test file.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}

/// Run every case against an engine.
pub fn run(engine: &Engine, file: &PolicyTestFile) -> Vec<CaseOutcome> {
    file.tests
        .iter()
        .enumerate()
        .map(|(i, case)| run_case(engine, i, case))
        .collect()
}

fn run_case(engine: &Engine, index: usize, case: &PolicyTestCase) -> CaseOutcome {
    let mut event_value = case.event.clone();
    if let Value::Object(map) = &mut event_value {
        if !map.contains_key("eventId") && !map.contains_key("event_id") {
            map.insert(
                "eventId".into(),
                Value::String(format!("test-{}", index + 1)),
            );
        }
    }
    let event = match PolicyEvent::from_value(event_value) {
        Ok(e) => e,
        Err(e) => {
            return CaseOutcome {
                name: case.name.clone(),
                failures: vec![format!("invalid event: {e}")],
            }
        }
    };
    let decision = engine.check(&event);
    let mut failures = Vec::new();
    let expect = &case.expect;
    if let Some(status) = expect.status {
        if decision.status != status {
            failures.push(format!(
                "expected status {status}, got {} ({})",
                decision.status, decision.reason
            ));
        }
    }
    if let Some(guard) = &expect.guard {
        if decision.guard.as_deref() != Some(guard.as_str()) {
            failures.push(format!(
                "expected guard `{guard}`, got {}",
                decision
                    .guard
                    .as_deref()
                    .map(|g| format!("`{g}`"))
                    .unwrap_or_else(|| "none".into())
            ));
        }
    }
    if let Some(severity) = expect.severity {
        if decision.severity != severity {
            failures.push(format!(
                "expected severity {severity}, got {}",
                decision.severity
            ));
        }
    }
    if let Some(needle) = &expect.message {
        let needle = needle.to_lowercase();
        if !decision.message.to_lowercase().contains(&needle)
            && !decision.reason.to_lowercase().contains(&needle)
        {
            failures.push(format!(
                "expected the message to contain `{needle}`, got `{}`",
                decision.message
            ));
        }
    }
    CaseOutcome {
        name: case.name.clone(),
        failures,
    }
}
