//! The composition rule model as written in `guards.composition` (serde, round-trips).
//!
//! Rules are plain data here; [`super::RuleSet::compile`] resolves names, compiles CEL and
//! validates. Structural problems (unknown keys, wrong value types, two operators in one
//! node) are reported by deserialization with the node's path; semantic ones (unknown
//! guards, cycles, depth, bad `n`, ...) by `compile`, all at once.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::decision::{Severity, Status};
use crate::event::EventType;

/// Nesting beyond which deserialization itself gives up (protects the parser's stack;
/// the semantic limit, 32, is checked by `compile`).
const MAX_PARSE_DEPTH: usize = 256;

/// One composition rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompositionRule {
    /// Unique name; the rule's contributions carry it.
    pub name: String,
    /// Free text for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which events the rule applies to (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// The rule's logic: one operator (or operand) at the root.
    pub logic: Node,
    /// `deny`/`warn` replace a non-allow verdict with that status; `allow` (the default)
    /// leaves the verdict as computed.
    #[serde(default)]
    pub action: Action,
    /// Severity of the emitted result when it is not allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Message of the emitted result when it is not allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A rule's `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Leave the computed verdict as it is.
    #[default]
    Allow,
    /// Replace a non-allow verdict with warn.
    #[serde(alias = "warning")]
    Warn,
    /// Replace a non-allow verdict with deny (aliases `block`, `block_and_alert`).
    #[serde(alias = "block", alias = "block_and_alert")]
    Deny,
}

/// A rule's `when` filter: every given field must match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct When {
    /// The event types the rule applies to (one name or a list).
    #[serde(
        default,
        alias = "event_type",
        alias = "eventTypes",
        alias = "event_types",
        deserialize_with = "one_or_many",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_type: Option<Vec<EventType>>,
    /// The session the rule applies to.
    #[serde(default, alias = "session_id", skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Metadata keys that must be present with these values (a list value matches any
    /// of its elements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<EventType>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(EventType),
        Many(Vec<EventType>),
    }
    Ok(Some(
        match OneOrMany::deserialize(d).map_err(|_| {
            D::Error::custom(format!(
                "eventType: expected an event type or a list of them ({})",
                EventType::ALL.map(|t| t.as_str()).join(", ")
            ))
        })? {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        },
    ))
}

/// A node of a rule's logic: an operand or an operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `{guard: NAME, config?, result?}`.
    Guard(Operand),
    /// `{rule: NAME}`: another rule's emitted verdict.
    Rule(String),
    /// `AND: [..]`.
    And(Vec<Node>),
    /// `OR: [..]`.
    Or(Vec<Node>),
    /// `NOT: node`.
    Not(Box<Node>),
    /// `N_OF: {n, guards: [..]}`.
    NOf {
        /// How many operands must deny (or not allow, for warn).
        n: i64,
        /// The operands.
        guards: Vec<Node>,
    },
    /// `SCORE: {threshold, weights: [{guard, score}, ..]}`.
    Score {
        /// Deny when the score reaches it.
        threshold: f64,
        /// Weighted operands.
        weights: Vec<Weight>,
    },
    /// `IF_THEN: {if, then, else?}`.
    IfThen(Box<IfThen>),
}

/// A guard operand.
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    /// Guard name (or alias).
    pub guard: String,
    /// Own configuration, merged over the guard's policy configuration.
    pub config: Option<Value>,
    /// Only in an `IF_THEN` condition: the statuses that make the condition true.
    pub result: Option<Vec<Status>>,
}

/// A weighted SCORE operand.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    /// The operand (a guard operand, a rule reference or an operator).
    pub node: Node,
    /// Added to the score when the operand does not allow.
    pub score: f64,
}

/// `IF_THEN: {if, then, else}`.
#[derive(Debug, Clone, PartialEq)]
pub struct IfThen {
    /// The condition.
    pub condition: Condition,
    /// Taken when the condition is true.
    pub then: Branch,
    /// Taken otherwise; missing = allow.
    pub otherwise: Option<Branch>,
}

