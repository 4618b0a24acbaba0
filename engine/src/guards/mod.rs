//! The built-in guards, one file each, and the trait every guard implements.
//!
//! A guard looks at one event and either says nothing (it does not examine that kind of
//! event: `None`, "skipped") or returns a [`Verdict`]. Guards are built once from their
//! configuration (patterns compiled up front) and are `Send + Sync`.

use serde::{de::DeserializeOwned, Serialize};

use crate::decision::Verdict;
use crate::event::PolicyEvent;

pub mod builtin;
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

/// Prepended to every pattern of a set searched with [`SetSearch::ShortText`]. An
/// optional class of 128 bytes has no useful literals, so the set gets no literal
/// prefilter: for a few case-insensitive patterns, building that prefilter (an
/// Aho-Corasick automaton over every case variant) cost five times the set itself. It
/// changes no answer: the set only reports *whether* each pattern matches somewhere, and
/// `[\x00-\x7F]?P` matches somewhere exactly when `P` does.
pub(crate) const NO_PREFILTER: &str = r"[\x00-\x7F]?";

/// What a regex set will be searched in, which decides how it is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetSearch {
    /// Large content (file bodies): keep the literal prefilter, it skips most of the text.
    LongText,
    /// Short haystacks (a command line, one diff line): a prefilter saves nothing there
    /// and can cost more to build than the patterns themselves.
    ShortText,
}

/// Compile configured regular expressions, `(field, pattern)`, into one set with the
/// project's limits. Only when the set cannot be built are the patterns checked and
/// compiled one by one, so the error names the pattern at fault.
pub fn compile_regex_set(
    guard: &str,
    patterns: &[(String, &str)],
) -> Result<regex::RegexSet, GuardBuildError> {
    compile_regex_set_for(guard, patterns, SetSearch::LongText)
}

/// [`compile_regex_set`] for the given kind of haystack. The accepted patterns, the
/// errors and the matches are the same either way.
pub fn compile_regex_set_for(
    guard: &str,
    patterns: &[(String, &str)],
    search: SetSearch,
) -> Result<regex::RegexSet, GuardBuildError> {
    // Fast path: build the set directly; the regex parser checks every pattern as it
    // compiles it, so a separate syntax pass is only needed to name a pattern at fault.
    // An empty pattern compiles but is refused, so it takes the slow path.
    if patterns.iter().all(|(_, p)| !p.is_empty()) {
        let set = match search {
            SetSearch::LongText => set_builder(patterns.iter().map(|(_, p)| *p)).build().ok(),
            // The prefix must not make an invalid pattern valid (`*x` is invalid, `[..]?*x`
            // parses): parse each pattern alone first (cheap, no compilation).
            SetSearch::ShortText if patterns.iter().all(|(_, p)| parses_alone(p)) => {
                set_builder(patterns.iter().map(|(_, p)| format!("{NO_PREFILTER}{p}")))
                    .build()
                    .ok()
            }
            SetSearch::ShortText => None,
        };
        if let Some(set) = set {
            return Ok(set);
        }
    }
    for (field, p) in patterns {
        check_regex_syntax(guard, field, p)?;
    }
    set_builder(patterns.iter().map(|(_, p)| *p))
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

fn set_builder<I, S>(patterns: I) -> regex::RegexSetBuilder
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut b = regex::RegexSetBuilder::new(patterns);
    b.size_limit(MAX_REGEX_SIZE * 4)
        .dfa_size_limit(MAX_REGEX_SIZE * 4)
        .nest_limit(64);
    b
}

/// Whether a pattern parses on its own (syntax only; no Unicode tables, no compilation).
fn parses_alone(pattern: &str) -> bool {
    regex_syntax::ast::parse::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(pattern)
        .is_ok()
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

    /// Other names a composition operand may use for this guard.
    const ALIASES: &'static [&'static str] = &[];

    /// Build a policy's own guard from its section (absent: the defaults); `None` when it
    /// is disabled. A guard that shares compiled state with others (the forbidden paths)
    /// takes it from `paths`.
    fn build_in_policy(section: &Option<Self>, _paths: &builtin::PolicyPaths) -> builtin::Built {
        let config = section.clone().unwrap_or_default();
        if !config.enabled() {
            return Ok(None);
        }
        config.build().map(Some)
    }

    /// Build a composition operand's own instance from its merged configuration.
    fn build_operand(
        &self,
        _paths: &builtin::PolicyPaths,
    ) -> Result<Box<dyn Guard>, GuardBuildError> {
        self.build()
    }
}

/// The names of the built-in guards, in evaluation order (from
/// [`builtin::for_each_builtin_guard!`]).
pub const BUILTIN_GUARDS: &[&str] = {
    macro_rules! names {
        ($( $(#[$doc:meta])* $field:ident : $config:ty ),* $(,)?) => {
            &[$( <$config as GuardConfig>::NAME ),*]
        };
    }
    builtin::for_each_builtin_guard!(names)
};

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(patterns: &[&'a str]) -> Vec<(String, &'a str)> {
        patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("patterns[{i}]"), *p))
            .collect()
    }

    /// Compiled for short or long text, a list is accepted or refused alike, with the
    /// same error.
    #[test]
    fn short_text_sets_accept_and_refuse_the_same_patterns() {
        let lists: &[&[&str]] = &[
            &["ok", "*x"],
            &["+x"],
            &["?x"],
            &["{2}x"],
            &["(?i)*x"],
            &["x**"],
            &["a|*b"],
            &["(?x) a # comment"],
            &["(?x)a#)"],
            &["a)|(b"],
            &["", "a"],
            &["a", ""],
            &["[unclosed"],
            &[r"\p{NoSuchClass}"],
            &[r"(?-u:\xFF)"],
            &["(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))"],
            &["((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a|b))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))"],
            &["(a){1000}{1000}"],
        ];
        for list in lists {
            let f = fields(list);
            let long = compile_regex_set_for("g", &f, SetSearch::LongText).map(|_| ());
            let short = compile_regex_set_for("g", &f, SetSearch::ShortText).map(|_| ());
            assert_eq!(short, long, "{list:?}");
        }
        assert!(compile_regex_set_for("g", &fields(&["*x"]), SetSearch::ShortText).is_err());
        assert_eq!(
            compile_regex_set_for("g", &fields(&["ok", ""]), SetSearch::ShortText)
                .unwrap_err()
                .field,
            "patterns[1]"
        );
    }

    #[test]
    fn short_text_sets_match_like_long_text_sets() {
        let patterns = [
            r"(?i)disable[\s_\-]?(security|auth|ssl|tls)",
            r"(?i)chmod\s+777",
            r"^abc",
            r"xyz$",
            r"\bword\b",
            r"(?x) a b # spaced",
            r"^$",
            r"a|^b",
            r"ſ",
            r"\B",
        ];
        let f = fields(&patterns);
        let long = compile_regex_set_for("g", &f, SetSearch::LongText).unwrap();
        let short = compile_regex_set_for("g", &f, SetSearch::ShortText).unwrap();
        for text in [
            "",
            "abc",
            "xabc",
            "DISABLE_SSL now",
            "diſable tls",
            "chmod  777 /",
            "a word here",
            "swordfish xyz",
            "ab",
            "b",
            "é",
            "ab c",
        ] {
            let l: Vec<usize> = long.matches(text).iter().collect();
            let s: Vec<usize> = short.matches(text).iter().collect();
            assert_eq!(s, l, "{text:?}");
        }
    }
}
