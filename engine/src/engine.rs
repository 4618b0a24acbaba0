//! Building an engine from a policy and deciding events (DESIGN.md §3.4–3.5).
//!
//! Built once, shared freely: `Engine` is `Send + Sync` and `check` takes `&self`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::audit::AuditLog;
use crate::compose::RuleSet;
use crate::decision::{Contribution, ContributionKind, Decision, Severity, Status};
use crate::event::PolicyEvent;
use crate::guard_table::{GuardId, GuardRun, GuardTable, Outcome};
use crate::guards::{jailbreak, Guard, GuardBuildError, GuardConfig};
use crate::plugin::manifest::{TrustOverride, TrustTier};
use crate::plugin::{PackageRequest, PluginHost, WasmGuard};
use crate::policy::model::{CustomGuardSpec, GuardsSection, PackageGuardSpec, PathGuardSpec};
use crate::policy::{Policy, PolicyError, Problem, Settings};
use crate::resolve::{ClientConfig, PackageQuery, RegistryClient};

/// Errors building an engine are policy errors, each located.
pub type EngineError = PolicyError;

/// A compiled policy that decides events.
#[derive(Debug)]
pub struct Engine {
    table: GuardTable,
    rules: RuleSet,
    /// Top-level guards in evaluation order.
    direct: Vec<GuardId>,
    settings: Settings,
    policy_name: String,
    audit: Option<Arc<AuditLog>>,
}

/// How an engine is built beyond its policy.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// The WebAssembly host for `guards.custom` `path:` entries. When `None` and the
    /// policy has such entries, the process-wide [`PluginHost::shared`] is used.
    pub plugins: Option<PluginHost>,
}

impl Engine {
    /// Build from an effective policy. Every problem is reported, located.
    pub fn new(policy: &Policy) -> Result<Self, EngineError> {
        Self::with_options(policy, EngineOptions::default())
    }

    /// Build from an effective policy with options (a configured plugin host).
    ///
    /// `guards.custom` `package:` entries are resolved with a registry client made from the
    /// client configuration found by [`ClientConfig::discover`] (`$CLAWDSTRIKE_CONFIG`,
    /// else `clawdstrike.yaml` next to the policy; placeholders from the environment); use
    /// [`with_registry`](Self::with_registry) to pass one.
    pub fn with_options(policy: &Policy, options: EngineOptions) -> Result<Self, EngineError> {
        Self::build(policy, options, None)
    }

    /// Build with options and the registry client for `guards.custom` `package:` entries.
    pub fn with_registry(
        policy: &Policy,
        options: EngineOptions,
        registry: RegistryClient,
    ) -> Result<Self, EngineError> {
        Self::build(policy, options, Some(registry))
    }

