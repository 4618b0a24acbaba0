//! Unit tests of composition, with small test-only guards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::decision::{ContributionKind, Severity, Status, Verdict};
use crate::event::{EventType, PolicyEvent};
use crate::guard_table::{GuardRun, GuardTable};
use crate::guards::Guard;

/// Returns a fixed verdict for the event types it examines, `None` for the others.
#[derive(Debug)]
struct Fixed {
    name: String,
    on: Vec<EventType>,
    verdict: Verdict,
    calls: Arc<AtomicUsize>,
}

impl Guard for Fixed {
    fn name(&self) -> &str {
        &self.name
    }
    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if self.on.contains(&event.event_type) {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Some(self.verdict.clone())
        } else {
            None
        }
    }
}

fn verdict(status: Status, name: &str) -> Verdict {
    match status {
        Status::Allow => Verdict::allow(format!("{name} is fine")),
        Status::Warn => Verdict::warn(Severity::Medium, format!("{name} looks odd")),
        Status::Deny => Verdict::deny(Severity::High, format!("{name} found a problem")),
    }
}

struct Fixture {
    table: GuardTable,
    calls: Vec<(String, Arc<AtomicUsize>)>,
}

impl Fixture {
    /// Guards `allow`, `warn`, `deny` (examine file_read only), `skip` (network only) and
    /// `crit` (critical deny on file_read).
    fn new() -> Self {
        let mut f = Fixture {
            table: GuardTable::new(),
            calls: Vec::new(),
        };
        let fr = vec![EventType::FileRead];
        f.add("allow", fr.clone(), verdict(Status::Allow, "allow"));
        f.add("warn", fr.clone(), verdict(Status::Warn, "warn"));
        f.add("deny", fr.clone(), verdict(Status::Deny, "deny"));
        f.add(
            "skip",
            vec![EventType::NetworkEgress],
            verdict(Status::Deny, "skip"),
        );
        f.add(
            "crit",
            fr,
            Verdict::deny(Severity::Critical, "crit found a critical problem"),
        );
        f
    }

    fn add(&mut self, name: &str, on: Vec<EventType>, verdict: Verdict) {
        let calls = Arc::new(AtomicUsize::new(0));
        self.table.insert_top_level(
            Arc::new(Fixed {
                name: name.into(),
                on,
                verdict,
                calls: calls.clone(),
            }),
            &[],
        );
        self.calls.push((name.into(), calls));
    }

    fn calls(&self, name: &str) -> usize {
        self.calls
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.load(Ordering::SeqCst))
            .unwrap()
    }

    fn compile(&mut self, yaml: &str) -> Result<RuleSet, Vec<ComposeError>> {
        let rules: Vec<CompositionRule> = serde_saphyr::from_str(yaml).expect("rules parse");
        RuleSet::compile(&rules, &mut self.table, &mut no_instances)
    }

    fn eval(&self, set: &RuleSet, event: &PolicyEvent) -> (Vec<Contribution>, Vec<bool>) {
        let mut run = GuardRun::new(&self.table, event);
        let mut consumed = vec![false; self.table.len()];
        let out = set.evaluate(&mut run, &mut consumed);
        (out, consumed)
    }

    fn consumed_names(&self, consumed: &[bool]) -> Vec<String> {
        let mut names: Vec<String> = consumed
            .iter()
            .enumerate()
            .filter(|(_, c)| **c)
            .map(|(i, _)| self.table.get(i).name().to_string())
            .collect();
        names.sort();
        names
    }
}

fn no_instances(name: &str, _: &Value) -> Result<Arc<dyn Guard>, String> {
    Err(format!("no instance of {name} in this test"))
}

fn read() -> PolicyEvent {
    PolicyEvent::file_read("e1", "/etc/passwd")
}

/// The status of a single rule `r` with the given logic on a file_read event (`None` when
/// it emits nothing).
fn status_of(logic: &str) -> Option<Status> {
    let mut f = Fixture::new();
    let set = f
        .compile(&format!("- name: r\n  logic: {logic}\n"))
        .unwrap_or_else(|e| panic!("{logic}: {e:?}"));
    let (out, _) = f.eval(&set, &read());
    assert!(out.len() <= 1);
    out.first().map(|c| c.status)
}

const A: Option<Status> = Some(Status::Allow);
const W: Option<Status> = Some(Status::Warn);
const D: Option<Status> = Some(Status::Deny);
const S: Option<Status> = None; // skipped

fn name_of(s: Option<Status>) -> &'static str {
    match s {
        Some(Status::Allow) => "allow",
        Some(Status::Warn) => "warn",
        Some(Status::Deny) => "deny",
        None => "skip",
    }
}

fn check_binary_table(op: &str, table: &[(Option<Status>, Option<Status>, Option<Status>)]) {
    for (a, b, want) in table {
        let logic = format!(
            "{{{op}: [{{guard: {}}}, {{guard: {}}}]}}",
            name_of(*a),
            name_of(*b)
        );
        assert_eq!(status_of(&logic), *want, "{logic}");
    }
}

