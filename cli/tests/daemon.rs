//! `clawdstrike daemon`: the same decisions as `clawdstrike check` under concurrent load,
//! batches, problem+json for bad requests, and policy reloads (a bad policy is refused and
//! the old one keeps deciding).

mod common;
#[path = "../../engine/tests/fake_services/mod.rs"]
mod fake_services;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clawdstrike_engine::PolicyEvent;
use common::{clawdstrike, stdout, write};
use serde_json::Value;

struct Daemon {
    url: String,
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(policy: &Path) -> Daemon {
    start_with(policy, &[])
}

fn start_with(policy: &Path, extra: &[&str]) -> Daemon {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args([
            "daemon",
            "--listen",
            "127.0.0.1:0",
            "--reload-interval-ms",
            "100",
            "--policy",
        ])
        .arg(policy)
        .args(extra)
        .env_remove("CLAWDSTRIKE_AUDIT_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    Daemon { url, child }
}

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn post(url: &str, body: String) -> (u16, String, Value) {
    let r = client()
        .post(format!("{url}/api/v1/check"))
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// A decision without its timings (`durationUs` differs from run to run).
fn untimed(mut v: Value) -> Value {
    match &mut v {
        Value::Object(m) => {
            m.remove("durationUs");
            for x in m.values_mut() {
                *x = untimed(x.take());
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = untimed(x.take());
            }
        }
        _ => {}
    }
    v
}

fn corpus() -> Vec<Value> {
    let events = [
        PolicyEvent::file_read("e1", "/home/me/.ssh/id_rsa"),
        PolicyEvent::file_read("e2", "/repo/src/main.rs"),
        PolicyEvent::command("e3", "rm", &["-rf", "/"]),
        PolicyEvent::command("e4", "ls", &["-la"]),
        PolicyEvent::network("e5", "example.com", 443),
        PolicyEvent::file_write(
            "e6",
            "/repo/.env",
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        PolicyEvent::file_write("e7", "/repo/README.md", "hello"),
    ];
    events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn concurrent_requests_get_the_same_decisions_as_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "policy.yaml",
        "version: \"1.2.0\"\nextends: default\n",
    );
    let events = corpus();
    let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
    let out = clawdstrike(
        &["check", "--json", "--policy", policy.to_str().unwrap()],
        Some(lines.as_bytes()),
    );
    let expected: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| untimed(serde_json::from_str(l).unwrap()))
        .collect();
    assert_eq!(expected.len(), events.len());
    assert!(
        expected.iter().any(|d| d["status"] == "deny")
            && expected.iter().any(|d| d["status"] == "allow")
    );

    let d = start(&policy);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (events, expected, url) = (&events, &expected, &d.url);
            s.spawn(move || {
                for round in 0..25 {
                    let i = (t + round) % events.len();
                    let (status, _, decision) = post(url, events[i].to_string());
                    assert_eq!(status, 200);
                    assert_eq!(untimed(decision), expected[i], "event {i}");
                }
            });
        }
    });
    // A batch answers with an array in order.
    let (status, _, decisions) = post(&d.url, Value::Array(events.clone()).to_string());
    assert_eq!(status, 200);
    assert_eq!(untimed(decisions), Value::Array(expected.clone()));

    // Bad requests are problems.
    for (body, code) in [
        ("{not json".to_string(), 400),
        (r#"{"eventType":"nope"}"#.to_string(), 400),
    ] {
        let (status, ct, problem) = post(&d.url, body);
        assert_eq!(
            (status, ct.as_str()),
            (code, "application/problem+json"),
            "{problem}"
        );
        assert!(problem["detail"].as_str().is_some());
    }
    let r = client().get(format!("{}/nope", d.url)).send().unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let metrics = client()
        .get(format!("{}/metrics", d.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("clawdstrike_daemon_decisions_total{status=\"deny\"}"),
        "{metrics}"
    );
}

fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_changed_policy_is_reloaded_and_a_broken_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "policy.yaml",
        "version: \"1.2.0\"\nextends: default\n",
    );
    let d = start(&policy);
    let readme = PolicyEvent::file_read("r", "/srv/secret-plans.txt");
    let body = serde_json::to_value(&readme).unwrap().to_string();
    assert_eq!(post(&d.url, body.clone()).2["status"], "allow");

    write(
        dir.path(),
        "policy.yaml",
        "version: \"1.2.0\"\nextends: default\nguards:\n  forbidden_path:\n    patterns: [\"**/secret-plans.txt\"]\n",
    );
    assert!(
        wait_for(|| post(&d.url, body.clone()).2["status"] == "deny"),
        "the new policy was not picked up"
    );
    let health: Value = serde_json::from_str(
        &client()
            .get(format!("{}/healthz", d.url))
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(health["policy"]["generation"], 2);

    // A broken policy is refused: the previous one keeps deciding.
    write(
        dir.path(),
        "policy.yaml",
        "version: \"1.2.0\"\nguards:\n  forbidden_path: {patterns: [\"[\"]}\n",
    );
    let metrics_say_refused = || {
        client()
            .get(format!("{}/metrics", d.url))
            .send()
            .unwrap()
            .text()
            .unwrap()
            .contains("clawdstrike_daemon_reloads_total{status=\"refused\"} 1")
    };
    assert!(
        wait_for(metrics_say_refused),
        "the broken policy was not noticed"
    );
    assert_eq!(post(&d.url, body).2["status"], "deny");
    let health: Value = serde_json::from_str(
        &client()
            .get(format!("{}/healthz", d.url))
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(health["policy"]["generation"], 2);
}

#[test]
fn async_guards_in_the_daemon_decide_as_the_cli_and_audit_background_results() {
    let svc = fake_services::start();
    svc.with(|i| {
        i.vt.insert(fake_services::sha256_hex(b"evil payload"), 20);
    });
    let dir = tempfile::tempdir().unwrap();
    let policy = write(
        dir.path(),
        "policy.yaml",
        &format!(
            "version: \"1.2.0\"\nextends: default\nguards:\n  custom:\n    - package: clawdstrike-virustotal\n      config: {{base_url: \"{}/api/v3\", api_key: {}}}\n      async: {{rate_limit: {{requests_per_second: 1000}}}}\n    - package: clawdstrike-webhook\n      config: {{url: \"{}\"}}\n      async: {{execution_mode: background, on_timeout: allow, cache: {{enabled: false}}}}\n",
            svc.url(""),
            fake_services::KEY,
            svc.url("/hook")
        ),
    );
    let mut events = corpus();
    events.push(
        serde_json::to_value(PolicyEvent::file_write("v1", "/tmp/x.bin", "evil payload")).unwrap(),
    );
    events.push(serde_json::to_value(PolicyEvent::command("v2", "deploy", &["prod"])).unwrap());
    let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
    let out = clawdstrike(
        &["check", "--json", "--policy", policy.to_str().unwrap()],
        Some(lines.as_bytes()),
    );
    let expected: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| untimed(serde_json::from_str(l).unwrap()))
        .collect();
    assert_eq!(expected.len(), events.len());
    assert_eq!(expected[7]["status"], "deny", "{}", expected[7]);

    let audit = dir.path().join("audit.jsonl");
    let d = start_with(&policy, &["--audit-log", audit.to_str().unwrap()]);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (events, expected, url) = (&events, &expected, &d.url);
            s.spawn(move || {
                for round in 0..20 {
                    let i = (t + round) % events.len();
                    let (status, _, decision) = post(url, events[i].to_string());
                    assert_eq!(status, 200);
                    assert_eq!(untimed(decision), expected[i], "event {i}");
                }
            });
        }
    });
    // The webhook runs in the background: its real verdict on `v2` reaches the audit log.
    assert!(wait_for(|| {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .any(|l| {
                let r: Value = serde_json::from_str(l).unwrap();
                r["kind"] == "async_result"
                    && r["eventId"] == "v2"
                    && r["result"]["status"] == "deny"
            })
    }));
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(text.contains("\"kind\":\"external_call\""));
    assert!(!text.contains(fake_services::KEY));
}