    fn build(
        policy: &Policy,
        options: EngineOptions,
        mut registry: Option<RegistryClient>,
    ) -> Result<Self, EngineError> {
        let guards = &policy.file.guards;
        let mut plugins = options.plugins;
        let mut problems = Vec::new();
        let mut table = GuardTable::new();
        let mut direct = Vec::new();

        let mut add = |built: Result<Option<Box<dyn Guard>>, GuardBuildError>,
                       aliases: &[&str],
                       table: &mut GuardTable,
                       problems: &mut Vec<Problem>| match built {
            Ok(Some(guard)) => direct.push(table.insert_top_level(Arc::from(guard), aliases)),
            Ok(None) => {}
            Err(e) => problems.push(policy.problem(
                &format!("guards.{}.{}", e.guard, e.field),
                e.message.clone(),
            )),
        };
        // One compiled forbidden-path list serves `forbidden_path` and the path arguments
        // of `shell_command` (guards::builtin).
        let paths = crate::guards::builtin::PolicyPaths::new(&guards.forbidden_path);
        add(paths.forbidden_path_guard(), &[], &mut table, &mut problems);
        add(
            build(&guards.path_allowlist),
            &[],
            &mut table,
            &mut problems,
        );
        add(
            build(&guards.egress_allowlist),
            &[],
            &mut table,
            &mut problems,
        );
        add(build(&guards.secret_leak), &[], &mut table, &mut problems);
        add(
            build(&guards.patch_integrity),
            &[],
            &mut table,
            &mut problems,
        );
        add(
            paths.shell_command(&guards.shell_command),
            &[],
            &mut table,
            &mut problems,
        );
        add(build(&guards.mcp_tool), &[], &mut table, &mut problems);
        add(
            build(&guards.prompt_injection),
            &[],
            &mut table,
            &mut problems,
        );
        add(
            build(&guards.jailbreak),
            &[jailbreak::NAME],
            &mut table,
            &mut problems,
        );

        // Path guards by name, for composition operands that give them their own config.
        let mut path_guards: HashMap<String, (String, &PathGuardSpec)> = HashMap::new();
        // Registry packages by guard name, for the same purpose.
        let mut package_guards: HashMap<String, LoadedPackage> = HashMap::new();
        for (i, spec) in guards.custom.iter().enumerate() {
            if !spec.enabled() {
                continue;
            }
            let field = format!("guards.custom[{i}]");
            let async_block = match spec {
                CustomGuardSpec::Package(p) => p.async_config.as_ref(),
                CustomGuardSpec::Path(p) => p.async_config.as_ref(),
                CustomGuardSpec::Inline(_) => None,
            };
            if let Some(block) = async_block {
                if let Err(e) = crate::resilience::AsyncConfig::from_value(block) {
                    let at = match e.field.as_str() {
                        "" => format!("{field}.async"),
                        f => format!("{field}.async.{f}"),
                    };
                    problems.push(policy.problem(&at, e.message));
                    continue;
                }
            }
            match spec {
                CustomGuardSpec::Inline(entry) => {
                    let name = entry.inline.name.clone();
                    if table.id(&name).is_some() {
                        problems.push(policy.problem(
                            &format!("{field}.inline.name"),
                            format!("a guard named `{name}` already exists; inline guards need a unique name"),
                        ));
                        continue;
                    }
                    match entry.inline.build() {
                        Ok(g) => direct.push(table.insert_top_level(Arc::from(g), &[])),
                        Err(e) => problems.push(
                            policy.problem(&format!("{field}.inline.{}", e.field), e.message),
                        ),
                    }
                }
                CustomGuardSpec::Package(p) => {
                    match load_package_guards(policy, p, &field, &mut plugins, &mut registry) {
                        Ok((guards, loaded)) => {
                            for guard in guards {
                                if table.id(guard.name()).is_some() {
                                    problems.push(policy.problem(
                                        &format!("{field}.package"),
                                        format!(
                                            "the package provides a guard named `{}`, but a guard \
                                             with that name already exists",
                                            guard.name()
                                        ),
                                    ));
                                    continue;
                                }
                                package_guards.insert(guard.name().to_string(), loaded.clone());
                                direct.push(table.insert_top_level(Arc::new(guard), &[]));
                            }
                        }
                        Err(problem) => problems.push(problem),
                    }
                }
                CustomGuardSpec::Path(p) => {
                    match load_path_guards(policy, p, &field, &mut plugins) {
                        Ok(guards) => {
                            for guard in guards {
                                if table.id(guard.name()).is_some() {
                                    problems.push(policy.problem(
                                        &format!("{field}.path"),
                                        format!(
                                            "the package provides a guard named `{}`, but a guard \
                                             with that name already exists",
                                            guard.name()
                                        ),
                                    ));
                                    continue;
                                }
                                path_guards.insert(guard.name().to_string(), (field.clone(), p));
                                direct.push(table.insert_top_level(Arc::new(guard), &[]));
                            }
                        }
                        Err(problem) => problems.push(problem),
                    }
                }
            }
        }
        for (i, legacy) in policy.file.custom_guards.iter().enumerate() {
            if legacy.enabled {
                problems.push(policy.problem(
                    &format!("custom_guards[{i}].id"),
                    format!(
                        "no custom guard with id `{}` is registered in this engine \
                         (set `enabled: false`, or declare it under guards.custom)",
                        legacy.id
                    ),
                ));
            }
        }

        let mut make_instance = |name: &str, config: &serde_json::Value| match path_guards.get(name)
        {
            Some((field, spec)) => {
                path_operand_instance(policy, spec, field, name, config, &mut plugins)
            }
            None => match package_guards.get(name) {
                Some(loaded) => package_operand_instance(loaded, name, config),
                None => operand_instance(guards, name, config),
            },
        };
        let rules = match RuleSet::compile(&guards.composition, &mut table, &mut make_instance) {
            Ok(rules) => rules,
            Err(errors) => {
                for e in errors {
                    let index = guards
                        .composition
                        .iter()
                        .position(|r| r.name == e.rule)
                        .unwrap_or(0);
                    let field = if e.path.is_empty() {
                        format!("guards.composition[{index}]")
                    } else {
                        format!("guards.composition[{index}].{}", e.path)
                    };
                    problems
                        .push(policy.problem(&field, format!("rule `{}`: {}", e.rule, e.message)));
                }
                RuleSet::empty()
            }
        };
        if !problems.is_empty() {
            return Err(PolicyError::Invalid(problems));
        }
        Ok(Engine {
            table,
            rules,
            direct,
            settings: policy.settings(),
            policy_name: policy
                .file
                .name
                .clone()
                .unwrap_or_else(|| policy.source.describe()),
            audit: None,
        })
    }

