//! The parity guard's vectors, run natively and (feature `sandbox`) against the built
//! component in the engine's plugin host. The expected texts are the parity contract:
//! the TypeScript twin must produce exactly the same.
#![cfg(not(target_arch = "wasm32"))]

use clawdstrike_guard_sdk::testing::{events, invoke, GuardTest, TestHost};
use clawdstrike_guard_sdk::{Level, Severity};
use parity_rust_guard::ParityCheck;
use serde_json::{json, Value};

fn vectors(t: &GuardTest) {
    // file_write: first matching extension, compared in lower case, reported as configured.
    t.check(events::file_write("C:/tmp/Setup.EXE", "MZ"))
        .expect_deny()
        .severity(Severity::High)
        .reason("blocked file type \".exe\" for C:/tmp/Setup.EXE")
        .details(json!({"extension": ".exe"}));
    t.check(events::file_write("lib/libfoo.so", ""))
        .expect_deny()
        .reason("blocked file type \".so\" for lib/libfoo.so");
    t.check(events::file_write("notes.txt", "hello"))
        .expect_allow()
        .no_severity()
        .no_details()
        .reason("file type allowed");
    t.check(events::file_write("archive.so.txt", ""))
        .expect_allow()
        .reason("file type allowed");

    // command_exec: command + " " + each arg, counted in Unicode scalar values.
    let at_limit = "x".repeat(200 - "echo ".len());
    t.check(events::command("echo", &[&at_limit]))
        .expect_allow()
        .no_severity()
        .reason("command length ok");
    let over = format!("{at_limit}y");
    t.check(events::command("echo", &[&over]))
        .expect_warn()
        .severity(Severity::Medium)
        .no_details()
        .reason("command is 201 characters, over the limit of 200");
    // 199 + "é😀" is 201 scalar values (but more UTF-8 bytes and UTF-16 units).
    t.check(events::command(&"a".repeat(199), &["é😀"]))
        .expect_warn()
        .reason("command is 202 characters, over the limit of 200");
    t.check(events::command(&"é".repeat(200), &[]))
        .expect_allow()
        .reason("command length ok");

    // tool_call: exact name match only.
    t.check(events::tool_call("shell_exec", json!({"cmd": "ls"})))
        .expect_deny()
        .severity(Severity::Critical)
        .no_details()
        .reason("tool \"shell_exec\" is blocked");
    t.check(events::tool_call("Shell_Exec", json!({})))
        .expect_allow()
        .reason("tool allowed");

    // network_egress: the port, when present, against warnPorts.
    t.check(events::network_egress("ftp.example.com", 21))
        .expect_warn()
        .severity(Severity::Low)
        .reason("port 21 is insecure");
    t.check(events::network_egress("example.com", 443))
        .expect_allow()
        .reason("port ok");
    t.check(json!({"eventId": "n", "eventType": "network_egress", "data": {"type": "network", "host": "h"}}))
        .expect_allow()
        .reason("port ok");

    // Event types the guard does not handle never reach it through the engine.
    t.check(events::file_read("a.exe")).expect_skipped();
    t.check(events::secret("K")).expect_skipped();
}

fn configured(t: &GuardTest) {
    let c = t.clone().with_config(json!({
        "blockedExtensions": [".TXT", ".md"],
        "maxCommandLength": 3,
        "blockedTools": ["rm"],
        "warnPorts": [8080, 443.0]
    }));
    c.check(events::file_write("Notes.txt", ""))
        .expect_deny()
        .reason("blocked file type \".TXT\" for Notes.txt")
        .details(json!({"extension": ".TXT"}));
    c.check(events::file_write("a.exe", "")).expect_allow();
    c.check(events::command("ls", &["-l"]))
        .expect_warn()
        .reason("command is 5 characters, over the limit of 3");
    c.check(events::command("ls", &[])).expect_allow();
    c.check(events::tool_call("rm", json!({})))
        .expect_deny()
        .reason("tool \"rm\" is blocked");
    c.check(events::tool_call("shell_exec", json!({})))
        .expect_allow();
    c.check(events::network_egress("h", 443))
        .expect_warn()
        .reason("port 443 is insecure");
    c.check(events::network_egress("h", 21)).expect_allow();

    let empty = t
        .clone()
        .with_config(json!({"blockedExtensions": [], "maxCommandLength": 0, "warnPorts": []}));
    empty.check(events::file_write("a.exe", "")).expect_allow();
    empty
        .check(events::command("a", &[]))
        .expect_warn()
        .reason("command is 1 characters, over the limit of 0");
}

