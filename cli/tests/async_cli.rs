//! The CLI and async guards: `clawdstrike check` waits for background checks before it
//! exits, so their results reach the audit log (SPEC.md §4).

#[path = "../../engine/tests/fake_services/mod.rs"]
mod fake_services;

use std::time::Duration;

use clawdstrike_engine::PolicyEvent;
use fake_services::{sha256_hex, start, Fault, Server, KEY};
use serde_json::Value;

fn vt_policy(base: &str, async_block: &str) -> String {
    format!(
        "version: \"1.2.0\"\nguards:\n  custom:\n    - package: clawdstrike-virustotal\n      config:\n        base_url: {base}/api/v3\n        api_key: {KEY}\n        min_detections: 3\n      async: {async_block}\n"
    )
}

/// A server that knows `content` as flagged by `malicious` engines.
fn vt_server(content: &str, malicious: u64) -> Server {
    let s = start();
    s.with(|i| i.vt.insert(sha256_hex(content.as_bytes()), malicious));
    s
}

#[test]
fn the_cli_waits_for_background_results_before_it_exits() {
    let s = vt_server("cli bg", 25);
    s.always(Some(Fault::Slow(Duration::from_millis(300))));
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        vt_policy(&s.url(""), "{execution_mode: background}"),
    )
    .unwrap();
    // Built-in integrations need no registry: a broken client configuration is not read.
    std::fs::write(dir.path().join("clawdstrike.yaml"), "registries: [broken").unwrap();
    let audit = dir.path().join("audit.jsonl");
    let event = serde_json::to_string(&PolicyEvent::file_write(
        "cli-1",
        "/tmp/download.bin",
        "cli bg",
    ))
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args(["check", "--json", "--policy"])
        .arg(&policy)
        .arg("--audit-log")
        .arg(&audit)
        .env_remove("CLAWDSTRIKE_AUDIT_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "warn is not a deny");
    let decision: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decision["status"], "warn");
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let result = records
        .iter()
        .find(|r| r["kind"] == "async_result")
        .expect("the background result is in the audit log when the CLI exits");
    assert_eq!(result["eventId"], "cli-1");
    assert_eq!(result["result"]["status"], "deny");
}