    /// Build from a built-in ruleset.
    pub fn from_ruleset(name: &str) -> Result<Self, EngineError> {
        Self::new(&Policy::ruleset(name)?)
    }

    /// Build from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, EngineError> {
        Self::new(&Policy::from_yaml(text)?)
    }

    /// Build from a policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, EngineError> {
        Self::new(&Policy::from_file(path)?)
    }

    /// Record every decision in an audit log.
    pub fn with_audit(mut self, audit: Arc<AuditLog>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Effective settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Names of the guards that run directly, in order.
    pub fn guard_names(&self) -> Vec<&str> {
        self.direct
            .iter()
            .map(|id| self.table.get(*id).name())
            .collect()
    }

    /// Decide one event.
    pub fn check(&self, event: &PolicyEvent) -> Decision {
        let mut run = GuardRun::new(&self.table, event);
        let mut consumed = vec![false; self.table.len()];
        let mut results = if self.rules.is_empty() {
            Vec::new()
        } else {
            self.rules.evaluate(&mut run, &mut consumed)
        };
        let stop_early = |results: &[Contribution]| {
            self.settings.fail_fast && results.iter().any(|c| c.status == Status::Deny)
        };
        if !stop_early(&results) {
            for &id in &self.direct {
                if consumed[id] {
                    continue;
                }
                if let Outcome::Done(verdict, micros) = run.outcome(id) {
                    let deny = verdict.status == Status::Deny;
                    results.push(Contribution {
                        name: self.table.get(id).name().to_string(),
                        kind: ContributionKind::Guard,
                        status: verdict.status,
                        severity: verdict.severity,
                        message: verdict.message.clone(),
                        duration_us: *micros,
                        details: verdict.details.clone(),
                        score: None,
                        trace: Vec::new(),
                    });
                    if deny && self.settings.fail_fast {
                        break;
                    }
                }
            }
        }
        let decision = if results.is_empty() {
            self.unexamined(event)
        } else {
            Decision::from_contributions(event.event_id.clone(), results)
        };
        if let Some(audit) = &self.audit {
            audit.record(&self.policy_name, event, &decision);
        }
        decision
    }

    /// The decision for an event that no enabled guard or rule examines.
    fn unexamined(&self, event: &PolicyEvent) -> Decision {
        let what = match event.custom_type() {
            Some(t) => format!("`custom` events of type `{t}`"),
            None => format!("`{}` events", event.event_type),
        };
        let setting = self.settings.unexamined_events;
        let reason = format!(
            "no enabled guard or rule examines {what}; settings.unexamined_events is `{setting}`"
        );
        if setting == Status::Allow {
            let mut d = Decision::from_contributions(event.event_id.clone(), Vec::new());
            d.reason = format!("allowed: {reason}");
            return d;
        }
        let start = Instant::now();
        let contribution = Contribution {
            name: "unexamined_events".into(),
            kind: ContributionKind::Engine,
            status: setting,
            severity: if setting == Status::Deny {
                Severity::High
            } else {
                Severity::Medium
            },
            message: reason,
            duration_us: start.elapsed().as_micros() as u64,
            details: None,
            score: None,
            trace: Vec::new(),
        };
        Decision::from_contributions(event.event_id.clone(), vec![contribution])
    }
}

