//! `forbidden_path`: deny reads, writes and patches of sensitive paths (SSH keys, cloud
//! credentials, `.env` files, `/etc/shadow`, ...).
//!
//! Exceptions are checked first, then the patterns. Unlike the old engine, paths are
//! normalised before matching (`/proc/self/root` aliases, `..`, NUL suffixes, case and
//! full-width variants, a bare `~/.ssh` directory) and an invalid glob is a build error
//! instead of being dropped silently.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Guard, GuardBuildError, GuardConfig};
use crate::decision::{Severity, Verdict};
use crate::event::{EventData, PolicyEvent};
use crate::normalize::path::{normalize, MatchMode, NormalizedPath, PathMatcher};

/// Section name under `guards:`.
pub const NAME: &str = "forbidden_path";

/// The default forbidden patterns (the `default` ruleset's list).
pub fn default_patterns() -> Vec<String> {
    [
        "**/.ssh/**",
        "**/id_rsa*",
        "**/id_ed25519*",
        "**/id_ecdsa*",
        "**/.aws/**",
        "**/.env",
        "**/.env.*",
        "**/.git-credentials",
        "**/.gitconfig",
        "**/.gnupg/**",
        "**/.kube/**",
        "**/.docker/**",
        "**/.npmrc",
        "**/.password-store/**",
        "**/pass/**",
        "**/.1password/**",
        "/etc/shadow",
        "/etc/passwd",
        "/etc/sudoers",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn default_true() -> bool {
    true
}

/// Configuration of the `forbidden_path` guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForbiddenPathConfig {
    /// Whether the guard runs.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Forbidden globs; absent means [`default_patterns`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patterns: Option<Vec<String>>,
    /// Globs that are allowed even when a pattern matches (checked first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
    /// Patterns added to the inherited (or default) list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_patterns: Vec<String>,
    /// Patterns removed from the inherited (or default) list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_patterns: Vec<String>,
}

impl Default for ForbiddenPathConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            patterns: None,
            exceptions: Vec::new(),
            additional_patterns: Vec::new(),
            remove_patterns: Vec::new(),
        }
    }
}

