//! Capabilities at every host call, with the reputation example guard against a real
//! HTTP server on loopback: allowed hosts, secrets, redirects and DNS answers that lead
//! elsewhere, slow and oversized answers, and the audit of each use.

mod common;

use std::net::ToSocketAddrs;
use std::time::Duration;

use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::WasmGuard;
use clawdstrike_engine::{PolicyEvent, Status};
use common::guards::{example_wasm, manifest, package};
use common::http::{Reply, Server};
use common::plugin_host::{host_with_secrets, Host};
use serde_json::{json, Value};

const KEY: &str = "rep-key-123";

fn reputation_package(allowed_hosts: &[&str], max_response: u64) -> tempfile::TempDir {
    package(
        &example_wasm("reputation"),
        &manifest(
            "url_reputation",
            &["network_egress"],
            json!({
                "network": {
                    "allowedHosts": allowed_hosts,
                    "allowedMethods": ["GET"],
                    "maxResponseSizeBytes": max_response
                },
                "secrets": {"allowedKeys": ["REPUTATION_API_KEY"]}
            }),
            json!({"maxTimeoutMs": 1000}),
            "community",
        ),
    )
}

fn load(h: &Host, pkg: &tempfile::TempDir, config: Value) -> WasmGuard {
    h.host
        .load_package(pkg.path(), &config)
        .unwrap_or_else(|e| panic!("load reputation guard: {e}"))
        .remove(0)
}

fn egress(host: &str) -> PolicyEvent {
    PolicyEvent::from_value(json!({
        "eventType": "network_egress",
        "data": {"type": "network", "host": host, "port": 443}
    }))
    .unwrap()
}