fn build<C: GuardConfig>(section: &Option<C>) -> Result<Option<Box<dyn Guard>>, GuardBuildError> {
    let config = section.clone().unwrap_or_default();
    if !config.enabled() {
        return Ok(None);
    }
    config.build().map(Some)
}

/// A guard instance for a composition operand with its own `config`: the policy's
/// effective config for that guard, deep-merged with the operand's.
fn operand_instance(
    guards: &GuardsSection,
    name: &str,
    config: &serde_json::Value,
) -> Result<Arc<dyn Guard>, String> {
    fn with<C: GuardConfig>(
        base: &Option<C>,
        config: &serde_json::Value,
    ) -> Result<Arc<dyn Guard>, String> {
        let child: C = serde_json::from_value(config.clone())
            .map_err(|e| format!("invalid config for `{}`: {e}", C::NAME))?;
        let merged = base.clone().unwrap_or_default().merge_with(&child);
        merged
            .build()
            .map(Arc::from)
            .map_err(|e| format!("config.{}: {}", e.field, e.message))
    }
    use crate::guards::*;
    match name {
        forbidden_path::NAME => with(&guards.forbidden_path, config),
        path_allowlist::NAME => with(&guards.path_allowlist, config),
        egress_allowlist::NAME => with(&guards.egress_allowlist, config),
        secret_leak::NAME => with(&guards.secret_leak, config),
        patch_integrity::NAME => with(&guards.patch_integrity, config),
        // Path arguments are checked against the policy's forbidden paths, as for the
        // policy's own `shell_command`.
        shell_command::NAME => {
            let child: shell_command::ShellCommandConfig =
                serde_json::from_value(config.clone())
                    .map_err(|e| format!("invalid config for `{}`: {e}", shell_command::NAME))?;
            let merged = guards
                .shell_command
                .clone()
                .unwrap_or_default()
                .merge_with(&child);
            builtin::PolicyPaths::new(&guards.forbidden_path)
                .shell_command_guard(&merged)
                .map(Arc::from)
                .map_err(|e| format!("config.{}: {}", e.field, e.message))
        }
        mcp_tool::NAME => with(&guards.mcp_tool, config),
        prompt_injection::NAME => with(&guards.prompt_injection, config),
        jailbreak::NAME | jailbreak::GUARD_NAME => with(&guards.jailbreak, config),
        other => Err(format!(
            "`config` on an operand is supported for built-in and `path:` guards; `{other}` is neither"
        )),
    }
}

/// A separate instance of a path guard for a composition operand with its own `config`:
/// the entry's config deep-merged with the operand's, loaded from the same package.
fn path_operand_instance(
    policy: &Policy,
    spec: &PathGuardSpec,
    field: &str,
    name: &str,
    config: &serde_json::Value,
    plugins: &mut Option<PluginHost>,
) -> Result<Arc<dyn Guard>, String> {
    let base = spec.config.clone().unwrap_or_else(|| serde_json::json!({}));
    let operand = PathGuardSpec {
        config: Some(merge_config(&base, config)),
        ..spec.clone()
    };
    let guards = load_path_guards(policy, &operand, field, plugins).map_err(|p| p.message)?;
    guards
        .into_iter()
        .find(|g| g.name() == name)
        .map(|g| Arc::new(g) as Arc<dyn Guard>)
        .ok_or_else(|| format!("the package no longer provides `{name}`"))
}

