use clawdstrike_guard_sdk::testing::{events, GuardTest};
use clawdstrike_guard_sdk::Severity;
use {{crate}}::{{type}};
use serde_json::json;

fn vectors(t: &GuardTest) {
    t.check(events::file_write("db/reset.sql", "drop table users;"))
        .expect_deny()
        .severity(Severity::High)
        .reason("db/reset.sql contains \"drop table\"");
    t.check(events::file_write("notes.md", "hello"))
        .expect_allow();
    // The engine only asks the guard about the event types it handles.
    t.check(events::file_read("db/reset.sql")).expect_skipped();

    let custom = t
        .clone()
        .with_config(json!({"words": ["rm -rf"], "severity": "critical"}));
    custom
        .check(events::file_write("run.sh", "rm -rf /"))
        .expect_deny()
        .severity(Severity::Critical);

    // A misspelt key fails the load.
    t.clone()
        .with_config(json!({"word": ["x"]}))
        .init()
        .expect_config_rejected("unknown field `word`");
}

#[test]
fn native() {
    vectors(&GuardTest::native::<{{type}}>());
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox() {
    vectors(&GuardTest::sandbox(env!("CARGO_MANIFEST_DIR")));
}
