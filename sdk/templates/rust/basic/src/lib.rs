//! `{{guard}}`: denies file writes whose content contains a banned word.

use clawdstrike_guard_sdk::{export_guard, host, Event, EventType, Guard, Severity, Verdict};
use serde::Deserialize;
use serde_json::json;

/// The guard's configuration: the policy's `config:` mapping.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Words that may not be written (matched case-insensitively).
    pub words: Vec<String>,
    /// How serious a match is.
    pub severity: Severity,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            words: vec!["DROP TABLE".into()],
            severity: Severity::High,
        }
    }
}

/// The guard. `new` runs before every check (each check gets a fresh instance): keep it
/// cheap.
pub struct {{type}} {
    words: Vec<String>,
    severity: Severity,
}

impl Guard for {{type}} {
    const NAME: &'static str = "{{guard}}";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &[EventType::FileWrite];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.words.iter().any(|w| w.trim().is_empty()) {
            return Err("config.words must not contain empty words".into());
        }
        let words = config.words.iter().map(|w| w.to_lowercase()).collect();
        Ok({{type}} {
            words,
            severity: config.severity,
        })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        let file = event.file().ok_or("expected file data")?;
        let content = file.content.as_deref().unwrap_or("").to_lowercase();
        host::debug(&format!("{{guard}}: scanning {}", file.path));
        Ok(
            match self.words.iter().find(|w| content.contains(w.as_str())) {
                Some(word) => {
                    Verdict::deny(self.severity, format!("{} contains \"{word}\"", file.path))
                        .with_details(json!({ "word": word }))
                        .with_remediation("Remove the banned word, or ask for it to be allowed.")
                }
                None => Verdict::allow(format!("no banned words in {}", file.path)),
            },
        )
    }
}

export_guard!({{type}});
