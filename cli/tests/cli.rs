//! The `clawdstrike` CLI contract (DESIGN.md §3.4): exit codes, JSON decisions, streams,
//! `policy validate | show | test`, the audit log.

mod common;

use common::{clawdstrike, stderr, stdout, write};
use serde_json::Value;

const SSH_READ: &str = r#"{"eventId":"e1","eventType":"file_read","data":{"type":"file","path":"/home/me/.ssh/id_rsa"}}"#;
const SRC_READ: &str =
    r#"{"eventId":"e2","eventType":"file_read","data":{"type":"file","path":"/repo/src/main.rs"}}"#;

#[test]
fn denied_event_exits_1_with_decision_json() {
    let out = clawdstrike(
        &["check", "--policy", "default", "--json"],
        Some(SSH_READ.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let d: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(d["eventId"], "e1");
    assert_eq!(d["status"], "deny");
    assert_eq!(d["allowed"], false);
    assert_eq!(d["denied"], true);
    assert_eq!(d["warn"], false);
    assert_eq!(d["guard"], "forbidden_path");
    assert_eq!(d["severity"], "critical");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("Access to forbidden path"));
    assert!(d["reason"].as_str().unwrap().contains("forbidden_path"));
    let results = d["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["name"] == "forbidden_path" && r["status"] == "deny"));
    assert!(results.iter().all(|r| r.get("durationUs").is_some()));
}

#[test]
fn allowed_event_exits_0() {
    let out = clawdstrike(
        &["check", "--policy", "default", "--json"],
        Some(SRC_READ.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(d["status"], "allow");
    assert_eq!(d["allowed"], true);
}

#[test]
fn jsonl_stream_prints_one_decision_per_event() {
    let input = format!("{SRC_READ}\n{SSH_READ}\n{SRC_READ}\n");
    let out = clawdstrike(
        &["check", "--policy", "default", "--json", "--event", "-"],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let statuses: Vec<&str> = lines
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["allow", "deny", "allow"]);
}

#[test]
fn event_from_file_and_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let event = write(dir.path(), "e.json", SSH_READ);
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--event",
            event.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("DENY  e1: denied by guard forbidden_path"),
        "{text}"
    );
}

#[test]
fn invalid_policy_exits_2_with_location() {
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            common::hostile("unknown-field.yaml").to_str().unwrap(),
        ],
        Some(SRC_READ.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown-field.yaml:5:"), "{err}");
    assert!(err.contains("pattterns"), "{err}");
}

#[test]
fn validate_reports_every_error_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yaml",
        "version: \"1.1.0\"\nguards:\n  secret_leak:\n    patterns:\n      - name: bad\n        pattern: \"(unclosed\"\n  egress_allowlist:\n    allow: [\"[\"]\n",
    );
    let out = clawdstrike(&["policy", "validate", policy.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("p.yaml:6:"),
        "secret_leak error located: {err}"
    );
    assert!(
        err.lines().filter(|l| l.starts_with("error:")).count() >= 2,
        "{err}"
    );
}

#[test]
fn validate_accepts_every_builtin_ruleset() {
    for name in [
        "default",
        "strict",
        "ai-agent",
        "cicd",
        "permissive",
        "clawdstrike:default",
    ] {
        let out = clawdstrike(&["policy", "validate", name], None);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("ok:"));
    }
}

#[test]
fn show_resolved_merges_extends_and_fills_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yaml",
        "version: \"1.1.0\"\nextends: strict\nguards:\n  forbidden_path:\n    additional_patterns: [\"**/corp-secrets/**\"]\n",
    );
    let out = clawdstrike(
        &["policy", "show", "--resolved", policy.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("**/corp-secrets/**"), "{text}");
    assert!(
        text.contains("**/.vault/**"),
        "strict's patterns kept: {text}"
    );
    assert!(
        text.contains("prompt_injection"),
        "absent sections shown with defaults: {text}"
    );
    assert!(!text.contains("extends"), "{text}");
}

#[test]
fn show_resolved_does_not_print_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "p.yaml",
        "version: \"1.1.0\"\nguards:\n  egress_allowlist:\n    allow: [\"${secrets.internal_host}\"]\n",
    );
    let out = clawdstrike(
        &["policy", "show", "--resolved", policy.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("${secrets.internal_host}"));
}