#[test]
fn and_truth_table_is_kleene_with_skipped_operands_ignored() {
    check_binary_table(
        "AND",
        &[
            (A, A, A),
            (A, W, W),
            (A, D, D),
            (W, A, W),
            (W, W, W),
            (W, D, D),
            (D, A, D),
            (D, W, D),
            (D, D, D),
            (S, A, A),
            (S, W, W),
            (S, D, D),
            (A, S, A),
            (W, S, W),
            (D, S, D),
            (S, S, S),
        ],
    );
}

#[test]
fn or_truth_table_is_kleene_with_skipped_operands_ignored() {
    check_binary_table(
        "OR",
        &[
            (A, A, A),
            (A, W, A),
            (A, D, A),
            (W, A, A),
            (W, W, W),
            (W, D, W),
            (D, A, A),
            (D, W, W),
            (D, D, D),
            (S, A, A),
            (S, W, W),
            (S, D, D),
            (A, S, A),
            (W, S, W),
            (D, S, D),
            (S, S, S),
        ],
    );
}

#[test]
fn not_truth_table_swaps_allow_and_deny_keeps_warn_and_skip() {
    for (a, want) in [(A, D), (W, W), (D, A), (S, S)] {
        let logic = format!("{{NOT: {{guard: {}}}}}", name_of(a));
        assert_eq!(status_of(&logic), want, "{logic}");
    }
}

#[test]
fn operators_over_single_operand_and_nested_operators() {
    assert_eq!(status_of("{AND: [{guard: warn}]}"), W);
    assert_eq!(
        status_of("{OR: [{guard: skip}, {AND: [{guard: skip}]}]}"),
        S
    );
    assert_eq!(
        status_of("{AND: [{OR: [{guard: deny}, {guard: warn}]}, {NOT: {guard: deny}}]}"),
        W
    );
    // An operand root is allowed: the rule relabels the guard.
    assert_eq!(status_of("{guard: deny}"), D);
}

#[test]
fn n_of_edges() {
    let cases = [
        // n = 1: any deny denies; any warn warns.
        ("{N_OF: {n: 1, guards: [{guard: allow}, {guard: deny}]}}", D),
        ("{N_OF: {n: 1, guards: [{guard: allow}, {guard: warn}]}}", W),
        (
            "{N_OF: {n: 1, guards: [{guard: allow}, {guard: allow}]}}",
            A,
        ),
        // n = len: all must deny.
        (
            "{N_OF: {n: 3, guards: [{guard: deny}, {guard: deny}, {guard: deny}]}}",
            D,
        ),
        (
            "{N_OF: {n: 3, guards: [{guard: deny}, {guard: deny}, {guard: warn}]}}",
            W,
        ),
        (
            "{N_OF: {n: 3, guards: [{guard: deny}, {guard: deny}, {guard: allow}]}}",
            A,
        ),
        // warn counts as "not allow" towards the warn threshold only.
        (
            "{N_OF: {n: 2, guards: [{guard: warn}, {guard: deny}, {guard: allow}]}}",
            W,
        ),
        (
            "{N_OF: {n: 2, guards: [{guard: deny}, {guard: crit}, {guard: allow}]}}",
            D,
        ),
        // Skipped operands are ignored (they count neither way).
        (
            "{N_OF: {n: 2, guards: [{guard: skip}, {guard: deny}, {guard: allow}]}}",
            A,
        ),
        (
            "{N_OF: {n: 2, guards: [{guard: skip}, {guard: deny}, {guard: deny}]}}",
            D,
        ),
        // All skipped: skipped.
        ("{N_OF: {n: 1, guards: [{guard: skip}, {guard: skip}]}}", S),
    ];
    for (logic, want) in cases {
        assert_eq!(status_of(logic), want, "{logic}");
    }
}

#[test]
fn score_edges() {
    let cases = [
        // Tie at the threshold denies.
        ("{SCORE: {threshold: 5, weights: [{guard: deny, score: 3}, {guard: warn, score: 2}]}}", D, Some(5.0)),
        ("{SCORE: {threshold: 5, weights: [{guard: deny, score: 3}, {guard: allow, score: 2}]}}", A, Some(3.0)),
        // All allow: score 0.
        ("{SCORE: {threshold: 1, weights: [{guard: allow, score: 3}, {guard: allow, score: 4}]}}", A, Some(0.0)),
        // Weight 0 contributes nothing.
        ("{SCORE: {threshold: 1, weights: [{guard: deny, score: 0}]}}", A, Some(0.0)),
        // Skipped operands ignored.
        ("{SCORE: {threshold: 4, weights: [{guard: skip, score: 10}, {guard: deny, score: 4}]}}", D, Some(4.0)),
        ("{SCORE: {threshold: 0.5, weights: [{guard: warn, weight: 0.5}]}}", D, Some(0.5)),
    ];
    for (logic, want, score) in cases {
        let mut f = Fixture::new();
        let set = f
            .compile(&format!("- name: r\n  logic: {logic}\n"))
            .unwrap();
        let (out, _) = f.eval(&set, &read());
        assert_eq!(out[0].status, want.unwrap(), "{logic}");
        assert_eq!(out[0].score, score, "{logic}");
        assert_eq!(out[0].trace[0].node, "SCORE");
        assert_eq!(out[0].trace[0].score, score, "{logic}");
    }
    assert_eq!(
        status_of("{SCORE: {threshold: 1, weights: [{guard: skip, score: 3}]}}"),
        S
    );
}

