//! Building an engine from a policy and deciding events (DESIGN.md §3.4–3.5).
//!
//! Built once, shared freely: `Engine` is `Send + Sync` and `check` takes `&self`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::audit::AuditLog;
use crate::compose::RuleSet;
use crate::decision::{Contribution, ContributionKind, Decision, Severity, Status, Verdict};
use crate::event::PolicyEvent;
use crate::external::integrations;
use crate::external::runtime::AsyncRuntime;
use crate::external::slot::{AsyncPlaceholder, AsyncSlot, Finished};
use crate::guard_table::{GuardId, GuardRun, GuardTable, Outcome};
use crate::guards::builtin::{self, PolicyPaths};
use crate::guards::Guard;
use crate::plugin::manifest::{TrustOverride, TrustTier};
use crate::plugin::{PackageRequest, PluginHost, WasmGuard};
use crate::policy::model::{CustomGuardSpec, GuardsSection, PackageGuardSpec, PathGuardSpec};
use crate::policy::{Policy, PolicyError, Problem, Settings};
use crate::resilience::{AsyncConfig, ExecutionMode};
use crate::resolve::{PackageQuery, RegistryClient};

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
    /// Guards with an `async:` block or a first-party service, by table index.
    asyncs: Vec<(GuardId, Arc<AsyncSlot>)>,
    /// Where their calls run; `None` for a policy without them (the synchronous path).
    runtime: Option<Arc<AsyncRuntime>>,
}

/// Builds an [`Engine`] from a policy and what the embedder supplies: the WebAssembly
/// host that runs `guards.custom` `path:` and `package:` guards, the registry client that
/// resolves `package:` guards, an audit log.
///
/// Nothing is discovered behind the caller's back: the builder reads no environment
/// variable and starts no process-wide host. Where a policy has WebAssembly guards and no
/// host was given, the engine gets a host of its own with [`HostOptions::default`] (no
/// compiled-component cache, no secrets); where it has `package:` guards and no registry
/// client was given, building fails at that entry. The `clawdstrike` CLI discovers the
/// client configuration (`clawdstrike.yaml`), the cache directories and the secrets, and
/// passes them in.
///
/// ```
/// use clawdstrike_engine::{Engine, Policy, PolicyEvent, Status};
///
/// let policy = Policy::from_yaml("version: \"1.2.0\"\nextends: strict\n").unwrap();
/// let engine = Engine::builder(&policy).build().unwrap();
/// let decision = engine.check(&PolicyEvent::file_read("e1", "/etc/shadow"));
/// assert_eq!(decision.status, Status::Deny);
/// ```
#[derive(Debug)]
pub struct EngineBuilder<'p> {
    policy: &'p Policy,
    plugins: Option<PluginHost>,
    registry: Option<RegistryClient>,
    audit: Option<Arc<AuditLog>>,
}

impl EngineBuilder<'_> {
    /// The WebAssembly host for `path:` and `package:` guards (share one host between the
    /// engines of a process: it holds the compiled components).
    pub fn plugin_host(mut self, host: PluginHost) -> Self {
        self.plugins = Some(host);
        self
    }

    /// The registry client that resolves, fetches and verifies `package:` guards.
    pub fn registry(mut self, client: RegistryClient) -> Self {
        self.registry = Some(client);
        self
    }

    /// Record every decision, external call and background result in `audit`.
    pub fn audit(mut self, audit: Arc<AuditLog>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Build the engine. Every problem of the policy is reported, each located.
    pub fn build(self) -> Result<Engine, EngineError> {
        let engine = Engine::build(self.policy, self.plugins, self.registry)?;
        Ok(match self.audit {
            Some(audit) => engine.with_audit(audit),
            None => engine,
        })
    }
}