#[test]
fn policy_test_passes_and_fails_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "policy.yaml",
        "version: \"1.1.0\"\nextends: default\n",
    );
    let passing = write(
        dir.path(),
        "ok.yaml",
        r#"policy: ./policy.yaml
tests:
  - name: ssh keys are off limits
    event: {eventType: file_read, data: {path: /home/me/.ssh/id_rsa}}
    expect: {status: deny, guard: forbidden_path, severity: critical, message: forbidden path}
  - name: source is fine
    event: {eventType: file_read, data: {path: /repo/src/lib.rs}}
    expect: {status: allow}
"#,
    );
    let out = clawdstrike(&["policy", "test", passing.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("tests: 2 passed, 0 failed"));

    let failing = write(
        dir.path(),
        "bad.yaml",
        r#"policy: ./policy.yaml
tests:
  - name: wrong expectation
    event: {eventType: file_read, data: {path: /repo/src/lib.rs}}
    expect: {status: deny}
"#,
    );
    let out = clawdstrike(&["policy", "test", failing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("FAIL wrong expectation"), "{text}");
    assert!(text.contains("expected status deny, got allow"), "{text}");
}

#[test]
fn audit_log_gets_one_record_per_decision() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let input = format!("{SRC_READ}\n{SSH_READ}\n");
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--json",
            "--audit-log",
            log.to_str().unwrap(),
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["eventId"], "e1");
    assert_eq!(records[1]["decision"]["status"], "deny");
    assert!(!records[1]["decision"]["results"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn empty_input_is_bad_input() {
    let out = clawdstrike(&["check", "--policy", "default"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no event"));
}

#[test]
fn unknown_ruleset_or_missing_file_is_bad_input() {
    let out = clawdstrike(
        &["check", "--policy", "no-such-policy.yaml"],
        Some(SRC_READ.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-policy.yaml"));
}

/// Output into a pipe that closes early (`| head -1`) ends the process quietly, as with
/// other Unix tools: no panic message.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_output_quietly() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    // Far more decisions than a pipe buffer (64 KiB) holds.
    let events: String = (0..5000)
        .map(|i| {
            format!(
                "{{\"eventId\":\"e{i}\",\"eventType\":\"file_read\",\"data\":{{\"type\":\"file\",\"path\":\"/tmp/f{i}\"}}}}\n"
            )
        })
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args(["check", "--policy", "default", "--json", "--event", "-"])
        .env_remove("CLAWDSTRIKE_AUDIT_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(events.as_bytes());
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"e0\""), "{first}");
    // The reader is gone: the next write that does not fit the buffer hits a closed pipe.
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(13), "{:?}: {stderr}", out.status);
}

#[test]
fn a_live_pipe_gets_each_decision_before_it_sends_the_next_event() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let mut child = Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args(["check", "--policy", "default", "--json"])
        .env_remove("CLAWDSTRIKE_AUDIT_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    // The input stays open: each answer has to come while the CLI waits for more.
    for (event, id) in [(SSH_READ, "e1"), (SRC_READ, "e2")] {
        writeln!(stdin, "{event}").unwrap();
        stdin.flush().unwrap();
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a decision while the input is still open");
        let d: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(d["eventId"], id);
    }
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "e1 was denied");
}

#[test]
fn an_oversized_event_is_skipped_and_the_rest_are_decided() {
    let big = format!(
        r#"{{"eventId":"big","eventType":"file_write","data":{{"type":"file","path":"/tmp/x","content":"{}"}}}}"#,
        "a".repeat(5000)
    );
    let input = format!("{SRC_READ}\n{big}\n[{SSH_READ}, {SRC_READ}]\n");
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            "default",
            "--json",
            "--max-event-bytes",
            "1000",
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2), "bad input wins");
    let ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["eventId"].to_string())
        .collect();
    assert_eq!(ids, ["\"e2\"", "\"e1\"", "\"e2\""]);
    assert!(
        stderr(&out).contains("<stdin>:2:1: event is 5"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn positions_in_errors_count_from_the_start_of_the_input() {
    let mut input = String::new();
    for _ in 0..3000 {
        input.push_str(SRC_READ);
        input.push('\n');
    }
    input.push_str("{\"eventId\": \"x\", \"eventType\": \"teleport\"}\n");
    input.push_str("{\"eventId\": \n");
    let out = clawdstrike(
        &["check", "--policy", "default", "--json"],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).lines().count(), 3000);
    let err = stderr(&out);
    assert!(
        err.contains("<stdin>:3001:40: event 3001: invalid event: unknown variant `teleport`"),
        "{err}"
    );
    assert!(err.contains("teleport"), "{err}");
    assert!(err.contains("<stdin>:3003:1: invalid JSON"), "{err}");
}
