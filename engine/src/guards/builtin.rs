//! The built-in guards: the one list of them, and building a policy's built-in guards,
//! compiling what they share only once.
//!
//! [`for_each_builtin_guard!`] is the list. The policy model's `guards:` section, deep
//! merging, defaults, building and composition operands all come from it through
//! [`GuardsSection`](crate::policy::model::GuardsSection)'s generated visitors: adding a
//! built-in guard is one row there plus the guard's own file.
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

/// Every built-in guard, in evaluation order: its `guards:` section (also the guard's
/// name) and its configuration type, with the section's documentation. Calls `$then!`
/// with the rows.
macro_rules! for_each_builtin_guard {
    ($then:ident) => {
        $then! {
            /// Sensitive paths.
            forbidden_path: $crate::guards::forbidden_path::ForbiddenPathConfig,
            /// Allowed paths (1.2.0).
            path_allowlist: $crate::guards::path_allowlist::PathAllowlistConfig,
            /// Network egress.
            egress_allowlist: $crate::guards::egress_allowlist::EgressAllowlistConfig,
            /// Secrets in written content.
            secret_leak: $crate::guards::secret_leak::SecretLeakConfig,
            /// Patch size and content.
            patch_integrity: $crate::guards::patch_integrity::PatchIntegrityConfig,
            /// Shell commands.
            shell_command: $crate::guards::shell_command::ShellCommandConfig,
            /// MCP tools.
            mcp_tool: $crate::guards::mcp_tool::McpToolConfig,
            /// Prompt injection in untrusted text.
            prompt_injection: $crate::guards::prompt_injection::PromptInjectionConfig,
            /// Jailbreak attempts in user input.
            jailbreak: $crate::guards::jailbreak::JailbreakConfig,
        }
    };
}
pub(crate) use for_each_builtin_guard;

/// Something done with each built-in section of a policy, whatever its configuration
/// type: `GuardsSection::visit_builtins` calls [`visit`](Self::visit) once per row.
pub(crate) trait VisitSection {
    /// One section (`None` when the policy does not have it).
    fn visit<C: GuardConfig>(&mut self, section: &Option<C>);
}

/// Two policies' sections combined into one, per built-in guard:
/// `GuardsSection::combine_builtins` calls [`combine`](Self::combine) once per row.
pub(crate) trait CombineSections {
    /// The section of the result from `a`'s and `b`'s.
    fn combine<C: GuardConfig>(&self, a: &Option<C>, b: &Option<C>) -> Option<C>;
}

/// Build each enabled built-in guard of a policy into `out` (guard, extra names), or say
/// what is wrong with its section.
pub(crate) struct TopLevel<'a> {
    /// The policy's compiled forbidden paths.
    pub paths: &'a PolicyPaths,
    /// The guards built, each with the names it answers to.
    pub out: Vec<(Box<dyn Guard>, &'static str)>,
    /// What could not be built.
    pub errors: Vec<GuardBuildError>,
}

impl VisitSection for TopLevel<'_> {
    fn visit<C: GuardConfig>(&mut self, section: &Option<C>) {
        match C::build_in_policy(section, self.paths) {
            Ok(Some(guard)) => self.out.push((guard, C::NAME)),
            Ok(None) => {}
            Err(e) => self.errors.push(e),
        }
    }
}

/// A composition operand's own instance of the built-in guard named `name`: the policy's
/// effective section deep-merged with the operand's `config`. `result` stays `None` when
/// no built-in guard has that name.
pub(crate) struct Operand<'a> {
    /// The operand's guard name.
    pub name: &'a str,
    /// The operand's `config`.
    pub config: &'a serde_json::Value,
    /// The policy's compiled forbidden paths.
    pub paths: &'a PolicyPaths,
    /// The instance, or why not.
    pub result: Option<Result<Box<dyn Guard>, String>>,
}

