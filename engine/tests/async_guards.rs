//! Async guards end to end (SPEC.md §4): the four first-party integrations against local
//! servers that follow each service's documented shapes, every `on_timeout` behaviour,
//! the circuit breaker, `Retry-After`, malformed answers, refused connections, the cache,
//! execution modes and the audit of every external call.

mod fake_services;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clawdstrike_engine::audit::AuditLog;
use clawdstrike_engine::{Decision, Engine, PolicyEvent, Status};
use fake_services::{refused_url, sha256_hex, start, Fault, Server, KEY};
use serde_json::Value;

struct Rig {
    engine: Engine,
    audit: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rig {
    fn new(yaml: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let engine = Engine::from_yaml(yaml)
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"))
            .with_audit(Arc::new(AuditLog::open(&audit).unwrap()));
        Rig {
            engine,
            audit,
            _dir: dir,
        }
    }

    fn check(&self, event: &PolicyEvent) -> Decision {
        self.engine.check(event)
    }

    fn records(&self, kind: &str) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["kind"] == kind)
            .collect()
    }
}

fn guard<'a>(d: &'a Decision, name: &str) -> &'a clawdstrike_engine::decision::Contribution {
    d.results
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no `{name}` in {d:#?}"))
}

fn vt_policy(base: &str, async_block: &str) -> String {
    format!(
        "version: \"1.2.0\"\nguards:\n  custom:\n    - package: clawdstrike-virustotal\n      config:\n        base_url: {base}/api/v3\n        api_key: {KEY}\n        min_detections: 3\n      async: {async_block}\n"
    )
}

fn malware_write(id: &str, content: &str) -> PolicyEvent {
    PolicyEvent::file_write(id, "/tmp/download.bin", content)
}

/// A server that knows `content` as flagged by `malicious` engines.
fn vt_server(content: &str, malicious: u64) -> Server {
    let s = start();
    s.with(|i| i.vt.insert(sha256_hex(content.as_bytes()), malicious));
    s
}

#[test]
fn virustotal_judges_file_hashes_and_never_sends_content() {
    let s = vt_server("evil payload", 12);
    s.with(|i| i.vt.insert(sha256_hex(b"a little flagged"), 1));
    let rig = Rig::new(&vt_policy(&s.url(""), "{cache: {enabled: false}}"));

    let d = rig.check(&malware_write("e1", "evil payload"));
    assert_eq!(d.status, Status::Deny, "{d:#?}");
    assert!(guard(&d, "virustotal")
        .message
        .contains("12 VirusTotal engines"));
    assert_eq!(
        rig.check(&malware_write("e2", "a little flagged")).status,
        Status::Warn
    );
    let unknown = rig.check(&malware_write("e3", "never seen"));
    assert_eq!(unknown.status, Status::Allow);
    assert!(guard(&unknown, "virustotal").message.contains("no report"));

    let seen = s.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].path,
        format!("/api/v3/files/{}", sha256_hex(b"evil payload"))
    );
    assert_eq!(seen[0].headers["x-apikey"], KEY);
    for r in &seen {
        assert!(r.body.is_empty() && !r.path.contains("payload"), "{r:?}");
    }
    // Every call audited, credentials nowhere in the log.
    let calls = rig.records("external_call");
    assert_eq!(calls.len(), 3);
    let c = &calls[0];
    assert_eq!(c["guard"], "virustotal");
    assert_eq!(c["eventId"], "e1");
    assert_eq!(c["method"], "GET");
    assert_eq!(c["status"], 200);
    assert_eq!(c["outcome"], "response");
    assert_eq!(c["requestBytes"], 0);
    assert!(c["responseBytes"].as_u64().unwrap() > 50);
    assert!(c["durationUs"].as_u64().is_some());
    assert!(c["url"]
        .as_str()
        .unwrap()
        .ends_with(&sha256_hex(b"evil payload")));
    assert!(!std::fs::read_to_string(&rig.audit).unwrap().contains(KEY));
}

#[test]
fn virustotal_looks_urls_up_by_hash_and_skips_internal_hosts() {
    let s = start();
    let url = "https://evil.example/dropper";
    s.with(|i| i.vt.insert(sha256_hex(url.as_bytes()), 30));
    let rig = Rig::new(&vt_policy(&s.url(""), "{}"));
    let mut event = PolicyEvent::network("n1", "evil.example", 443);
    if let clawdstrike_engine::EventData::Network(n) = &mut event.data {
        n.url = Some(url.into());
    }
    assert_eq!(rig.check(&event).status, Status::Deny);
    assert_eq!(
        s.requests()[0].path,
        format!("/api/v3/urls/{}", sha256_hex(url.as_bytes()))
    );
    assert!(!s.requests()[0].path.contains("evil"));

    let before = s.count();
    let d = rig.check(&PolicyEvent::network("n2", "db.internal", 5432));
    assert!(d.results.iter().all(|c| c.name != "virustotal"), "{d:#?}");
    assert_eq!(s.count(), before, "internal hosts are never asked about");
}