fn scores() -> Server {
    Server::start(|_, path| {
        if path.contains("host=evil.example") {
            Reply::json(r#"{"score": 95, "categories": ["malware"]}"#)
        } else if path.contains("host=meh.example") {
            Reply::json(r#"{"score": 50, "categories": []}"#)
        } else {
            Reply::json(r#"{"score": 3, "categories": []}"#)
        }
    })
}

#[test]
fn an_allowed_host_is_reached_and_answers_decide() {
    let server = scores();
    let h = host_with_secrets(&[("REPUTATION_API_KEY", KEY)]);
    let pkg = reputation_package(&["127.0.0.1"], 65536);
    let g = load(
        &h,
        &pkg,
        json!({"service_url": format!("{}/v1/score", server.url()), "api_key_secret": "REPUTATION_API_KEY"}),
    );
    assert_eq!(
        g.check(&egress("evil.example")).unwrap().status,
        Status::Deny
    );
    assert_eq!(
        g.check(&egress("meh.example")).unwrap().status,
        Status::Warn
    );
    assert_eq!(
        g.check(&egress("good.example")).unwrap().status,
        Status::Allow
    );
    assert_eq!(server.hits(), 3);
    let used = h.audit.kinds("capability_used");
    assert!(
        used.iter().any(|r| r["capability"] == "network"),
        "{used:?}"
    );
    assert!(used
        .iter()
        .any(|r| r["capability"] == "secrets" && r["resource"] == "REPUTATION_API_KEY"));
    // The secret's value is never audited.
    assert!(!serde_json::to_string(&h.audit.records())
        .unwrap()
        .contains(KEY));
    assert_eq!(h.audit.kinds("plugin_http").len(), 3);
}

#[test]
fn a_host_outside_the_allowlist_is_refused_before_any_connection() {
    let server = scores();
    let h = host_with_secrets(&[("REPUTATION_API_KEY", KEY)]);
    let pkg = reputation_package(&["reputation.acme.example"], 65536);
    let g = load(
        &h,
        &pkg,
        json!({"service_url": format!("{}/v1/score", server.url())}),
    );
    let v = g.check(&egress("good.example")).unwrap();
    assert_eq!(v.status, Status::Deny, "fail_mode deny: {v:?}");
    assert!(
        v.message
            .contains("not in capabilities.network.allowedHosts"),
        "{}",
        v.message
    );
    assert_eq!(server.hits(), 0);
    assert_eq!(h.audit.kinds("capability_denied").len(), 1);
}

#[test]
fn a_secret_not_declared_is_refused() {
    let server = scores();
    let h = host_with_secrets(&[("OTHER", "x")]);
    let pkg = reputation_package(&["127.0.0.1"], 65536);
    let g = load(
        &h,
        &pkg,
        json!({"service_url": server.url(), "api_key_secret": "OTHER", "fail_mode": "warn"}),
    );
    let v = g.check(&egress("good.example")).unwrap();
    assert_eq!(v.status, Status::Warn, "{v:?}");
    assert!(v.message.contains("OTHER"), "{}", v.message);
    let denied = h.audit.kinds("capability_denied");
    assert_eq!(denied[0]["capability"], "secrets");
    assert_eq!(server.hits(), 0);
}

#[test]
fn a_redirect_to_a_host_outside_the_allowlist_is_refused() {
    let elsewhere = scores();
    let target = format!(
        "http://127.0.0.2:{}/v1/score?host=good.example",
        elsewhere.addr.port()
    );
    let redirector = Server::start(move |_, _| Reply::redirect(&target));
    let h = host_with_secrets(&[]);
    let pkg = reputation_package(&["127.0.0.1"], 65536);
    let g = load(&h, &pkg, json!({"service_url": redirector.url()}));
    let v = g.check(&egress("good.example")).unwrap();
    assert_eq!(v.status, Status::Deny, "{v:?}");
    assert!(v.message.contains("redirect"), "{}", v.message);
    assert_eq!(redirector.hits(), 1);
    assert_eq!(elsewhere.hits(), 0, "the redirect target was contacted");
    let denied = h.audit.kinds("capability_denied");
    assert!(
        denied[0]["reason"].as_str().unwrap().contains("redirect"),
        "{denied:?}"
    );
}

#[test]
fn a_listed_name_that_resolves_to_an_internal_address_is_refused() {
    // This machine's own name resolves to a loopback address through /etc/hosts: exactly
    // what a DNS-rebinding attacker arranges for a listed name.
    let name = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let resolves_internal = !name.is_empty()
        && (name.as_str(), 80)
            .to_socket_addrs()
            .map(|mut a| a.all(|a| a.ip().is_loopback()))
            .unwrap_or(false);
    if !resolves_internal || name == "localhost" {
        eprintln!("note: host name `{name}` does not resolve to loopback here; the DNS check is covered by unit tests only");
        return;
    }
    let server = scores();
    let h = host_with_secrets(&[]);
    let pkg = reputation_package(&[name.as_str()], 65536);
    let g = load(
        &h,
        &pkg,
        json!({"service_url": format!("http://{name}:{}/v1/score", server.addr.port())}),
    );
    let v = g.check(&egress("good.example")).unwrap();
    assert_eq!(v.status, Status::Deny, "{v:?}");
    assert!(v.message.contains("internal address"), "{}", v.message);
    assert_eq!(server.hits(), 0);
}

#[test]
fn slow_and_oversized_answers_are_cut_off() {
    let slow = Server::start(|_, _| Reply {
        delay: Duration::from_millis(3000),
        ..Reply::json(r#"{"score": 1}"#)
    });
    let big = Server::start(|_, _| {
        Reply::json(&format!(
            r#"{{"score": 1, "pad": "{}"}}"#,
            "x".repeat(10_000)
        ))
    });
    let h = host_with_secrets(&[]);
    // The guard's wall-clock budget is 1000 ms: the request's own deadline ends it.
    let pkg = reputation_package(&["127.0.0.1"], 1024);
    let g = load(&h, &pkg, json!({"service_url": slow.url()}));
    let started = std::time::Instant::now();
    let v = g.check(&egress("good.example")).unwrap();
    assert_eq!(v.status, Status::Deny, "{v:?}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    let g = load(&h, &pkg, json!({"service_url": big.url()}));
    let v = g.check(&egress("good.example")).unwrap();
    assert_eq!(v.status, Status::Deny, "{v:?}");
    assert_eq!(big.hits(), 1);
}
