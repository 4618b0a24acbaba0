//! `patch_integrity`: refuse patches that are too large, too lopsided, or add forbidden
//! content (disabling TLS checks, `rm -rf /`, `chmod 777`, `eval(`...).
//!
//! Additions and deletions are counted from the unified diff (`+`/`-` lines, not the
//! `+++`/`---` headers); forbidden patterns apply to added lines only, as written and
//! Unicode-folded, so full-width or zero-width obfuscation does not hide them. A forbidden match
//! is critical, a size or balance violation high; all issues are reported together.

use regex::RegexSet;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{compile_regex_set_for, Guard, GuardBuildError, GuardConfig, SetSearch};
use crate::decision::{Severity, Verdict};
use crate::event::{EventData, PolicyEvent};
use crate::normalize::text::fold;

/// Section name under `guards:`.
pub const NAME: &str = "patch_integrity";

fn default_true() -> bool {
    true
}
fn default_max_additions() -> usize {
    1000
}
fn default_max_deletions() -> usize {
    500
}
fn default_max_imbalance_ratio() -> f64 {
    10.0
}

/// The old engine's default forbidden patterns.
pub fn default_forbidden_patterns() -> Vec<String> {
    [
        r"(?i)disable[ _\-]?(security|auth|ssl|tls)",
        r"(?i)skip[ _\-]?(verify|validation|check)",
        r"(?i)rm\s+-rf\s+/",
        r"(?i)chmod\s+777",
        r"(?i)eval\s*\(",
        r"(?i)exec\s*\(",
        r"(?i)reverse[_\-]?shell",
        r"(?i)bind[_\-]?shell",
        r"base64[_\-]?decode.*exec",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Configuration of the `patch_integrity` guard (replaced whole when a child sets it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchIntegrityConfig {
    /// Whether the guard runs.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Most added lines allowed.
    #[serde(default = "default_max_additions")]
    pub max_additions: usize,
    /// Most deleted lines allowed.
    #[serde(default = "default_max_deletions")]
    pub max_deletions: usize,
    /// Regexes that must not match an added line.
    #[serde(default = "default_forbidden_patterns")]
    pub forbidden_patterns: Vec<String>,
    /// Enforce `max_imbalance_ratio`.
    #[serde(default)]
    pub require_balance: bool,
    /// Largest additions/deletions ratio when `require_balance` is on.
    #[serde(default = "default_max_imbalance_ratio")]
    pub max_imbalance_ratio: f64,
}

impl Default for PatchIntegrityConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_additions: default_max_additions(),
            max_deletions: default_max_deletions(),
            forbidden_patterns: default_forbidden_patterns(),
            require_balance: false,
            max_imbalance_ratio: default_max_imbalance_ratio(),
        }
    }
}

impl GuardConfig for PatchIntegrityConfig {
    const NAME: &'static str = NAME;

    fn enabled(&self) -> bool {
        self.enabled
    }

    /// Not a list guard: the child's section replaces the base whole.
    fn merge_with(&self, child: &Self) -> Self {
        child.clone()
    }

    fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError> {
        Ok(Box::new(PatchIntegrityGuard::new(self)?))
    }
}

/// Counts and findings for one diff.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchAnalysis {
    /// Added lines.
    pub additions: usize,
    /// Deleted lines.
    pub deletions: usize,
    /// additions / deletions (infinite when only additions, 1 when empty).
    pub imbalance_ratio: f64,
    /// Indexes of the forbidden patterns that matched an added line, in order.
    pub forbidden: Vec<usize>,
}

/// The compiled `patch_integrity` guard.
#[derive(Debug)]
pub struct PatchIntegrityGuard {
    enabled: bool,
    config: PatchIntegrityConfig,
    set: RegexSet,
}