#[test]
fn safe_browsing_sends_hash_prefixes_only_and_denies_listed_urls() {
    let s = start();
    s.with(|i| {
        i.sb.push(("phish.example/".into(), "SOCIAL_ENGINEERING".into()))
    });
    let rig = Rig::new(&format!(
        "version: \"1.2.0\"\nguards:\n  egress_allowlist:\n    enabled: false\n  custom:\n    - package: clawdstrike-safe-browsing\n      config: {{base_url: \"{}\", api_key: {KEY}}}\n",
        s.url("/")
    ));
    let mut bad = PolicyEvent::network("s1", "login.phish.example", 443);
    if let clawdstrike_engine::EventData::Network(n) = &mut bad.data {
        n.url = Some("https://login.phish.example/account/verify?u=me".into());
    }
    let d = rig.check(&bad);
    assert_eq!(d.status, Status::Deny, "{d:#?}");
    assert!(guard(&d, "safe_browsing")
        .message
        .contains("SOCIAL_ENGINEERING"));
    let q = &s.requests()[0].query;
    assert!(
        q.contains("hashPrefixes=") && !q.contains("phish") && !q.contains("verify"),
        "{q}"
    );

    // Spellings the URL standard leaves alone but the protocol's canonicalisation
    // undoes: escapes in the path, a path that climbs back, no scheme at all.
    s.with(|i| {
        i.sb.push(("cdn.example/kits/x.zip".into(), "MALWARE".into()))
    });
    for (i, spelling) in [
        "https://CDN.example./kits/x.zip",
        "https://cdn.example/%6bits/%78.zip",
        "https://cdn.example//tmp/../kits/%252e/x.zip",
        "cdn.example/kits/x.zip",
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = PolicyEvent::network(&format!("sb-{i}"), "cdn.example", 443);
        if let clawdstrike_engine::EventData::Network(n) = &mut e.data {
            n.url = Some(spelling.into());
        }
        let d = rig.check(&e);
        assert_eq!(
            guard(&d, "safe_browsing").status,
            Status::Deny,
            "{spelling}: {d:#?}"
        );
    }

    let ok = rig.check(&PolicyEvent::network("s2", "docs.example", 443));
    assert_eq!(guard(&ok, "safe_browsing").status, Status::Allow);
    let logged = rig.records("external_call");
    assert!(
        logged[0]["url"].as_str().unwrap().contains("key=REDACTED"),
        "{logged:?}"
    );
}

#[test]
fn snyk_denies_vulnerable_versions_at_the_threshold() {
    let s = start();
    s.with(|i| {
        i.snyk.insert(
            "pkg:npm/lodash@4.17.15".into(),
            vec![("SNYK-JS-LODASH-567746".into(), "high".into())],
        );
        i.snyk.insert(
            "pkg:npm/left-pad@1.3.0".into(),
            vec![("SNYK-JS-LEFTPAD-1".into(), "low".into())],
        );
    });
    let policy = |threshold: &str| {
        format!(
            "version: \"1.2.0\"\nguards:\n  custom:\n    - package: clawdstrike-snyk\n      config: {{base_url: \"{}\", api_key: {KEY}, org_id: org-1, severity_threshold: {threshold}}}\n",
            s.url("/rest")
        )
    };
    let rig = Rig::new(&policy("high"));
    let d = rig.check(&PolicyEvent::command(
        "c1",
        "npm",
        &["install", "lodash@4.17.15"],
    ));
    assert_eq!(d.status, Status::Deny, "{d:#?}");
    assert!(guard(&d, "snyk").message.contains("SNYK-JS-LODASH-567746"));
    let r = &s.requests()[0];
    assert_eq!(r.headers["authorization"], format!("token {KEY}"));
    assert!(r.query.contains("version=2024-10-15"));
    assert_eq!(
        rig.check(&PolicyEvent::command("c2", "npm", &["i", "left-pad@1.3.0"]))
            .status,
        Status::Allow
    );
    // Unknown to Snyk: allow. No exact version: nothing to ask.
    assert_eq!(
        rig.check(&PolicyEvent::command("c3", "npm", &["i", "fresh@0.1.0"]))
            .status,
        Status::Allow
    );
    let before = s.count();
    rig.check(&PolicyEvent::command("c4", "npm", &["install", "express"]));
    assert_eq!(s.count(), before);

    let lenient = Rig::new(&policy("critical"));
    assert_eq!(
        lenient
            .check(&PolicyEvent::command(
                "c5",
                "npm",
                &["install", "lodash@4.17.15"]
            ))
            .status,
        Status::Allow
    );
}

