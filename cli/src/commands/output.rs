//! How decisions look on a terminal.

use std::fmt::Write;

use clawdstrike_engine::{Decision, Status};

/// One decision for a person: a headline, then every contribution.
pub fn human(decision: &Decision) -> String {
    let mut out = String::new();
    let label = match decision.status {
        Status::Allow => "ALLOW",
        Status::Warn => "WARN ",
        Status::Deny => "DENY ",
    };
    let id = if decision.event_id.is_empty() {
        "(no id)"
    } else {
        decision.event_id.as_str()
    };
    let _ = writeln!(out, "{label} {id}: {}", decision.reason);
    for c in &decision.results {
        let _ = write!(
            out,
            "  {:<5} {:<20} {:<8} {}",
            c.status.as_str(),
            c.name,
            c.severity.as_str(),
            c.message
        );
        if let Some(score) = c.score {
            let _ = write!(out, " (score {score})");
        }
        let _ = writeln!(out, " [{} µs]", c.duration_us);
        for t in &c.trace {
            let status = match (t.skipped, t.status) {
                (true, _) => format!(
                    "skipped{}",
                    t.skip_reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
                (false, Some(s)) => s.to_string(),
                (false, None) => "-".into(),
            };
            let _ = writeln!(out, "      {} -> {status}", t.node);
        }
    }
    out
}
