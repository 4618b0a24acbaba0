//! `url_reputation` vectors against a fake reputation service: natively through the test
//! host's HTTP handler, and (feature `sandbox`) in the engine's plugin host against the
//! same service on a loopback port.
#![cfg(not(target_arch = "wasm32"))]

use clawdstrike_guard_sdk::host::{HostError, Request, Response};
use clawdstrike_guard_sdk::testing::{events, GuardTest};
use clawdstrike_guard_sdk::Severity;
use reputation_guard::UrlReputation;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The fake service: (HTTP status, body) for a host.
fn answer(host: &str) -> (u16, String) {
    let score = |s: Value, c: Value| (200, json!({"score": s, "categories": c}).to_string());
    match host {
        "good.example" => score(json!(10), json!([])),
        "meh.example" => score(json!(50), json!(["new-domain"])),
        "edge.example" => score(json!(70), json!(["parked"])),
        "bad.example" => score(json!(95.5), json!(["malware", "phishing"])),
        "range.example" => score(json!(150), json!([])),
        "garbage.example" => (200, "<html>".into()),
        _ => (503, "unavailable".into()),
    }
}

/// The `host` query parameter of a request URL.
fn host_param(url: &str) -> String {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("host="))
        .unwrap_or("")
        .to_string()
}

const T0: &str = "2026-03-01T12:00:00Z";
const T30: &str = "2026-03-01T12:00:30Z";
const T61: &str = "2026-03-01T12:01:01Z";

/// Vectors shared by both backends. `calls()` is how many requests the service saw;
/// `config` is the base config pointing at the service.
fn vectors(t: &GuardTest, config: &Value, calls: &dyn Fn() -> usize) {
    let t = t.clone().with_config(config.clone());
    t.check(events::network_egress("good.example", 443))
        .expect_allow()
        .reason("good.example has reputation score 10")
        .details(json!({"host": "good.example", "score": 10, "categories": [], "cached": false}));
    t.check(events::network_egress("Meh.Example.", 443))
        .expect_warn()
        .severity(Severity::Medium)
        .reason("meh.example has reputation score 50 (warning at 40)");
    t.check(events::network_egress("edge.example", 443))
        .expect_deny()
        .severity(Severity::High)
        .reason("edge.example has reputation score 70 (blocked at 70)");
    t.check(events::network_egress("bad.example", 443))
        .expect_deny()
        .reason_contains("score 95.5")
        .remediation_contains("another host");

    // Failures follow fail_mode, and the reason says what went wrong.
    t.check(events::network_egress("down.example", 443))
        .expect_deny()
        .severity(Severity::High)
        .reason("reputation of down.example unknown (reputation service answered HTTP 503); denied by fail_mode");
    t.check(events::network_egress("garbage.example", 443))
        .expect_deny()
        .reason_contains("answer is malformed");
    t.check(events::network_egress("range.example", 443))
        .expect_deny()
        .reason_contains("score 150 is not 0-100");
    let with_mode = |mode: &str| {
        let mut c = config.clone();
        c["fail_mode"] = json!(mode);
        t.clone().with_config(c)
    };
    with_mode("warn")
        .check(events::network_egress("down.example", 443))
        .expect_warn()
        .reason_contains("fail_mode is warn");
    with_mode("allow")
        .check(events::network_egress("down.example", 443))
        .expect_allow()
        .reason_contains("allowed by fail_mode");

    // Caching: within 60 s of the event clock the answer is reused, then asked again.
    let cached = t.clone();
    let before = calls();
    cached
        .check(events::at(events::network_egress("meh.example", 443), T0))
        .expect_warn();
    assert_eq!(calls(), before + 1);
    cached
        .check(events::at(events::network_egress("meh.example", 80), T30))
        .expect_warn()
        .details(json!({"host": "meh.example", "score": 50, "categories": ["new-domain"], "cached": true}));
    assert_eq!(
        calls(),
        before + 1,
        "a check within 60 s must not call the service"
    );
    cached
        .check(events::at(events::network_egress("meh.example", 443), T61))
        .expect_warn();
    assert_eq!(
        calls(),
        before + 2,
        "an entry older than 60 s is asked again"
    );
    // No timestamp: no caching.
    cached
        .check(events::network_egress("meh.example", 443))
        .expect_warn();
    assert_eq!(calls(), before + 3);
    // Failures are not remembered.
    cached
        .check(events::at(events::network_egress("down.example", 443), T0))
        .expect_deny();
    cached
        .check(events::at(events::network_egress("down.example", 443), T30))
        .expect_deny();
    assert_eq!(calls(), before + 5);

    // A secret that cannot be read is a failure, not an unauthenticated call.
    let mut c = config.clone();
    c["api_key_secret"] = json!("REPUTATION_API_KEY");
    t.clone()
        .with_config(c)
        .check(events::network_egress("good.example", 443))
        .expect_deny()
        .reason_contains("cannot read secret REPUTATION_API_KEY");

    let init = |patch: Value| {
        let mut c = config.clone();
        c.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        t.clone().with_config(c).init()
    };
    init(json!({"block_score": 101})).expect_config_rejected("0-100");
    init(json!({"warn_score": 80})).expect_init_error("must not exceed");
    init(json!({"service_url": "ftp://x"})).expect_config_rejected("http or https");
    init(json!({"fail_mode": "maybe"})).expect_config_rejected("unknown variant `maybe`");
    init(json!({"timeout": 1})).expect_config_rejected("unknown field `timeout`");

    t.check(events::file_write("a", "b")).expect_skipped();
}

