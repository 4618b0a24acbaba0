use clawdstrike_guard_sdk::host::{Request, Response};
use clawdstrike_guard_sdk::testing::{events, GuardTest};
use {{crate}}::{{type}};
use serde_json::json;

/// A stand-in for the service: `evil.example` scores 95, everything else 5.
fn guard() -> GuardTest {
    GuardTest::native::<{{type}}>()
        .with_secret("REPUTATION_API_KEY", "test-key")
        .with_http(|req: &Request| {
            assert_eq!(req.header_value("authorization"), Some("Bearer test-key"));
            let score = if req.url.ends_with("host=evil.example") { 95 } else { 5 };
            Ok(Response::json(&json!({ "score": score })))
        })
}

#[test]
fn scores_decide() {
    let t = guard();
    t.check(events::network_egress("evil.example", 443))
        .expect_deny()
        .reason_contains("bad reputation (score 95)");
    t.check(events::network_egress("docs.example", 443))
        .expect_allow();
    t.check(events::file_write("a.txt", "x")).expect_skipped();
}

#[test]
fn failures_fail_closed() {
    let down = GuardTest::native::<{{type}}>()
        .with_secret("REPUTATION_API_KEY", "test-key")
        .with_http(|_: &Request| Ok(Response::new(503, "unavailable")));
    down.check(events::network_egress("docs.example", 443))
        .expect_error("answered 503");
    let no_key = GuardTest::native::<{{type}}>()
        .with_http(|_: &Request| Ok(Response::json(&json!({ "score": 1 }))));
    no_key
        .check(events::network_egress("docs.example", 443))
        .expect_error("cannot read the API key");
}
