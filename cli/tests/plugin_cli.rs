//! `clawdstrike` with WebAssembly guards from `path:` entries: decisions, composition,
//! audit records and load errors, through the real binary.

mod common;

use common::guards::example_dir;
use common::{clawdstrike, stderr, stdout, write};
use serde_json::Value;

/// A fake ACME key (the pattern `ACME-[A-Z0-9]{32}`), built so no literal secret sits here.
fn acme_key() -> String {
    format!("ACME-{}", "Z9".repeat(16))
}

fn policy(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let acme = example_dir("acme-secrets");
    let text = format!(
        "version: \"1.2.0\"\nname: plugin-cli\nguards:\n  custom:\n    - path: {}\n{body}",
        acme.display()
    );
    write(dir, "policy.yaml", &text)
}

fn file_write(content: &str) -> String {
    serde_json::json!({
        "eventId": "e1",
        "eventType": "file_write",
        "data": {"type": "file", "path": "/work/app/src/config.rs", "content": content}
    })
    .to_string()
}

fn decisions(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("decision JSON"))
        .collect()
}

#[test]
fn a_path_guard_decides_beside_the_built_ins_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path(), "");
    let audit = dir.path().join("audit.jsonl");
    let key = acme_key();
    let events = write(
        dir.path(),
        "events.jsonl",
        &format!(
            "{}\n{}\n",
            file_write(&format!("let k = \"{key}\";")),
            file_write("fn main() {}")
        ),
    );
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--event",
            events.to_str().unwrap(),
            "--json",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let d = decisions(&out);
    assert_eq!(d[0]["status"], "deny", "{}", d[0]);
    assert_eq!(d[0]["guard"], "acme_secrets", "{}", d[0]);
    assert!(
        !d[0].to_string().contains(&key),
        "the secret leaked into the decision"
    );
    assert_eq!(d[1]["status"], "allow", "{}", d[1]);

    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"plugin_loaded"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "plugin_check").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "decision").count(),
        2,
        "{kinds:?}"
    );
    assert!(!std::fs::read_to_string(&audit).unwrap().contains(&key));
}

#[test]
fn a_path_guard_is_an_operand_of_composition_rules() {
    let dir = tempfile::tempdir().unwrap();
    // The rule consumes acme_secrets and downgrades its deny to a warn.
    let rules = "  composition:\n    - name: fixture_secrets\n      when: { eventType: file_write }\n      logic:\n        guard: acme_secrets\n      action: warn\n      severity: medium\n      message: secret found (rule)\n";
    let policy = policy(dir.path(), rules);
    let key = acme_key();
    let out = clawdstrike(
        &["check", "--policy", policy.to_str().unwrap(), "--json"],
        Some(file_write(&format!("k={key}")).as_bytes()),
    );
    let d = decisions(&out);
    assert_eq!(d[0]["guard"], "fixture_secrets", "{}", d[0]);
    assert_eq!(d[0]["status"], "warn", "{}", d[0]);
    let trace = d[0].to_string();
    assert!(
        trace.contains("acme_secrets"),
        "the trace names the custom guard: {trace}"
    );
}

#[test]
fn a_config_the_schema_refuses_fails_the_policy_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy(dir.path(), "");
    let text =
        std::fs::read_to_string(&policy).unwrap() + "      config:\n        action: explode\n";
    std::fs::write(&policy, text).unwrap();
    let out = clawdstrike(&["policy", "validate", policy.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("policy.yaml:"), "{err}");
    assert!(err.contains("guards.custom[0].config"), "{err}");
    assert!(err.contains("acme_secrets"), "{err}");
}

#[test]
fn a_broken_manifest_fails_the_policy_naming_the_manifest_line() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("broken");
    std::fs::create_dir(&pkg).unwrap();
    write(
        &pkg,
        "clawdstrike.plugin.json",
        "{\n  \"version\": \"1.0.0\",\n  \"name\": \"broken\",\n  \"guards\": [\n    {\"name\": \"x\", \"entrypoint\": \"dist/guard.wasm\", \"handles\": [\"file_delete\"]}\n  ]\n}\n",
    );
    let policy = write(
        dir.path(),
        "policy.yaml",
        "version: \"1.2.0\"\nguards:\n  custom:\n    - path: ./broken\n",
    );
    let out = clawdstrike(&["policy", "validate", policy.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("clawdstrike.plugin.json:5:"), "{err}");
    assert!(err.contains("file_delete"), "{err}");
    assert!(err.contains("guards.custom[0].path"), "{err}");
}

#[test]
fn a_missing_package_fails_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "policy.yaml",
        "version: \"1.2.0\"\nguards:\n  custom:\n    - path: ./nowhere\n",
    );
    let out = clawdstrike(&["policy", "validate", policy.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nowhere"), "{}", stderr(&out));
}

#[test]
fn guard_validate_reports_a_good_package_and_refuses_a_bad_one() {
    let acme = example_dir("acme-secrets");
    let out = clawdstrike(
        &["guard", "validate", acme.to_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["guards"][0]["name"], "acme_secrets");
    assert_eq!(summary["guards"][0]["tier"], "community");

    // A configuration the guard refuses.
    let out = clawdstrike(
        &[
            "guard",
            "validate",
            acme.to_str().unwrap(),
            "--config",
            r#"{"patterns": []}"#,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("patterns"), "{}", stderr(&out));

    // A package asking for more than a community guard may have: refused at community,
    // accepted when checked as verified.
    let pkg = common::guards::package(
        &common::guards::example_wasm("parity-rust"),
        &common::guards::manifest(
            "parity_check",
            &["file_write", "command_exec", "tool_call", "network_egress"],
            serde_json::json!({}),
            serde_json::json!({"maxMemoryMb": 256}),
            "verified",
        ),
    );
    let out = clawdstrike(&["guard", "validate", pkg.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("maxMemoryMb"), "{}", stderr(&out));
    let out = clawdstrike(
        &[
            "guard",
            "validate",
            pkg.path().to_str().unwrap(),
            "--tier",
            "verified",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("runs as verified"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_path_guard_operand_can_have_its_own_config() {
    let dir = tempfile::tempdir().unwrap();
    // The operand's instance skips files under /work/app/src; the policy's own
    // acme_secrets instance (not consumed by the rule) still scans them.
    let rules = "  composition:\n    - name: src_is_exempt\n      logic:\n        guard: acme_secrets\n        config: { allow_paths: [\"/work/app/src/\"] }\n      action: deny\n";
    let policy = policy(dir.path(), rules);
    let key = acme_key();
    let out = clawdstrike(
        &["check", "--policy", policy.to_str().unwrap(), "--json"],
        Some(file_write(&format!("k={key}")).as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let d = &decisions(&out)[0];
    let results = d["results"].as_array().expect("results");
    let rule = results
        .iter()
        .find(|r| r["name"] == "src_is_exempt")
        .expect("rule result");
    assert_eq!(rule["status"], "allow", "{d}");
    let guard = results
        .iter()
        .find(|r| r["name"] == "acme_secrets")
        .expect("guard result");
    assert_eq!(guard["status"], "deny", "{d}");
}
