//! Composition rules through the engine: policy YAML → decisions.

use clawdstrike_engine::{ContributionKind, Engine, PolicyEvent, Status};
use serde_json::json;

const SSH_KEY: &str = "/home/me/.ssh/id_rsa";

fn engine(rules: &str) -> Engine {
    let yaml = format!("version: \"1.2.0\"\nextends: default\nguards:\n  composition:\n{rules}");
    Engine::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_rule_consumes_its_guards_which_then_contribute_only_through_it() {
    let e =
        engine("    - name: ssh_soft\n      logic: {guard: forbidden_path}\n      action: warn\n");
    let d = e.check(&PolicyEvent::file_read("e1", SSH_KEY));
    assert_eq!(d.status, Status::Warn, "{d:#?}");
    assert_eq!(d.guard.as_deref(), Some("ssh_soft"));
    assert!(
        d.results.iter().all(|c| c.name != "forbidden_path"),
        "{d:#?}"
    );
    let rule = d.results.iter().find(|c| c.name == "ssh_soft").unwrap();
    assert_eq!(rule.kind, ContributionKind::Rule);
    assert_eq!(rule.trace[0].node, "guard:forbidden_path");
}

#[test]
fn a_rule_that_does_not_apply_leaves_its_guards_to_contribute_directly() {
    let e = engine(
        "    - name: net_only\n      when: {eventType: network_egress}\n      logic: {guard: forbidden_path}\n      action: warn\n",
    );
    let d = e.check(&PolicyEvent::file_read("e1", SSH_KEY));
    assert_eq!(d.status, Status::Deny);
    assert_eq!(d.guard.as_deref(), Some("forbidden_path"));
}

#[test]
fn failing_context_expression_denies_and_the_reason_names_it() {
    let e = engine(
        "    - name: admins_only\n      logic:\n        IF_THEN:\n          if: \"user.role == 'admin'\"\n          then: allow\n          else: warn\n",
    );
    let mut ev = PolicyEvent::file_read("e1", "/tmp/notes.txt");
    let d = e.check(&ev);
    assert_eq!(d.status, Status::Deny, "{d:#?}");
    assert!(d.reason.contains("user.role == 'admin'"), "{}", d.reason);

    ev.context.insert("user".into(), json!({"role": "dev"}));
    assert_eq!(e.check(&ev).status, Status::Warn);
    ev.context.insert("user".into(), json!({"role": "admin"}));
    assert_eq!(e.check(&ev).status, Status::Allow);
}

#[test]
fn composition_errors_are_policy_errors_with_their_location() {
    let yaml = "version: \"1.2.0\"\nextends: default\nguards:\n  composition:\n    - name: r\n      logic: {AND: [{guard: forbidden_path}, {guard: no_such_guard}]}\n    - name: s\n      logic: {NOT: {rule: s}}\n";
    let err = Engine::from_yaml(yaml)
        .expect_err("invalid composition")
        .to_string();
    assert!(
        err.contains("guards.composition[0].logic.AND[1].guard"),
        "{err}"
    );
    assert!(err.contains("no_such_guard"), "{err}");
    assert!(err.contains("cycle"), "{err}");
}
