//! Audit records of the plugin system (SPEC.md §1): `plugin_loaded`, `plugin_check`,
//! `plugin_error`, `capability_denied`, plus `capability_used` for every allowed
//! capability use, `plugin_http` for every outgoing request and `plugin_optimized` when a
//! guard first loaded on baseline code gets its optimised build.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

use crate::audit::AuditLog;

/// Writes one guard's audit records (or nothing, when no audit log is configured).
#[derive(Debug, Clone)]
pub struct PluginAudit {
    log: Option<Arc<AuditLog>>,
    guard: String,
    package: String,
    version: Arc<OnceLock<String>>,
}

impl PluginAudit {
    /// Records for `guard` of `package`; the guard's version is set once `describe`
    /// has reported it.
    pub fn new(log: Option<Arc<AuditLog>>, guard: &str, package: &str) -> Self {
        PluginAudit {
            log,
            guard: guard.into(),
            package: package.into(),
            version: Arc::new(OnceLock::new()),
        }
    }

    /// Record the guard's own version (from `describe`).
    pub fn set_version(&self, version: &str) {
        let _ = self.version.set(version.to_string());
    }

    fn emit(&self, kind: &str, mut fields: Value) {
        let Some(log) = &self.log else { return };
        if let Value::Object(map) = &mut fields {
            map.insert("guard".into(), self.guard.clone().into());
            map.insert("package".into(), self.package.clone().into());
            if let Some(v) = self.version.get() {
                map.insert("version".into(), v.clone().into());
            }
        }
        log.record_event(kind, fields);
    }

    /// The guard was loaded.
    pub fn loaded(&self, details: Value) {
        self.emit("plugin_loaded", details);
    }

    /// The optimised build of a guard loaded on baseline code replaced it.
    pub fn optimized(&self, compile: Duration) {
        self.emit(
            "plugin_optimized",
            json!({"compileMs": compile.as_secs_f64() * 1000.0}),
        );
    }

    /// One check finished. `result` is only built when there is a log to write to: this
    /// runs on every check.
    pub fn check(
        &self,
        event_id: &str,
        event_type: &str,
        result: impl FnOnce() -> Value,
        duration: Duration,
        log: &str,
    ) {
        if self.log.is_none() {
            return;
        }
        let mut fields = json!({
            "eventId": event_id,
            "eventType": event_type,
            "result": result(),
            "durationUs": duration.as_micros() as u64,
        });
        if !log.is_empty() {
            fields["log"] = log.into();
        }
        self.emit("plugin_check", fields);
    }

    /// The guard failed: a trap, a limit, a bad result, an init error.
    pub fn error(&self, event_id: Option<&str>, stage: &str, message: &str, log: &str) {
        let mut fields = json!({"stage": stage, "error": message});
        if let Some(id) = event_id {
            fields["eventId"] = id.into();
        }
        if !log.is_empty() {
            fields["log"] = log.into();
        }
        self.emit("plugin_error", fields);
    }

    /// A capability use was refused.
    pub fn capability_denied(
        &self,
        capability: &str,
        resource: &str,
        reason: &str,
        event_id: Option<&str>,
    ) {
        self.emit(
            "capability_denied",
            json!({"capability": capability, "resource": resource, "reason": reason, "eventId": event_id}),
        );
    }

    /// A capability use was allowed.
    pub fn capability_used(&self, capability: &str, resource: &str, event_id: Option<&str>) {
        self.emit(
            "capability_used",
            json!({"capability": capability, "resource": resource, "eventId": event_id}),
        );
    }

    /// An outgoing HTTP request and its outcome.
    pub fn http_call(
        &self,
        request: &str,
        duration: Duration,
        outcome: Value,
        event_id: Option<&str>,
    ) {
        self.emit(
            "plugin_http",
            json!({"request": request, "durationUs": duration.as_micros() as u64, "outcome": outcome, "eventId": event_id}),
        );
    }
}
