//! The sandbox backend: the built component in the engine's plugin host, with the
//! capabilities and resource limits its manifest declares.

use super::Outcome;
use crate::{Severity, Status, Verdict};
use clawdstrike_engine::decision;
use clawdstrike_engine::event::{EventLimits, PolicyEvent};
use clawdstrike_engine::guards::Guard as _;
use clawdstrike_engine::plugin::{HostOptions, PluginHost, WasmGuard};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

type Loaded = Rc<Result<Vec<WasmGuard>, String>>;

/// One package directory under one plugin host. Loading compiles the component, so
/// loaded guards are kept per config text and shared by clones.
pub(super) struct Sandbox {
    dir: PathBuf,
    pick: Option<String>,
    host: Rc<Result<PluginHost, String>>,
    loaded: Rc<RefCell<HashMap<String, Loaded>>>,
}

impl Sandbox {
    pub(super) fn new(dir: &Path) -> Self {
        // A guard's tests recompile nothing that has not changed: the engine's local
        // cache of compiled components, where the CLI keeps it.
        let host = PluginHost::new(HostOptions {
            cache_dir: clawdstrike_engine::plugin::artifact_cache::ArtifactCache::default_dir(),
            ..HostOptions::default()
        })
        .map_err(|e| format!("cannot start the plugin host: {e}"));
        Sandbox {
            dir: dir.to_path_buf(),
            pick: None,
            host: Rc::new(host),
            loaded: Rc::default(),
        }
    }

    pub(super) fn pick(&self, name: &str) -> Self {
        Sandbox {
            dir: self.dir.clone(),
            pick: Some(name.to_string()),
            host: Rc::clone(&self.host),
            loaded: Rc::clone(&self.loaded),
        }
    }

    fn load(&self, config: &Value) -> Loaded {
        let key = config.to_string();
        if let Some(l) = self.loaded.borrow().get(&key) {
            return Rc::clone(l);
        }
        let result = match &*self.host {
            Err(e) => Err(e.clone()),
            Ok(host) => host.load_package(&self.dir, config).map_err(|e| {
                let mut message = e.to_string();
                if !self.dir.join("dist").join("guard.wasm").is_file() {
                    message.push_str(&format!(
                        " ({} has no dist/guard.wasm: run scripts/build-guards.sh first)",
                        self.dir.display()
                    ));
                }
                message
            }),
        };
        let loaded = Rc::new(result);
        self.loaded.borrow_mut().insert(key, Rc::clone(&loaded));
        loaded
    }

    /// Run `f` on the selected guard of the package loaded with `config`.
    fn with_guard<R>(&self, config: &Value, f: impl FnOnce(&WasmGuard) -> R) -> Result<R, String> {
        let loaded = self.load(config);
        let guards = loaded.as_ref().as_ref().map_err(Clone::clone)?;
        let guard = match &self.pick {
            Some(name) => guards.iter().find(|g| g.name() == name),
            None if guards.len() == 1 => guards.first(),
            None => None,
        };
        match guard {
            Some(g) => Ok(f(g)),
            None => {
                let names: Vec<&str> = guards.iter().map(|g| g.name()).collect();
                Err(format!(
                    "{}: pick one guard of {names:?} with GuardTest::guard(name){}",
                    self.dir.display(),
                    self.pick
                        .as_deref()
                        .map(|p| format!(" (no guard named {p:?})"))
                        .unwrap_or_default()
                ))
            }
        }
    }

    pub(super) fn guard_name(&self, config: &Value) -> Option<String> {
        self.with_guard(config, |g| g.name().to_string()).ok()
    }

    pub(super) fn init(&self, config: &Value) -> Result<(), String> {
        self.with_guard(config, |_| ())
    }

    pub(super) fn check(&self, config: &Value, event: &Value) -> Outcome {
        let event = match PolicyEvent::from_json(&event.to_string(), &EventLimits::default()) {
            Ok(e) => e,
            Err(e) => return Outcome::Error(format!("invalid event: {e}")),
        };
        match self.with_guard(config, |g| g.check(&event)) {
            Err(e) => Outcome::InitError(e),
            Ok(None) => Outcome::Skipped,
            Ok(Some(v)) => Outcome::Verdict(from_engine(v)),
        }
    }
}

fn from_engine(v: decision::Verdict) -> Verdict {
    let status = match v.status {
        decision::Status::Allow => Status::Allow,
        decision::Status::Warn => Status::Warn,
        decision::Status::Deny => Status::Deny,
    };
    let severity = match v.severity {
        decision::Severity::Low => Severity::Low,
        decision::Severity::Medium => Severity::Medium,
        decision::Severity::High => Severity::High,
        decision::Severity::Critical => Severity::Critical,
    };
    // The engine keeps a remediation inside the details (`details.remediation`); move
    // it back so that assertions read the same on both backends.
    let mut details = v.details;
    let mut remediation = None;
    if let Some(Value::Object(map)) = &mut details {
        if let Some(Value::String(r)) = map.remove("remediation") {
            remediation = Some(r);
        }
        if map.is_empty() {
            details = None;
        }
    }
    Verdict {
        status,
        severity: Some(severity),
        reason: Some(v.message),
        details,
        remediation,
        raw_details: None,
    }
}
