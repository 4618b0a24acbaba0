//! Hostile input (corpus in `tests/hostile/`): exit code 2 with a clear message, or a
//! fail-closed deny — never a panic, never a hang.

mod common;

use common::{clawdstrike, hostile, stderr, stdout};
use serde_json::Value;

const OK_EVENT: &str = r#"{"eventId":"ok","eventType":"file_read","data":{"path":"/repo/a.txt"}}"#;

fn assert_bad_input(out: &std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    let err = stderr(out);
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn check_policy(policy: &str) -> std::process::Output {
    clawdstrike(&["check", "--policy", policy], Some(OK_EVENT.as_bytes()))
}

#[test]
fn yaml_alias_bomb_is_refused() {
    let out = check_policy(hostile("alias-bomb.yaml").to_str().unwrap());
    assert_bad_input(&out, "alias-bomb.yaml");
}

#[test]
fn oversized_regex_is_refused_at_load() {
    let out = check_policy(hostile("oversized-regex.yaml").to_str().unwrap());
    assert_bad_input(&out, "patterns[0].pattern");
}

#[test]
fn version_1_0_0_says_what_to_change() {
    let out = check_policy(hostile("version-1.0.0.yaml").to_str().unwrap());
    assert_bad_input(&out, "version-1.0.0.yaml:1:");
    assert!(stderr(&out).contains("1.2.0"));
}

#[test]
fn extends_cycle_is_detected() {
    let out = check_policy(hostile("extends-cycle-a.yaml").to_str().unwrap());
    assert_bad_input(&out, "cycle");
}

#[test]
fn oversized_policy_document_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = String::from("version: \"1.1.0\"\ndescription: \"");
    big.push_str(&"x".repeat(2 * 1024 * 1024));
    big.push_str("\"\n");
    let path = common::write(dir.path(), "big.yaml", &big);
    let out = check_policy(path.to_str().unwrap());
    assert_bad_input(&out, "larger than the limit");
}

#[test]
fn a_100_mb_event_is_refused() {
    let mut event = String::from(
        r#"{"eventId":"big","eventType":"file_write","data":{"path":"/repo/a.txt","content":""#,
    );
    event.push_str(&"A".repeat(100 * 1024 * 1024));
    event.push_str("\"}}");
    let out = clawdstrike(&["check", "--policy", "default"], Some(event.as_bytes()));
    assert_bad_input(&out, "larger than the limit");
}

#[test]
fn deeply_nested_json_is_refused() {
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--event",
            hostile("deep-nesting.json").to_str().unwrap(),
        ],
        None,
    );
    assert_bad_input(&out, "recursion limit");
}

#[test]
fn invalid_utf8_is_refused() {
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--event",
            hostile("invalid-utf8.json").to_str().unwrap(),
        ],
        None,
    );
    assert_bad_input(&out, "UTF-8");
}

#[test]
fn nul_suffixed_path_is_denied() {
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--json",
            "--event",
            hostile("nul-in-path.json").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let d: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(d["status"], "deny");
    assert_eq!(d["guard"], "forbidden_path");
}

#[test]
fn unknown_event_type_is_bad_input() {
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--event",
            hostile("unknown-event-type.json").to_str().unwrap(),
        ],
        None,
    );
    assert_bad_input(&out, "teleport");
}

#[test]
fn data_type_mismatch_is_bad_input() {
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--event",
            hostile("data-type-mismatch.json").to_str().unwrap(),
        ],
        None,
    );
    assert_bad_input(&out, "data.type");
}

#[test]
fn truncated_json_is_bad_input_with_location() {
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--event",
            hostile("truncated.json").to_str().unwrap(),
        ],
        None,
    );
    assert_bad_input(&out, "truncated.json:");
}

#[test]
fn bad_event_in_a_stream_does_not_stop_the_others() {
    let input = format!("{OK_EVENT}\n{{\"eventType\":\"file_read\",\"data\":{{}}}}\n{OK_EVENT}\n");
    let out = clawdstrike(
        &["check", "--policy", "default", "--json"],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).lines().count(), 2);
    assert!(stderr(&out).contains(":2:1"), "{}", stderr(&out));
}
