//! `{{guard}}`: source files written under the configured paths must carry a license
//! header (`SPDX-License-Identifier: ...`), and only with an allowed license. A missing
//! header warns by default; `action: deny` makes it a deny.

use clawdstrike_guard_sdk::{export_guard, Event, EventType, Guard, Severity, Verdict};
use serde::Deserialize;
use serde_json::json;

/// What a violation does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let the write happen, with a warning (default).
    #[default]
    Warn,
    /// Stop the write.
    Deny,
}

/// The guard's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// File extensions that need a header.
    pub extensions: Vec<String>,
    /// Path prefixes the rule applies to (every path when empty).
    pub paths: Vec<String>,
    /// Licenses allowed in the header (any when empty).
    pub allowed_licenses: Vec<String>,
    /// How many lines from the top the header may appear in.
    pub header_lines: usize,
    /// `warn` (default) or `deny`.
    pub action: Action,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            extensions: vec![".rs".into(), ".ts".into(), ".js".into(), ".py".into()],
            paths: Vec::new(),
            allowed_licenses: vec!["Apache-2.0".into(), "MIT".into()],
            header_lines: 5,
            action: Action::Warn,
        }
    }
}

/// The guard.
pub struct {{type}} {
    config: Config,
}

const MARKER: &str = "SPDX-License-Identifier:";

impl {{type}} {
    fn applies_to(&self, path: &str) -> bool {
        self.config.extensions.iter().any(|e| path.ends_with(e.as_str()))
            && (self.config.paths.is_empty()
                || self.config.paths.iter().any(|p| path.starts_with(p.as_str())))
    }

    fn violation(&self, message: String, details: serde_json::Value) -> Verdict {
        let verdict = match self.config.action {
            Action::Warn => Verdict::warn(Severity::Medium, message),
            Action::Deny => Verdict::deny(Severity::Medium, message),
        };
        verdict
            .with_details(details)
            .with_remediation(format!("Start the file with a comment holding `{MARKER} <license>`."))
    }
}

impl Guard for {{type}} {
    const NAME: &'static str = "{{guard}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &[EventType::FileWrite];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.header_lines == 0 {
            return Err("config.header_lines must be at least 1".into());
        }
        Ok({{type}} { config })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        let file = event.file().ok_or("expected file data")?;
        if !self.applies_to(&file.path) {
            return Ok(Verdict::allow(format!("{} is not in scope", file.path)));
        }
        let Some(content) = file.content.as_deref() else {
            return Ok(Verdict::allow(format!("no content to check in {}", file.path)));
        };
        let header = content
            .lines()
            .take(self.config.header_lines)
            .find_map(|line| line.split_once(MARKER).map(|(_, rest)| rest.trim().to_string()));
        Ok(match header {
            None => self.violation(
                format!("{} has no {MARKER} header", file.path),
                json!({ "path": file.path }),
            ),
            Some(license)
                if !self.config.allowed_licenses.is_empty()
                    && !self.config.allowed_licenses.contains(&license) =>
            {
                self.violation(
                    format!("{} is licensed {license}, which is not allowed", file.path),
                    json!({ "path": file.path, "license": license }),
                )
            }
            Some(license) => Verdict::allow(format!("{} is licensed {license}", file.path)),
        })
    }
}

export_guard!({{type}});
