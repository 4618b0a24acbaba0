//! `secret_leak`: find credentials (API keys, tokens, private keys) in content an agent is
//! about to write or patch in.
//!
//! The most severe match decides: at or above `severity_threshold` the write is denied,
//! below it a warning is raised. Matched secrets never appear in messages or details; only
//! a masked form does. Unlike the old engine, `skip_paths` is matched against the
//! normalised path (`/repo/tests/../a.txt` is `/repo/a.txt` and is scanned), invalid
//! patterns are build errors, and scanning is capped at `max_scan_bytes`.

use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::forbidden_path::compile_globs;
use super::{
    check_regex_syntax, compile_regex, compile_regex_set, Guard, GuardBuildError, GuardConfig,
};
use crate::decision::{Severity, Verdict};
use crate::event::{EventData, PolicyEvent};
use crate::normalize::path::{normalize, MatchMode, PathMatcher};

/// Section name under `guards:`.
pub const NAME: &str = "secret_leak";

/// Default cap on the bytes scanned per event (1 MiB).
pub const DEFAULT_MAX_SCAN_BYTES: usize = 1 << 20;

/// How much of a matched secret stays visible in the masked form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretMasking {
    /// Characters kept at the start.
    pub first: u8,
    /// Characters kept at the end.
    pub last: u8,
}

fn critical() -> Severity {
    Severity::Critical
}

/// One secret pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretPattern {
    /// Identifier shown in messages.
    pub name: String,
    /// Regular expression.
    pub pattern: String,
    /// Severity of a match (default critical).
    #[serde(default = "critical")]
    pub severity: Severity,
    /// What the pattern detects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Only count matches whose digits pass the Luhn check (card numbers).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub luhn_check: bool,
    /// Masking of the match in details (default: first 4, last 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masking: Option<SecretMasking>,
}

impl SecretPattern {
    fn new(name: &str, pattern: &str, severity: Severity) -> Self {
        Self {
            name: name.into(),
            pattern: pattern.into(),
            severity,
            description: None,
            luhn_check: false,
            masking: None,
        }
    }
}

/// The old engine's default secret patterns.
pub fn default_patterns() -> Vec<SecretPattern> {
    use Severity::{Critical, Medium};
    vec![
        SecretPattern::new("aws_access_key", r"AKIA[0-9A-Z]{16}", Critical),
        SecretPattern::new(
            "aws_secret_key",
            r#"(?i)aws[_\-]?secret[_\-]?access[_\-]?key['"]?\s*[:=]\s*['"]?[A-Za-z0-9/+=]{40}"#,
            Critical,
        ),
        SecretPattern::new("github_token", r"gh[ps]_[A-Za-z0-9]{36}", Critical),
        SecretPattern::new(
            "github_pat",
            r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
            Critical,
        ),
        SecretPattern::new("openai_key", r"sk-[A-Za-z0-9]{48}", Critical),
        SecretPattern::new("anthropic_key", r"sk-ant-[A-Za-z0-9\-]{95}", Critical),
        SecretPattern::new(
            "private_key",
            r"-----BEGIN\s+(RSA\s+)?PRIVATE\s+KEY-----",
            Critical,
        ),
        SecretPattern::new("npm_token", r"npm_[A-Za-z0-9]{36}", Critical),
        SecretPattern::new(
            "slack_token",
            r"xox[baprs]-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*",
            Critical,
        ),
        SecretPattern::new(
            "generic_api_key",
            r#"(?i)(api[_\-]?key|apikey)['"]?\s*[:=]\s*['"]?[A-Za-z0-9]{32,}"#,
            Medium,
        ),
        SecretPattern::new(
            "generic_secret",
            r#"(?i)(secret|password|passwd|pwd)['"]?\s*[:=]\s*['"]?[A-Za-z0-9!@#$%^&*]{8,}"#,
            Medium,
        ),
    ]
}

