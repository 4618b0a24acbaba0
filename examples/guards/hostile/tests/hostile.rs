//! The hostile guard: the modes that return run natively; every mode runs (feature
//! `sandbox`) against the built component, where each misbehaviour must end as a deny
//! or a load error and never take the test process down.
#![cfg(not(target_arch = "wasm32"))]

use clawdstrike_guard_sdk::testing::{events, BackendKind, GuardTest};
use clawdstrike_guard_sdk::Severity;
use hostile_guard::Hostile;
use serde_json::json;

fn mode(t: &GuardTest, mode: &str) -> GuardTest {
    t.clone().with_config(json!({ "mode": mode }))
}

/// Modes that return (safe to run in-process too).
fn returning_modes(t: &GuardTest) {
    t.check(events::file_write("a", "b"))
        .expect_allow()
        .reason("hostile guard in ok mode");
    mode(t, "ok").check(events::secret("K")).expect_allow();
    let refused = mode(t, "undeclared")
        .check(events::command("ls", &[]))
        .expect_deny()
        .severity(Severity::High);
    match t.backend_kind() {
        // The test host answers an undeclared call with `denied`, and the guard says so.
        BackendKind::Native => refused.reason("capabilities were refused"),
        // The engine stops a guard at its first undeclared call.
        BackendKind::Sandbox => refused.reason_contains("does not declare capabilities.network"),
    };
    mode(t, "trap")
        .check(events::file_read("a"))
        .expect_error("trapped");
    mode(t, "bad_json")
        .check(events::file_read("a"))
        .expect_error("details that are not valid JSON");
    mode(t, "nope")
        .init()
        .expect_config_rejected("unknown variant `nope`");
    t.clone()
        .with_config(json!({"mode": "ok", "extra": 1}))
        .init()
        .expect_config_rejected("unknown field `extra`");
}

#[test]
fn native_returning_modes() {
    returning_modes(&GuardTest::native::<Hostile>());
}

#[test]
fn native_undeclared_succeeds_only_with_a_grant() {
    // Sanity check of the test itself: the guard reports a capability the host grants.
    mode(&GuardTest::native::<Hostile>(), "undeclared")
        .with_secret("AWS_SECRET_ACCESS_KEY", "x")
        .check(events::file_read("a"))
        .expect_allow()
        .reason("capabilities were granted: get_secret");
}

#[cfg(feature = "sandbox")]
mod sandbox {
    use super::*;

    fn sandbox() -> GuardTest {
        GuardTest::sandbox(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn sandbox_returning_modes() {
        returning_modes(&sandbox());
    }

    #[test]
    fn sandbox_stops_runaway_guards_and_fails_closed() {
        let t = sandbox();
        for m in ["loop", "alloc", "recurse", "huge_result"] {
            mode(&t, m)
                .check(events::file_write("a", "b"))
                .expect_deny()
                .reason_contains("guard `hostile`");
        }
        // The engine keeps working after all of that.
        t.check(events::file_write("a", "b")).expect_allow();
    }

    #[test]
    fn sandbox_slow_init_fails_the_load() {
        mode(&sandbox(), "slow_init").init().expect_init_error("");
    }
}
