//! Two guards in one package:
//! - `{{guard}}_paths` denies writes under protected path prefixes;
//! - `{{guard}}_commands` denies commands that start with a blocked program.
//!
//! Both read the same `config:` (a package's guards share it), each its own key. The
//! component exports one guard: the `paths` or `commands` feature picks which.

use clawdstrike_guard_sdk::{Event, EventType, Guard, Severity, Verdict};
use serde::Deserialize;
use serde_json::json;

/// The package's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Path prefixes no file may be written under.
    pub protected_paths: Vec<String>,
    /// Programs that may not be run.
    pub blocked_commands: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protected_paths: vec!["/etc/".into(), ".git/".into()],
            blocked_commands: vec!["curl".into(), "wget".into()],
        }
    }
}

/// Denies writes under protected paths.
pub struct {{type}}Paths {
    prefixes: Vec<String>,
}

impl Guard for {{type}}Paths {
    const NAME: &'static str = "{{guard}}_paths";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &[EventType::FileWrite];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok({{type}}Paths {
            prefixes: config.protected_paths,
        })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        let file = event.file().ok_or("expected file data")?;
        Ok(
            match self.prefixes.iter().find(|p| file.path.starts_with(p.as_str())) {
                Some(prefix) => Verdict::deny(
                    Severity::High,
                    format!("{} is under the protected path {prefix}", file.path),
                )
                .with_details(json!({ "prefix": prefix })),
                None => Verdict::allow(format!("{} is not protected", file.path)),
            },
        )
    }
}

/// Denies blocked commands.
pub struct {{type}}Commands {
    blocked: Vec<String>,
}

impl Guard for {{type}}Commands {
    const NAME: &'static str = "{{guard}}_commands";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &[EventType::CommandExec];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        Ok({{type}}Commands {
            blocked: config.blocked_commands,
        })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        let command = event.command().ok_or("expected command data")?;
        // The program is the first word, without its directory.
        let first = command.command.split_whitespace().next().unwrap_or("");
        let program = first.rsplit('/').next().unwrap_or(first);
        Ok(if self.blocked.iter().any(|b| b == program) {
            Verdict::deny(Severity::High, format!("`{program}` may not be run"))
                .with_details(json!({ "program": program }))
        } else {
            Verdict::allow(format!("`{program}` is not blocked"))
        })
    }
}

#[cfg(all(feature = "paths", feature = "commands"))]
compile_error!("a component exports one guard: build with `--features paths` or `--features commands`, not both");

#[cfg(feature = "paths")]
clawdstrike_guard_sdk::export_guard!({{type}}Paths);

#[cfg(feature = "commands")]
clawdstrike_guard_sdk::export_guard!({{type}}Commands);
