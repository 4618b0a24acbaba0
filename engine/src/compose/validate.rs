//! Compiling rules: resolve names, compile CEL, validate (every error, with its path).

use std::collections::{BTreeSet, HashMap};

use super::expr::{CompiledExpr, ExprEnv};
use super::model::{Action, Branch, CompositionRule, Condition, Node, Operand, When};
use super::{ComposeError, MakeInstance};
use crate::decision::{Severity, Status};
use crate::event::EventType;
use crate::guard_table::{GuardId, GuardTable};

/// Deepest allowed nesting of a rule's logic (the root is level 1), counting through
/// `{rule: NAME}` references.
pub const MAX_DEPTH: usize = 32;

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) name: String,
    pub(crate) when: Option<When>,
    pub(crate) root: CNode,
    pub(crate) action: Action,
    pub(crate) severity: Option<Severity>,
    pub(crate) message: Option<String>,
    /// Every guard the rule references, directly or through other rules (sorted).
    pub(crate) guards: Vec<GuardId>,
}

/// A compiled node.
#[derive(Debug)]
pub(crate) enum CNode {
    Guard {
        id: GuardId,
        label: String,
    },
    Rule {
        index: usize,
        label: String,
    },
    And(Vec<CNode>),
    Or(Vec<CNode>),
    Not(Box<CNode>),
    NOf {
        n: usize,
        ops: Vec<CNode>,
    },
    Score {
        threshold: f64,
        ops: Vec<(CNode, f64)>,
    },
    IfThen(Box<CIfThen>),
}

#[derive(Debug)]
pub(crate) struct CIfThen {
    pub(crate) cond: CCond,
    pub(crate) then: CBranch,
    pub(crate) otherwise: CBranch,
}

#[derive(Debug)]
pub(crate) enum CCond {
    Expr(CompiledExpr),
    Match {
        id: GuardId,
        label: String,
        results: Vec<Status>,
    },
}

#[derive(Debug)]
pub(crate) enum CBranch {
    Literal(Status),
    Node(CNode),
}

impl CNode {
    /// The trace label of the node.
    pub(crate) fn label(&self) -> &str {
        match self {
            CNode::Guard { label, .. } | CNode::Rule { label, .. } => label,
            CNode::And(_) => "AND",
            CNode::Or(_) => "OR",
            CNode::Not(_) => "NOT",
            CNode::NOf { .. } => "N_OF",
            CNode::Score { .. } => "SCORE",
            CNode::IfThen(_) => "IF_THEN",
        }
    }
}

struct Compiler<'a, 'm> {
    table: &'a mut GuardTable,
    make_instance: &'a mut MakeInstance<'m>,
    rule_index: HashMap<&'a str, usize>,
    rule_names: Vec<&'a str>,
    env: Option<ExprEnv>,
    instances: HashMap<(String, String), GuardId>,
    errors: Vec<ComposeError>,
    // Per rule being compiled:
    rule: String,
    guards: BTreeSet<GuardId>,
    refs: Vec<RuleRef>,
    max_depth: usize,
}

#[derive(Debug, Clone)]
struct RuleRef {
    target: usize,
    path: String,
    depth: usize,
}

