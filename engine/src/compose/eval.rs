//! Evaluating compiled rules against one event (DESIGN.md §3.5).

use std::time::Instant;

use serde_json::{json, Value};

use super::expr::ExprContext;
use super::model::{Action, When};
use super::validate::{CBranch, CCond, CNode, CompiledRule};
use super::RuleSet;
use crate::decision::{Contribution, ContributionKind, Severity, Status, TraceEntry};
use crate::event::PolicyEvent;
use crate::guard_table::{GuardRun, Outcome};

/// Skip reason of operands not evaluated because the operator's result was already known.
pub(crate) const SHORT_CIRCUIT: &str = "short-circuit";

/// A context expression that failed: the rule denies.
#[derive(Debug, Clone)]
struct Failure {
    expression: String,
    error: String,
    /// The referenced rule it failed in, if not the rule itself.
    via: Option<String>,
}

/// What a rule did with the event.
enum Memo {
    NotYet,
    InProgress,
    Done(Box<RuleOutcome>),
}

struct RuleOutcome {
    /// `None` when the rule does not apply (filtered or skipped).
    contribution: Option<Contribution>,
    failure: Option<Failure>,
}

/// Per-rule accumulation while walking its logic.
#[derive(Default)]
struct Frame {
    trace: Vec<TraceEntry>,
    /// Most severe (status, severity) non-allow verdict that fed the result, first wins.
    top: Option<(Status, Severity, String, String)>,
    /// Highest severity among non-allow verdicts that fed the result.
    max_severity: Option<Severity>,
}

impl Frame {
    fn feed(&mut self, name: &str, status: Status, severity: Severity, message: &str) {
        if status == Status::Allow {
            return;
        }
        self.max_severity = Some(self.max_severity.map_or(severity, |s| s.max(severity)));
        let better = match &self.top {
            None => true,
            Some((s, sev, _, _)) => (status, severity) > (*s, *sev),
        };
        if better {
            self.top = Some((status, severity, name.to_string(), message.to_string()));
        }
    }

    fn push(&mut self, node: &str) -> usize {
        self.trace.push(TraceEntry {
            node: node.to_string(),
            status: None,
            skipped: false,
            skip_reason: None,
            duration_us: 0,
            score: None,
        });
        self.trace.len() - 1
    }

    fn push_skipped(&mut self, node: &str, reason: &str) {
        let i = self.push(node);
        self.trace[i].skipped = true;
        self.trace[i].skip_reason = Some(reason.to_string());
    }
}

struct State<'s, 'r, 'a> {
    set: &'s RuleSet,
    run: &'r mut GuardRun<'a>,
    memo: Vec<Memo>,
    cel: Option<ExprContext>,
}

pub(crate) fn evaluate(
    set: &RuleSet,
    run: &mut GuardRun<'_>,
    consumed: &mut [bool],
) -> Vec<Contribution> {
    let n = set.rules.len();
    if n == 0 {
        return Vec::new();
    }
    let mut st = State {
        set,
        run,
        memo: (0..n).map(|_| Memo::NotYet).collect(),
        cel: None,
    };
    for i in 0..n {
        st.ensure(i);
    }
    let mut out = Vec::new();
    for (i, memo) in st.memo.into_iter().enumerate() {
        if let Memo::Done(outcome) = memo {
            let Some(c) = outcome.contribution else {
                continue;
            };
            for &g in &set.rules[i].guards {
                if let Some(slot) = consumed.get_mut(g) {
                    *slot = true;
                }
            }
            out.push(c);
        }
    }
    out
}

fn when_matches(when: &When, event: &PolicyEvent) -> bool {
    if let Some(types) = &when.event_type {
        if !types.contains(&event.event_type) {
            return false;
        }
    }
    if let Some(sid) = &when.session_id {
        if event.session_id.as_deref() != Some(sid.as_str()) {
            return false;
        }
    }
    if let Some(meta) = &when.metadata {
        for (k, want) in meta {
            let Some(got) = event.metadata.get(k) else {
                return false;
            };
            let ok = got == want
                || matches!(want, Value::Array(options) if !got.is_array() && options.contains(got));
            if !ok {
                return false;
            }
        }
    }
    true
}