/// `base` (or `replacement` when non-empty) + `add` − `remove`, without duplicates.
pub(crate) fn merge_list(
    base: &[String],
    replacement: &[String],
    add: &[String],
    remove: &[String],
) -> Vec<String> {
    let start = if replacement.is_empty() {
        base
    } else {
        replacement
    };
    let mut out: Vec<String> = Vec::with_capacity(start.len() + add.len());
    for p in start.iter().chain(add) {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out.retain(|p| !remove.contains(p));
    out
}

impl ForbiddenPathConfig {
    /// The patterns in force: configured (or default) + additional − removed.
    pub fn effective_patterns(&self) -> Vec<String> {
        let base = self.patterns.clone().unwrap_or_else(default_patterns);
        merge_list(&base, &[], &self.additional_patterns, &self.remove_patterns)
    }
}

impl GuardConfig for ForbiddenPathConfig {
    const NAME: &'static str = NAME;

    /// One compiled list serves this guard and `shell_command`'s path arguments.
    fn build_in_policy(
        _: &Option<Self>,
        paths: &super::builtin::PolicyPaths,
    ) -> super::builtin::Built {
        paths.forbidden_path_guard()
    }

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn merge_with(&self, child: &Self) -> Self {
        let base = self.effective_patterns();
        let replacement = child.patterns.clone().unwrap_or_default();
        let patterns = merge_list(
            &base,
            &replacement,
            &child.additional_patterns,
            &child.remove_patterns,
        );
        let mut exceptions = self.exceptions.clone();
        for e in &child.exceptions {
            if !exceptions.contains(e) {
                exceptions.push(e.clone());
            }
        }
        Self {
            enabled: child.enabled,
            patterns: Some(patterns),
            exceptions,
            additional_patterns: Vec::new(),
            remove_patterns: Vec::new(),
        }
    }

    fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError> {
        Ok(Box::new(ForbiddenPathGuard::new(self)?))
    }
}

/// Check a glob list's syntax without compiling it, naming the first invalid entry the
/// way [`compile_globs`] does.
pub(crate) fn check_globs(
    guard: &str,
    field: &str,
    globs: &[String],
    mode: MatchMode,
) -> Result<(), GuardBuildError> {
    for (i, g) in globs.iter().enumerate() {
        if g.trim().is_empty() {
            return Err(GuardBuildError::new(
                guard,
                format!("{field}[{i}]"),
                "empty glob pattern",
            ));
        }
        if let Err(e) = PathMatcher::check(g, mode) {
            // A glob before this one may still be too large to compile on its own;
            // compiling each one alone reports that first, as a full check would.
            return Err(
                locate_glob_error(guard, field, &globs[..i], mode).unwrap_or_else(|| {
                    GuardBuildError::new(
                        guard,
                        format!("{field}[{i}]"),
                        format!("invalid glob `{g}`: {e}"),
                    )
                }),
            );
        }
    }
    Ok(())
}

/// The first glob that cannot be compiled on its own, as an error naming it.
fn locate_glob_error(
    guard: &str,
    field: &str,
    globs: &[String],
    mode: MatchMode,
) -> Option<GuardBuildError> {
    globs.iter().enumerate().find_map(|(i, g)| {
        PathMatcher::new(std::slice::from_ref(g), mode)
            .err()
            .map(|e| {
                GuardBuildError::new(
                    guard,
                    format!("{field}[{i}]"),
                    format!("invalid glob `{g}`: {e}"),
                )
            })
    })
}

/// Compile a glob list, naming the first invalid entry.
pub(crate) fn compile_globs(
    guard: &str,
    field: &str,
    globs: &[String],
    mode: MatchMode,
) -> Result<PathMatcher, GuardBuildError> {
    check_globs(guard, field, globs, mode)?;
    PathMatcher::new(globs, mode).map_err(|e| {
        locate_glob_error(guard, field, globs, mode).unwrap_or_else(|| {
            GuardBuildError::new(guard, field, format!("invalid glob list: {e}"))
        })
    })
}

/// The compiled forbidden paths of a policy: its effective patterns and exceptions.
///
/// Compiled once per engine and shared (`Arc`) by `forbidden_path` and by
/// `shell_command`, which checks the path arguments of commands against the same list.
#[derive(Debug)]
pub struct ForbiddenPaths {
    patterns: PathMatcher,
    exceptions: PathMatcher,
}

impl ForbiddenPaths {
    /// Compile a configuration's effective patterns and exceptions; errors name the field
    /// as written.
    pub fn new(config: &ForbiddenPathConfig) -> Result<Self, GuardBuildError> {
        // Report errors against the field the user wrote.
        if let Some(p) = &config.patterns {
            check_globs(NAME, "patterns", p, MatchMode::Deny)?;
        }
        check_globs(
            NAME,
            "additional_patterns",
            &config.additional_patterns,
            MatchMode::Deny,
        )?;
        let patterns = compile_globs(
            NAME,
            "patterns",
            &config.effective_patterns(),
            MatchMode::Deny,
        )?;
        let exceptions = compile_globs(NAME, "exceptions", &config.exceptions, MatchMode::Allow)?;
        Ok(Self {
            patterns,
            exceptions,
        })
    }

    /// Compile explicit lists (`patterns` in deny mode, `exceptions` in allow mode).
    pub fn from_lists(patterns: &[String], exceptions: &[String]) -> Result<Self, globset::Error> {
        Ok(Self {
            patterns: PathMatcher::new(patterns, MatchMode::Deny)?,
            exceptions: PathMatcher::new(exceptions, MatchMode::Allow)?,
        })
    }

    /// The pattern that forbids a normalised path, if any (exceptions considered).
    pub fn forbidden_by_normalized(&self, path: &NormalizedPath) -> Option<&str> {
        if !self.exceptions.is_empty() && self.exceptions.first_match(path).is_some() {
            return None;
        }
        self.patterns.first_match(path)
    }

    /// The pattern that forbids `path`, if any (exceptions considered).
    pub fn forbidden_by(&self, path: &str) -> Option<&str> {
        self.forbidden_by_normalized(&normalize(path))
    }
}

/// The compiled `forbidden_path` guard.
#[derive(Debug)]
pub struct ForbiddenPathGuard {
    enabled: bool,
    paths: Arc<ForbiddenPaths>,
}

impl ForbiddenPathGuard {
    /// Compile a configuration.
    pub fn new(config: &ForbiddenPathConfig) -> Result<Self, GuardBuildError> {
        Ok(Self::with_paths(
            config.enabled,
            Arc::new(ForbiddenPaths::new(config)?),
        ))
    }

    /// A guard over already compiled paths (shared with `shell_command`).
    pub fn with_paths(enabled: bool, paths: Arc<ForbiddenPaths>) -> Self {
        Self { enabled, paths }
    }

    /// The pattern that forbids `path`, if any (exceptions considered).
    pub fn forbidden_by(&self, path: &str) -> Option<&str> {
        self.paths.forbidden_by(path)
    }
}

impl Guard for ForbiddenPathGuard {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.enabled {
            return None;
        }
        let path = match &event.data {
            EventData::File(f) => f.path.as_str(),
            EventData::Patch(p) => p.file_path.as_str(),
            _ => return None,
        };
        Some(match self.forbidden_by(path) {
            Some(pattern) => Verdict::deny(
                Severity::Critical,
                format!("Access to forbidden path: {path}"),
            )
            .with_details(json!({
                "path": path,
                "pattern": pattern,
                "reason": "matches_forbidden_pattern",
            })),
            None => Verdict::allow("path is not forbidden"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;

    fn guard() -> Box<dyn Guard> {
        ForbiddenPathConfig::default().build().unwrap()
    }

    fn status(g: &dyn Guard, path: &str) -> Status {
        g.check(&PolicyEvent::file_read("e", path)).unwrap().status
    }

    #[test]
    fn default_patterns_deny_ssh_keys_and_env_files() {
        let g = guard();
        for p in [
            "/home/user/.ssh/id_rsa",
            "/home/user/.ssh/authorized_keys",
            "/home/user/.aws/credentials",
            "/app/.env",
            "/app/.env.local",
            "/etc/shadow",
        ] {
            assert_eq!(status(&*g, p), Status::Deny, "{p}");
        }
        assert_eq!(status(&*g, "/app/src/main.rs"), Status::Allow);
        assert_eq!(status(&*g, "/home/user/project/README.md"), Status::Allow);
    }

    #[test]
    fn deny_is_critical_with_exact_message_and_details() {
        let v = guard()
            .check(&PolicyEvent::file_read("e", "/home/u/.ssh/id_rsa"))
            .unwrap();
        assert_eq!(v.severity, Severity::Critical);
        assert_eq!(v.message, "Access to forbidden path: /home/u/.ssh/id_rsa");
        let d = v.details.unwrap();
        assert_eq!(d["path"], "/home/u/.ssh/id_rsa");
        assert_eq!(d["pattern"], "**/.ssh/**");
    }

    #[test]
    fn handles_write_and_patch_but_not_network() {
        let g = guard();
        let w = PolicyEvent::file_write("e", "/app/.env", "X=1");
        assert_eq!(g.check(&w).unwrap().status, Status::Deny);
        let p = PolicyEvent::patch("e", "/home/u/.ssh/config", "+x");
        assert_eq!(g.check(&p).unwrap().status, Status::Deny);
        assert!(g.check(&PolicyEvent::network("e", "x.com", 443)).is_none());
    }

    #[test]
    fn proc_self_root_alias_is_forbidden() {
        assert_eq!(
            status(&*guard(), "/proc/self/root/etc/shadow"),
            Status::Deny
        );
        assert_eq!(status(&*guard(), "/proc/1/root/etc/passwd"), Status::Deny);
    }

    #[test]
    fn bare_ssh_directory_is_forbidden() {
        assert_eq!(status(&*guard(), "~/.ssh"), Status::Deny);
        assert_eq!(status(&*guard(), "/home/u/.ssh/"), Status::Deny);
    }

    #[test]
    fn nul_suffixed_path_is_forbidden() {
        assert_eq!(status(&*guard(), "/etc/shadow\0.txt"), Status::Deny);
    }

    #[test]
    fn case_variants_are_forbidden() {
        assert_eq!(status(&*guard(), "/home/u/.SSH/id_rsa"), Status::Deny);
        assert_eq!(status(&*guard(), "/ETC/SHADOW"), Status::Deny);
    }

    #[test]
    fn full_width_variant_is_forbidden() {
        assert_eq!(status(&*guard(), "/app/．env"), Status::Deny);
    }

    #[test]
    fn dot_dot_traversal_is_forbidden() {
        assert_eq!(status(&*guard(), "/tmp/../etc/shadow"), Status::Deny);
        assert_eq!(status(&*guard(), "../../../../etc/shadow"), Status::Deny);
    }

    #[test]
    fn exceptions_are_checked_first() {
        let cfg = ForbiddenPathConfig {
            patterns: Some(vec!["**/.env".into(), "**/.env.*".into()]),
            exceptions: vec!["**/.env.example".into()],
            ..Default::default()
        };
        let g = cfg.build().unwrap();
        assert_eq!(status(&*g, "/app/.env.example"), Status::Allow);
        assert_eq!(status(&*g, "/app/.env"), Status::Deny);
    }

    #[test]
    fn exception_does_not_cover_traversal_out_of_it() {
        let cfg = ForbiddenPathConfig {
            exceptions: vec!["/repo/**".into()],
            ..Default::default()
        };
        let g = cfg.build().unwrap();
        assert_eq!(status(&*g, "/repo/../etc/shadow"), Status::Deny);
    }

    #[test]
    fn disabled_guard_skips() {
        let cfg = ForbiddenPathConfig {
            enabled: false,
            ..Default::default()
        };
        assert!(cfg
            .build()
            .unwrap()
            .check(&PolicyEvent::file_read("e", "/etc/shadow"))
            .is_none());
    }

    #[test]
    fn merge_adds_and_removes_patterns() {
        let base = ForbiddenPathConfig {
            patterns: Some(vec!["**/.ssh/**".into(), "**/.env".into()]),
            ..Default::default()
        };
        let child = ForbiddenPathConfig {
            additional_patterns: vec!["**/secrets/**".into()],
            remove_patterns: vec!["**/.env".into()],
            ..Default::default()
        };
        let merged = base.merge_with(&child);
        assert_eq!(
            merged.effective_patterns(),
            vec!["**/.ssh/**".to_string(), "**/secrets/**".to_string()]
        );
    }

    #[test]
    fn merge_non_empty_child_list_replaces_base() {
        let base = ForbiddenPathConfig::default();
        let child = ForbiddenPathConfig {
            patterns: Some(vec!["/only".into()]),
            ..Default::default()
        };
        assert_eq!(base.merge_with(&child).effective_patterns(), vec!["/only"]);
        // An empty child list keeps the base.
        let empty = ForbiddenPathConfig {
            patterns: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            base.merge_with(&empty).effective_patterns(),
            default_patterns()
        );
    }

    #[test]
    fn merge_takes_enabled_from_child_and_unions_exceptions() {
        let base = ForbiddenPathConfig {
            exceptions: vec!["/a/**".into()],
            ..Default::default()
        };
        let child = ForbiddenPathConfig {
            enabled: false,
            exceptions: vec!["/b/**".into()],
            ..Default::default()
        };
        let m = base.merge_with(&child);
        assert!(!m.enabled);
        assert_eq!(m.exceptions, vec!["/a/**", "/b/**"]);
    }

    #[test]
    fn invalid_glob_is_a_build_error_naming_the_field() {
        let cfg = ForbiddenPathConfig {
            patterns: Some(vec!["**/.ssh/**".into(), "**/a".into(), "[unclosed".into()]),
            ..Default::default()
        };
        let err = cfg.build().unwrap_err();
        assert_eq!(err.field, "patterns[2]");
        let cfg = ForbiddenPathConfig {
            exceptions: vec!["a[".into()],
            ..Default::default()
        };
        assert_eq!(cfg.build().unwrap_err().field, "exceptions[0]");
    }

    #[test]
    fn partial_section_parses_and_round_trips() {
        let cfg: ForbiddenPathConfig =
            serde_json::from_value(json!({"additional_patterns": ["/x"]})).unwrap();
        assert!(cfg.enabled);
        assert!(cfg.effective_patterns().contains(&"/x".to_string()));
        let back: ForbiddenPathConfig =
            serde_json::from_value(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        assert!(serde_json::from_value::<ForbiddenPathConfig>(json!({"bogus": 1})).is_err());
    }
}