#[test]
fn score_inside_an_operator_reports_score_in_trace_only() {
    let mut f = Fixture::new();
    let set = f
        .compile("- name: r\n  logic: {NOT: {SCORE: {threshold: 2, weights: [{guard: deny, score: 3}]}}}\n")
        .unwrap();
    let (out, _) = f.eval(&set, &read());
    assert_eq!(out[0].status, Status::Allow);
    assert_eq!(out[0].score, None);
    assert_eq!(out[0].trace[1].score, Some(3.0));
}

fn with_context(ctx: Value) -> PolicyEvent {
    let mut e = read();
    e.context = ctx.as_object().unwrap().clone();
    e
}

fn eval_one(yaml: &str, event: &PolicyEvent) -> Option<Contribution> {
    let mut f = Fixture::new();
    let set = f.compile(yaml).unwrap_or_else(|e| panic!("{e:?}"));
    let (out, _) = f.eval(&set, event);
    out.into_iter().next()
}

const ADMIN_PROD: &str = r#"
- name: admin_prod
  logic:
    IF_THEN:
      if: "user.role == 'admin' && env.name == 'prod'"
      then: deny
      else: {guard: warn}
"#;

#[test]
fn if_then_cel_true_takes_then_false_takes_else() {
    let yes = with_context(json!({"user": {"role": "admin"}, "env": {"name": "prod"}}));
    let c = eval_one(ADMIN_PROD, &yes).unwrap();
    assert_eq!(c.status, Status::Deny);
    assert_eq!(c.trace[0].node, "IF_THEN");
    assert_eq!(c.trace[1].node, "expr");
    assert_eq!(c.trace[1].status, Some(Status::Allow));
    // A literal branch has no guard verdict: default severity medium.
    assert_eq!(c.severity, Severity::Medium);

    let no = with_context(json!({"user": {"role": "dev"}, "env": {"name": "prod"}}));
    let c = eval_one(ADMIN_PROD, &no).unwrap();
    assert_eq!(c.status, Status::Warn);
    assert_eq!(c.trace[1].status, Some(Status::Deny));
    assert_eq!(c.trace[2].node, "guard:warn");
}

#[test]
fn if_then_cel_missing_variable_fails_closed_and_names_the_expression() {
    // env.name missing (env is an empty map): no such key -> deny, whatever the action.
    let yaml = r#"
- name: admin_prod
  action: warn
  logic:
    IF_THEN:
      if: "user.role == 'admin' && env.name == 'prod'"
      then: allow
      else: allow
"#;
    let ev = with_context(json!({"user": {"role": "admin"}}));
    let c = eval_one(yaml, &ev).unwrap();
    assert_eq!(c.status, Status::Deny);
    assert_eq!(c.severity, Severity::High);
    assert!(
        c.message
            .contains("user.role == 'admin' && env.name == 'prod'"),
        "{}",
        c.message
    );
    assert!(c.message.contains("name"), "{}", c.message);
    assert_eq!(
        c.details.as_ref().unwrap()["expression"],
        json!("user.role == 'admin' && env.name == 'prod'")
    );
    // No context at all fails the same way.
    let c = eval_one(yaml, &read()).unwrap();
    assert_eq!(c.status, Status::Deny);
}

#[test]
fn failed_expression_cannot_be_negated_into_an_allow() {
    let yaml = r#"
- name: r
  logic:
    OR:
      - {guard: deny}
      - NOT: {IF_THEN: {if: "user.nope", then: deny}}
"#;
    let c = eval_one(yaml, &read()).unwrap();
    assert_eq!(c.status, Status::Deny);
    assert!(c.message.contains("user.nope"), "{}", c.message);
}

#[test]
fn non_bool_expression_result_fails_closed() {
    let yaml = "- name: r\n  logic: {IF_THEN: {if: {expr: \"event.data.path\"}, then: allow}}\n";
    let c = eval_one(yaml, &read()).unwrap();
    assert_eq!(c.status, Status::Deny);
    assert!(c.message.contains("expected a bool"), "{}", c.message);
}