/// Deep-merge JSON configuration: objects merge key by key, anything else is replaced.
fn merge_config(base: &serde_json::Value, child: &serde_json::Value) -> serde_json::Value {
    match (base, child) {
        (serde_json::Value::Object(b), serde_json::Value::Object(c)) => {
            let mut merged = b.clone();
            for (k, v) in c {
                let value = match b.get(k) {
                    Some(existing) => merge_config(existing, v),
                    None => v.clone(),
                };
                merged.insert(k.clone(), value);
            }
            serde_json::Value::Object(merged)
        }
        _ => child.clone(),
    }
}

/// Load the guards of a `guards.custom` `path:` entry, or say (located) why not.
fn load_path_guards(
    policy: &Policy,
    spec: &PathGuardSpec,
    field: &str,
    plugins: &mut Option<PluginHost>,
) -> Result<Vec<WasmGuard>, Problem> {
    let trust_override = match &spec.trust_override {
        None => None,
        Some(value) => Some(
            serde_json::from_value::<TrustOverride>(value.clone())
                .map_err(|e| policy.problem(&format!("{field}.trust_override"), e.to_string()))?,
        ),
    };
    let host = match plugins {
        Some(host) => host.clone(),
        None => {
            let host = PluginHost::shared()
                .map_err(|e| policy.problem(&format!("{field}.path"), e.to_string()))?;
            *plugins = Some(host.clone());
            host
        }
    };
    let path = policy.source.dir().join(&spec.path);
    let empty = serde_json::Value::Object(Default::default());
    // A local package is entitled to what the policy grants it, community by default.
    let entitled = trust_override
        .as_ref()
        .and_then(|t| t.max_trust_tier)
        .unwrap_or(TrustTier::Community);
    host.load(PackageRequest {
        path: &path,
        config: spec.config.as_ref().unwrap_or(&empty),
        trust_override: trust_override.as_ref(),
        entitled,
    })
    .map_err(|e| {
        let at = match e {
            crate::plugin::PluginError::Config { .. } | crate::plugin::PluginError::Init { .. } => {
                format!("{field}.config")
            }
            crate::plugin::PluginError::Refused { .. } if spec.trust_override.is_some() => {
                format!("{field}.trust_override")
            }
            _ => format!("{field}.path"),
        };
        policy.problem(&at, e.to_string())
    })
}

/// A registry package as loaded for a `guards.custom` `package:` entry: what a
/// composition operand needs to load another instance with its own config.
#[derive(Debug, Clone)]
struct LoadedPackage {
    host: PluginHost,
    dir: std::path::PathBuf,
    config: serde_json::Value,
    trust_override: Option<TrustOverride>,
    entitled: TrustTier,
}

