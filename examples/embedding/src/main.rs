//! Embedding the Clawdstrike engine in an agent runtime.
//!
//! The runtime builds one [`Engine`] from its policy when it starts (or when the policy
//! changes), then asks it about every action the agent is about to take. `Engine::check`
//! takes `&self`: share one engine across threads behind an `Arc`.
//!
//! Run it: `cargo run -p embedding-example`. It prints one decision per event and exits
//! non-zero if any decision differs from what the policy says it should be.

use clawdstrike_engine::{Engine, PolicyEvent, Status};

/// The runtime's policy: the built-in default ruleset, plus a rule of its own.
const POLICY: &str = r#"
version: "1.2.0"
name: my-agent
extends: default
guards:
  egress_allowlist:
    additional_allow: ["api.internal.example"]
  mcp_tool:
    block: ["shell_exec"]
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every problem of the policy comes back at once, each with its location.
    let engine = Engine::from_yaml(POLICY)?;

    // Events are the canonical `PolicyEvent` JSON; the runtime may also build them in code.
    let from_json = PolicyEvent::from_value(serde_json::json!({
        "eventId": "e4",
        "eventType": "tool_call",
        "data": {"type": "tool", "toolName": "mcp__server__shell_exec", "parameters": {}}
    }))?;
    let cases = [
        (
            PolicyEvent::file_read("e1", "/home/me/.ssh/id_rsa"),
            Status::Deny,
        ),
        (
            PolicyEvent::network("e2", "api.internal.example", 443),
            Status::Allow,
        ),
        (
            PolicyEvent::network("e3", "exfil.attacker.example", 443),
            Status::Deny,
        ),
        (from_json, Status::Deny),
        (
            PolicyEvent::file_read("e5", "/work/project/README.md"),
            Status::Allow,
        ),
    ];

    let mut unexpected = 0;
    for (event, expected) in &cases {
        let decision = engine.check(event);
        println!(
            "{:<4} {:<6} {}",
            event.event_id,
            decision.status.as_str(),
            decision.reason
        );
        if decision.status != *expected {
            eprintln!("expected {expected}, got {}", decision.status);
            unexpected += 1;
        }
    }
    if unexpected > 0 {
        return Err(format!("{unexpected} decision(s) differ from the policy").into());
    }
    Ok(())
}