#[test]
fn cel_context_functions_and_variables() {
    let ctx = json!({
        "user": {"id": "u1", "role": "admin", "groups": ["sre", "dev"], "verified": true, "mfaEnabled": false},
        "session": {"id": "s1", "eventCount": 150, "startTime": "2024-01-01T00:00:00Z"},
        "env": {"name": "production", "region": "eu-west-1"},
        "custom": {"ticket": "OPS-42"}
    });
    let mut ev = with_context(ctx);
    ev.session_id = Some("s1".into());
    ev.metadata.insert("source".into(), json!("ci"));
    let truths = [
        r#"user.role == "admin" && env.name == "production""#,
        r#"event.data.path.startsWith("/etc")"#,
        r#"event.data.path.endsWith("passwd")"#,
        r#"event.data.path.contains("pass")"#,
        r#"event.data.path.matches("^/etc/[a-z]+$")"#,
        "session.eventCount > 100",
        "session.eventCount + 1 == 151",
        r#""sre" in user.groups"#,
        r#"user.groups.exists(g, g == "dev")"#,
        "user.verified && !user.mfaEnabled",
        r#"event.type == "file_read" && event.id == "e1""#,
        r#"event.sessionId == "s1" && event.metadata.source == "ci""#,
        r#"custom.ticket.startsWith("OPS-")"#,
        "has(user.role) && !has(user.department)",
        r#"now() > timestamp(session.startTime)"#,
        r#"size(user.groups) == 2 || env.region == "x""#,
    ];
    for expr in truths {
        let yaml = format!(
            "- name: r\n  logic: {{IF_THEN: {{if: {}, then: warn, else: deny}}}}\n",
            serde_json::to_string(expr).unwrap()
        );
        let c = eval_one(&yaml, &ev).unwrap();
        assert_eq!(c.status, Status::Warn, "{expr}: {}", c.message);
    }
}

#[test]
fn if_then_guard_result_match() {
    let cases = [
        (
            "{IF_THEN: {if: {guard: deny, result: deny}, then: warn}}",
            W,
        ),
        (
            "{IF_THEN: {if: {guard: warn, result: deny}, then: warn}}",
            A,
        ),
        (
            "{IF_THEN: {if: {guard: warn, result: [warn, deny]}, then: deny, else: allow}}",
            D,
        ),
        // A skipped guard makes the condition false.
        (
            "{IF_THEN: {if: {guard: skip, result: deny}, then: allow, else: warn}}",
            W,
        ),
        (
            "{IF_THEN: {if: {guard: skip, result: [allow, warn, deny]}, then: deny}}",
            A,
        ),
    ];
    for (logic, want) in cases {
        assert_eq!(status_of(logic), want, "{logic}");
    }
}

#[test]
fn if_then_branches_literal_operand_missing_else_and_skipped_branch() {
    let t = "{IF_THEN: {if: \"true\", then: {guard: deny}, else: allow}}";
    assert_eq!(status_of(t), D);
    let f = "{IF_THEN: {if: \"false\", then: deny}}";
    assert_eq!(status_of(f), A, "missing else is allow");
    let f = "{IF_THEN: {if: \"false\", then: deny, else: {OR: [{guard: warn}, {guard: deny}]}}}";
    assert_eq!(status_of(f), W);
    // The chosen branch is skipped: the IF_THEN (and the rule) is skipped.
    let s = "{IF_THEN: {if: \"true\", then: {guard: skip}, else: deny}}";
    assert_eq!(status_of(s), S);
    // A literal branch is never skipped.
    let l = "{IF_THEN: {if: {guard: skip, result: deny}, then: {guard: skip}, else: warn}}";
    assert_eq!(status_of(l), W);
}

#[test]
fn when_filters_event_type_session_and_metadata() {
    let yaml = r#"
- name: by_type
  when: {eventType: [file_write, file_read]}
  logic: {guard: deny}
- name: by_type_single
  when: {event_type: network_egress}
  logic: {guard: deny}
- name: by_session
  when: {sessionId: s1}
  logic: {guard: warn}
- name: by_metadata
  when: {metadata: {source: ci, env: [prod, staging]}}
  logic: {guard: crit}
"#;
    let mut f = Fixture::new();
    let set = f.compile(yaml).unwrap();
    let names = |out: &[Contribution]| out.iter().map(|c| c.name.clone()).collect::<Vec<_>>();

    let (out, consumed) = f.eval(&set, &read());
    assert_eq!(names(&out), ["by_type"]);
    assert_eq!(f.consumed_names(&consumed), ["deny"]);

    let mut ev = read();
    ev.session_id = Some("s1".into());
    ev.metadata.insert("source".into(), json!("ci"));
    ev.metadata.insert("env".into(), json!("staging"));
    let (out, consumed) = f.eval(&set, &ev);
    assert_eq!(names(&out), ["by_type", "by_session", "by_metadata"]);
    assert_eq!(f.consumed_names(&consumed), ["crit", "deny", "warn"]);

    ev.session_id = Some("s2".into());
    ev.metadata.insert("env".into(), json!("dev"));
    let (out, _) = f.eval(&set, &ev);
    assert_eq!(names(&out), ["by_type"]);
}