impl VisitSection for Operand<'_> {
    fn visit<C: GuardConfig>(&mut self, section: &Option<C>) {
        if self.result.is_some() || (self.name != C::NAME && !C::ALIASES.contains(&self.name)) {
            return;
        }
        let built = serde_json::from_value::<C>(self.config.clone())
            .map_err(|e| format!("invalid config for `{}`: {e}", C::NAME))
            .and_then(|child| {
                let merged = section.clone().unwrap_or_default().merge_with(&child);
                C::build_operand(&merged, self.paths)
                    .map_err(|e| format!("config.{}: {}", e.field, e.message))
            });
        self.result = Some(built);
    }
}

/// An absent section gets the guard's defaults; a present one is used as written.
pub(crate) struct Fill;

impl CombineSections for Fill {
    fn combine<C: GuardConfig>(&self, a: &Option<C>, _: &Option<C>) -> Option<C> {
        Some(a.clone().unwrap_or_default())
    }
}

/// Deep merge (`extends` with `merge_strategy: deep_merge`, SPEC.md §7): `a` is the
/// base, `b` the extending policy.
pub(crate) struct DeepMerge;

impl CombineSections for DeepMerge {
    fn combine<C: GuardConfig>(&self, base: &Option<C>, child: &Option<C>) -> Option<C> {
        match (base, child) {
            (Some(b), Some(c)) => Some(b.merge_with(c)),
            (Some(b), None) => Some(b.clone()),
            (None, Some(c)) => Some(C::default().merge_with(c)),
            (None, None) => None,
        }
    }
}

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

/// The built-in rulesets, for the guards' tests.
#[cfg(test)]
pub(crate) mod test_rulesets {
    use serde_json::Value;

    /// `(name, parsed YAML)` of every built-in ruleset.
    pub(crate) fn rulesets() -> Vec<(&'static str, Value)> {
        [
            ("default", include_str!("../../rulesets/default.yaml")),
            ("strict", include_str!("../../rulesets/strict.yaml")),
            ("ai-agent", include_str!("../../rulesets/ai-agent.yaml")),
            ("cicd", include_str!("../../rulesets/cicd.yaml")),
            ("permissive", include_str!("../../rulesets/permissive.yaml")),
        ]
        .into_iter()
        .map(|(n, y)| (n, serde_saphyr::from_str::<Value>(y).expect(n)))
        .collect()
    }

    /// The `guards.<name>` section of a ruleset, if present.
    pub(crate) fn section(doc: &Value, name: &str) -> Option<Value> {
        doc.get("guards").and_then(|g| g.get(name)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::GuardsSection;

    /// Parse, merge over the defaults and build one section of a ruleset, for each
    /// built-in guard in the list.
    struct BuildSections<'a> {
        ruleset: &'a str,
        doc: &'a serde_json::Value,
    }

    impl VisitSection for BuildSections<'_> {
        fn visit<C: GuardConfig>(&mut self, _: &Option<C>) {
            let Some(section) = test_rulesets::section(self.doc, C::NAME) else {
                return;
            };
            let config: C = serde_json::from_value(section)
                .unwrap_or_else(|e| panic!("{}: guards.{}: {e}", self.ruleset, C::NAME));
            C::default()
                .merge_with(&config)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", self.ruleset));
        }
    }

    #[test]
    fn every_ruleset_section_belongs_to_a_builtin_guard_and_builds() {
        for (ruleset, doc) in test_rulesets::rulesets() {
            let sections = doc["guards"].as_object().expect("a guards mapping");
            for name in sections.keys() {
                assert!(
                    super::super::BUILTIN_GUARDS.contains(&name.as_str())
                        || name == "custom"
                        || name == "composition",
                    "{ruleset}: no built-in guard reads `guards.{name}`: add it to \
                     for_each_builtin_guard!"
                );
            }
            GuardsSection::default().visit_builtins(&mut BuildSections { ruleset, doc: &doc });
        }
    }

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