/// The default `skip_paths`.
pub fn default_skip_paths() -> Vec<String> {
    ["**/test/**", "**/tests/**", "**/*_test.*", "**/*.test.*"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn default_true() -> bool {
    true
}

/// Configuration of the `secret_leak` guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretLeakConfig {
    /// Whether the guard runs.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Mask matched secrets in details (default true; secrets are never shown raw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact: Option<bool>,
    /// Deny at or above this severity, warn below (default high, alias `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_threshold: Option<Severity>,
    /// Secret patterns; absent means [`default_patterns`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patterns: Option<Vec<SecretPattern>>,
    /// Patterns added to the inherited list (same name replaces).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_patterns: Vec<SecretPattern>,
    /// Names of patterns removed from the inherited list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_patterns: Vec<String>,
    /// Paths (globs) that are not scanned; absent means [`default_skip_paths`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_paths: Option<Vec<String>>,
    /// Largest prefix of content scanned, in bytes (default 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_scan_bytes: Option<usize>,
}

impl Default for SecretLeakConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            redact: Some(true),
            severity_threshold: Some(Severity::High),
            patterns: Some(default_patterns()),
            additional_patterns: Vec::new(),
            remove_patterns: Vec::new(),
            skip_paths: Some(default_skip_paths()),
            max_scan_bytes: Some(DEFAULT_MAX_SCAN_BYTES),
        }
    }
}

fn apply_pattern_changes(
    base: Vec<SecretPattern>,
    add: &[SecretPattern],
    remove: &[String],
) -> Vec<SecretPattern> {
    let mut out = base;
    for p in add {
        match out.iter_mut().find(|q| q.name == p.name) {
            Some(q) => *q = p.clone(),
            None => out.push(p.clone()),
        }
    }
    out.retain(|p| !remove.contains(&p.name));
    out
}

impl SecretLeakConfig {
    /// The patterns in force.
    pub fn effective_patterns(&self) -> Vec<SecretPattern> {
        apply_pattern_changes(
            self.patterns.clone().unwrap_or_else(default_patterns),
            &self.additional_patterns,
            &self.remove_patterns,
        )
    }

    /// The skip list in force.
    pub fn effective_skip_paths(&self) -> Vec<String> {
        self.skip_paths.clone().unwrap_or_else(default_skip_paths)
    }
}

impl GuardConfig for SecretLeakConfig {
    const NAME: &'static str = NAME;

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn merge_with(&self, child: &Self) -> Self {
        let base = match &child.patterns {
            Some(p) if !p.is_empty() => p.clone(),
            _ => self.effective_patterns(),
        };
        let skip_paths = match &child.skip_paths {
            Some(p) if !p.is_empty() => p.clone(),
            _ => self.effective_skip_paths(),
        };
        Self {
            enabled: child.enabled,
            redact: child.redact.or(self.redact),
            severity_threshold: child.severity_threshold.or(self.severity_threshold),
            patterns: Some(apply_pattern_changes(
                base,
                &child.additional_patterns,
                &child.remove_patterns,
            )),
            additional_patterns: Vec::new(),
            remove_patterns: Vec::new(),
            skip_paths: Some(skip_paths),
            max_scan_bytes: child.max_scan_bytes.or(self.max_scan_bytes),
        }
    }

    fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError> {
        Ok(Box::new(SecretLeakGuard::new(self)?))
    }
}

#[derive(Debug)]
struct CompiledSecret {
    name: String,
    pattern: String,
    /// Compiled on the first hit: the set finds *which* pattern matched, this finds *where*.
    regex: OnceLock<Option<Regex>>,
    severity: Severity,
    description: Option<String>,
    luhn_check: bool,
    masking: Option<SecretMasking>,
}

/// The compiled `secret_leak` guard.
#[derive(Debug)]
pub struct SecretLeakGuard {
    enabled: bool,
    threshold: Severity,
    set: RegexSet,
    patterns: Vec<CompiledSecret>,
    skip_paths: PathMatcher,
    max_scan_bytes: usize,
}

/// Check a configured list as written. `compiled` are pattern texts already compiled
/// (hence valid), which are not parsed again.
fn validate_patterns(
    field: &str,
    patterns: &[SecretPattern],
    compiled: &[&str],
) -> Result<(), GuardBuildError> {
    for (i, p) in patterns.iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(GuardBuildError::new(
                NAME,
                format!("{field}[{i}].name"),
                "a secret pattern needs a name",
            ));
        }
        if !compiled.contains(&p.pattern.as_str()) {
            check_regex_syntax(NAME, &format!("{field}[{i}].pattern"), &p.pattern)?;
        }
    }
    Ok(())
}