fn config_errors(t: &GuardTest) {
    let init = |config: Value| t.clone().with_config(config).init();
    init(json!({})).expect_ok();
    init(json!({"maxCommandLength": 7.0})).expect_ok();
    init(json!({"blockedTools": ["a"], "extra": 1}))
        .expect_init_error("unknown config key \"extra\"");
    init(json!({"maxCommandLength": -1}))
        .expect_init_error("config.maxCommandLength must be a non-negative integer");
    init(json!({"maxCommandLength": 1.5}))
        .expect_init_error("config.maxCommandLength must be a non-negative integer");
    init(json!({"maxCommandLength": "200"}))
        .expect_init_error("config.maxCommandLength must be a non-negative integer");
    init(json!({"blockedExtensions": ".exe"}))
        .expect_init_error("config.blockedExtensions must be an array of strings");
    init(json!({"blockedTools": [1]}))
        .expect_init_error("config.blockedTools must be an array of strings");
    init(json!({"warnPorts": ["21"]}))
        .expect_init_error("config.warnPorts must be an array of integers");
    init(json!({"warnPorts": [21.5]}))
        .expect_init_error("config.warnPorts must be an array of integers");
}

#[test]
fn native_vectors() {
    let t = GuardTest::native::<ParityCheck>();
    vectors(&t);
    configured(&t);
    config_errors(&t);
}

#[test]
fn init_errors_are_exact_natively() {
    let err = |config: &str| invoke::<ParityCheck>(config, "{}").unwrap_err();
    assert_eq!(err(r#"{"nope": true}"#), "unknown config key \"nope\"");
    assert_eq!(
        err(r#"{"warnPorts": 21}"#),
        "config.warnPorts must be an array of integers"
    );
    // The first offending key in document order is the one reported.
    assert_eq!(
        err(r#"{"maxCommandLength": -1, "zzz": 0}"#),
        "config.maxCommandLength must be a non-negative integer"
    );
}

#[test]
fn logs_the_event_type_once_at_debug() {
    let t = GuardTest::native::<ParityCheck>();
    for event in [
        events::file_write("a", ""),
        events::command("ls", &[]),
        events::tool_call("t", json!({})),
        events::network_egress("h", 1),
    ] {
        let ty = event["eventType"].as_str().unwrap().to_string();
        let outcome = t.check(event);
        let logs: Vec<_> = outcome
            .logs()
            .iter()
            .map(|l| (l.level, l.message.clone()))
            .collect();
        assert_eq!(logs, [(Level::Debug, format!("parity_check: {ty}"))]);
        outcome.expect_allow();
    }
}

#[test]
fn unhandled_types_and_malformed_events_through_the_exports() {
    // What the component answers when called directly (the engine never does this).
    TestHost::new().run(|| {
        for event in [
            events::file_read("a.exe"),
            events::secret("K"),
            events::patch("a.exe", "+x"),
        ] {
            let v = invoke::<ParityCheck>("{}", &event.to_string()).unwrap();
            assert_eq!(v.reason.as_deref(), Some("event type not handled"));
            assert_eq!(
                (v.severity, &v.details, &v.remediation),
                (None, &None, &None)
            );
        }
        for bad in [
            "[]",
            "{}",
            r#"{"eventType":"file_write"}"#,
            r#"{"data":{}}"#,
            "not json",
        ] {
            let e = invoke::<ParityCheck>("{}", bad).unwrap_err();
            assert!(e.starts_with("invalid event: "), "{bad}: {e}");
        }
    });
}

/// Shared vectors written for both twins, when they exist.
#[test]
fn shared_parity_vectors() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../parity-vectors.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{} not present: shared vectors not run", path.display());
        return;
    };
    let n = parity_vectors::run(&text, &GuardTest::native::<ParityCheck>());
    assert!(n > 0, "{}: no vectors found", path.display());
}

#[cfg(feature = "sandbox")]
mod sandbox {
    use super::*;

    fn sandbox() -> GuardTest {
        GuardTest::sandbox(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn sandbox_vectors() {
        let t = sandbox();
        vectors(&t);
        configured(&t);
        config_errors(&t);
    }

    #[test]
    fn sandbox_shared_parity_vectors() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../parity-vectors.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(parity_vectors::run(&text, &sandbox()) > 0);
        }
    }
}

#[path = "support/parity_vectors.rs"]
mod parity_vectors;
