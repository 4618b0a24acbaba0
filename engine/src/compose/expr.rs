//! CEL context expressions: compiled once, evaluated against an event's context.
//!
//! Variables: `user`, `session`, `env`, `custom` (from the event's `context`; a missing one
//! is an empty map, so `has(user.role)` works while `user.role` on it is an error), and
//! `event` = `{id, type, timestamp, sessionId, metadata, data}`. Functions: the CEL
//! standard library (`contains`, `startsWith`, `endsWith`, `matches`, `size`, `in`,
//! `exists`, `all`, `timestamp`, `duration`, ...) plus `now()`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cel::objects::Key;
use cel::{Context, Env, Program, Value as CelValue};
use serde_json::Value;

use crate::event::PolicyEvent;

/// Longest accepted expression, in bytes.
pub const MAX_EXPR_BYTES: usize = 4096;

/// The context variables an expression can use.
pub const VARIABLES: [&str; 5] = ["user", "session", "env", "custom", "event"];

/// The shared CEL environment (standard library), built once per rule set.
#[derive(Clone)]
pub(crate) struct ExprEnv {
    env: Arc<Env>,
}

impl fmt::Debug for ExprEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExprEnv(cel stdlib)")
    }
}

impl ExprEnv {
    pub(crate) fn new() -> Self {
        Self {
            env: Arc::new(Env::stdlib()),
        }
    }

    /// Compile an expression (length-checked).
    pub(crate) fn compile(&self, source: &str) -> Result<CompiledExpr, String> {
        if source.len() > MAX_EXPR_BYTES {
            return Err(format!(
                "expression is {} bytes, longer than the {MAX_EXPR_BYTES}-byte limit",
                source.len()
            ));
        }
        if source.trim().is_empty() {
            return Err("empty expression".to_string());
        }
        match self.env.compile(source) {
            Ok(program) => Ok(CompiledExpr {
                source: source.to_string(),
                program,
            }),
            Err(errors) => Err(format!(
                "CEL expression `{}` does not compile: {}",
                source,
                errors
                    .errors
                    .iter()
                    .map(|e| format!("{}:{}: {}", e.pos.0, e.pos.1, e.msg))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    }
}

/// One compiled expression.
pub(crate) struct CompiledExpr {
    pub(crate) source: String,
    program: Program,
}

impl fmt::Debug for CompiledExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompiledExpr({:?})", self.source)
    }
}

impl CompiledExpr {
    /// Evaluate to a boolean; any error (missing variable or key, type error, non-bool
    /// result) is returned as a message.
    pub(crate) fn eval(&self, ctx: &ExprContext) -> Result<bool, String> {
        match self.program.execute(&ctx.ctx) {
            Ok(CelValue::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "evaluated to {}, expected a bool",
                cel_type_name(&other)
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn cel_type_name(v: &CelValue) -> &'static str {
    match v {
        CelValue::List(_) => "a list",
        CelValue::Map(_) => "a map",
        CelValue::Function(..) => "a function",
        CelValue::Int(_) => "an int",
        CelValue::UInt(_) => "a uint",
        CelValue::Float(_) => "a double",
        CelValue::String(_) => "a string",
        CelValue::Bytes(_) => "bytes",
        CelValue::Bool(_) => "a bool",
        CelValue::Duration(_) => "a duration",
        CelValue::Timestamp(_) => "a timestamp",
        CelValue::Null => "null",
        _ => "a value of another type",
    }
}

/// The variables for one event, built on first use.
pub(crate) struct ExprContext {
    ctx: Context<'static, 'static>,
}

impl ExprContext {
    pub(crate) fn new(env: &ExprEnv, event: &PolicyEvent) -> Self {
        let mut ctx = Context::with_env(Arc::clone(&env.env));
        for name in ["user", "session", "env", "custom"] {
            let value = event
                .context
                .get(name)
                .map(json_to_cel)
                .unwrap_or_else(empty_map);
            ctx.add_variable_from_value(name, value);
        }
        ctx.add_variable_from_value("event", event_value(event));
        // `now` is not an overload of the standard environment, so this cannot conflict.
        let _ = ctx.add_function("now", || {
            CelValue::Timestamp(chrono::Utc::now().fixed_offset())
        });
        Self { ctx }
    }
}

fn empty_map() -> CelValue {
    CelValue::from(HashMap::<Key, CelValue>::new())
}

fn event_value(event: &PolicyEvent) -> CelValue {
    let mut m: HashMap<Key, CelValue> = HashMap::new();
    m.insert("id".into(), CelValue::from(event.event_id.as_str()));
    m.insert("type".into(), CelValue::from(event.event_type.as_str()));
    m.insert(
        "timestamp".into(),
        event
            .timestamp
            .as_deref()
            .map(CelValue::from)
            .unwrap_or(CelValue::Null),
    );
    m.insert(
        "sessionId".into(),
        event
            .session_id
            .as_deref()
            .map(CelValue::from)
            .unwrap_or(CelValue::Null),
    );
    let metadata = event
        .metadata
        .iter()
        .map(|(k, v)| (Key::from(k.as_str()), json_to_cel(v)))
        .collect::<HashMap<_, _>>();
    m.insert("metadata".into(), CelValue::from(metadata));
    let data = match serde_json::to_value(&event.data) {
        Ok(Value::Object(mut obj)) => {
            // The serialized payload carries its kind as `type`; `event.type` says it.
            obj.remove("type");
            json_to_cel(&Value::Object(obj))
        }
        Ok(other) => json_to_cel(&other),
        Err(_) => empty_map(),
    };
    m.insert("data".into(), data);
    CelValue::from(m)
}

/// JSON to CEL: integers are `int` (a `uint` only beyond `i64`), other numbers `double`.
pub(crate) fn json_to_cel(v: &Value) -> CelValue {
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                CelValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                CelValue::UInt(u)
            } else {
                CelValue::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => CelValue::from(s.as_str()),
        Value::Array(items) => CelValue::List(Arc::new(items.iter().map(json_to_cel).collect())),
        Value::Object(obj) => CelValue::from(
            obj.iter()
                .map(|(k, v)| (Key::from(k.as_str()), json_to_cel(v)))
                .collect::<HashMap<Key, CelValue>>(),
        ),
    }
}
