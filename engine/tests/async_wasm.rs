//! A WebAssembly guard with an `async:` block: its checks run on the async path (cache,
//! on_timeout, modes) and its `http-request` host calls go through the same resilience
//! layer as the first-party integrations — retries that honour 5xx, and a circuit breaker
//! that stops calling a failing service.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clawdstrike_engine::policy::Policy;
use clawdstrike_engine::{Engine, PolicyEvent, Status};
use common::guards::{example_wasm, manifest, package};
use common::http::{Reply, Server};
use common::plugin_host::{host_with_secrets, Host};
use serde_json::json;

const KEY: &str = "rep-key-123";

fn reputation_package() -> tempfile::TempDir {
    package(
        &example_wasm("reputation"),
        &manifest(
            "url_reputation",
            &["network_egress"],
            json!({
                "network": {"allowedHosts": ["127.0.0.1"], "allowedMethods": ["GET"], "maxResponseSizeBytes": 65536},
                "secrets": {"allowedKeys": ["REPUTATION_API_KEY"]}
            }),
            json!({"maxTimeoutMs": 2000}),
            "community",
        ),
    )
}

fn engine(h: &Host, pkg: &tempfile::TempDir, server: &Server, async_block: &str) -> Engine {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        format!(
            "version: \"1.2.0\"\nguards:\n  egress_allowlist:\n    enabled: false\n  custom:\n    - path: {}\n      config:\n        service_url: {}/v1/score\n        api_key_secret: REPUTATION_API_KEY\n      async: {async_block}\n",
            pkg.path().display(),
            server.url()
        ),
    )
    .unwrap();
    let policy = Policy::from_file(&path).unwrap();
    Engine::builder(&policy)
        .plugin_host(h.host.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn egress(id: &str, host: &str) -> PolicyEvent {
    let mut e = PolicyEvent::network(id, host, 443);
    e.event_id = id.into();
    e
}

/// Answers 503 to the first `failures` requests, then scores `evil.example` 95.
fn flaky(failures: usize) -> Server {
    let n = Arc::new(AtomicUsize::new(0));
    Server::start(move |_, path| {
        if n.fetch_add(1, Ordering::SeqCst) < failures {
            let mut r = Reply::json(r#"{"error": "unavailable"}"#);
            r.status = 503;
            return r;
        }
        if path.contains("host=evil.example") {
            Reply::json(r#"{"score": 95, "categories": ["malware"]}"#)
        } else {
            Reply::json(r#"{"score": 1, "categories": []}"#)
        }
    })
}

#[test]
fn host_calls_are_retried_through_the_resilience_layer() {
    let server = flaky(1);
    let h = host_with_secrets(&[("REPUTATION_API_KEY", KEY)]);
    let pkg = reputation_package();
    let engine = engine(
        &h,
        &pkg,
        &server,
        "{timeout_ms: 3000, cache: {enabled: false}, retry: {max_retries: 2, initial_backoff_ms: 10}}",
    );
    assert!(engine.has_async_guards());
    let d = engine.check(&egress("r1", "evil.example"));
    assert_eq!(d.status, Status::Deny, "{d:#?}");
    assert_eq!(server.hits(), 2, "the 503 was retried");
    let http = h.audit.kinds("plugin_http");
    assert_eq!(http.len(), 2, "every attempt is audited: {http:?}");
    assert_eq!(http[0]["outcome"]["status"], 503);
    assert_eq!(http[1]["outcome"]["status"], 200);
}

#[test]
fn a_failing_service_opens_the_circuit_for_host_calls() {
    let server = flaky(usize::MAX);
    let h = host_with_secrets(&[("REPUTATION_API_KEY", KEY)]);
    let pkg = reputation_package();
    let engine = engine(
        &h,
        &pkg,
        &server,
        "{cache: {enabled: false}, circuit_breaker: {failure_threshold: 2, reset_timeout_ms: 60000}}",
    );
    for i in 0..4 {
        // The guard's own fail mode (deny) decides when its call fails.
        let d = engine.check(&egress(&format!("c{i}"), "good.example"));
        assert_eq!(d.status, Status::Deny, "{d:#?}");
    }
    assert_eq!(server.hits(), 2, "after two failures no request is made");
}

#[test]
fn checks_are_cached_by_event_and_background_results_are_recorded() {
    let server = flaky(0);
    let h = host_with_secrets(&[("REPUTATION_API_KEY", KEY)]);
    let pkg = reputation_package();
    let engine = engine(&h, &pkg, &server, "{}");
    let first = engine.check(&egress("same", "evil.example"));
    let again = engine.check(&egress("same", "evil.example"));
    assert_eq!((first.status, again.status), (Status::Deny, Status::Deny));
    assert_eq!(
        server.hits(),
        1,
        "the second check of event `same` used the cache"
    );

    let bg = engine_with_audit(&h, &pkg, &server);
    let d = bg.check(&egress("bg-7", "evil.example"));
    assert_eq!(d.status, Status::Warn, "the on_timeout default: {d:#?}");
    assert!(bg.finish_background());
    let results = h.audit.kinds("async_result");
    let r = results
        .iter()
        .find(|r| r["eventId"] == "bg-7")
        .expect("async_result recorded");
    assert_eq!(r["guard"], "url_reputation");
    assert_eq!(r["result"]["status"], "deny");
}

fn engine_with_audit(h: &Host, pkg: &tempfile::TempDir, server: &Server) -> Engine {
    let audit = Arc::new(clawdstrike_engine::audit::AuditLog::to_writer(Box::new(
        h.audit.clone(),
    )));
    engine(
        h,
        pkg,
        server,
        "{execution_mode: background, on_timeout: warn}",
    )
    .with_audit(audit)
}

#[test]
fn a_check_that_outlives_timeout_ms_gets_on_timeout() {
    let server = Server::start(|_, _| {
        let mut r = Reply::json(r#"{"score": 1, "categories": []}"#);
        r.delay = Duration::from_millis(1500);
        r
    });
    let h = host_with_secrets(&[("REPUTATION_API_KEY", KEY)]);
    let pkg = reputation_package();
    // The guard's own limit is 2 s; the async deadline of 200 ms comes first.
    let engine = engine(&h, &pkg, &server, "{timeout_ms: 200, on_timeout: allow}");
    let started = std::time::Instant::now();
    let d = engine.check(&egress("t1", "slow.example"));
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "waited for the slow service"
    );
    let c = &d
        .results
        .iter()
        .find(|c| c.name == "url_reputation")
        .unwrap();
    // Either the deadline stopped the check (on_timeout: allow) or the host call's own
    // deadline (the same 200 ms) made the guard fall back on its fail mode: never a wait
    // for the slow service, and never its (clean) answer.
    assert!(
        c.status == Status::Allow && c.message.contains("on_timeout: allow")
            || c.status == Status::Deny,
        "{c:#?}"
    );
}

/// A guard under an `async:` block is stopped at `timeout_ms`, not at its (longer) own
/// wall-clock limit: nobody waits for it past the deadline, so it must not keep an
/// instance and a thread busy either.
#[test]
fn a_runaway_check_is_stopped_at_timeout_ms() {
    let h = host_with_secrets(&[]);
    // Verified: 1 s of CPU and 5 s of wall clock, far beyond the 300 ms deadline.
    let pkg = package(
        &example_wasm("hostile"),
        &manifest(
            "hostile",
            &[
                "file_read",
                "file_write",
                "command_exec",
                "network_egress",
                "tool_call",
                "patch_apply",
                "secret_access",
                "custom",
            ],
            json!({}),
            json!({"maxCpuMs": 1000, "maxTimeoutMs": 5000}),
            "verified",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        format!(
            "version: \"1.2.0\"\nguards:\n  custom:\n    - path: {}\n      trust_override: {{max_trust_tier: verified}}\n      config: {{mode: loop}}\n      async: {{timeout_ms: 300, on_timeout: warn, cache: {{enabled: false}}}}\n",
            pkg.path().display()
        ),
    )
    .unwrap();
    let engine = Engine::builder(&Policy::from_file(&path).unwrap())
        .plugin_host(h.host.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let d = engine.check(&PolicyEvent::file_write("loop-1", "/tmp/a", "x"));
    let c = d.results.iter().find(|c| c.name == "hostile").unwrap();
    assert_eq!(c.status, Status::Warn, "{c:#?}");
    // The check itself ends at the deadline too (its record arrives when it does).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let error = loop {
        if let Some(e) = h.audit.kinds("plugin_error").into_iter().next() {
            break e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the check never ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("wall-clock limit of 300 ms (async.timeout_ms)"),
        "{message}"
    );
    let check = &h.audit.kinds("plugin_check")[0];
    let micros = check["durationUs"].as_u64().unwrap();
    assert!(micros < 900_000, "ran for {micros} µs");
}
