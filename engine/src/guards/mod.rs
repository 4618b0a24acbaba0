//! The built-in guards, one file each, and the trait every guard implements.
//!
//! A guard looks at one event and either says nothing (it does not examine that kind of
//! event: `None`, "skipped") or returns a [`Verdict`]. Guards are built once from their
//! configuration (patterns compiled up front) and are `Send + Sync`.

use serde::{de::DeserializeOwned, Serialize};

use crate::decision::Verdict;
use crate::event::PolicyEvent;

pub mod egress_allowlist;
pub mod forbidden_path;
pub mod inline;
pub mod jailbreak;
pub mod mcp_tool;
pub mod patch_integrity;
pub mod path_allowlist;
pub mod prompt_injection;
pub mod secret_leak;
pub mod shell_command;

/// A check that examines events.
pub trait Guard: Send + Sync + std::fmt::Debug {
    /// The guard's name as policies refer to it (`forbidden_path`, `acme_secrets`, ...).
    fn name(&self) -> &str;

    /// Examine an event. `None` means this guard does not examine this kind of event.
    fn check(&self, event: &PolicyEvent) -> Option<Verdict>;
}

/// Why a guard could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("guards.{guard}.{field}: {message}")]
pub struct GuardBuildError {
    /// The guard's name.
    pub guard: String,
    /// The offending field, as a dotted path inside the guard's section
    /// (`patterns[2].pattern`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl GuardBuildError {
    /// Build an error for a guard's field.
    pub fn new(guard: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            guard: guard.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Largest compiled size of one configured regular expression; a larger one is refused
/// at load rather than allowed to slow every event down.
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// Compile a configured regular expression with the project's size limits.
pub fn compile_regex(
    guard: &str,
    field: &str,
    pattern: &str,
) -> Result<regex::Regex, GuardBuildError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_SIZE)
        .dfa_size_limit(MAX_REGEX_SIZE * 2)
        .nest_limit(64)
        .build()
        .map_err(|e| GuardBuildError::new(guard, field, format!("invalid regex: {e}")))
}

/// Check a configured regular expression's syntax without compiling it (cheap); the
/// compile happens once, for the whole list, in [`compile_regex_set`].
pub fn check_regex_syntax(guard: &str, field: &str, pattern: &str) -> Result<(), GuardBuildError> {
    if pattern.is_empty() {
        return Err(GuardBuildError::new(guard, field, "empty regex"));
    }
    regex_syntax::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(pattern)
        .map(|_| ())
        .map_err(|e| GuardBuildError::new(guard, field, format!("invalid regex: {e}")))
}

/// Compile configured regular expressions, `(field, pattern)`, into one set with the
/// project's limits. Only when the set cannot be built are the patterns compiled one by
/// one, so the error names the pattern at fault.
pub fn compile_regex_set(
    guard: &str,
    patterns: &[(String, &str)],
) -> Result<regex::RegexSet, GuardBuildError> {
    for (field, p) in patterns {
        check_regex_syntax(guard, field, p)?;
    }
    regex::RegexSetBuilder::new(patterns.iter().map(|(_, p)| *p))
        .size_limit(MAX_REGEX_SIZE * 4)
        .dfa_size_limit(MAX_REGEX_SIZE * 4)
        .nest_limit(64)
        .build()
        .or_else(|set_error| {
            for (field, p) in patterns {
                compile_regex(guard, field, p)?;
            }
            Err(GuardBuildError::new(
                guard,
                patterns.first().map(|(f, _)| f.as_str()).unwrap_or(""),
                format!("the patterns together are too large: {set_error}"),
            ))
        })
}

/// The configuration of one built-in guard: its section under `guards:` in a policy.
pub trait GuardConfig:
    Sized + Clone + Default + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned
{
    /// The section name (`forbidden_path`, ...), which is also the guard's name.
    const NAME: &'static str;

    /// Whether the guard runs (`enabled: false` is the only way to turn one off).
    fn enabled(&self) -> bool;

    /// Deep merge (`extends` with `merge_strategy: deep_merge`): `self` is the base,
    /// `child` the extending policy's section (SPEC.md §7).
    fn merge_with(&self, child: &Self) -> Self;

    /// Compile the guard.
    fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError>;
}

/// The names of the built-in guards, in evaluation order.
pub const BUILTIN_GUARDS: [&str; 9] = [
    forbidden_path::NAME,
    path_allowlist::NAME,
    egress_allowlist::NAME,
    secret_leak::NAME,
    patch_integrity::NAME,
    shell_command::NAME,
    mcp_tool::NAME,
    prompt_injection::NAME,
    jailbreak::NAME,
];