impl PatchIntegrityGuard {
    /// Compile a configuration.
    pub fn new(config: &PatchIntegrityConfig) -> Result<Self, GuardBuildError> {
        if !config.max_imbalance_ratio.is_finite() || config.max_imbalance_ratio <= 0.0 {
            return Err(GuardBuildError::new(
                NAME,
                "max_imbalance_ratio",
                "must be a positive finite number",
            ));
        }
        let fields: Vec<(String, &str)> = config
            .forbidden_patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("forbidden_patterns[{i}]"), p.as_str()))
            .collect();
        // Searched one diff line at a time.
        let set = compile_regex_set_for(NAME, &fields, SetSearch::ShortText)?;
        Ok(Self {
            enabled: config.enabled,
            config: config.clone(),
            set,
        })
    }

    /// Count and scan a unified diff.
    pub fn analyze(&self, diff: &str) -> PatchAnalysis {
        let mut additions = 0usize;
        let mut deletions = 0usize;
        let mut hit = vec![false; self.config.forbidden_patterns.len()];
        for line in diff.lines() {
            if line.starts_with('+') && !line.starts_with("+++") {
                additions += 1;
                if !hit.is_empty() {
                    for i in self.set.matches(line).iter() {
                        hit[i] = true;
                    }
                    // Full-width or zero-width obfuscation: also scan the folded form.
                    if !line.is_ascii() {
                        for i in self.set.matches(&fold(line)).iter() {
                            hit[i] = true;
                        }
                    }
                }
            } else if line.starts_with('-') && !line.starts_with("---") {
                deletions += 1;
            }
        }
        let imbalance_ratio = if deletions > 0 {
            additions as f64 / deletions as f64
        } else if additions > 0 {
            f64::INFINITY
        } else {
            1.0
        };
        PatchAnalysis {
            additions,
            deletions,
            imbalance_ratio,
            forbidden: hit
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.then_some(i))
                .collect(),
        }
    }
}

impl Guard for PatchIntegrityGuard {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.enabled {
            return None;
        }
        let EventData::Patch(patch) = &event.data else {
            return None;
        };
        let a = self.analyze(&patch.patch_content);
        let c = &self.config;
        let mut issues = Vec::new();
        if !a.forbidden.is_empty() {
            let pats: Vec<&str> = a
                .forbidden
                .iter()
                .map(|&i| c.forbidden_patterns[i].as_str())
                .collect();
            issues.push(format!("Contains forbidden patterns: {}", pats.join(", ")));
        }
        if a.additions > c.max_additions {
            issues.push(format!(
                "Too many additions: {} (max: {})",
                a.additions, c.max_additions
            ));
        }
        if a.deletions > c.max_deletions {
            issues.push(format!(
                "Too many deletions: {} (max: {})",
                a.deletions, c.max_deletions
            ));
        }
        if c.require_balance && a.imbalance_ratio > c.max_imbalance_ratio {
            issues.push(format!(
                "Imbalanced patch: ratio {:.2} (max: {:.2})",
                a.imbalance_ratio, c.max_imbalance_ratio
            ));
        }
        if issues.is_empty() {
            return Some(Verdict::allow("patch is within limits"));
        }
        let severity = if a.forbidden.is_empty() {
            Severity::High
        } else {
            Severity::Critical
        };
        Some(
            Verdict::deny(severity, issues.join("; ")).with_details(json!({
                "path": patch.file_path,
                "additions": a.additions,
                "deletions": a.deletions,
                "imbalance_ratio": if a.imbalance_ratio.is_finite() {
                    json!(a.imbalance_ratio)
                } else {
                    json!("infinite")
                },
                "forbidden_matches": a.forbidden.len(),
                "forbidden_patterns": a.forbidden.iter()
                    .map(|&i| c.forbidden_patterns[i].as_str()).collect::<Vec<_>>(),
            })),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;

    fn check(cfg: &PatchIntegrityConfig, diff: &str) -> Verdict {
        cfg.build()
            .unwrap()
            .check(&PolicyEvent::patch("e", "/repo/a.py", diff))
            .unwrap()
    }

    #[test]
    fn counts_additions_and_deletions_ignoring_headers() {
        let g = PatchIntegrityGuard::new(&PatchIntegrityConfig::default()).unwrap();
        let a = g.analyze("--- a/f\n+++ b/f\n@@ -1 +1 @@\n ctx\n+a\n+b\n-c\n");
        assert_eq!((a.additions, a.deletions), (2, 1));
        assert!(a.forbidden.is_empty());
    }

    #[test]
    fn safe_patch_is_allowed() {
        let v = check(&PatchIntegrityConfig::default(), "+added\n-deleted");
        assert_eq!(v.status, Status::Allow);
    }

    #[test]
    fn forbidden_pattern_in_added_line_is_critical() {
        let v = check(&PatchIntegrityConfig::default(), "+eval(user_input)");
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.severity, Severity::Critical);
        assert!(v.message.starts_with("Contains forbidden patterns: "));
    }

