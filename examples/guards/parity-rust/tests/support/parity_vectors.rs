//! Reader for `examples/guards/parity-vectors.json`, the vectors both twins run.
//!
//! Accepted shape (a top-level array, or an object with a `vectors` array):
//! `{"name"?, "config"?: {...}, "event": {...}, "expect": {...}}` where `expect` is
//! `{"status", "severity"?: null|"low".., "reason"?, "details"?: null | "JSON text" |
//! {...}}`, or `{"error": "text"}` (an init or check error containing the text), or
//! `{"initError": "text"}`.
//! (`expected`, `init_error` are accepted spellings.) Anything else fails the test with
//! a message saying what was not understood: a vector is never skipped silently.

use clawdstrike_guard_sdk::testing::{invoke, BackendKind, GuardTest, Outcome, TestHost};
use clawdstrike_guard_sdk::{Guard, Status, Verdict};
use parity_rust_guard::ParityCheck;
use serde_json::Value;

fn field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| v.get(*n))
}

/// Run every vector against `t`; returns how many ran.
pub fn run(text: &str, t: &GuardTest) -> usize {
    let doc: Value = serde_json::from_str(text).expect("parity-vectors.json is not JSON");
    let vectors = doc
        .as_array()
        .or_else(|| doc.get("vectors").and_then(Value::as_array))
        .expect("parity-vectors.json: expected an array or {\"vectors\": [...]}");
    for (i, v) in vectors.iter().enumerate() {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), str::to_string);
        let config = v
            .get("config")
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()));
        let event = v
            .get("event")
            .unwrap_or_else(|| panic!("vector {name}: no \"event\""));
        let expect = field(v, &["expect", "expected"])
            .unwrap_or_else(|| panic!("vector {name}: no \"expect\""));
        let got = outcome(t, &config, event);
        check_one(&name, t.backend_kind(), expect, got);
    }
    vectors.len()
}

fn outcome(t: &GuardTest, config: &Value, event: &Value) -> Outcome {
    match t.backend_kind() {
        // The twins are compared on what their exports return, without the engine's
        // event-type filter, so native vectors call the exports' logic directly.
        BackendKind::Native => {
            let (config, event) = (config.to_string(), event.to_string());
            match TestHost::new().run(|| invoke::<ParityCheck>(&config, &event)) {
                Ok(v) => Outcome::Verdict(v),
                // The parity guard's only check error is a malformed event; any other
                // error comes from init.
                Err(e) if e.starts_with("invalid event: ") => Outcome::Error(e),
                Err(e) => Outcome::InitError(e),
            }
        }
        BackendKind::Sandbox => t
            .clone()
            .with_config(config.clone())
            .check(event.clone())
            .outcome()
            .clone(),
    }
}

fn check_one(name: &str, backend: BackendKind, expect: &Value, got: Outcome) {
    if let Some(text) = field(expect, &["initError", "init_error"]).and_then(Value::as_str) {
        match got {
            Outcome::InitError(e)
                if (backend == BackendKind::Native && e == text) || e.contains(text) => {}
            other => panic!("vector {name}: expected init error {text:?}, got {other:?}"),
        }
        return;
    }
    if let Some(text) = expect.get("error").and_then(Value::as_str) {
        // Init and check errors are one kind in the vectors: what the exports return.
        let ok = match &got {
            Outcome::Error(e) | Outcome::InitError(e) => e.contains(text),
            Outcome::Verdict(v) if backend == BackendKind::Sandbox => {
                v.status == Status::Deny && v.reason.as_deref().unwrap_or("").contains(text)
            }
            _ => false,
        };
        assert!(
            ok,
            "vector {name}: expected an error containing {text:?}, got {got:?}"
        );
        return;
    }
    let status = expect
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_else(|| {
            panic!("vector {name}: \"expect\" has none of status, initError, error: {expect}")
        });
    let v: Verdict = match got {
        Outcome::Verdict(v) => v,
        Outcome::Skipped if backend == BackendKind::Sandbox => {
            // The engine does not call a guard for types it does not handle.
            let handled = ParityCheck::HANDLES
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>();
            assert!(!handled.contains(&status), "vector {name}: skipped");
            return;
        }
        other => panic!("vector {name}: expected {status}, got {other:?}"),
    };
    assert_eq!(v.status.as_str(), status, "vector {name}: status of {v:?}");
    if let Some(reason) = expect.get("reason").and_then(Value::as_str) {
        assert_eq!(v.reason.as_deref(), Some(reason), "vector {name}: reason");
    }
    if let Some(sev) = expect.get("severity") {
        let got = v.severity.map(|s| s.as_str());
        match (backend, sev.as_str()) {
            (BackendKind::Native, want) => assert_eq!(got, want, "vector {name}: severity"),
            // The engine fills in a severity when the guard sets none.
            (BackendKind::Sandbox, Some(want)) => {
                assert_eq!(got, Some(want), "vector {name}: severity")
            }
            (BackendKind::Sandbox, None) => {}
        }
    }
    if let Some(details) = expect.get("details") {
        match details {
            Value::Null => assert_eq!(v.details, None, "vector {name}: details"),
            // The exact text the component returns: byte for byte natively; in the
            // sandbox the engine has parsed it, so compare values.
            Value::String(text) => {
                if backend == BackendKind::Native {
                    assert_eq!(
                        v.details_text().as_deref(),
                        Some(text.as_str()),
                        "vector {name}: details"
                    );
                }
                let want: Value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("vector {name}: details {text:?} is not JSON: {e}"));
                assert_eq!(v.details.as_ref(), Some(&want), "vector {name}: details");
            }
            other => assert_eq!(v.details.as_ref(), Some(other), "vector {name}: details"),
        }
    }
}
