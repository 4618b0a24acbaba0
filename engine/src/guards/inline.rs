//! Inline custom guards: small guards declared in the policy itself
//! (`guards.custom: - inline: {name, handles, logic: {if, then, reason}}`).
//!
//! Every condition given under `if` must hold; then the guard returns `then` with `reason`,
//! otherwise it allows. Events whose type is not in `handles` are not examined.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::{compile_regex, Guard, GuardBuildError};
use crate::decision::{Severity, Verdict};
use crate::event::{EventData, EventType, PolicyEvent};
use crate::normalize::host::{parse_host, parse_url};
use crate::normalize::path::{normalize, MatchMode, PathMatcher};
use crate::normalize::text::{fold, fold_name};

/// One value or a list of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl OneOrMany {
    fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// The definition of an inline guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineGuardSpec {
    /// The guard's name (unique in the policy).
    pub name: String,
    /// Event types it examines.
    pub handles: Vec<EventType>,
    /// What it checks.
    pub logic: InlineLogic,
}

/// `logic: {if, then, reason, severity}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineLogic {
    /// Conditions; all given must hold.
    #[serde(rename = "if")]
    pub condition: InlineCondition,
    /// The verdict when they hold (`allow`, `warn`, `deny`; `block` = deny).
    pub then: InlineAction,
    /// The message when they hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Severity when they hold (default high for deny, medium for warn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// `then:` of an inline guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InlineAction {
    /// Allow.
    Allow,
    /// Warn.
    Warn,
    /// Deny (alias `block`).
    #[serde(alias = "block")]
    Deny,
}

/// The conditions an inline guard can test.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineCondition {
    /// File or patch path matches a glob (case-insensitive, every normalised form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_matches: Option<OneOrMany>,
    /// Network host matches a glob (`*.example.com` covers the apex too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_matches: Option<OneOrMany>,
    /// Command line (command and arguments) matches a regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_matches: Option<String>,
    /// Tool name matches a glob (folded: case, width and surrounding space ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_matches: Option<OneOrMany>,
    /// Written content, patch text or custom text matches a regex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_matches: Option<String>,
}

/// A compiled inline guard.
#[derive(Debug)]
pub struct InlineGuard {
    name: String,
    handles: Vec<EventType>,
    path: Option<PathMatcher>,
    host: Option<GlobSet>,
    command: Option<regex::Regex>,
    tool: Option<GlobSet>,
    content: Option<regex::Regex>,
    verdict: Verdict,
}

fn globs(
    name: &str,
    field: &str,
    patterns: &[String],
    fold_it: bool,
) -> Result<GlobSet, GuardBuildError> {
    let mut b = GlobSetBuilder::new();
    for (i, p) in patterns.iter().enumerate() {
        let p = if fold_it { fold_name(p) } else { p.clone() };
        let mut forms = vec![p.clone()];
        if let Some(apex) = p.strip_prefix("*.") {
            forms.push(apex.to_string());
        }
        for f in forms {
            let g = GlobBuilder::new(&f)
                .case_insensitive(true)
                .build()
                .map_err(|e| GuardBuildError::new(name, format!("{field}[{i}]"), e.to_string()))?;
            b.add(g);
        }
    }
    b.build()
        .map_err(|e| GuardBuildError::new(name, field, e.to_string()))
}

impl InlineGuardSpec {
    /// Compile the guard. Errors name the field under `inline`.
    pub fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError> {
        let name = self.name.as_str();
        if name.trim().is_empty() {
            return Err(GuardBuildError::new(
                name,
                "name",
                "an inline guard needs a name",
            ));
        }
        if self.handles.is_empty() {
            return Err(GuardBuildError::new(
                name,
                "handles",
                "list the event types this guard examines",
            ));
        }
        let c = &self.logic.condition;
        if *c == InlineCondition::default() {
            return Err(GuardBuildError::new(
                name,
                "logic.if",
                "give at least one condition (path_matches, host_matches, command_matches, tool_matches, content_matches)",
            ));
        }
        let path = c
            .path_matches
            .as_ref()
            .map(|p| PathMatcher::new(&p.to_vec(), MatchMode::Deny))
            .transpose()
            .map_err(|e| GuardBuildError::new(name, "logic.if.path_matches", e.to_string()))?;
        let host = c
            .host_matches
            .as_ref()
            .map(|h| globs(name, "logic.if.host_matches", &h.to_vec(), true))
            .transpose()?;
        let tool = c
            .tool_matches
            .as_ref()
            .map(|t| globs(name, "logic.if.tool_matches", &t.to_vec(), true))
            .transpose()?;
        let command = c
            .command_matches
            .as_deref()
            .map(|r| compile_regex(name, "logic.if.command_matches", r))
            .transpose()?;
        let content = c
            .content_matches
            .as_deref()
            .map(|r| compile_regex(name, "logic.if.content_matches", r))
            .transpose()?;
        let message = self
            .logic
            .reason
            .clone()
            .unwrap_or_else(|| format!("inline guard {name} matched"));
        let verdict = match self.logic.then {
            InlineAction::Allow => Verdict::allow(message),
            InlineAction::Warn => {
                Verdict::warn(self.logic.severity.unwrap_or(Severity::Medium), message)
            }
            InlineAction::Deny => {
                Verdict::deny(self.logic.severity.unwrap_or(Severity::High), message)
            }
        };
        Ok(Box::new(InlineGuard {
            name: self.name.clone(),
            handles: self.handles.clone(),
            path,
            host,
            command,
            tool,
            content,
            verdict,
        }))
    }
}