#[test]
fn the_webhook_gets_a_minimised_event_and_its_decision_counts() {
    let s = start();
    let rig = Rig::new(&format!(
        "version: \"1.2.0\"\nguards:\n  custom:\n    - package: clawdstrike-webhook\n      config: {{url: \"{}\", token: hook-secret}}\n      async: {{on_timeout: deny}}\n",
        s.url("/hook")
    ));
    let d = rig.check(&PolicyEvent::command("w1", "deploy", &["prod"]));
    assert_eq!(d.status, Status::Deny);
    assert!(guard(&d, "webhook")
        .message
        .contains("deploys need approval"));
    assert_eq!(
        rig.check(&PolicyEvent::command("w2", "ls", &[])).status,
        Status::Allow
    );
    rig.check(&PolicyEvent::file_write("w3", "/tmp/x", "TOP SECRET TEXT"));
    let seen = s.requests();
    assert_eq!(seen[0].headers["authorization"], "Bearer hook-secret");
    assert!(!seen[2].body.contains("TOP SECRET"), "{}", seen[2].body);
    assert!(seen[2].body.contains("contentSha256"));

    // A malformed answer is no answer: on_timeout (deny here) decides.
    s.push(Fault::Malformed);
    let d = rig.check(&PolicyEvent::command("w4", "ls", &[]));
    assert_eq!(d.status, Status::Deny);
    assert!(guard(&d, "webhook").message.contains("not JSON"), "{d:#?}");
}

#[test]
fn a_slow_service_gets_exactly_the_configured_on_timeout() {
    let s = vt_server("slow", 50);
    s.always(Some(Fault::Slow(Duration::from_millis(1500))));
    for (setting, want) in [
        ("allow", Status::Allow),
        ("deny", Status::Deny),
        ("warn", Status::Warn),
        ("defer", Status::Warn), // nothing earlier to defer to
    ] {
        let rig = Rig::new(&vt_policy(
            &s.url(""),
            &format!("{{timeout_ms: 150, on_timeout: {setting}}}"),
        ));
        let started = Instant::now();
        let d = rig.check(&malware_write(&format!("t-{setting}"), "slow"));
        assert!(
            started.elapsed() < Duration::from_millis(1200),
            "{setting}: waited for the service"
        );
        let c = guard(&d, "virustotal");
        assert_eq!(c.status, want, "{setting}: {d:#?}");
        assert!(c.message.contains("timed out"), "{}", c.message);
        assert!(
            c.message.contains(&format!("on_timeout: {setting}")),
            "{}",
            c.message
        );
        let calls = rig.records("external_call");
        assert_eq!(calls[0]["outcome"], "timeout", "{calls:?}");
    }
}

#[test]
fn defer_falls_back_on_the_last_known_result() {
    let s = vt_server("known bad", 40);
    let rig = Rig::new(&vt_policy(
        &s.url(""),
        "{timeout_ms: 200, on_timeout: defer, cache: {ttl_seconds: 1}}",
    ));
    assert_eq!(
        rig.check(&malware_write("d1", "known bad")).status,
        Status::Deny
    );
    std::thread::sleep(Duration::from_millis(1100)); // past ttl_seconds
    s.always(Some(Fault::Slow(Duration::from_millis(1000))));
    let d = rig.check(&malware_write("d2", "known bad"));
    let c = guard(&d, "virustotal");
    assert_eq!(c.status, Status::Deny, "{d:#?}");
    assert!(c.message.contains("last known result"), "{}", c.message);
}

#[test]
fn results_are_reused_within_the_ttl_and_not_after() {
    let s = vt_server("cached", 5);
    let rig = Rig::new(&vt_policy(&s.url(""), "{cache: {ttl_seconds: 1}}"));
    for i in 0..3 {
        assert_eq!(
            rig.check(&malware_write(&format!("k{i}"), "cached")).status,
            Status::Deny
        );
    }
    assert_eq!(s.count(), 1, "same hash, three events, one request");
    std::thread::sleep(Duration::from_millis(1100));
    rig.check(&malware_write("k9", "cached"));
    assert_eq!(s.count(), 2, "asked again after the TTL");
}