/// Compile `rules` against `table`.
pub(crate) fn compile(
    rules: &[CompositionRule],
    table: &mut GuardTable,
    make_instance: &mut MakeInstance<'_>,
) -> Result<(Vec<CompiledRule>, Option<ExprEnv>), Vec<ComposeError>> {
    let mut errors = Vec::new();
    let mut rule_index = HashMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if rule.name.trim().is_empty() {
            errors.push(err(&rule.name, "name", "a rule needs a non-empty name"));
            continue;
        }
        if let Some(first) = rule_index.insert(rule.name.as_str(), i) {
            rule_index.insert(rule.name.as_str(), first);
            errors.push(err(
                &rule.name,
                "name",
                format!(
                    "duplicate rule name `{}` (rules #{} and #{} of guards.composition)",
                    rule.name, first, i
                ),
            ));
        }
    }
    let mut rule_names: Vec<&str> = rule_index.keys().copied().collect();
    rule_names.sort_unstable();

    let mut c = Compiler {
        table,
        make_instance,
        rule_index,
        rule_names,
        env: None,
        instances: HashMap::new(),
        errors,
        rule: String::new(),
        guards: BTreeSet::new(),
        refs: Vec::new(),
        max_depth: 0,
    };

    let mut compiled: Vec<Option<CompiledRule>> = Vec::with_capacity(rules.len());
    let mut direct_guards: Vec<BTreeSet<GuardId>> = Vec::with_capacity(rules.len());
    let mut refs: Vec<Vec<RuleRef>> = Vec::with_capacity(rules.len());
    let mut local_depth: Vec<usize> = Vec::with_capacity(rules.len());
    for rule in rules {
        c.rule = rule.name.clone();
        c.guards.clear();
        c.refs.clear();
        c.max_depth = 0;
        if let Some(when) = &rule.when {
            if matches!(&when.event_type, Some(v) if v.is_empty()) {
                c.error(
                    "when.eventType",
                    format!(
                        "an empty eventType list matches no event; list some of: {}",
                        EventType::ALL.map(|t| t.as_str()).join(", ")
                    ),
                );
            }
        }
        let root = c.node(&rule.logic, "logic", 1);
        direct_guards.push(std::mem::take(&mut c.guards));
        refs.push(std::mem::take(&mut c.refs));
        local_depth.push(c.max_depth);
        compiled.push(root.map(|root| CompiledRule {
            name: rule.name.clone(),
            when: rule.when.clone(),
            root,
            action: rule.action,
            severity: rule.severity,
            message: rule.message.clone(),
            guards: Vec::new(),
        }));
    }
    let Compiler {
        env, mut errors, ..
    } = c;

    // Cycles between rules.
    let cyclic = find_cycles(rules, &refs, &mut errors);

    // Depth through rule references, and the guards each rule consumes (transitively).
    if !cyclic {
        let mut eff: Vec<Option<(usize, Vec<usize>)>> = vec![None; rules.len()];
        for i in 0..rules.len() {
            let (d, chain) = effective_depth(i, &refs, &local_depth, &mut eff);
            if d > MAX_DEPTH && local_depth[i] <= MAX_DEPTH && !chain.is_empty() {
                let names: Vec<&str> = std::iter::once(rules[i].name.as_str())
                    .chain(chain.iter().map(|&j| rules[j].name.as_str()))
                    .collect();
                errors.push(err(
                    &rules[i].name,
                    "logic",
                    format!(
                        "nesting through rule references reaches depth {d}, deeper than \
                         {MAX_DEPTH} ({})",
                        names.join(" → ")
                    ),
                ));
            }
        }
        let mut all: Vec<Option<BTreeSet<GuardId>>> = vec![None; rules.len()];
        for (i, slot) in compiled.iter_mut().enumerate() {
            let set = transitive_guards(i, &refs, &direct_guards, &mut all);
            if let Some(rule) = slot.as_mut() {
                rule.guards = set.into_iter().collect();
            }
        }
    }

    if errors.is_empty() {
        Ok((compiled.into_iter().flatten().collect(), env))
    } else {
        Err(errors)
    }
}

fn err(rule: &str, path: &str, message: impl Into<String>) -> ComposeError {
    ComposeError {
        rule: rule.to_string(),
        path: path.to_string(),
        message: message.into(),
    }
}