impl Engine {
    /// A builder for an engine deciding by `policy` (an effective policy: loaded,
    /// extended, merged).
    pub fn builder(policy: &Policy) -> EngineBuilder<'_> {
        EngineBuilder {
            policy,
            plugins: None,
            registry: None,
            audit: None,
        }
    }

    /// Build from an effective policy with nothing else supplied: see [`EngineBuilder`].
    pub fn new(policy: &Policy) -> Result<Self, EngineError> {
        Self::builder(policy).build()
    }

    fn build(
        policy: &Policy,
        mut plugins: Option<PluginHost>,
        registry: Option<RegistryClient>,
    ) -> Result<Self, EngineError> {
        let guards = &policy.file.guards;
        let mut problems = Vec::new();
        let mut table = GuardTable::new();
        let mut direct = Vec::new();
        let mut asyncs: Vec<(GuardId, Arc<AsyncSlot>)> = Vec::new();

        // The built-in guards, in the order of the one list (guards::builtin). One
        // compiled forbidden-path list serves `forbidden_path` and the path arguments of
        // `shell_command`.
        let paths = PolicyPaths::new(&guards.forbidden_path);
        let mut builtins = builtin::TopLevel {
            paths: &paths,
            out: Vec::new(),
            errors: Vec::new(),
        };
        guards.visit_builtins(&mut builtins);
        for (guard, section) in builtins.out {
            direct.push(table.insert_top_level(Arc::from(guard), &[section]));
        }
        for e in builtins.errors {
            problems.push(policy.problem(&format!("guards.{}.{}", e.guard, e.field), e.message));
        }

        // WebAssembly packages by guard name, for composition operands that give a guard
        // its own config (another instance, loaded from the same package).
        let mut wasm_packages: HashMap<String, LoadedPackage> = HashMap::new();
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
            let async_config = match async_block.map(AsyncConfig::from_value) {
                None => None,
                Some(Ok(config)) => Some(config),
                Some(Err(e)) => {
                    let at = match e.field.as_str() {
                        "" => format!("{field}.async"),
                        f => format!("{field}.async.{f}"),
                    };
                    problems.push(policy.problem(&at, e.message));
                    continue;
                }
            };
            let mut add_async = |slot: AsyncSlot,
                                 at: &str,
                                 table: &mut GuardTable,
                                 direct: &mut Vec<GuardId>,
                                 problems: &mut Vec<Problem>| {
                place_async(slot, at, policy, table, direct, &mut asyncs, problems)
            };
            if let CustomGuardSpec::Package(p) = spec {
                let empty = serde_json::Value::Object(Default::default());
                if let Some(built) =
                    integrations::build(&p.package, p.config.as_ref().unwrap_or(&empty))
                {
                    match built {
                        Ok(guard) => {
                            match AsyncSlot::service(guard, async_config.unwrap_or_default()) {
                                Ok(slot) => add_async(
                                    slot,
                                    &format!("{field}.package"),
                                    &mut table,
                                    &mut direct,
                                    &mut problems,
                                ),
                                Err(e) => {
                                    problems.push(policy.problem(&format!("{field}.package"), e))
                                }
                            }
                        }
                        Err(e) => {
                            let at = match e.field.as_str() {
                                "" => format!("{field}.config"),
                                f => format!("{field}.config.{f}"),
                            };
                            problems
                                .push(policy.problem(&at, format!("{}: {}", p.package, e.message)));
                        }
                    }
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
                CustomGuardSpec::Package(_) | CustomGuardSpec::Path(_) => {
                    // `path:` and `package:` differ only in where the package is; from
                    // there both load the same way (load_wasm_package).
                    let (key, located) = match spec {
                        CustomGuardSpec::Package(p) => (
                            "package",
                            resolve_package(policy, p, &field, registry.as_ref()),
                        ),
                        CustomGuardSpec::Path(p) => ("path", Ok(local_package(policy, p))),
                        CustomGuardSpec::Inline(_) => unreachable!("matched above"),
                    };
                    let at = format!("{field}.{key}");
                    let loaded = located.and_then(|package| {
                        load_wasm_package(policy, &field, &at, package, &mut plugins)
                    });
                    match loaded {
                        Ok((guards, loaded)) => {
                            for guard in guards {
                                if table.id(guard.name()).is_some() {
                                    problems.push(policy.problem(
                                        &at,
                                        format!(
                                            "the package provides a guard named `{}`, but a guard \
                                             with that name already exists",
                                            guard.name()
                                        ),
                                    ));
                                    continue;
                                }
                                wasm_packages.insert(guard.name().to_string(), loaded.clone());
                                match &async_config {
                                    Some(c) => add_async(
                                        AsyncSlot::wasm(guard, c.clone()),
                                        &at,
                                        &mut table,
                                        &mut direct,
                                        &mut problems,
                                    ),
                                    None => {
                                        direct.push(table.insert_top_level(Arc::new(guard), &[]))
                                    }
                                }
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

        let mut make_instance =
            |name: &str, config: &serde_json::Value| match wasm_packages.get(name) {
                Some(loaded) => package_operand_instance(loaded, name, config),
                None => operand_instance(guards, &paths, name, config),
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
        let runtime = if asyncs.is_empty() {
            None
        } else {
            Some(Arc::new(AsyncRuntime::new().map_err(|e| {
                PolicyError::Io {
                    path: std::path::PathBuf::from(policy.source.describe()),
                    message: format!("cannot start the runtime for async guards: {e}"),
                }
            })?))
        };
        Ok(Engine {
            asyncs,
            runtime,
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

    /// Record every decision in an audit log, with every external call and background
    /// result of async guards.
    pub fn with_audit(mut self, audit: Arc<AuditLog>) -> Self {
        for (_, slot) in &self.asyncs {
            slot.set_audit(audit.clone());
        }
        self.audit = Some(audit);
        self
    }

    /// Whether the policy has async guards (first-party services, or guards with an
    /// `async:` block). Without them [`check_async`](Self::check_async) is
    /// [`check`](Self::check).
    pub fn has_async_guards(&self) -> bool {
        self.runtime.is_some()
    }

    /// Background checks still running.
    pub fn background_pending(&self) -> usize {
        self.runtime.as_ref().map_or(0, |rt| rt.pending())
    }

    /// Wait up to `timeout` for background checks to record their results; true when all
    /// finished. The CLI calls this before it exits.
    pub fn drain_background(&self, timeout: std::time::Duration) -> bool {
        self.runtime
            .as_ref()
            .is_none_or(|rt| rt.drain_blocking(timeout))
    }

    /// Wait for the background checks started so far, as long as the slowest of them may
    /// take (its `timeout_ms`, plus a second).
    pub fn finish_background(&self) -> bool {
        self.drain_background(self.longest_async_timeout())
    }

    /// The longest `timeout_ms` of any async guard, plus a second of slack.
    pub fn longest_async_timeout(&self) -> std::time::Duration {
        let longest = self
            .asyncs
            .iter()
            .map(|(_, s)| s.config().timeout())
            .max()
            .unwrap_or_default();
        longest + std::time::Duration::from_secs(1)
    }

    /// [`drain_background`](Self::drain_background) for async callers (the daemon on
    /// shutdown).
    pub async fn drain_background_async(&self, timeout: std::time::Duration) -> bool {
        match &self.runtime {
            Some(rt) => rt.drain(timeout).await,
            None => true,
        }
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
    ///
    /// With async guards this waits for them (they run on the engine's own runtime); in
    /// async code prefer [`check_async`](Self::check_async), which does not block a thread.
    pub fn check(&self, event: &PolicyEvent) -> Decision {
        if self.runtime.is_some() {
            return futures_executor::block_on(self.check_async(event));
        }
        let mut run = GuardRun::new(&self.table, event);
        let decision = self.decide(&mut run, event);
        self.audit_decision(event, &decision);
        decision
    }

    /// Decide one event, awaiting async guards (SPEC.md §4):
    ///
    /// * a cached answer within `ttl_seconds` is used at once, with no request;
    /// * `parallel` guards are asked while the synchronous guards run;
    /// * `sequential` guards are asked after them, and not at all when the decision is
    ///   already deny;
    /// * `background` guards contribute their `on_timeout` verdict now, and their real
    ///   result goes to the audit log (`async_result`) under the same event id.
    ///
    /// A policy without async guards takes the synchronous path: no task, no allocation
    /// beyond [`check`](Self::check)'s.
    pub async fn check_async(&self, event: &PolicyEvent) -> Decision {
        let Some(rt) = &self.runtime else {
            let mut run = GuardRun::new(&self.table, event);
            let decision = self.decide(&mut run, event);
            self.audit_decision(event, &decision);
            return decision;
        };
        let mut run = GuardRun::new(&self.table, event);
        let mut shared: Option<Arc<PolicyEvent>> = None;
        let mut shared_event = || {
            shared
                .get_or_insert_with(|| Arc::new(event.clone()))
                .clone()
        };
        let mut parallel = Vec::new();
        let mut sequential = Vec::new();
        for (id, slot) in &self.asyncs {
            let Some(plan) = slot.plan(event) else {
                run.set(*id, Outcome::Skipped);
                continue;
            };
            if let Some(hit) = slot.cached(&plan) {
                run.set(*id, outcome(hit, 0));
                continue;
            }
            match slot.mode() {
                ExecutionMode::Parallel => {
                    parallel.push((*id, rt.spawn(slot.clone().run(shared_event(), plan))))
                }
                ExecutionMode::Sequential => sequential.push((*id, slot, plan)),
                ExecutionMode::Background => {
                    let now = slot.background_default(&plan, event);
                    let returned = now.status;
                    run.set(*id, Outcome::Done(now, 0));
                    rt.spawn_background(slot.clone().run_in_background(
                        shared_event(),
                        plan,
                        returned,
                    ));
                }
            }
        }
        if !parallel.is_empty() {
            // The synchronous guards run here while the calls are in flight.
            for id in 0..self.table.len() {
                if !self.asyncs.iter().any(|(a, _)| *a == id) {
                    run.outcome(id);
                }
            }
            for (id, handle) in parallel {
                run.set(id, joined(handle.await));
            }
        }
        if !sequential.is_empty() {
            let mut without = run.clone();
            for (id, _, _) in &sequential {
                without.set(*id, Outcome::Skipped);
            }
            let so_far = self.decide(&mut without, event);
            if so_far.status == Status::Deny {
                // Nothing can undo a deny: spare the services the question.
                self.audit_decision(event, &so_far);
                return so_far;
            }
            let handles: Vec<_> = sequential
                .into_iter()
                .map(|(id, slot, plan)| (id, rt.spawn(slot.clone().run(shared_event(), plan))))
                .collect();
            for (id, handle) in handles {
                run.set(id, joined(handle.await));
            }
        }
        let decision = self.decide(&mut run, event);
        self.audit_decision(event, &decision);
        decision
    }

    fn audit_decision(&self, event: &PolicyEvent, decision: &Decision) {
        if let Some(audit) = &self.audit {
            audit.record(&self.policy_name, event, decision);
        }
    }

    /// The decision from the guards' outcomes (run now, or recalled from `run`).
    fn decide(&self, run: &mut GuardRun<'_>, event: &PolicyEvent) -> Decision {
        let mut consumed = vec![false; self.table.len()];
        let mut results = if self.rules.is_empty() {
            Vec::new()
        } else {
            self.rules.evaluate(run, &mut consumed)
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
        if results.is_empty() {
            self.unexamined(event)
        } else {
            Decision::from_contributions(event.event_id.clone(), results)
        }
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

/// A first-party service, or a WebAssembly guard under an `async:` block: a placeholder
/// in the table (so names and rules find it), the guard itself in `asyncs`.
fn place_async(
    slot: AsyncSlot,
    at: &str,
    policy: &Policy,
    table: &mut GuardTable,
    direct: &mut Vec<GuardId>,
    asyncs: &mut Vec<(GuardId, Arc<AsyncSlot>)>,
    problems: &mut Vec<Problem>,
) {
    if table.id(slot.name()).is_some() {
        problems.push(policy.problem(
            at,
            format!("a guard named `{}` already exists", slot.name()),
        ));
        return;
    }
    let id = table.insert_top_level(Arc::new(AsyncPlaceholder::new(slot.name())), &[]);
    direct.push(id);
    asyncs.push((id, Arc::new(slot)));
}

/// An async guard's result as a memo entry.
fn outcome(verdict: Option<Verdict>, micros: u64) -> Outcome {
    match verdict {
        Some(v) => Outcome::Done(v, micros),
        None => Outcome::Skipped,
    }
}

/// A finished async run as a memo entry; a run that panicked denies (fail closed).
fn joined(result: Result<Finished, tokio::task::JoinError>) -> Outcome {
    match result {
        Ok(f) => outcome(f.verdict, f.micros),
        Err(e) => Outcome::Done(
            Verdict {
                status: Status::Deny,
                severity: Severity::High,
                message: format!("an async guard failed: {e}"),
                details: None,
            },
            0,
        ),
    }
}

/// A built-in guard's instance for a composition operand with its own `config`: the
/// policy's effective config for that guard, deep-merged with the operand's.
fn operand_instance(
    guards: &GuardsSection,
    paths: &PolicyPaths,
    name: &str,
    config: &serde_json::Value,
) -> Result<Arc<dyn Guard>, String> {
    let mut operand = builtin::Operand {
        name,
        config,
        paths,
        result: None,
    };
    guards.visit_builtins(&mut operand);
    match operand.result {
        Some(built) => built.map(Arc::from),
        None => Err(format!(
            "`config` on an operand is supported for built-in and WebAssembly guards; `{name}` is neither"
        )),
    }
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

/// Where a `guards.custom` WebAssembly entry's package is, and what it is entitled to.
struct LocatedPackage<'a> {
    /// The package directory.
    dir: std::path::PathBuf,
    /// The entry's `config`.
    config: Option<&'a serde_json::Value>,
    /// The entry's `trust_override`, as written.
    trust_override: Option<&'a serde_json::Value>,
    /// The tier a registry signed; `None` for a local package (community unless the
    /// policy grants more).
    signed_tier: Option<TrustTier>,
    /// How errors name it (`@acme/secrets@1.2.0 from registry acme: `), or nothing.
    prefix: String,
}

/// A `path:` entry: a directory relative to the policy file.
fn local_package<'a>(policy: &Policy, spec: &'a PathGuardSpec) -> LocatedPackage<'a> {
    LocatedPackage {
        dir: policy.source.dir().join(&spec.path),
        config: spec.config.as_ref(),
        trust_override: spec.trust_override.as_ref(),
        signed_tier: None,
        prefix: String::new(),
    }
}

/// A `package:` entry: resolved, fetched and verified (crate::resolve) into the package
/// cache with the registry client the engine was given.
fn resolve_package<'a>(
    policy: &Policy,
    spec: &'a PackageGuardSpec,
    field: &str,
    registry: Option<&RegistryClient>,
) -> Result<LocatedPackage<'a>, Problem> {
    let at = format!("{field}.package");
    let client = registry.ok_or_else(|| {
        policy.problem(
            &at,
            format!(
                "`{}` comes from a registry, and this engine has no registry client \
                 (the clawdstrike CLI reads clawdstrike.yaml; an embedder passes one with \
                 EngineBuilder::registry)",
                spec.package
            ),
        )
    })?;
    let query = PackageQuery {
        name: spec.package.clone(),
        ecosystem: spec.registry,
        range: spec.version.clone().unwrap_or_else(|| "*".to_string()),
        integrity: spec.integrity.clone(),
    };
    let fetched = client
        .fetch(&query)
        .map_err(|e| policy.problem(&at, e.to_string()))?;
    Ok(LocatedPackage {
        signed_tier: Some(fetched.trust_tier()),
        prefix: format!(
            "{}@{} from registry {}: ",
            spec.package, fetched.version, fetched.registry
        ),
        dir: fetched.dir,
        config: spec.config.as_ref(),
        trust_override: spec.trust_override.as_ref(),
    })
}

/// A WebAssembly package as loaded for a `guards.custom` entry: what a composition
/// operand needs to load another instance with its own config.
#[derive(Debug, Clone)]
struct LoadedPackage {
    host: PluginHost,
    dir: std::path::PathBuf,
    config: serde_json::Value,
    trust_override: Option<TrustOverride>,
    entitled: TrustTier,
}

/// Load the guards of a located package, entitled to the tier its registry signed (a
/// local package: community), capped by `trust_override.max_trust_tier`. Errors point at
/// `at` (the entry's `path` or `package`), or at `config` / `trust_override` when those
/// are the cause.
fn load_wasm_package(
    policy: &Policy,
    field: &str,
    at: &str,
    package: LocatedPackage<'_>,
    plugins: &mut Option<PluginHost>,
) -> Result<(Vec<WasmGuard>, LoadedPackage), Problem> {
    let trust_override = match package.trust_override {
        None => None,
        Some(value) => Some(
            serde_json::from_value::<TrustOverride>(value.clone())
                .map_err(|e| policy.problem(&format!("{field}.trust_override"), e.to_string()))?,
        ),
    };
    let ceiling = trust_override.as_ref().and_then(|t| t.max_trust_tier);
    let entitled = match (package.signed_tier, ceiling) {
        (Some(signed), Some(ceiling)) => signed.min(ceiling),
        (Some(signed), None) => signed,
        (None, ceiling) => ceiling.unwrap_or(TrustTier::Community),
    };
    let host = match plugins {
        Some(host) => host.clone(),
        None => {
            let host = PluginHost::new(crate::plugin::HostOptions::default())
                .map_err(|e| policy.problem(at, e.to_string()))?;
            *plugins = Some(host.clone());
            host
        }
    };
    let config = package
        .config
        .cloned()
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let guards = host
        .load(PackageRequest {
            path: &package.dir,
            config: &config,
            trust_override: trust_override.as_ref(),
            entitled,
        })
        .map_err(|e| {
            let where_ = match e {
                crate::plugin::PluginError::Config { .. }
                | crate::plugin::PluginError::Init { .. } => format!("{field}.config"),
                crate::plugin::PluginError::Refused { .. } if package.trust_override.is_some() => {
                    format!("{field}.trust_override")
                }
                _ => at.to_string(),
            };
            policy.problem(&where_, format!("{}{e}", package.prefix))
        })?;
    Ok((
        guards,
        LoadedPackage {
            host,
            dir: package.dir,
            config,
            trust_override,
            entitled,
        },
    ))
}

/// A separate instance of a WebAssembly package's guard for a composition operand with its
/// own `config` (deep-merged over the entry's), loaded from the same directory.
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