impl SecretLeakGuard {
    /// Compile a configuration.
    pub fn new(config: &SecretLeakConfig) -> Result<Self, GuardBuildError> {
        let effective = config.effective_patterns();
        let fields: Vec<(String, &str)> = effective
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("patterns[{i}].pattern"), p.pattern.as_str()))
            .collect();
        // Compile first: building the set checks every effective pattern, so the lists
        // as written only need their other entries checked. Their errors still come
        // first, as they name the field the user wrote.
        let set = compile_regex_set(NAME, &fields);
        let compiled: Vec<&str> = match &set {
            Ok(_) => fields.iter().map(|(_, p)| *p).collect(),
            Err(_) => Vec::new(),
        };
        if let Some(p) = &config.patterns {
            validate_patterns("patterns", p, &compiled)?;
        }
        validate_patterns(
            "additional_patterns",
            &config.additional_patterns,
            &compiled,
        )?;
        let set = set?;
        let mut patterns = Vec::with_capacity(effective.len());
        for p in effective.iter() {
            patterns.push(CompiledSecret {
                name: p.name.clone(),
                pattern: p.pattern.clone(),
                regex: OnceLock::new(),
                severity: p.severity,
                description: p.description.clone(),
                luhn_check: p.luhn_check,
                masking: p.masking,
            });
        }
        let max_scan_bytes = config.max_scan_bytes.unwrap_or(DEFAULT_MAX_SCAN_BYTES);
        if max_scan_bytes == 0 {
            return Err(GuardBuildError::new(
                NAME,
                "max_scan_bytes",
                "must be greater than 0",
            ));
        }
        Ok(Self {
            enabled: config.enabled,
            threshold: config.severity_threshold.unwrap_or(Severity::High),
            set,
            patterns,
            skip_paths: compile_globs(
                NAME,
                "skip_paths",
                &config.effective_skip_paths(),
                MatchMode::Allow,
            )?,
            max_scan_bytes,
        })
    }
}

/// Keep `first` and `last` characters, star the rest (all stars when too short).
pub fn mask_value(s: &str, masking: Option<&SecretMasking>) -> String {
    let first = masking.map_or(4, |m| m.first as usize);
    let last = masking.map_or(4, |m| m.last as usize);
    let len = s.chars().count();
    if first + last >= len {
        return "*".repeat(len);
    }
    let head: String = s.chars().take(first).collect();
    let tail: String = s.chars().skip(len - last).collect();
    format!("{head}{}{tail}", "*".repeat(len - first - last))
}