#[test]
fn rule_with_skipped_root_emits_nothing_and_consumes_nothing() {
    let mut f = Fixture::new();
    let set = f
        .compile("- name: r\n  logic: {AND: [{guard: skip}, {NOT: {guard: skip}}]}\n")
        .unwrap();
    let (out, consumed) = f.eval(&set, &read());
    assert!(out.is_empty());
    assert!(consumed.iter().all(|c| !c));
    // On a network event the same rule applies and consumes `skip`.
    let (out, consumed) = f.eval(&set, &PolicyEvent::network("e2", "example.com", 443));
    assert_eq!(out.len(), 1);
    assert_eq!(f.consumed_names(&consumed), ["skip"]);
}

#[test]
fn rule_filtered_by_when_consumes_nothing() {
    let mut f = Fixture::new();
    let set = f
        .compile("- name: r\n  when: {eventType: command_exec}\n  logic: {guard: deny}\n")
        .unwrap();
    let (out, consumed) = f.eval(&set, &read());
    assert!(out.is_empty());
    assert!(consumed.iter().all(|c| !c));
    assert_eq!(f.calls("deny"), 0, "a filtered rule runs nothing");
}

#[test]
fn short_circuit_does_not_run_later_operands_but_consumes_them() {
    let mut f = Fixture::new();
    let set = f
        .compile(
            "- name: and_rule\n  logic: {AND: [{guard: deny}, {guard: warn}, {OR: [{guard: crit}]}]}\n\
             - name: or_rule\n  logic: {OR: [{guard: skip}, {guard: allow}, {guard: crit}]}\n",
        )
        .unwrap();
    let (out, consumed) = f.eval(&set, &read());
    assert_eq!(f.calls("deny"), 1);
    assert_eq!(f.calls("warn"), 0, "AND stops at the first deny");
    assert_eq!(f.calls("crit"), 0, "OR stops at the first allow");
    assert_eq!(f.calls("allow"), 1);
    let and = &out[0];
    assert_eq!(and.status, Status::Deny);
    let nodes: Vec<(&str, bool, Option<&str>)> = and
        .trace
        .iter()
        .map(|t| (t.node.as_str(), t.skipped, t.skip_reason.as_deref()))
        .collect();
    assert_eq!(
        nodes,
        [
            ("AND", false, None),
            ("guard:deny", false, None),
            ("guard:warn", true, Some("short-circuit")),
            ("OR", true, Some("short-circuit")),
        ]
    );
    let or = &out[1];
    assert_eq!(or.status, Status::Allow);
    assert_eq!(
        or.trace[1].skip_reason.as_deref(),
        Some("does not examine file_read events")
    );
    assert_eq!(or.trace[3].skip_reason.as_deref(), Some("short-circuit"));
    assert_eq!(
        f.consumed_names(&consumed),
        ["allow", "crit", "deny", "skip", "warn"]
    );
}

#[test]
fn guards_shared_between_rules_run_once_per_event() {
    let mut f = Fixture::new();
    let set = f
        .compile(
            "- name: a\n  logic: {guard: warn}\n- name: b\n  logic: {NOT: {guard: warn}}\n\
             - name: c\n  logic: {IF_THEN: {if: {guard: warn, result: warn}, then: deny}}\n",
        )
        .unwrap();
    let (out, _) = f.eval(&set, &read());
    assert_eq!(out.len(), 3);
    assert_eq!(f.calls("warn"), 1);
}

#[test]
fn action_severity_and_message_overrides() {
    let c = eval_one(
        "- name: r\n  action: warn\n  logic: {guard: deny}\n",
        &read(),
    )
    .unwrap();
    assert_eq!(c.status, Status::Warn, "action warn replaces a deny");
    assert!(c.message.contains("action warn"), "{}", c.message);

    let c = eval_one(
        "- name: r\n  action: block\n  logic: {guard: warn}\n",
        &read(),
    )
    .unwrap();
    assert_eq!(
        c.status,
        Status::Deny,
        "action block (deny) replaces a warn"
    );

    let c = eval_one(
        "- name: r\n  action: block_and_alert\n  logic: {guard: allow}\n",
        &read(),
    )
    .unwrap();
    assert_eq!(
        c.status,
        Status::Allow,
        "action never turns an allow into a deny"
    );

    let c = eval_one(
        "- name: r\n  action: allow\n  logic: {guard: deny}\n",
        &read(),
    )
    .unwrap();
    assert_eq!(c.status, Status::Deny, "action allow keeps a computed deny");

    let yaml = "- name: r\n  action: deny\n  severity: error\n  message: exfiltration risk\n  logic: {guard: warn}\n";
    let c = eval_one(yaml, &read()).unwrap();
    assert_eq!(
        (c.status, c.severity, c.message.as_str()),
        (Status::Deny, Severity::High, "exfiltration risk")
    );
    // Overrides do not apply to an allow.
    let yaml = "- name: r\n  severity: critical\n  message: bad\n  logic: {guard: allow}\n";
    let c = eval_one(yaml, &read()).unwrap();
    assert_eq!((c.status, c.severity), (Status::Allow, Severity::Low));
    assert_eq!(c.message, "rule r: guard:allow → allow");
}