impl Compiler<'_, '_> {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(err(&self.rule, path, message));
    }

    fn node(&mut self, node: &Node, path: &str, depth: usize) -> Option<CNode> {
        self.max_depth = self.max_depth.max(depth);
        if depth > MAX_DEPTH {
            self.error(
                path,
                format!("nesting deeper than {MAX_DEPTH} levels; flatten the rule or split it"),
            );
            return None;
        }
        match node {
            Node::Guard(op) => {
                if op.result.is_some() {
                    self.error(
                        &format!("{path}.result"),
                        "`result` is only allowed in an IF_THEN condition \
                         ({if: {guard: NAME, result: deny}, ...})",
                    );
                }
                self.operand(op, path)
                    .map(|(id, label)| CNode::Guard { id, label })
            }
            Node::Rule(name) => match self.rule_index.get(name.as_str()) {
                Some(&index) => {
                    self.refs.push(RuleRef {
                        target: index,
                        path: format!("{path}.rule"),
                        depth,
                    });
                    Some(CNode::Rule {
                        index,
                        label: format!("rule:{name}"),
                    })
                }
                None => {
                    let known = if self.rule_names.is_empty() {
                        "none".to_string()
                    } else {
                        self.rule_names.join(", ")
                    };
                    self.error(
                        &format!("{path}.rule"),
                        format!("unknown rule `{name}`; known rules: {known}"),
                    );
                    None
                }
            },
            Node::And(items) | Node::Or(items) => {
                let op = if matches!(node, Node::And(_)) {
                    "AND"
                } else {
                    "OR"
                };
                let p = format!("{path}.{op}");
                if items.is_empty() {
                    self.error(&p, format!("{op} needs at least one operand"));
                }
                let ops = self.list(items, &p, depth);
                let ops = ops.filter(|v| !v.is_empty())?;
                Some(if op == "AND" {
                    CNode::And(ops)
                } else {
                    CNode::Or(ops)
                })
            }
            Node::Not(inner) => {
                let inner = self.node(inner, &format!("{path}.NOT"), depth + 1)?;
                Some(CNode::Not(Box::new(inner)))
            }
            Node::NOf { n, guards } => {
                let p = format!("{path}.N_OF");
                let ops = self.list(guards, &format!("{p}.guards"), depth);
                if guards.is_empty() {
                    self.error(&format!("{p}.guards"), "N_OF needs at least one operand");
                    return None;
                }
                if *n < 1 || *n as usize > guards.len() {
                    self.error(
                        &format!("{p}.n"),
                        format!(
                            "n must be between 1 and the number of operands ({}), got {n}",
                            guards.len()
                        ),
                    );
                    return None;
                }
                Some(CNode::NOf {
                    n: *n as usize,
                    ops: ops?,
                })
            }
            Node::Score { threshold, weights } => {
                let p = format!("{path}.SCORE");
                let mut ok = true;
                if !threshold.is_finite() || *threshold <= 0.0 {
                    self.error(
                        &format!("{p}.threshold"),
                        format!(
                            "threshold must be a finite number greater than 0, got {threshold}"
                        ),
                    );
                    ok = false;
                }
                if weights.is_empty() {
                    self.error(
                        &format!("{p}.weights"),
                        "SCORE needs at least one weighted operand",
                    );
                    ok = false;
                }
                let mut ops = Vec::with_capacity(weights.len());
                for (i, w) in weights.iter().enumerate() {
                    let wp = format!("{p}.weights[{i}]");
                    if !w.score.is_finite() || w.score < 0.0 {
                        self.error(
                            &format!("{wp}.score"),
                            format!("score must be a finite number >= 0, got {}", w.score),
                        );
                        ok = false;
                    }
                    match self.node(&w.node, &wp, depth + 1) {
                        Some(n) => ops.push((n, w.score)),
                        None => ok = false,
                    }
                }
                ok.then_some(CNode::Score {
                    threshold: *threshold,
                    ops,
                })
            }
            Node::IfThen(it) => {
                let p = format!("{path}.IF_THEN");
                let cond = match &it.condition {
                    Condition::Expr(source) => {
                        let env = self.env.get_or_insert_with(ExprEnv::new);
                        match env.compile(source) {
                            Ok(e) => Some(CCond::Expr(e)),
                            Err(m) => {
                                self.error(&format!("{p}.if"), m);
                                None
                            }
                        }
                    }
                    Condition::Match(op) => {
                        let cp = format!("{p}.if");
                        let results = match &op.result {
                            Some(r) if !r.is_empty() => Some(r.clone()),
                            _ => {
                                self.error(
                                    &format!("{cp}.result"),
                                    "a guard-result match needs `result`: allow, warn, deny \
                                     or a list of them",
                                );
                                None
                            }
                        };
                        let resolved = self.operand(op, &cp);
                        match (resolved, results) {
                            (Some((id, label)), Some(results)) => {
                                Some(CCond::Match { id, label, results })
                            }
                            _ => None,
                        }
                    }
                };
                let then = self.branch(&it.then, &format!("{p}.then"), depth);
                let otherwise = match &it.otherwise {
                    Some(b) => self.branch(b, &format!("{p}.else"), depth),
                    None => Some(CBranch::Literal(Status::Allow)),
                };
                Some(CNode::IfThen(Box::new(CIfThen {
                    cond: cond?,
                    then: then?,
                    otherwise: otherwise?,
                })))
            }
        }
    }

    fn branch(&mut self, b: &Branch, path: &str, depth: usize) -> Option<CBranch> {
        match b {
            Branch::Action(s) => Some(CBranch::Literal(*s)),
            Branch::Node(n) => self.node(n, path, depth + 1).map(CBranch::Node),
        }
    }

    fn list(&mut self, items: &[Node], path: &str, depth: usize) -> Option<Vec<CNode>> {
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match self.node(item, &format!("{path}[{i}]"), depth + 1) {
                Some(n) => out.push(n),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Resolve a guard operand (its own instance when it has a `config`).
    fn operand(&mut self, op: &Operand, path: &str) -> Option<(GuardId, String)> {
        let label = format!("guard:{}", op.guard);
        let id = match &op.config {
            None => match self.table.id(&op.guard) {
                Some(id) => id,
                None => {
                    let names = self.table.names();
                    let known = if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    };
                    let message = format!(
                        "unknown or disabled guard `{}`; enabled guards: {known}",
                        op.guard
                    );
                    self.error(&format!("{path}.guard"), message);
                    return None;
                }
            },
            Some(config) => {
                if !config.is_object() {
                    self.error(
                        &format!("{path}.config"),
                        "config must be a mapping of the guard's settings",
                    );
                    return None;
                }
                let key = (op.guard.clone(), config.to_string());
                if let Some(&id) = self.instances.get(&key) {
                    id
                } else {
                    match (self.make_instance)(&op.guard, config) {
                        Ok(guard) => {
                            let id = self.table.insert_operand_instance(guard);
                            self.instances.insert(key, id);
                            id
                        }
                        Err(m) => {
                            self.error(&format!("{path}.config"), m);
                            return None;
                        }
                    }
                }
            }
        };
        self.guards.insert(id);
        Some((id, label))
    }
}