/// An `IF_THEN` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A CEL expression over the event's context (`"..."` or `{expr: "..."}`).
    Expr(String),
    /// `{guard: NAME, result: deny | [warn, deny]}`: true when the guard's verdict is one of
    /// the listed statuses (false when the guard skips the event).
    Match(Operand),
}

/// An `IF_THEN` branch.
#[derive(Debug, Clone, PartialEq)]
pub enum Branch {
    /// `allow`, `warn` or `deny`.
    Action(Status),
    /// An operand or operator.
    Node(Node),
}

// ---------------------------------------------------------------------------------------
// Parsing from a generic value (JSON/YAML), with paths in errors.

const OPERATORS: [&str; 6] = ["AND", "OR", "NOT", "N_OF", "SCORE", "IF_THEN"];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn canonical_operator(key: &str) -> Option<&'static str> {
    let upper = key.to_ascii_uppercase();
    OPERATORS.into_iter().find(|op| *op == upper)
}

fn parse_status(v: &Value, path: &str) -> Result<Status, String> {
    match v.as_str() {
        Some("allow") => Ok(Status::Allow),
        Some("warn") | Some("warning") => Ok(Status::Warn),
        Some("deny") | Some("block") | Some("block_and_alert") => Ok(Status::Deny),
        _ => Err(format!(
            "{path}: expected allow, warn or deny, found {}",
            describe(v)
        )),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => type_name(other).to_string(),
    }
}

fn check_keys(map: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), String> {
    for key in map.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "{path}: unknown key `{key}`; expected {}",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

fn get_str<'v>(map: &'v Map<String, Value>, key: &str, path: &str) -> Result<&'v str, String> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "{path}.{key}: expected a string, found {}",
            type_name(other)
        )),
        None => Err(format!("{path}: missing `{key}`")),
    }
}

fn get_number(map: &Map<String, Value>, key: &str, path: &str) -> Result<f64, String> {
    match map.get(key) {
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("{path}.{key}: not a representable number")),
        Some(other) => Err(format!(
            "{path}.{key}: expected a number, found {}",
            type_name(other)
        )),
        None => Err(format!("{path}: missing `{key}`")),
    }
}

