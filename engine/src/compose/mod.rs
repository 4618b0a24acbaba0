//! Composition rules (`guards.composition`): guards combined with three-valued logic.
//!
//! A rule's logic is a tree of operators (`AND`, `OR`, `NOT`, `N_OF`, `SCORE`, `IF_THEN`)
//! over operands (`{guard: NAME, config?}`, `{rule: NAME}`). Semantics are exactly
//! DESIGN.md §3.5; the user documentation is `docs/composition.md`.
//!
//! - [`model`]: the serde model ([`CompositionRule`]), round-trips.
//! - `validate`: [`RuleSet::compile`] — names resolved to guard ids, CEL compiled once,
//!   every error collected with its rule and path.
//! - `eval`: [`RuleSet::evaluate`] — per event; guards run at most once (the
//!   [`GuardRun`] memo), each rule at most once, the CEL context built only when an
//!   applying rule evaluates an expression.
//! - [`expr`]: CEL context expressions.
//!
//! Choices where the specification is silent:
//! - Guards referenced by an applying rule (directly or through `{rule: ..}`) are consumed
//!   whether or not they ran (short-circuit), so they contribute only through the rule.
//! - A rule whose root is skipped, or whose `when` does not match, consumes nothing.
//! - `{rule: NAME}` yields that rule's emitted verdict (after its `when` and `action`);
//!   skipped when it does not apply; an expression failure inside it fails the referencing
//!   rule too. Each rule is evaluated at most once per event.
//! - An expression failure aborts the rule's evaluation: the rule denies (severity `high`
//!   unless overridden; the message names the expression and the error and is not
//!   replaced by `message`).
//! - `severity`/`message` overrides apply to non-allow results; an allow is `low`.
//! - A guard-result condition on a guard that skips the event is false.
//! - N_OF and SCORE evaluate all their operands (only AND/OR short-circuit).
//! - Depth: the root is level 1; the limit (32) also counts levels through rule references.

use std::sync::Arc;

use crate::decision::Contribution;
use crate::guard_table::{GuardRun, GuardTable};
use crate::guards::Guard;

mod eval;
pub mod expr;
pub mod model;
mod validate;

#[cfg(test)]
mod tests;

pub use model::{Action, Branch, CompositionRule, Condition, IfThen, Node, Operand, Weight, When};
pub use validate::MAX_DEPTH;

/// Builds a guard instance for an operand with its own `config` (guard name, config).
pub type MakeInstance<'m> =
    dyn FnMut(&str, &serde_json::Value) -> Result<Arc<dyn Guard>, String> + 'm;

/// A composition problem found at compile time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}` at {path}: {message}")]
pub struct ComposeError {
    /// The rule's name.
    pub rule: String,
    /// Where in the rule, e.g. `logic.AND[1].guard`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Compiled composition rules, ready to evaluate events.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<validate::CompiledRule>,
    env: Option<expr::ExprEnv>,
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::empty()
    }
}

impl RuleSet {
    /// No rules.
    pub fn empty() -> Self {
        Self {
            rules: Vec::new(),
            env: None,
        }
    }

    /// Resolve guard names (via `table.id(name)`), compile CEL, validate. Operands with a
    /// `config` get their own instance from `make_instance(guard_name, &config)`, added
    /// with `table.insert_operand_instance` (identical name + config share one instance).
    /// Every error is reported.
    pub fn compile(
        rules: &[CompositionRule],
        table: &mut GuardTable,
        make_instance: &mut MakeInstance<'_>,
    ) -> Result<Self, Vec<ComposeError>> {
        let (rules, env) = validate::compile(rules, table, make_instance)?;
        Ok(Self { rules, env })
    }

    /// Evaluate every rule for this event. Returns the contributions of the rules that
    /// apply (in rule order) and sets `consumed[guard_id] = true` for every guard
    /// referenced by an applying rule.
    pub fn evaluate(&self, run: &mut GuardRun<'_>, consumed: &mut [bool]) -> Vec<Contribution> {
        eval::evaluate(self, run, consumed)
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }
}