impl InlineGuard {
    fn matches(&self, event: &PolicyEvent) -> bool {
        if let Some(m) = &self.path {
            match event.path() {
                Some(p) if m.first_match(&normalize(p)).is_some() => {}
                _ => return false,
            }
        }
        if let Some(set) = &self.host {
            let EventData::Network(n) = &event.data else {
                return false;
            };
            let (host, _) = parse_host(&n.host);
            let url_host = n.url.as_deref().and_then(parse_url).map(|d| d.host);
            if !set.is_match(&host) && !url_host.is_some_and(|h| set.is_match(h)) {
                return false;
            }
        }
        if let Some(re) = &self.command {
            let EventData::Command(c) = &event.data else {
                return false;
            };
            let line = fold(
                &std::iter::once(c.command.as_str())
                    .chain(c.args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            if !re.is_match(&line) {
                return false;
            }
        }
        if let Some(set) = &self.tool {
            let EventData::Tool(t) = &event.data else {
                return false;
            };
            let name = fold_name(&t.tool_name);
            let last = name.rsplit("__").next().unwrap_or(&name);
            if !set.is_match(&name) && !set.is_match(last) {
                return false;
            }
        }
        if let Some(re) = &self.content {
            let text = match &event.data {
                EventData::File(f) => f.content.as_deref(),
                EventData::Patch(p) => Some(p.patch_content.as_str()),
                EventData::Custom(c) => c.text(),
                _ => None,
            };
            match text {
                Some(t) if re.is_match(t) => {}
                _ => return false,
            }
        }
        true
    }
}

impl Guard for InlineGuard {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.handles.contains(&event.event_type) {
            return None;
        }
        Some(if self.matches(event) {
            self.verdict.clone()
        } else {
            Verdict::allow(format!("inline guard {} did not match", self.name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;

    fn spec(yaml: &str) -> InlineGuardSpec {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn path_condition_denies_with_reason() {
        let g = spec("name: no_prod\nhandles: [file_read, file_write]\nlogic:\n  if: {path_matches: \"**/prod.env\"}\n  then: deny\n  reason: no prod env\n")
            .build()
            .unwrap();
        let d = g
            .check(&PolicyEvent::file_read("e", "/srv/PROD.env"))
            .unwrap();
        assert_eq!(d.status, Status::Deny);
        assert_eq!(d.message, "no prod env");
        assert_eq!(d.severity, Severity::High);
        assert_eq!(
            g.check(&PolicyEvent::file_read("e", "/srv/dev.env"))
                .unwrap()
                .status,
            Status::Allow
        );
    }

    #[test]
    fn unhandled_event_types_are_skipped() {
        let g = spec(
            "name: n\nhandles: [file_read]\nlogic:\n  if: {path_matches: \"**\"}\n  then: deny\n",
        )
        .build()
        .unwrap();
        assert!(g.check(&PolicyEvent::network("e", "x.com", 443)).is_none());
    }

    #[test]
    fn tool_and_host_conditions_fold_names() {
        let g = spec("name: n\nhandles: [tool_call]\nlogic:\n  if: {tool_matches: [deploy_*]}\n  then: warn\n")
            .build()
            .unwrap();
        let d = g
            .check(&PolicyEvent::tool(
                "e",
                "mcp__ops__ＤＥＰＬＯＹ_prod ",
                serde_json::json!({}),
            ))
            .unwrap();
        assert_eq!(d.status, Status::Warn);
        let h = spec("name: h\nhandles: [network_egress]\nlogic:\n  if: {host_matches: \"*.evil.test\"}\n  then: block\n")
            .build()
            .unwrap();
        assert_eq!(
            h.check(&PolicyEvent::network("e", "EVIL.test.", 443))
                .unwrap()
                .status,
            Status::Deny
        );
    }

    #[test]
    fn unknown_condition_and_bad_regex_are_errors() {
        assert!(serde_saphyr::from_str::<InlineGuardSpec>(
            "name: n\nhandles: [file_read]\nlogic:\n  if: {path_glob: x}\n  then: deny\n"
        )
        .is_err());
        let err = spec("name: n\nhandles: [command_exec]\nlogic:\n  if: {command_matches: \"(\"}\n  then: deny\n")
            .build()
            .unwrap_err();
        assert_eq!(err.field, "logic.if.command_matches");
    }
}