#[test]
fn default_severity_and_message_come_from_the_guards_that_fed_the_result() {
    let c = eval_one(
        "- name: exfil_risk\n  logic: {AND: [{guard: warn}, {OR: [{guard: crit}, {guard: deny}]}]}\n",
        &read(),
    )
    .unwrap();
    assert_eq!(c.status, Status::Deny);
    assert_eq!(c.severity, Severity::Critical);
    assert_eq!(
        c.message,
        "rule exfil_risk: AND → deny (crit: crit found a critical problem)"
    );
    assert_eq!(c.kind, ContributionKind::Rule);
    assert_eq!(c.name, "exfil_risk");
    assert!(c.details.is_none());

    // NOT(allow) denies with no non-allow guard verdict: medium.
    let c = eval_one("- name: r\n  logic: {NOT: {guard: allow}}\n", &read()).unwrap();
    assert_eq!((c.status, c.severity), (Status::Deny, Severity::Medium));
    assert_eq!(c.message, "rule r: NOT → deny");

    let c = eval_one(
        "- name: s\n  logic: {SCORE: {threshold: 4, weights: [{guard: deny, score: 5}]}}\n",
        &read(),
    )
    .unwrap();
    assert_eq!(
        c.message,
        "rule s: SCORE 5 >= 4 → deny (deny: deny found a problem)"
    );
}

#[test]
fn rule_references_use_the_referenced_rules_verdict() {
    let yaml = r#"
- name: base
  action: warn
  logic: {guard: deny}
- name: top
  logic: {AND: [{rule: base}, {guard: allow}]}
- name: net_only
  when: {eventType: network_egress}
  logic: {guard: deny}
- name: uses_net_only
  logic: {OR: [{rule: net_only}, {guard: warn}]}
"#;
    let mut f = Fixture::new();
    let set = f.compile(yaml).unwrap();
    assert_eq!(set.len(), 4);
    let (out, consumed) = f.eval(&set, &read());
    let st: Vec<(&str, Status)> = out.iter().map(|c| (c.name.as_str(), c.status)).collect();
    assert_eq!(
        st,
        [
            ("base", Status::Warn),
            ("top", Status::Warn),
            ("uses_net_only", Status::Warn)
        ]
    );
    assert_eq!(out[1].trace[1].node, "rule:base");
    assert!(out[2].trace[1].skipped);
    // uses_net_only consumes `deny` through net_only even though net_only does not apply.
    assert_eq!(f.consumed_names(&consumed), ["allow", "deny", "warn"]);
    assert_eq!(f.calls("deny"), 1);
}

#[test]
fn failure_in_a_referenced_rule_fails_the_referencing_rule() {
    let yaml = r#"
- name: inner
  logic: {IF_THEN: {if: "user.role == 'x'", then: deny}}
- name: outer
  logic: {NOT: {rule: inner}}
"#;
    let mut f = Fixture::new();
    let set = f.compile(yaml).unwrap();
    let (out, _) = f.eval(&set, &read());
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|c| c.status == Status::Deny));
    assert!(
        out[1].message.contains("in rule inner"),
        "{}",
        out[1].message
    );
}

#[test]
fn operand_config_builds_a_shared_instance() {
    let mut f = Fixture::new();
    let rules: Vec<CompositionRule> = serde_saphyr::from_str(
        r#"
- name: r
  logic:
    AND:
      - {guard: allow, config: {strict: true}}
      - {guard: allow, config: {strict: true}}
      - {guard: allow, config: {strict: false}}
"#,
    )
    .unwrap();
    let before = f.table.len();
    let mut made = Vec::new();
    let mut make = |name: &str, config: &Value| -> Result<Arc<dyn Guard>, String> {
        made.push((name.to_string(), config.clone()));
        let status = if config["strict"] == json!(true) {
            Status::Deny
        } else {
            Status::Allow
        };
        Ok(Arc::new(Fixed {
            name: name.into(),
            on: vec![EventType::FileRead],
            verdict: verdict(status, name),
            calls: Arc::new(AtomicUsize::new(0)),
        }))
    };
    let set = RuleSet::compile(&rules, &mut f.table, &mut make).unwrap();
    assert_eq!(made.len(), 2, "identical name+config share an instance");
    assert_eq!(f.table.len(), before + 2);
    assert!(!f.table.is_top_level(before));
    let (out, consumed) = f.eval(&set, &read());
    assert_eq!(out[0].status, Status::Deny);
    assert!(consumed[before] && consumed[before + 1]);
    assert!(
        !consumed[f.table.id("allow").unwrap()],
        "the top-level guard is not referenced"
    );

    let mut failing = |_: &str, _: &Value| -> Result<Arc<dyn Guard>, String> {
        Err("unknown field `strict`".into())
    };
    let errs = RuleSet::compile(&rules, &mut f.table, &mut failing).unwrap_err();
    assert_eq!(errs.len(), 3);
    assert_eq!(errs[0].path, "logic.AND[0].config");
    assert!(errs[0].message.contains("strict"));
}