#[test]
fn a_burst_of_5xx_opens_the_circuit_which_half_opens_and_closes() {
    let s = vt_server("flaky", 0);
    let rig = Rig::new(&vt_policy(
        &s.url(""),
        "{cache: {enabled: false}, on_timeout: warn, rate_limit: {requests_per_second: 100}, circuit_breaker: {failure_threshold: 3, reset_timeout_ms: 400, success_threshold: 2}}",
    ));
    s.always(Some(Fault::Status(503, None)));
    for i in 0..3 {
        let d = rig.check(&malware_write(&format!("b{i}"), "flaky"));
        assert!(guard(&d, "virustotal").message.contains("503"), "{d:#?}");
    }
    assert_eq!(s.count(), 3);
    // Open: no request, at once.
    let d = rig.check(&malware_write("b3", "flaky"));
    assert!(
        guard(&d, "virustotal").message.contains("circuit open"),
        "{d:#?}"
    );
    assert_eq!(s.count(), 3);
    // Half-open after reset_timeout_ms: a trial goes through; two successes close it.
    std::thread::sleep(Duration::from_millis(450));
    s.always(None);
    for i in 4..7 {
        let d = rig.check(&malware_write(&format!("b{i}"), "flaky"));
        assert_eq!(guard(&d, "virustotal").status, Status::Allow, "{d:#?}");
    }
    assert_eq!(s.count(), 6, "closed again: every check asks");
    // A failure during half-open would reopen it; closed, one failure does not.
    s.push(Fault::Status(500, None));
    rig.check(&malware_write("b7", "flaky"));
    assert_eq!(
        guard(&rig.check(&malware_write("b8", "flaky")), "virustotal").status,
        Status::Allow
    );
}

#[test]
fn a_429_with_retry_after_is_retried_after_the_wait() {
    let s = vt_server("limited", 9);
    let rig = Rig::new(&vt_policy(
        &s.url(""),
        "{timeout_ms: 4000, cache: {enabled: false}, retry: {max_retries: 2, initial_backoff_ms: 10}}",
    ));
    s.push(Fault::Status(429, Some("1".into())));
    let started = Instant::now();
    let d = rig.check(&malware_write("r1", "limited"));
    assert_eq!(d.status, Status::Deny, "{d:#?}");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured"
    );
    let calls = rig.records("external_call");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["status"], 429);
    assert_eq!(calls[1]["status"], 200);

    // A Retry-After beyond the deadline fails at once rather than waiting in vain.
    s.push(Fault::Status(429, Some("30".into())));
    let started = Instant::now();
    let d = rig.check(&malware_write("r2", "limited"));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(guard(&d, "virustotal").message.contains("429"), "{d:#?}");
}

#[test]
fn malformed_answers_and_refused_connections_fall_back() {
    let s = vt_server("x", 1);
    let rig = Rig::new(&vt_policy(
        &s.url(""),
        "{on_timeout: deny, cache: {enabled: false}}",
    ));
    s.push(Fault::Malformed);
    let d = rig.check(&malware_write("m1", "x"));
    assert_eq!(d.status, Status::Deny);
    assert!(
        guard(&d, "virustotal").message.contains("not JSON"),
        "{d:#?}"
    );

    let down = Rig::new(&vt_policy(&refused_url(), "{on_timeout: allow}"));
    let d = down.check(&malware_write("m2", "x"));
    let c = guard(&d, "virustotal");
    assert_eq!(c.status, Status::Allow);
    assert!(
        c.message.to_lowercase().contains("connect") || c.message.contains("refused"),
        "{}",
        c.message
    );
    assert_eq!(down.records("external_call")[0]["outcome"], "error");
}

#[test]
fn a_wrong_key_is_a_failure_not_an_allow() {
    let s = vt_server("k", 10);
    let yaml = vt_policy(&s.url(""), "{on_timeout: deny}").replace(KEY, "wrong-key");
    let d = Rig::new(&yaml).check(&malware_write("w", "k"));
    assert_eq!(d.status, Status::Deny);
    assert!(
        guard(&d, "virustotal")
            .message
            .contains("refused the API key"),
        "{d:#?}"
    );
}