impl State<'_, '_, '_> {
    fn ensure(&mut self, i: usize) {
        if matches!(self.memo[i], Memo::NotYet) {
            self.memo[i] = Memo::InProgress;
            let outcome = self.compute_rule(i);
            self.memo[i] = Memo::Done(Box::new(outcome));
        }
    }

    fn compute_rule(&mut self, i: usize) -> RuleOutcome {
        let set = self.set;
        let rule = &set.rules[i];
        if let Some(when) = &rule.when {
            if !when_matches(when, self.run.event()) {
                return RuleOutcome {
                    contribution: None,
                    failure: None,
                };
            }
        }
        let start = Instant::now();
        let mut frame = Frame::default();
        let result = self.node(&rule.root, &mut frame);
        let duration_us = start.elapsed().as_micros() as u64;
        match result {
            Err(failure) => {
                let message = format!(
                    "rule {}: expression `{}`{} failed: {} (fail closed: deny)",
                    rule.name,
                    failure.expression,
                    failure
                        .via
                        .as_ref()
                        .map(|r| format!(" in rule {r}"))
                        .unwrap_or_default(),
                    failure.error
                );
                RuleOutcome {
                    contribution: Some(Contribution {
                        name: rule.name.clone(),
                        kind: ContributionKind::Rule,
                        status: Status::Deny,
                        severity: rule.severity.unwrap_or(Severity::High),
                        message,
                        duration_us,
                        details: Some(json!({
                            "expression": failure.expression,
                            "error": failure.error,
                        })),
                        score: None,
                        trace: frame.trace,
                    }),
                    failure: Some(failure),
                }
            }
            Ok(None) => RuleOutcome {
                contribution: None,
                failure: None,
            },
            Ok(Some(computed)) => {
                let status = match (computed, rule.action) {
                    (Status::Allow, _) | (_, Action::Allow) => computed,
                    (_, Action::Warn) => Status::Warn,
                    (_, Action::Deny) => Status::Deny,
                };
                let score = match &rule.root {
                    CNode::Score { .. } => frame.trace.first().and_then(|e| e.score),
                    _ => None,
                };
                let (severity, message) = if status == Status::Allow {
                    (
                        Severity::Low,
                        format!("rule {}: {} → allow", rule.name, root_label(rule, score)),
                    )
                } else {
                    let severity = rule
                        .severity
                        .or(frame.max_severity)
                        .unwrap_or(Severity::Medium);
                    let message = match &rule.message {
                        Some(m) => m.clone(),
                        None => {
                            let mut m = format!(
                                "rule {}: {} → {computed}",
                                rule.name,
                                root_label(rule, score)
                            );
                            if status != computed {
                                m.push_str(&format!(", action {status}"));
                            }
                            if let Some((_, _, name, msg)) = &frame.top {
                                m.push_str(&format!(" ({name}: {msg})"));
                            }
                            m
                        }
                    };
                    (severity, message)
                };
                RuleOutcome {
                    contribution: Some(Contribution {
                        name: rule.name.clone(),
                        kind: ContributionKind::Rule,
                        status,
                        severity,
                        message,
                        duration_us,
                        details: None,
                        score,
                        trace: frame.trace,
                    }),
                    failure: None,
                }
            }
        }
    }

    /// Evaluate a node: `Ok(None)` when skipped.
    fn node(&mut self, node: &CNode, frame: &mut Frame) -> Result<Option<Status>, Failure> {
        let slot = frame.push(node.label());
        let start = Instant::now();
        let result = self.node_inner(node, frame, slot);
        let entry = &mut frame.trace[slot];
        if !matches!(node, CNode::Guard { .. }) {
            entry.duration_us = start.elapsed().as_micros() as u64;
        }
        match &result {
            Ok(Some(s)) => entry.status = Some(*s),
            Ok(None) => {
                entry.skipped = true;
                if entry.skip_reason.is_none() {
                    entry.skip_reason = Some("all operands skipped".to_string());
                }
            }
            Err(_) => entry.status = Some(Status::Deny),
        }
        result
    }

    fn guard(&mut self, id: usize, label: &str, frame: &mut Frame, slot: usize) -> Option<Status> {
        let event_type = self.run.event().event_type;
        match self.run.outcome(id) {
            Outcome::Skipped => {
                frame.trace[slot].skip_reason =
                    Some(format!("does not examine {event_type} events"));
                None
            }
            Outcome::Done(v, micros) => {
                frame.trace[slot].duration_us = *micros;
                let name = label.strip_prefix("guard:").unwrap_or(label);
                frame.feed(name, v.status, v.severity, &v.message);
                Some(v.status)
            }
        }
    }

    fn node_inner(
        &mut self,
        node: &CNode,
        frame: &mut Frame,
        slot: usize,
    ) -> Result<Option<Status>, Failure> {
        match node {
            CNode::Guard { id, label } => Ok(self.guard(*id, label, frame, slot)),
            CNode::Rule { index, label } => {
                self.ensure(*index);
                let name = label.strip_prefix("rule:").unwrap_or(label);
                match &self.memo[*index] {
                    Memo::Done(out) => {
                        if let Some(f) = &out.failure {
                            return Err(Failure {
                                via: Some(f.via.clone().unwrap_or_else(|| name.to_string())),
                                ..f.clone()
                            });
                        }
                        match &out.contribution {
                            None => {
                                frame.trace[slot].skip_reason =
                                    Some(format!("rule {name} does not apply to this event"));
                                Ok(None)
                            }
                            Some(c) => {
                                frame.trace[slot].duration_us = c.duration_us;
                                frame.feed(label, c.status, c.severity, &c.message);
                                Ok(Some(c.status))
                            }
                        }
                    }
                    // Unreachable after validation (rules are acyclic); fail closed anyway.
                    _ => Err(Failure {
                        expression: label.clone(),
                        error: "cyclic rule reference".to_string(),
                        via: None,
                    }),
                }
            }
            CNode::And(ops) | CNode::Or(ops) => {
                let is_and = matches!(node, CNode::And(_));
                let stop = if is_and { Status::Deny } else { Status::Allow };
                let mut acc: Option<Status> = None;
                let mut iter = ops.iter();
                for op in iter.by_ref() {
                    if let Some(s) = self.node(op, frame)? {
                        acc = Some(match acc {
                            None => s,
                            Some(a) if is_and => a.max(s),
                            Some(a) => a.min(s),
                        });
                        if s == stop {
                            break;
                        }
                    }
                }
                for op in iter {
                    frame.push_skipped(op.label(), SHORT_CIRCUIT);
                }
                Ok(acc)
            }
            CNode::Not(inner) => Ok(self.node(inner, frame)?.map(|s| match s {
                Status::Allow => Status::Deny,
                Status::Warn => Status::Warn,
                Status::Deny => Status::Allow,
            })),
            CNode::NOf { n, ops } => {
                let (mut seen, mut denies, mut not_allow) = (0usize, 0usize, 0usize);
                for op in ops {
                    if let Some(s) = self.node(op, frame)? {
                        seen += 1;
                        if s == Status::Deny {
                            denies += 1;
                        }
                        if s != Status::Allow {
                            not_allow += 1;
                        }
                    }
                }
                let status = if denies >= *n {
                    Status::Deny
                } else if not_allow >= *n {
                    Status::Warn
                } else {
                    Status::Allow
                };
                Ok((seen > 0).then_some(status))
            }
            CNode::Score { threshold, ops } => {
                let mut seen = false;
                let mut score = 0.0;
                for (op, weight) in ops {
                    if let Some(s) = self.node(op, frame)? {
                        seen = true;
                        if s != Status::Allow {
                            score += weight;
                        }
                    }
                }
                if !seen {
                    return Ok(None);
                }
                frame.trace[slot].score = Some(score);
                Ok(Some(if score >= *threshold {
                    Status::Deny
                } else {
                    Status::Allow
                }))
            }
            CNode::IfThen(it) => {
                let cond = match &it.cond {
                    CCond::Expr(expr) => {
                        let e = frame.push("expr");
                        let start = Instant::now();
                        if self.cel.is_none() {
                            let env = self
                                .set
                                .env
                                .as_ref()
                                .expect("a rule set with expressions has a CEL environment");
                            self.cel = Some(ExprContext::new(env, self.run.event()));
                        }
                        let ctx = self.cel.as_ref().expect("just built");
                        let r = expr.eval(ctx);
                        let entry = &mut frame.trace[e];
                        entry.duration_us = start.elapsed().as_micros() as u64;
                        match r {
                            Ok(b) => {
                                entry.status = Some(if b { Status::Allow } else { Status::Deny });
                                b
                            }
                            Err(error) => {
                                entry.status = Some(Status::Deny);
                                return Err(Failure {
                                    expression: expr.source.clone(),
                                    error,
                                    via: None,
                                });
                            }
                        }
                    }
                    CCond::Match { id, label, results } => {
                        let e = frame.push(label);
                        match self.guard(*id, label, frame, e) {
                            Some(s) => {
                                frame.trace[e].status = Some(s);
                                results.contains(&s)
                            }
                            None => {
                                frame.trace[e].skipped = true;
                                false
                            }
                        }
                    }
                };
                let branch = if cond { &it.then } else { &it.otherwise };
                match branch {
                    CBranch::Literal(s) => Ok(Some(*s)),
                    CBranch::Node(n) => {
                        let r = self.node(n, frame)?;
                        if r.is_none() {
                            frame.trace[slot].skip_reason = Some(format!(
                                "the {} branch is skipped",
                                if cond { "then" } else { "else" }
                            ));
                        }
                        Ok(r)
                    }
                }
            }
        }
    }
}

fn root_label(rule: &CompiledRule, score: Option<f64>) -> String {
    match (&rule.root, score) {
        (CNode::Score { threshold, .. }, Some(s)) => {
            let cmp = if s >= *threshold { ">=" } else { "<" };
            format!("SCORE {} {cmp} {}", fmt_num(s), fmt_num(*threshold))
        }
        (root, _) => root.label().to_string(),
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