/// Report every cycle of rule references once; true when there is one.
fn find_cycles(
    rules: &[CompositionRule],
    refs: &[Vec<RuleRef>],
    errors: &mut Vec<ComposeError>,
) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        i: usize,
        rules: &[CompositionRule],
        refs: &[Vec<RuleRef>],
        marks: &mut [Mark],
        stack: &mut Vec<(usize, String)>,
        errors: &mut Vec<ComposeError>,
    ) -> bool {
        marks[i] = Mark::Active;
        let mut found = false;
        for r in &refs[i] {
            match marks[r.target] {
                Mark::Active => {
                    found = true;
                    stack.push((i, r.path.clone()));
                    let start = stack.iter().position(|(j, _)| *j == r.target).unwrap_or(0);
                    let mut names: Vec<&str> = stack[start..]
                        .iter()
                        .map(|(j, _)| rules[*j].name.as_str())
                        .collect();
                    names.push(rules[r.target].name.as_str());
                    let (first, path) = &stack[start];
                    errors.push(err(
                        &rules[*first].name,
                        path,
                        format!("cycle between rules: {}", names.join(" → ")),
                    ));
                    stack.pop();
                }
                Mark::New => {
                    stack.push((i, r.path.clone()));
                    found |= visit(r.target, rules, refs, marks, stack, errors);
                    stack.pop();
                }
                Mark::Done => {}
            }
        }
        marks[i] = Mark::Done;
        found
    }
    let mut marks = vec![Mark::New; rules.len()];
    let mut stack = Vec::new();
    let mut found = false;
    for i in 0..rules.len() {
        if marks[i] == Mark::New {
            found |= visit(i, rules, refs, &mut marks, &mut stack, errors);
        }
    }
    found
}

/// Depth of rule `i` with references expanded, and the deepest chain of referenced rules.
fn effective_depth(
    i: usize,
    refs: &[Vec<RuleRef>],
    local: &[usize],
    memo: &mut [Option<(usize, Vec<usize>)>],
) -> (usize, Vec<usize>) {
    if let Some(done) = &memo[i] {
        return done.clone();
    }
    let mut best = (local[i], Vec::new());
    for r in &refs[i] {
        let (d, chain) = effective_depth(r.target, refs, local, memo);
        let total = r.depth - 1 + d;
        if total > best.0 {
            let mut c = vec![r.target];
            c.extend(chain);
            best = (total, c);
        }
    }
    memo[i] = Some(best.clone());
    best
}

fn transitive_guards(
    i: usize,
    refs: &[Vec<RuleRef>],
    direct: &[BTreeSet<GuardId>],
    memo: &mut [Option<BTreeSet<GuardId>>],
) -> BTreeSet<GuardId> {
    if let Some(s) = &memo[i] {
        return s.clone();
    }
    let mut set = direct[i].clone();
    for r in &refs[i] {
        set.extend(transitive_guards(r.target, refs, direct, memo));
    }
    memo[i] = Some(set.clone());
    set
}
