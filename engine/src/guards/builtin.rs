//! Building a policy's built-in guards, compiling what they share only once.
//!
//! `shell_command` checks the path arguments of commands against the forbidden paths. It
//! uses the policy's own list (the effective `forbidden_path` patterns and exceptions)
//! whenever the `forbidden_path` guard is enabled, so both guards protect the same paths,
//! and one compiled list serves both. When `forbidden_path` is disabled the shell guard
//! keeps the built-in default list.

use std::sync::Arc;

use super::forbidden_path::{self, ForbiddenPathConfig, ForbiddenPathGuard, ForbiddenPaths};
use super::shell_command::{ShellCommandConfig, ShellCommandGuard};
use super::{Guard, GuardBuildError, GuardConfig};

/// A built-in guard built from its policy section: `None` when it is disabled.
pub type Built = Result<Option<Box<dyn Guard>>, GuardBuildError>;

/// The forbidden paths of one policy, compiled once.
#[derive(Debug)]
pub struct PolicyPaths {
    /// The `forbidden_path` section in force (defaults when absent).
    config: ForbiddenPathConfig,
    /// The compiled list when the guard is enabled.
    compiled: Option<Result<Arc<ForbiddenPaths>, GuardBuildError>>,
}

impl PolicyPaths {
    /// Compile a policy's `forbidden_path` section (nothing when it is disabled).
    pub fn new(section: &Option<ForbiddenPathConfig>) -> Self {
        let config = section.clone().unwrap_or_default();
        let compiled = config
            .enabled
            .then(|| ForbiddenPaths::new(&config).map(Arc::new));
        Self { config, compiled }
    }

    /// The `forbidden_path` guard.
    pub fn forbidden_path_guard(&self) -> Built {
        match &self.compiled {
            None => Ok(None),
            Some(Ok(paths)) => Ok(Some(Box::new(ForbiddenPathGuard::with_paths(
                self.config.enabled,
                Arc::clone(paths),
            )))),
            Some(Err(e)) => Err(e.clone()),
        }
    }

    /// The paths `shell_command` checks: the policy's when `forbidden_path` is enabled
    /// (`None` if they failed to compile; that error is reported for `forbidden_path` and
    /// the engine is not built), else the built-in defaults.
    pub fn for_shell(&self) -> Result<Option<Arc<ForbiddenPaths>>, GuardBuildError> {
        match &self.compiled {
            Some(compiled) => Ok(compiled.as_ref().ok().cloned()),
            None => {
                let defaults = forbidden_path::default_patterns();
                ForbiddenPaths::from_lists(&defaults, &[])
                    .map(|p| Some(Arc::new(p)))
                    .map_err(|e| {
                        GuardBuildError::new(
                            super::shell_command::NAME,
                            "enforce_forbidden_paths",
                            format!("{e}"),
                        )
                    })
            }
        }
    }

    /// A `shell_command` guard for a configuration (the policy's section, or a composition
    /// operand's merged config) that checks path arguments against these paths.
    pub fn shell_command_guard(
        &self,
        config: &ShellCommandConfig,
    ) -> Result<Box<dyn Guard>, GuardBuildError> {
        let paths = if config.enforce_forbidden_paths.unwrap_or(true) {
            self.for_shell()?
        } else {
            None
        };
        Ok(Box::new(ShellCommandGuard::with_forbidden_paths(
            config, paths,
        )?))
    }

    /// The policy's `shell_command` guard.
    pub fn shell_command(&self, section: &Option<ShellCommandConfig>) -> Built {
        let config = section.clone().unwrap_or_default();
        if !config.enabled() {
            return Ok(None);
        }
        self.shell_command_guard(&config).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;
    use crate::event::PolicyEvent;
    use crate::Engine;

    fn shell(engine: &Engine, line: &str) -> (Status, Option<String>, String) {
        let d = engine.check(&PolicyEvent::command("e", line, &[]));
        (d.status, d.guard, d.message)
    }

    #[test]
    fn shell_commands_protect_the_policys_forbidden_paths() {
        let engine = Engine::from_yaml(
            r#"
version: "1.1.0"
guards:
  forbidden_path:
    patterns: ["/srv/secrets/**", "**/.env", "**/.env.*"]
    exceptions: ["**/.env.example"]
"#,
        )
        .unwrap();
        let (status, guard, message) = shell(&engine, "cat /srv/secrets/db.key");
        assert_eq!(status, Status::Deny);
        assert_eq!(guard.as_deref(), Some("shell_command"));
        assert_eq!(
            message,
            "Shell command touches forbidden path: /srv/secrets/db.key"
        );
        assert_eq!(shell(&engine, "cat /app/.env").0, Status::Deny);
        // The policy's exceptions apply to shell arguments too.
        assert_eq!(shell(&engine, "cat /app/.env.example").0, Status::Allow);
        // The policy replaced the default list, so `~/.ssh` is no longer forbidden.
        assert_eq!(shell(&engine, "cat ~/.ssh/config").0, Status::Allow);
        // Both guards use the same list.
        let read = engine.check(&PolicyEvent::file_read("r", "/srv/secrets/db.key"));
        assert_eq!(read.guard.as_deref(), Some("forbidden_path"));
        assert_eq!(read.status, Status::Deny);
    }

    #[test]
    fn with_forbidden_path_disabled_shell_commands_keep_the_default_list() {
        let engine = Engine::from_yaml(
            r#"
version: "1.1.0"
guards:
  forbidden_path:
    enabled: false
    patterns: ["/srv/secrets/**"]
"#,
        )
        .unwrap();
        assert_eq!(shell(&engine, "cat ~/.ssh/id_rsa").0, Status::Deny);
        assert_eq!(shell(&engine, "cat /srv/secrets/db.key").0, Status::Allow);
        let read = engine.check(&PolicyEvent::file_read("r", "/home/u/.ssh/id_rsa"));
        assert_ne!(read.guard.as_deref(), Some("forbidden_path"));
    }

    #[test]
    fn an_invalid_forbidden_path_list_is_reported_once() {
        let err = Engine::from_yaml(
            r#"
version: "1.1.0"
guards:
  forbidden_path:
    patterns: ["[unclosed"]
"#,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err.matches("guards.forbidden_path.patterns[0]").count(),
            1,
            "{err}"
        );
        assert!(!err.contains("shell_command"), "{err}");
    }

    #[test]
    fn operand_configs_get_the_same_paths() {
        let paths = PolicyPaths::new(&Some(ForbiddenPathConfig {
            patterns: Some(vec!["/srv/secrets/**".into()]),
            ..Default::default()
        }));
        let guard = paths
            .shell_command_guard(&ShellCommandConfig::default())
            .unwrap();
        let st = |l: &str| {
            guard
                .check(&PolicyEvent::command("e", l, &[]))
                .unwrap()
                .status
        };
        assert_eq!(st("cat /srv/secrets/x"), Status::Deny);
        let off = paths
            .shell_command_guard(&ShellCommandConfig {
                enforce_forbidden_paths: Some(false),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            off.check(&PolicyEvent::command("e", "cat /srv/secrets/x", &[]))
                .unwrap()
                .status,
            Status::Allow
        );
    }
}