/// Resolve, fetch and verify a `guards.custom` `package:` entry (crate::resolve), then load
/// its guards from the verified copy in the package cache, entitled to the tier the
/// registry signed (capped by `trust_override.max_trust_tier`). Errors point at the
/// entry's `package` field (`config` / `trust_override` when those are the cause).
fn load_package_guards(
    policy: &Policy,
    spec: &PackageGuardSpec,
    field: &str,
    plugins: &mut Option<PluginHost>,
    registry: &mut Option<RegistryClient>,
) -> Result<(Vec<WasmGuard>, LoadedPackage), Problem> {
    let at_package = format!("{field}.package");
    let trust_override = match &spec.trust_override {
        None => None,
        Some(value) => Some(
            serde_json::from_value::<TrustOverride>(value.clone())
                .map_err(|e| policy.problem(&format!("{field}.trust_override"), e.to_string()))?,
        ),
    };
    let client = match registry {
        Some(client) => client.clone(),
        None => {
            let policy_dir = match &policy.source {
                crate::policy::Source::File(_) => Some(policy.base_dir()),
                _ => None,
            };
            let config = ClientConfig::discover(
                None,
                policy_dir.as_deref(),
                &crate::policy::placeholders::Resolver::default(),
            )
            .map_err(|e| policy.problem(&at_package, format!("client configuration: {e}")))?;
            let client = RegistryClient::new(config)
                .map_err(|e| policy.problem(&at_package, e.to_string()))?;
            *registry = Some(client.clone());
            client
        }
    };
    let query = PackageQuery {
        name: spec.package.clone(),
        ecosystem: spec.registry,
        range: spec.version.clone().unwrap_or_else(|| "*".to_string()),
        integrity: spec.integrity.clone(),
    };
    let fetched = client
        .fetch(&query)
        .map_err(|e| policy.problem(&at_package, e.to_string()))?;
    let host = match plugins {
        Some(host) => host.clone(),
        None => {
            let host =
                PluginHost::shared().map_err(|e| policy.problem(&at_package, e.to_string()))?;
            *plugins = Some(host.clone());
            host
        }
    };
    // Entitled to what the registry signed, never more than the policy allows.
    let signed = fetched.trust_tier();
    let entitled = match trust_override.as_ref().and_then(|t| t.max_trust_tier) {
        Some(ceiling) => signed.min(ceiling),
        None => signed,
    };
    let config = spec
        .config
        .clone()
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let guards = host
        .load(PackageRequest {
            path: &fetched.dir,
            config: &config,
            trust_override: trust_override.as_ref(),
            entitled,
        })
        .map_err(|e| {
            let at = match e {
                crate::plugin::PluginError::Config { .. }
                | crate::plugin::PluginError::Init { .. } => format!("{field}.config"),
                crate::plugin::PluginError::Refused { .. } if spec.trust_override.is_some() => {
                    format!("{field}.trust_override")
                }
                _ => at_package.clone(),
            };
            policy.problem(
                &at,
                format!(
                    "{}@{} from registry {}: {e}",
                    spec.package, fetched.version, fetched.registry
                ),
            )
        })?;
    Ok((
        guards,
        LoadedPackage {
            host,
            dir: fetched.dir,
            config,
            trust_override,
            entitled,
        },
    ))
}

/// A separate instance of a registry package's guard for a composition operand with its
/// own `config`, loaded from the same verified directory.
fn package_operand_instance(
    loaded: &LoadedPackage,
    name: &str,
    config: &serde_json::Value,
) -> Result<Arc<dyn Guard>, String> {
    let merged = merge_config(&loaded.config, config);
    let guards = loaded
        .host
        .load(PackageRequest {
            path: &loaded.dir,
            config: &merged,
            trust_override: loaded.trust_override.as_ref(),
            entitled: loaded.entitled,
        })
        .map_err(|e| e.to_string())?;
    guards
        .into_iter()
        .find(|g| g.name() == name)
        .map(|g| Arc::new(g) as Arc<dyn Guard>)
        .ok_or_else(|| format!("the package no longer provides `{name}`"))
}

#[cfg(test)]
mod tests {
    use super::merge_config;
    use serde_json::json;

    #[test]
    fn operand_config_merges_objects_and_replaces_everything_else() {
        let base = json!({"a": {"x": 1, "y": [1, 2]}, "b": "keep", "c": 3});
        let child = json!({"a": {"y": [9]}, "c": {"new": true}});
        assert_eq!(
            merge_config(&base, &child),
            json!({"a": {"x": 1, "y": [9]}, "b": "keep", "c": {"new": true}})
        );
        assert_eq!(merge_config(&json!({}), &json!(null)), json!(null));
    }
}