fn compile_errors(yaml: &str) -> Vec<ComposeError> {
    let mut f = Fixture::new();
    f.compile(yaml).expect_err("should not compile")
}

#[test]
fn validation_unknown_guard_names_rule_path_and_known_guards() {
    let errs = compile_errors("- name: r\n  logic: {AND: [{guard: deny}, {guard: nope}]}\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].rule, "r");
    assert_eq!(errs[0].path, "logic.AND[1].guard");
    assert!(errs[0].message.contains("`nope`"));
    assert!(
        errs[0].message.contains("allow, crit, deny, skip, warn"),
        "{}",
        errs[0].message
    );
    assert_eq!(
        errs[0].to_string(),
        format!("rule `r` at logic.AND[1].guard: {}", errs[0].message)
    );
}

#[test]
fn validation_unknown_rule_and_cycles() {
    let errs = compile_errors("- name: r\n  logic: {OR: [{rule: ghost}]}\n");
    assert_eq!(errs[0].path, "logic.OR[0].rule");
    assert!(errs[0].message.contains("unknown rule `ghost`"));

    let errs = compile_errors(
        "- name: a\n  logic: {AND: [{guard: deny}, {rule: b}]}\n\
         - name: b\n  logic: {NOT: {rule: c}}\n\
         - name: c\n  logic: {OR: [{rule: a}]}\n",
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].rule, "a");
    assert_eq!(errs[0].path, "logic.AND[1].rule");
    assert!(
        errs[0].message.contains("a → b → c → a"),
        "{}",
        errs[0].message
    );

    let errs = compile_errors("- name: me\n  logic: {NOT: {rule: me}}\n");
    assert!(errs[0].message.contains("me → me"));
}

fn nested_not(levels: usize) -> String {
    let mut s = "{guard: deny}".to_string();
    for _ in 0..levels {
        s = format!("{{NOT: {s}}}");
    }
    s
}

#[test]
fn validation_depth_limit_is_32() {
    // 31 NOTs + the guard = 32 levels: fine.
    let mut f = Fixture::new();
    assert!(f
        .compile(&format!("- name: r\n  logic: {}\n", nested_not(31)))
        .is_ok());
    // 32 NOTs + the guard = 33 levels: rejected.
    let errs = compile_errors(&format!("- name: deep\n  logic: {}\n", nested_not(32)));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].rule, "deep");
    assert!(errs[0].path.starts_with("logic.NOT.NOT"));
    assert_eq!(errs[0].path.matches("NOT").count(), 32);
    assert!(errs[0].message.contains("deeper than 32"));
    // Through rule references the depth adds up.
    let errs = compile_errors(&format!(
        "- name: leaf\n  logic: {}\n- name: top\n  logic: {{NOT: {{NOT: {{rule: leaf}}}}}}\n",
        nested_not(30)
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].rule, "top");
    assert!(
        errs[0].message.contains("top → leaf"),
        "{}",
        errs[0].message
    );
}

#[test]
fn validation_bad_cel_and_long_expressions() {
    let errs =
        compile_errors("- name: r\n  logic: {IF_THEN: {if: \"user.role ==\", then: deny}}\n");
    assert_eq!(errs[0].path, "logic.IF_THEN.if");
    assert!(
        errs[0].message.contains("does not compile"),
        "{}",
        errs[0].message
    );
    assert!(errs[0].message.contains("user.role =="));

    let long = format!("\"{}\"", "true && ".repeat(600) + "true");
    let errs = compile_errors(&format!(
        "- name: r\n  logic: {{IF_THEN: {{if: {long}, then: deny}}}}\n"
    ));
    assert!(errs[0].message.contains("4096"), "{}", errs[0].message);
}

#[test]
fn validation_duplicate_names() {
    let errs =
        compile_errors("- name: r\n  logic: {guard: deny}\n- name: r\n  logic: {guard: warn}\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].rule.as_str(), errs[0].path.as_str()),
        ("r", "name")
    );
    assert!(errs[0].message.contains("duplicate"));
}