impl Operand {
    fn from_map(map: &Map<String, Value>, path: &str) -> Result<Self, String> {
        check_keys(map, &["guard", "config", "result"], path)?;
        let guard = get_str(map, "guard", path)?.to_string();
        let config = map.get("config").cloned();
        let result = match map.get("result") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| parse_status(v, &format!("{path}.result[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(v) => Some(vec![parse_status(v, &format!("{path}.result"))?]),
        };
        Ok(Operand {
            guard,
            config,
            result,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("guard".into(), Value::String(self.guard.clone()));
        if let Some(c) = &self.config {
            m.insert("config".into(), c.clone());
        }
        if let Some(r) = &self.result {
            let v = if r.len() == 1 {
                Value::String(r[0].as_str().into())
            } else {
                Value::Array(r.iter().map(|s| Value::String(s.as_str().into())).collect())
            };
            m.insert("result".into(), v);
        }
        Value::Object(m)
    }
}

impl Node {
    /// Parse a node from a generic value; `path` prefixes error messages.
    pub fn from_value(value: &Value, path: &str) -> Result<Self, String> {
        Self::parse(value, path, 1)
    }

    fn parse(value: &Value, path: &str, depth: usize) -> Result<Self, String> {
        if depth > MAX_PARSE_DEPTH {
            return Err(format!(
                "{path}: nesting deeper than {MAX_PARSE_DEPTH} levels"
            ));
        }
        let map = match value {
            Value::Object(m) => m,
            other => {
                return Err(format!(
                    "{path}: expected an operator ({}) or an operand ({{guard: NAME}} or \
                     {{rule: NAME}}), found {}",
                    OPERATORS.join(", "),
                    describe(other)
                ))
            }
        };
        let ops: Vec<(&String, &'static str)> = map
            .keys()
            .filter_map(|k| canonical_operator(k).map(|op| (k, op)))
            .collect();
        if let Some((key, op)) = ops.first() {
            if map.len() > 1 {
                let others: Vec<&str> = map
                    .keys()
                    .filter(|k| k != key)
                    .map(String::as_str)
                    .collect();
                return Err(format!(
                    "{path}: `{key}` must be the only key of its node (found also {}); \
                     put one operator per node",
                    others.join(", ")
                ));
            }
            let inner = &map[key.as_str()];
            let p = format!("{path}.{op}");
            return Self::parse_operator(op, inner, &p, depth);
        }
        if map.contains_key("guard") {
            return Ok(Node::Guard(Operand::from_map(map, path)?));
        }
        if map.contains_key("rule") {
            check_keys(map, &["rule"], path)?;
            return Ok(Node::Rule(get_str(map, "rule", path)?.to_string()));
        }
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        Err(format!(
            "{path}: expected an operator ({}) or an operand ({{guard: NAME}} or \
             {{rule: NAME}}), found keys: {}",
            OPERATORS.join(", "),
            if keys.is_empty() {
                "none".to_string()
            } else {
                keys.join(", ")
            }
        ))
    }

    fn parse_list(value: &Value, path: &str, depth: usize) -> Result<Vec<Node>, String> {
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Self::parse(v, &format!("{path}[{i}]"), depth + 1))
                .collect(),
            other => Err(format!(
                "{path}: expected a list of operands, found {}",
                type_name(other)
            )),
        }
    }

    fn parse_operator(op: &str, inner: &Value, path: &str, depth: usize) -> Result<Self, String> {
        match op {
            "AND" => Ok(Node::And(Self::parse_list(inner, path, depth)?)),
            "OR" => Ok(Node::Or(Self::parse_list(inner, path, depth)?)),
            "NOT" => Ok(Node::Not(Box::new(Self::parse(inner, path, depth + 1)?))),
            "N_OF" => {
                let m = inner.as_object().ok_or_else(|| {
                    format!("{path}: expected {{n, guards}}, found {}", type_name(inner))
                })?;
                check_keys(m, &["n", "guards"], path)?;
                let n = match m.get("n") {
                    Some(Value::Number(n)) => n
                        .as_i64()
                        .ok_or_else(|| format!("{path}.n: expected an integer, found {n}"))?,
                    Some(other) => {
                        return Err(format!(
                            "{path}.n: expected an integer, found {}",
                            type_name(other)
                        ))
                    }
                    None => return Err(format!("{path}: missing `n`")),
                };
                let guards = match m.get("guards") {
                    Some(v) => Self::parse_list(v, &format!("{path}.guards"), depth)?,
                    None => return Err(format!("{path}: missing `guards`")),
                };
                Ok(Node::NOf { n, guards })
            }
            "SCORE" => {
                let m = inner.as_object().ok_or_else(|| {
                    format!(
                        "{path}: expected {{threshold, weights}}, found {}",
                        type_name(inner)
                    )
                })?;
                check_keys(m, &["threshold", "weights"], path)?;
                let threshold = get_number(m, "threshold", path)?;
                let items = match m.get("weights") {
                    Some(Value::Array(items)) => items,
                    Some(other) => {
                        return Err(format!(
                            "{path}.weights: expected a list of {{guard, score}}, found {}",
                            type_name(other)
                        ))
                    }
                    None => return Err(format!("{path}: missing `weights`")),
                };
                let mut weights = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}.weights[{i}]");
                    let mut wm = item
                        .as_object()
                        .ok_or_else(|| {
                            format!("{p}: expected {{guard, score}}, found {}", type_name(item))
                        })?
                        .clone();
                    let score = match (wm.remove("score"), wm.remove("weight")) {
                        (Some(_), Some(_)) => {
                            return Err(format!("{p}: give `score` or `weight`, not both"))
                        }
                        (Some(v), None) | (None, Some(v)) => v.as_f64().ok_or_else(|| {
                            format!("{p}.score: expected a number, found {}", type_name(&v))
                        })?,
                        (None, None) => return Err(format!("{p}: missing `score`")),
                    };
                    let node = Self::parse(&Value::Object(wm), &p, depth + 1)?;
                    weights.push(Weight { node, score });
                }
                Ok(Node::Score { threshold, weights })
            }
            "IF_THEN" => {
                let m = inner.as_object().ok_or_else(|| {
                    format!(
                        "{path}: expected {{if, then, else}}, found {}",
                        type_name(inner)
                    )
                })?;
                check_keys(m, &["if", "then", "else"], path)?;
                let condition = match m.get("if") {
                    None => return Err(format!("{path}: missing `if`")),
                    Some(v) => Condition::parse(v, &format!("{path}.if"))?,
                };
                let then = match m.get("then") {
                    None => return Err(format!("{path}: missing `then`")),
                    Some(v) => Branch::parse(v, &format!("{path}.then"), depth)?,
                };
                let otherwise = match m.get("else") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(Branch::parse(v, &format!("{path}.else"), depth)?),
                };
                Ok(Node::IfThen(Box::new(IfThen {
                    condition,
                    then,
                    otherwise,
                })))
            }
            _ => unreachable!("not an operator: {op}"),
        }
    }

    /// The node as a generic value, in the canonical YAML shape.
    pub fn to_value(&self) -> Value {
        fn op(name: &str, v: Value) -> Value {
            let mut m = Map::new();
            m.insert(name.into(), v);
            Value::Object(m)
        }
        fn list(nodes: &[Node]) -> Value {
            Value::Array(nodes.iter().map(Node::to_value).collect())
        }
        match self {
            Node::Guard(o) => o.to_json(),
            Node::Rule(r) => op("rule", Value::String(r.clone())),
            Node::And(v) => op("AND", list(v)),
            Node::Or(v) => op("OR", list(v)),
            Node::Not(n) => op("NOT", n.to_value()),
            Node::NOf { n, guards } => {
                let mut m = Map::new();
                m.insert("n".into(), Value::from(*n));
                m.insert("guards".into(), list(guards));
                op("N_OF", Value::Object(m))
            }
            Node::Score { threshold, weights } => {
                let mut m = Map::new();
                m.insert("threshold".into(), number(*threshold));
                m.insert(
                    "weights".into(),
                    Value::Array(
                        weights
                            .iter()
                            .map(|w| {
                                let mut v = w.node.to_value();
                                if let Value::Object(m) = &mut v {
                                    m.insert("score".into(), number(w.score));
                                }
                                v
                            })
                            .collect(),
                    ),
                );
                op("SCORE", Value::Object(m))
            }
            Node::IfThen(it) => {
                let mut m = Map::new();
                m.insert(
                    "if".into(),
                    match &it.condition {
                        Condition::Expr(e) => Value::String(e.clone()),
                        Condition::Match(o) => o.to_json(),
                    },
                );
                m.insert("then".into(), it.then.to_value());
                if let Some(e) = &it.otherwise {
                    m.insert("else".into(), e.to_value());
                }
                op("IF_THEN", Value::Object(m))
            }
        }
    }
}

fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

impl Condition {
    fn parse(value: &Value, path: &str) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(Condition::Expr(s.clone())),
            Value::Object(m) if m.contains_key("expr") => {
                check_keys(m, &["expr"], path)?;
                Ok(Condition::Expr(get_str(m, "expr", path)?.to_string()))
            }
            Value::Object(m) if m.contains_key("guard") => {
                Ok(Condition::Match(Operand::from_map(m, path)?))
            }
            other => Err(format!(
                "{path}: expected a CEL expression (a string or {{expr: ...}}) or a guard-result \
                 match ({{guard: NAME, result: deny}}), found {}",
                match other {
                    Value::Object(m) => format!(
                        "keys: {}",
                        m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                    ),
                    v => type_name(v).to_string(),
                }
            )),
        }
    }
}

impl Branch {
    fn parse(value: &Value, path: &str, depth: usize) -> Result<Self, String> {
        match value {
            Value::String(_) => Ok(Branch::Action(parse_status(value, path).map_err(|_| {
                format!(
                    "{path}: expected allow, warn, deny or an operand/operator, found {}",
                    describe(value)
                )
            })?)),
            _ => Ok(Branch::Node(Node::parse(value, path, depth + 1)?)),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Branch::Action(s) => Value::String(s.as_str().into()),
            Branch::Node(n) => n.to_value(),
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Node::from_value(&value, "logic").map_err(D::Error::custom)
    }
}