    #[test]
    fn forbidden_pattern_in_removed_line_is_ignored() {
        let v = check(&PatchIntegrityConfig::default(), "-rm -rf /\n+safe");
        assert_eq!(v.status, Status::Allow);
    }

    #[test]
    fn full_width_forbidden_content_is_caught() {
        let v = check(&PatchIntegrityConfig::default(), "+ｅｖａｌ(x)");
        assert_eq!(v.status, Status::Deny);
        let v = check(&PatchIntegrityConfig::default(), "+ch\u{200B}mod 777 x");
        assert_eq!(v.status, Status::Deny);
    }

    #[test]
    fn too_many_additions_is_high() {
        let cfg = PatchIntegrityConfig {
            max_additions: 5,
            ..Default::default()
        };
        let v = check(&cfg, "+1\n+2\n+3\n+4\n+5\n+6");
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.severity, Severity::High);
        assert_eq!(v.message, "Too many additions: 6 (max: 5)");
    }

    #[test]
    fn too_many_deletions_is_high() {
        let cfg = PatchIntegrityConfig {
            max_deletions: 1,
            ..Default::default()
        };
        let v = check(&cfg, "-1\n-2");
        assert_eq!(v.message, "Too many deletions: 2 (max: 1)");
        assert_eq!(v.severity, Severity::High);
    }

    #[test]
    fn imbalance_only_enforced_when_required() {
        let diff = "+1\n+2\n+3\n-1";
        let cfg = PatchIntegrityConfig {
            max_imbalance_ratio: 2.0,
            ..Default::default()
        };
        assert_eq!(check(&cfg, diff).status, Status::Allow);
        let cfg = PatchIntegrityConfig {
            require_balance: true,
            ..cfg
        };
        let v = check(&cfg, diff);
        assert_eq!(v.message, "Imbalanced patch: ratio 3.00 (max: 2.00)");
        assert_eq!(v.severity, Severity::High);
        // Pure additions are infinitely imbalanced.
        assert_eq!(check(&cfg, "+1").status, Status::Deny);
    }

    #[test]
    fn issues_are_joined_and_forbidden_dominates_severity() {
        let cfg = PatchIntegrityConfig {
            max_additions: 1,
            ..Default::default()
        };
        let v = check(&cfg, "+chmod 777 x\n+b");
        assert_eq!(v.severity, Severity::Critical);
        assert!(v.message.contains("; Too many additions: 2 (max: 1)"));
    }

    #[test]
    fn other_events_are_skipped() {
        let g = PatchIntegrityConfig::default().build().unwrap();
        assert!(g
            .check(&PolicyEvent::file_write("e", "/a", "eval("))
            .is_none());
    }

    #[test]
    fn merge_replaces_whole_section() {
        let base = PatchIntegrityConfig {
            max_additions: 7,
            ..Default::default()
        };
        let child: PatchIntegrityConfig =
            serde_json::from_value(json!({"max_deletions": 3})).unwrap();
        let m = base.merge_with(&child);
        assert_eq!(m.max_additions, 1000);
        assert_eq!(m.max_deletions, 3);
    }

    #[test]
    fn invalid_config_names_the_field() {
        let cfg = PatchIntegrityConfig {
            forbidden_patterns: vec!["ok".into(), "(bad".into()],
            ..Default::default()
        };
        assert_eq!(cfg.build().unwrap_err().field, "forbidden_patterns[1]");
        let cfg = PatchIntegrityConfig {
            max_imbalance_ratio: -1.0,
            ..Default::default()
        };
        assert_eq!(cfg.build().unwrap_err().field, "max_imbalance_ratio");
    }

    #[test]
    fn round_trips() {
        let c = PatchIntegrityConfig::default();
        let back: PatchIntegrityConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
