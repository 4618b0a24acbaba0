use clawdstrike_guard_sdk::testing::{events, GuardTest};
use {{crate}}::{{type}};
use serde_json::json;

fn vectors(t: &GuardTest) {
    t.check(events::file_write("src/main.rs", "// SPDX-License-Identifier: MIT\nfn main() {}\n"))
        .expect_allow()
        .reason("src/main.rs is licensed MIT");
    t.check(events::file_write("src/main.rs", "fn main() {}\n"))
        .expect_warn()
        .reason("src/main.rs has no SPDX-License-Identifier: header");
    t.check(events::file_write("src/lib.rs", "// SPDX-License-Identifier: GPL-3.0-only\n"))
        .expect_warn()
        .reason_contains("not allowed");
    t.check(events::file_write("README.md", "no header needed"))
        .expect_allow();

    let strict = t
        .clone()
        .with_config(json!({"action": "deny", "paths": ["src/"], "extensions": [".rs"]}));
    strict
        .check(events::file_write("src/a.rs", "fn a() {}"))
        .expect_deny();
    strict
        .check(events::file_write("tests/a.rs", "fn a() {}"))
        .expect_allow();

    t.clone()
        .with_config(json!({"header_lines": 0}))
        .init()
        .expect_config_rejected("header_lines");
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