/// Luhn check over the digits of a card-number-like match (13 to 19 digits, not all equal).
pub fn luhn_valid(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let v = d * 2;
                if v > 9 {
                    v - 9
                } else {
                    v
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn prefix_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Guard for SecretLeakGuard {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.enabled {
            return None;
        }
        let (path, content) = match &event.data {
            EventData::File(f) if event.event_type == crate::event::EventType::FileWrite => {
                (f.path.as_str(), f.content.as_deref().unwrap_or(""))
            }
            EventData::Patch(p) => (p.file_path.as_str(), p.patch_content.as_str()),
            _ => return None,
        };
        let scanned = prefix_at_char_boundary(content, self.max_scan_bytes);
        let truncated = scanned.len() < content.len();
        let hits = self.set.matches(scanned);
        // The skip list only matters when there is something to report; checking it
        // afterwards keeps the common clean case free of file-system lookups.
        if (hits.matched_any() || truncated) && !self.skip_paths.is_empty() {
            let normalized = normalize(path);
            if !normalized.had_nul && self.skip_paths.first_match(&normalized).is_some() {
                return Some(Verdict::allow("path is excluded from secret scanning"));
            }
        }

        let mut matches = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let mut max_severity: Option<Severity> = None;
        for i in hits.iter() {
            let p = &self.patterns[i];
            let regex = p
                .regex
                .get_or_init(|| compile_regex(NAME, "pattern", &p.pattern).ok());
            let Some(regex) = regex else {
                // The set matched but the pattern alone does not compile under the
                // per-pattern limits: report the hit without a position (fail closed).
                names.push(&p.name);
                max_severity = max_severity.max(Some(p.severity));
                matches.push(json!({"pattern": p.name, "severity": p.severity}));
                continue;
            };
            for m in regex.find_iter(scanned) {
                if p.luhn_check && !luhn_valid(m.as_str()) {
                    continue;
                }
                if !names.contains(&p.name.as_str()) {
                    names.push(&p.name);
                }
                max_severity = max_severity.max(Some(p.severity));
                matches.push(json!({
                    "pattern": p.name,
                    "severity": p.severity,
                    "description": p.description,
                    "offset": m.start(),
                    "length": m.len(),
                    "redacted": mask_value(m.as_str(), p.masking.as_ref()),
                }));
                if matches.len() >= 100 {
                    break;
                }
            }
        }
        let Some(severity) = max_severity else {
            return Some(if truncated {
                Verdict::warn(
                    Severity::Medium,
                    format!(
                        "content larger than max_scan_bytes, only the first {} bytes were scanned",
                        self.max_scan_bytes
                    ),
                )
                .with_details(json!({
                    "path": path,
                    "content_bytes": content.len(),
                    "scanned_bytes": scanned.len(),
                    "truncated": true,
                }))
            } else {
                Verdict::allow("no secrets detected")
            });
        };
        let details = json!({
            "path": path,
            "matches": matches,
            "truncated": truncated,
        });
        Some(if severity >= self.threshold {
            Verdict::deny(
                severity,
                format!("Potential secrets detected: {}", names.join(", ")),
            )
            .with_details(details)
        } else {
            Verdict::warn(
                severity,
                format!("Potential secrets detected (warning): {}", names.join(", ")),
            )
            .with_details(details)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;

    const AWS: &str = "AKIAIOSFODNN7EXAMPLE";

    fn guard() -> Box<dyn Guard> {
        SecretLeakConfig::default().build().unwrap()
    }

    fn write(path: &str, content: &str) -> PolicyEvent {
        PolicyEvent::file_write("e", path, content)
    }

    #[test]
    fn aws_key_in_write_is_denied_and_not_shown() {
        let v = guard()
            .check(&write("/app/config.py", &format!("key = {AWS}")))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.severity, Severity::Critical);
        assert_eq!(v.message, "Potential secrets detected: aws_access_key");
        let d = serde_json::to_string(&v).unwrap();
        assert!(!d.contains(AWS));
        assert!(d.contains("AKIA************MPLE"));
    }

    #[test]
    fn clean_content_is_allowed() {
        let v = guard()
            .check(&write("/app/main.rs", "fn main() {}"))
            .unwrap();
        assert_eq!(v.status, Status::Allow);
    }

    #[test]
    fn below_threshold_warns() {
        let v = guard()
            .check(&write("/app/a.env", "password = hunter2hunter2"))
            .unwrap();
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.severity, Severity::Medium);
        assert!(!serde_json::to_string(&v)
            .unwrap()
            .contains("hunter2hunter2"));
    }

    #[test]
    fn highest_severity_match_wins() {
        let v = guard()
            .check(&write(
                "/app/x",
                &format!("password = hunter2hunter2\n{AWS}"),
            ))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.severity, Severity::Critical);
    }

    #[test]
    fn threshold_is_configurable_with_old_aliases() {
        let c: SecretLeakConfig =
            serde_json::from_value(json!({"severity_threshold": "warning"})).unwrap();
        let g = SecretLeakConfig::default().merge_with(&c).build().unwrap();
        let v = g
            .check(&write("/app/x", "password = hunter2hunter2"))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
    }

    #[test]
    fn patch_is_scanned() {
        let v = guard()
            .check(&PolicyEvent::patch(
                "e",
                "/app/x.py",
                &format!("+k = '{AWS}'"),
            ))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
    }

    #[test]
    fn reads_and_other_events_are_skipped() {
        assert!(guard()
            .check(&PolicyEvent::file_read("e", "/app/x"))
            .is_none());
        assert!(guard().check(&PolicyEvent::network("e", "x", 1)).is_none());
    }

    #[test]
    fn skip_paths_skip_scanning() {
        let v = guard()
            .check(&write("/repo/tests/fixture.txt", AWS))
            .unwrap();
        assert_eq!(v.status, Status::Allow);
        let v = guard()
            .check(&write("/repo/src/main_test.rs", AWS))
            .unwrap();
        assert_eq!(v.status, Status::Allow);
    }

    #[test]
    fn skip_paths_use_the_normalised_path() {
        let v = guard().check(&write("/repo/tests/../a.txt", AWS)).unwrap();
        assert_eq!(v.status, Status::Deny);
    }

    #[test]
    fn scan_is_capped_and_truncation_warns() {
        let c = SecretLeakConfig {
            max_scan_bytes: Some(24),
            ..Default::default()
        };
        let g = c.build().unwrap();
        let v = g
            .check(&write("/a", &format!("{}{AWS}", "x".repeat(32))))
            .unwrap();
        assert_eq!(v.status, Status::Warn);
        assert_eq!(
            v.message,
            "content larger than max_scan_bytes, only the first 24 bytes were scanned"
        );
        // A secret inside the scanned prefix is still found.
        let v = g
            .check(&write("/a", &format!("{AWS}{}", "x".repeat(64))))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
    }

    #[test]
    fn luhn_check_filters_card_numbers() {
        let c = SecretLeakConfig {
            patterns: Some(vec![SecretPattern {
                luhn_check: true,
                ..SecretPattern::new("card", r"\b(?:\d[ -]?){13,19}\b", Severity::High)
            }]),
            ..Default::default()
        };
        let g = c.build().unwrap();
        assert_eq!(
            g.check(&write("/a", "card 4111 1111 1111 1111"))
                .unwrap()
                .status,
            Status::Deny
        );
        assert_eq!(
            g.check(&write("/a", "card 4111 1111 1111 1112"))
                .unwrap()
                .status,
            Status::Allow
        );
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("1111111111111111"));
    }

    #[test]
    fn masking_is_configurable() {
        assert_eq!(mask_value("short", None), "*****");
        assert_eq!(mask_value(AWS, None), "AKIA************MPLE");
        assert_eq!(
            mask_value(AWS, Some(&SecretMasking { first: 2, last: 0 })),
            format!("AK{}", "*".repeat(18))
        );
    }

    #[test]
    fn merge_replaces_adds_and_removes_patterns() {
        let base = SecretLeakConfig::default();
        let child = SecretLeakConfig {
            patterns: None,
            additional_patterns: vec![SecretPattern::new("acme", "ACME-[0-9]{8}", Severity::High)],
            remove_patterns: vec!["generic_secret".into()],
            redact: None,
            severity_threshold: None,
            skip_paths: None,
            max_scan_bytes: None,
            enabled: true,
        };
        let m = base.merge_with(&child);
        let names: Vec<_> = m.effective_patterns().into_iter().map(|p| p.name).collect();
        assert!(names.contains(&"acme".to_string()));
        assert!(!names.contains(&"generic_secret".to_string()));
        assert!(names.contains(&"aws_access_key".to_string()));
        assert_eq!(m.severity_threshold, Some(Severity::High));

        let child = SecretLeakConfig {
            patterns: Some(vec![SecretPattern::new("only", "X{5}", Severity::Low)]),
            ..Default::default()
        };
        assert_eq!(base.merge_with(&child).effective_patterns().len(), 1);
    }

    #[test]
    fn invalid_regex_names_the_field() {
        let c = SecretLeakConfig {
            patterns: Some(vec![
                SecretPattern::new("a", "ok", Severity::High),
                SecretPattern::new("b", "(unclosed", Severity::High),
            ]),
            ..Default::default()
        };
        assert_eq!(c.build().unwrap_err().field, "patterns[1].pattern");
        let c = SecretLeakConfig {
            skip_paths: Some(vec!["[x".into()]),
            ..Default::default()
        };
        assert_eq!(c.build().unwrap_err().field, "skip_paths[0]");
        let c = SecretLeakConfig {
            max_scan_bytes: Some(0),
            ..Default::default()
        };
        assert_eq!(c.build().unwrap_err().field, "max_scan_bytes");
    }

    #[test]
    fn partial_section_parses_and_round_trips() {
        let c: SecretLeakConfig = serde_json::from_value(json!({
            "patterns": [{"name": "x", "pattern": "X{3}", "severity": "error",
                          "masking": {"first": 1, "last": 1}}]
        }))
        .unwrap();
        assert_eq!(c.patterns.as_ref().unwrap()[0].severity, Severity::High);
        let back: SecretLeakConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let d = SecretLeakConfig::default();
        let back: SecretLeakConfig =
            serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