/// A native test with the service behind the test host's HTTP handler.
fn native_with_service() -> (GuardTest, Rc<RefCell<Vec<Request>>>) {
    let seen: Rc<RefCell<Vec<Request>>> = Rc::default();
    let log = Rc::clone(&seen);
    let t = GuardTest::native::<UrlReputation>().with_http(move |req: &Request| {
        log.borrow_mut().push(req.clone());
        let (status, body) = answer(&host_param(&req.url));
        Ok::<_, HostError>(Response::new(status, body))
    });
    (t, seen)
}

#[test]
fn native_vectors() {
    let (t, seen) = native_with_service();
    let config = json!({"service_url": "https://reputation.acme.example/v1/score"});
    vectors(&t, &config, &|| seen.borrow().len());
    let first = &seen.borrow()[0];
    assert_eq!(first.method, "GET");
    assert_eq!(
        first.url,
        "https://reputation.acme.example/v1/score?host=good.example"
    );
    assert_eq!(first.header_value("authorization"), None);
}

#[test]
fn sends_the_api_key_as_a_bearer_token() {
    let (t, seen) = native_with_service();
    let t = t.with_secret("REPUTATION_API_KEY", "s3cret").with_config(
        json!({"api_key_secret": "REPUTATION_API_KEY", "service_url": "https://r.example/s?v=1"}),
    );
    t.check(events::network_egress("good.example", 443))
        .expect_allow();
    let req = &seen.borrow()[0];
    assert_eq!(req.header_value("Authorization"), Some("Bearer s3cret"));
    assert_eq!(req.url, "https://r.example/s?v=1&host=good.example");
}

#[test]
fn undeclared_network_fails_per_fail_mode() {
    // The default test host grants nothing, like a manifest without `network`.
    GuardTest::native::<UrlReputation>()
        .check(events::network_egress("good.example", 443))
        .expect_deny()
        .reason_contains("reputation service unreachable: denied");
}

#[test]
fn remembers_at_most_64_hosts() {
    let t = GuardTest::native::<UrlReputation>()
        .with_http(|_: &Request| Ok(Response::new(200, r#"{"score": 1}"#)));
    for i in 0..70 {
        t.check(events::at(
            events::network_egress(&format!("h{i}.example"), 443),
            T0,
        ))
        .expect_allow();
    }
    let keys = t.host().state_keys();
    assert_eq!(keys.iter().filter(|k| k.starts_with("host:")).count(), 64);
    assert!(!keys.contains(&"host:h5.example".to_string()));
    assert!(keys.contains(&"host:h6.example".to_string()));
    let index: Vec<String> = serde_json::from_slice(t.host().state("hosts").unwrap()).unwrap();
    assert_eq!(
        (index.len(), index[0].as_str(), index[63].as_str()),
        (64, "h6.example", "h69.example")
    );
}

#[cfg(feature = "sandbox")]
mod sandbox {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Serve `answer` on a loopback port, one request per connection.
    fn start_service() -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Drain the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let target = request_line.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = answer(&host_param(target));
                let mut out = &stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (port, calls)
    }

    /// A copy of the package whose manifest allows the loopback service.
    fn loopback_package() -> tempfile::TempDir {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest =
            std::fs::read_to_string(src.join("clawdstrike.plugin.toml")).expect("manifest");
        let patched = manifest.replace(
            r#"allowed_hosts = ["reputation.acme.example"]"#,
            r#"allowed_hosts = ["127.0.0.1"]"#,
        );
        assert_ne!(
            manifest, patched,
            "the manifest's allowed_hosts line changed: update this test"
        );
        std::fs::write(dir.path().join("clawdstrike.plugin.toml"), patched)
            .expect("write manifest");
        std::fs::create_dir(dir.path().join("dist")).expect("dist");
        std::fs::copy(
            src.join("dist/guard.wasm"),
            dir.path().join("dist/guard.wasm"),
        )
        .expect("dist/guard.wasm missing: run scripts/build-guards.sh first");
        dir
    }

    #[test]
    fn sandbox_vectors() {
        let (port, calls) = start_service();
        let package = loopback_package();
        let t = GuardTest::sandbox(package.path());
        let config = json!({"service_url": format!("http://127.0.0.1:{port}/v1/score")});
        vectors(&t, &config, &|| calls.load(Ordering::SeqCst));
    }

    #[test]
    fn sandbox_refuses_a_host_the_manifest_does_not_list() {
        let (port, calls) = start_service();
        // The package as shipped only allows reputation.acme.example.
        let t = GuardTest::sandbox(env!("CARGO_MANIFEST_DIR"))
            .with_config(json!({"service_url": format!("http://127.0.0.1:{port}/v1/score")}));
        t.check(events::network_egress("good.example", 443))
            .expect_deny()
            .reason_contains("reputation service unreachable: denied");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "the request must not reach the service"
        );
    }
}
