//! Tests of the harness itself, with a small guard that exercises every path.

use super::*;
use crate::testing::events;
use crate::{host, state, Event};
use serde::Deserialize;
use serde_json::json;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    mode: String,
    refuse: bool,
}

struct Probe(Config);

impl Guard for Probe {
    const NAME: &'static str = "probe";
    const VERSION: &'static str = "1.2.3";
    const HANDLES: &'static [EventType] = &[EventType::FileWrite, EventType::Custom];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.refuse {
            return Err("refused by config".into());
        }
        Ok(Probe(config))
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        host::debug(&format!("saw {}", event.event_type));
        let n = state::get_json::<u64>("n").unwrap_or(0) + 1;
        state::set_json("n", &n).map_err(|e| e.to_string())?;
        match self.0.mode.as_str() {
            "panic" => panic!("kaboom"),
            "err" => Err("boom".into()),
            "bad_details" => Ok(Verdict::allow("x").with_raw_details("{nope")),
            "secret" => match host::get_secret("K") {
                Ok(v) => Ok(Verdict::allow(format!("secret has {} chars", v.len()))),
                Err(e) => Ok(Verdict::deny(Severity::Medium, format!("secret: {e}"))),
            },
            "http" => {
                let r =
                    host::http_request(&Request::get("http://svc/x")).map_err(|e| e.to_string())?;
                Ok(Verdict::warn(Severity::Low, format!("http {}", r.status)))
            }
            _ => Ok(Verdict::allow(format!("check {n}")).with_details(json!({"n": n}))),
        }
    }
}

crate::export_guard!(Probe);

fn native() -> GuardTest {
    GuardTest::native::<Probe>()
}

#[test]
fn unknown_config_keys_and_guard_refusals_are_init_errors() {
    native()
        .with_config(json!({"mdoe": "x"}))
        .init()
        .expect_init_error("unknown field `mdoe`");
    native()
        .with_config(json!({"mdoe": "x"}))
        .check(events::file_write("a", "b"))
        .expect_init_error("invalid config: unknown field");
    native()
        .with_config(json!({"refuse": true}))
        .init()
        .expect_init_error("refused by config");
    native()
        .with_config(json!({"mode": 3}))
        .init()
        .expect_init_error("invalid type");
    native().with_config(Value::Null).init().expect_ok();
}

#[test]
fn unhandled_event_types_are_skipped_without_running_check() {
    let t = native();
    let outcome = t.check(events::file_read("a"));
    assert!(outcome.logs().is_empty());
    outcome.expect_skipped();
    assert_eq!(t.host().state("n"), None);
}

#[test]
fn each_check_builds_a_fresh_guard_but_state_persists() {
    let t = native();
    t.check(events::file_write("a", "b"))
        .expect_log(Level::Debug, "saw file_write")
        .expect_allow()
        .no_severity()
        .severity(Severity::Low)
        .reason("check 1")
        .details(json!({"n": 1}));
    t.check(events::custom("c", json!({})))
        .expect_allow()
        .reason("check 2");
    // A clone is another policy entry: its own copy of the store.
    let other = t.clone();
    other
        .check(events::file_write("a", "b"))
        .expect_allow()
        .reason("check 3");
    t.check(events::file_write("a", "b"))
        .expect_allow()
        .reason("check 3");
}

#[test]
fn errors_panics_and_broken_details_fail_closed() {
    let with = |mode: &str| native().with_config(json!({"mode": mode}));
    with("err")
        .check(events::file_write("a", "b"))
        .expect_error("boom");
    with("panic")
        .check(events::file_write("a", "b"))
        .expect_error("guard trapped: kaboom");
    with("bad_details")
        .check(events::file_write("a", "b"))
        .expect_error("details that are not valid JSON");
    native()
        .check(json!({"eventType": "file_write", "data": {"type": "file"}}))
        .expect_error("invalid event: data: missing field `path`");
}

#[test]
fn host_grants_are_per_test() {
    let t = native().with_config(json!({"mode": "secret"}));
    t.check(events::file_write("a", "b"))
        .expect_deny()
        .severity(Severity::Medium)
        .reason_contains("not declared");
    let t = t.with_secret("K", "abc");
    t.check(events::file_write("a", "b"))
        .expect_allow()
        .reason("secret has 3 chars");

    let t = native()
        .with_config(json!({"mode": "http"}))
        .with_http(|r| {
            Ok(Response::new(
                if r.url.ends_with("/x") { 204 } else { 500 },
                "",
            ))
        });
    t.check(events::file_write("a", "b"))
        .expect_warn()
        .reason("http 204");
}

#[test]
#[should_panic(expected = "[native] expected deny")]
fn a_wrong_expectation_fails_the_test() {
    native().check(events::file_write("a", "b")).expect_deny();
}

#[test]
#[should_panic(expected = "expected the reason to contain")]
fn a_wrong_reason_fails_the_test() {
    native()
        .check(events::file_write("a", "b"))
        .expect_allow()
        .reason_contains("nope");
}

#[test]
fn invoke_and_the_export_path_run_without_filtering() {
    let mut host = TestHost::new();
    host.run(|| {
        let event = events::file_read("a").to_string();
        let v = invoke::<Probe>("", &event).unwrap();
        assert_eq!(v.reason.as_deref(), Some("check 1"));

        assert_eq!(
            crate::__private::check::<Probe>(&event),
            Err("guard not initialised: init was not called".into())
        );
        crate::__private::init::<Probe>("{}").unwrap();
        assert!(crate::__private::check::<Probe>(&event).is_ok());
        assert!(crate::__private::init::<Probe>("{nope")
            .unwrap_err()
            .starts_with("invalid config: not JSON"));
        assert_eq!(
            crate::__private::describe::<Probe>(),
            (
                "probe".into(),
                "1.2.3".into(),
                vec!["file_write".into(), "custom".into()]
            )
        );
    });
}

#[test]
fn sandbox_only_host_grants_are_refused_natively_only() {
    // `with_secret` is fine on the native backend; the sandbox panics (checked in the
    // sandbox tests of the example guards, which need a built component).
    assert_eq!(
        native().with_secret("K", "v").backend_kind(),
        BackendKind::Native
    );
}

#[test]
fn no_config_accepts_nothing_but_an_empty_object() {
    struct Plain;
    impl Guard for Plain {
        const NAME: &'static str = "plain";
        const VERSION: &'static str = "0.1.0";
        const HANDLES: &'static [EventType] = &[EventType::FileWrite];
        type Config = crate::NoConfig;
        fn new(_: crate::NoConfig) -> Result<Self, String> {
            Ok(Plain)
        }
        fn check(&self, _: &Event) -> Result<Verdict, String> {
            Ok(Verdict::allow("ok"))
        }
    }
    GuardTest::native::<Plain>().init().expect_ok();
    GuardTest::native::<Plain>()
        .with_config(json!({"x": 1}))
        .init()
        .expect_init_error("unknown field `x`");
}

#[test]
fn config_rejected_natively_needs_the_guards_own_message() {
    native()
        .with_config(json!({"mdoe": 1}))
        .init()
        .expect_config_rejected("unknown field");
    let r = std::panic::catch_unwind(|| {
        native()
            .with_config(json!({"mdoe": 1}))
            .init()
            .expect_config_rejected("does not match its configSchema")
    });
    assert!(
        r.is_err(),
        "the schema wording is only accepted from the sandbox"
    );
}
