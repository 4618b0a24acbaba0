use clawdstrike_guard_sdk::testing::{events, GuardTest};
use {{crate}}::{ {{type}}Commands, {{type}}Paths };
use serde_json::json;

fn paths(t: &GuardTest) {
    t.check(events::file_write("/etc/hosts", "x"))
        .expect_deny()
        .reason("/etc/hosts is under the protected path /etc/");
    t.check(events::file_write("src/main.rs", "x")).expect_allow();
    t.check(events::command("ls", &[])).expect_skipped();
    t.clone()
        .with_config(json!({"protected_paths": ["secrets/"]}))
        .check(events::file_write("secrets/key.pem", "x"))
        .expect_deny();
}

fn commands(t: &GuardTest) {
    t.check(events::command("/usr/bin/curl https://x.example", &[]))
        .expect_deny()
        .reason("`curl` may not be run");
    t.check(events::command("ls -l", &[])).expect_allow();
    t.check(events::file_write("a", "x")).expect_skipped();
}

#[test]
fn native() {
    paths(&GuardTest::native::<{{type}}Paths>());
    commands(&GuardTest::native::<{{type}}Commands>());
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox() {
    let package = GuardTest::sandbox(env!("CARGO_MANIFEST_DIR"));
    paths(&package.clone().guard("{{guard}}_paths"));
    commands(&package.guard("{{guard}}_commands"));
}