#[test]
fn background_guards_answer_now_and_record_the_real_result_later() {
    let s = vt_server("bg", 33);
    s.always(Some(Fault::Slow(Duration::from_millis(300))));
    let rig = Rig::new(&vt_policy(
        &s.url(""),
        "{execution_mode: background, on_timeout: allow}",
    ));
    let started = Instant::now();
    let d = rig.check(&malware_write("bg-1", "bg"));
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "background was waited for"
    );
    let c = guard(&d, "virustotal");
    assert_eq!(c.status, Status::Allow);
    assert!(c.message.contains("background"), "{}", c.message);
    assert!(rig.engine.finish_background());
    let results = rig.records("async_result");
    assert_eq!(results.len(), 1, "{results:?}");
    let r = &results[0];
    assert_eq!(r["eventId"], "bg-1");
    assert_eq!(r["guard"], "virustotal");
    assert_eq!(r["returned"], "allow");
    assert_eq!(r["result"]["status"], "deny");
    assert_eq!(rig.records("decision")[0]["eventId"], "bg-1");
}

#[test]
fn sequential_guards_are_not_asked_once_the_decision_is_deny() {
    let s = vt_server("seq", 0);
    let rig = Rig::new(&vt_policy(&s.url(""), "{execution_mode: sequential}"));
    // forbidden_path denies this write before any service is asked.
    let mut e = PolicyEvent::file_write("q1", "/home/u/.ssh/id_rsa", "seq");
    e.event_id = "q1".into();
    assert_eq!(rig.check(&e).status, Status::Deny);
    assert_eq!(s.count(), 0);
    assert_eq!(
        guard(&rig.check(&malware_write("q2", "seq")), "virustotal").status,
        Status::Allow
    );
    assert_eq!(s.count(), 1);
}

#[test]
fn async_guards_take_part_in_composition_rules() {
    let s = vt_server("composed", 7);
    let yaml = format!(
        "{}  composition:\n    - name: vt_or_shell\n      logic: {{OR: [{{guard: virustotal}}, {{guard: shell_command}}]}}\n",
        vt_policy(&s.url(""), "{}")
    );
    let rig = Rig::new(&yaml);
    let d = rig.check(&malware_write("c1", "composed"));
    assert_eq!(d.status, Status::Deny, "{d:#?}");
    assert!(d.results.iter().any(|c| c.name == "vt_or_shell"), "{d:#?}");
}

#[test]
fn bad_integration_config_is_a_located_error() {
    for (config, at, says) in [
        (
            "{base_url: \"http://vt.example/api/v3\", api_key: k}",
            "guards.custom[0].config.base_url",
            "https only",
        ),
        (
            "{base_url: \"https://vt.example/api/v3\"}",
            "guards.custom[0].config",
            "api_key",
        ),
        (
            "{base_url: \"https://vt.example/\", api_key: \"\"}",
            "guards.custom[0].config.api_key",
            "secrets",
        ),
        (
            "{base_url: \"https://vt.example/\", api_key: k, min_detections: 0}",
            "guards.custom[0].config.min_detections",
            "at least 1",
        ),
        (
            "{base_url: \"https://vt.example/\", api_key: k, surprise: 1}",
            "guards.custom[0].config",
            "surprise",
        ),
    ] {
        let yaml = format!("version: \"1.2.0\"\nguards:\n  custom:\n    - package: clawdstrike-virustotal\n      config: {config}\n");
        let err = Engine::from_yaml(&yaml).unwrap_err().to_string();
        assert!(err.contains(at) && err.contains(says), "{config}: {err}");
    }
}

#[test]
fn built_in_only_policies_stay_synchronous() {
    let engine = Engine::from_ruleset("default").unwrap();
    assert!(!engine.has_async_guards());
    let e = PolicyEvent::file_read("s", "/etc/shadow");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (a, b) = (rt.block_on(engine.check_async(&e)), engine.check(&e));
    assert_eq!(
        (a.status, a.guard, a.message),
        (b.status, b.guard, b.message)
    );
}

#[test]
fn virustotal_keeps_to_the_free_tier_rate_by_default() {
    let s = vt_server("rate", 0);
    let rig = Rig::new(&vt_policy(&s.url(""), "{cache: {enabled: false}}"));
    for i in 0..4 {
        assert_eq!(
            rig.check(&malware_write(&format!("l{i}"), "rate")).status,
            Status::Allow
        );
    }
    let d = rig.check(&malware_write("l4", "rate"));
    assert!(
        guard(&d, "virustotal").message.contains("rate limited"),
        "{d:#?}"
    );
    assert_eq!(s.count(), 4, "the fifth request in a minute is never sent");
}