#[test]
fn validation_operator_shapes_and_all_errors_reported() {
    let yaml = r#"
- name: r1
  logic: {AND: []}
- name: r2
  logic: {N_OF: {n: 3, guards: [{guard: deny}, {guard: warn}]}}
- name: r3
  logic: {N_OF: {n: 0, guards: [{guard: deny}]}}
- name: r4
  logic: {SCORE: {threshold: 0, weights: [{guard: deny, score: -1}]}}
- name: r5
  logic: {AND: [{guard: deny, result: deny}]}
- name: r6
  logic: {IF_THEN: {if: {guard: deny}, then: deny}}
- name: r7
  when: {eventType: []}
  logic: {OR: [{guard: nope}, {guard: nope2}]}
"#;
    let errs = compile_errors(yaml);
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.rule.as_str(), e.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("r1", "logic.AND"),
            ("r2", "logic.N_OF.n"),
            ("r3", "logic.N_OF.n"),
            ("r4", "logic.SCORE.threshold"),
            ("r4", "logic.SCORE.weights[0].score"),
            ("r5", "logic.AND[0].result"),
            ("r6", "logic.IF_THEN.if.result"),
            ("r7", "when.eventType"),
            ("r7", "logic.OR[0].guard"),
            ("r7", "logic.OR[1].guard"),
        ]
    );
}

#[test]
fn unknown_keys_are_rejected_when_parsing_with_their_path() {
    let bad = [
        ("- name: r\n  logic: {guard: deny}\n  extra: 1\n", "extra"),
        (
            "- name: r\n  logic: {AND: [{guard: deny, weight: 2}]}\n",
            "logic.AND[0]: unknown key `weight`",
        ),
        (
            "- name: r\n  logic: {AND: [{guard: deny}], OR: []}\n",
            "logic",
        ),
        (
            "- name: r\n  logic: {XOR: [{guard: deny}]}\n",
            "found keys: XOR",
        ),
        (
            "- name: r\n  logic: {IF_THEN: {if: \"true\", then: maybe}}\n",
            "logic.IF_THEN.then",
        ),
        (
            "- name: r\n  when: {eventTyp: [file_read]}\n  logic: {guard: deny}\n",
            "eventTyp",
        ),
        (
            "- name: r\n  action: explode\n  logic: {guard: deny}\n",
            "explode",
        ),
        (
            "- name: r\n  when: {eventType: [file_reed]}\n  logic: {guard: deny}\n",
            "eventType",
        ),
    ];
    for (yaml, needle) in bad {
        let e = serde_saphyr::from_str::<Vec<CompositionRule>>(yaml).expect_err(yaml);
        assert!(e.to_string().contains(needle), "{yaml}: {e}");
    }
}

#[test]
fn rules_round_trip_through_serde() {
    let yaml = r#"
- name: exfil_risk
  description: secrets leaving
  when: {eventType: [file_write, network_egress], sessionId: s1, metadata: {source: ci}}
  logic:
    AND:
      - guard: deny
      - OR: [ {guard: allow}, {NOT: {guard: warn}} ]
      - N_OF: { n: 2, guards: [ {guard: allow}, {guard: warn}, {guard: deny} ] }
      - SCORE: { threshold: 5, weights: [ {guard: allow, score: 3}, {guard: warn, score: 4.5} ] }
      - IF_THEN:
          if: "user.role == 'admin' && env.name == 'prod'"
          then: deny
          else: {guard: crit, config: {level: 2}}
      - IF_THEN:
          if: {guard: warn, result: [warn, deny]}
          then: {rule: other}
      - {rule: other}
  action: block
  severity: warning
  message: "exfil"
- name: other
  logic: {guard: deny}
"#;
    let rules: Vec<CompositionRule> = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(rules[0].action, Action::Deny);
    assert_eq!(rules[0].severity, Some(Severity::Medium));
    let json = serde_json::to_value(&rules).unwrap();
    assert_eq!(json[0]["action"], json!("deny"));
    assert_eq!(json[0]["logic"]["AND"][0], json!({"guard": "deny"}));
    assert_eq!(
        json[0]["logic"]["AND"][5]["IF_THEN"]["if"]["result"],
        json!(["warn", "deny"])
    );
    let back: Vec<CompositionRule> = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, rules);
    let yaml_again = serde_saphyr::to_string(&rules).unwrap();
    let back: Vec<CompositionRule> = serde_saphyr::from_str(&yaml_again).unwrap();
    assert_eq!(back, rules);
}

#[test]
fn empty_rule_set_does_nothing() {
    let f = Fixture::new();
    let set = RuleSet::empty();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    let (out, consumed) = f.eval(&set, &read());
    assert!(out.is_empty());
    assert!(consumed.iter().all(|c| !c));
}

#[test]
fn rule_set_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleSet>();
}

#[test]
fn cel_context_is_built_only_when_an_expression_runs() {
    // A rule whose expression is never reached (short-circuit) does not fail even though the
    // expression would error: the context is neither built nor consulted.
    let yaml =
        "- name: r\n  logic: {OR: [{guard: allow}, {IF_THEN: {if: \"user.x\", then: deny}}]}\n";
    let c = eval_one(yaml, &read()).unwrap();
    assert_eq!(c.status, Status::Allow);
    assert_eq!(c.trace.len(), 3);
    assert_eq!(c.trace[2].node, "IF_THEN");
    assert!(c.trace[2].skipped);
}
