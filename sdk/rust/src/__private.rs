//! Support code for [`crate::export_guard!`] and the test harness. Not a stable API.

use crate::{Event, Guard, Verdict};
use std::any::Any;
use std::cell::RefCell;

/// The generated bindings of the `clawdstrike:guard@1.0.0` world (wasm32 only).
#[cfg(target_arch = "wasm32")]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "clawdstrike:guard/guard@1.0.0",
        pub_export_macro: true,
        export_macro_name: "__export_guard_world",
        default_bindings_module: "::clawdstrike_guard_sdk::__private::bindings",
    });
}

/// Compile-time check used by `export_guard!` on native targets.
pub fn assert_guard<G: Guard>() {}

thread_local! {
    // The guard `init` built, kept for the `check` that follows on the same instance.
    // One slot per thread is enough: a component instance runs one guard.
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Parse the config JSON text and build the guard, exactly as `init` does.
pub fn build<G: Guard>(config: &str) -> Result<G, String> {
    let config = if config.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(config).map_err(|e| format!("invalid config: not JSON: {e}"))?
    };
    let config = if config.is_null() {
        G::Config::default()
    } else {
        G::parse_config(config)?
    };
    G::new(config)
}

/// The export `init`: build the guard and keep it for `check`.
pub fn init<G: Guard>(config: &str) -> Result<(), String> {
    let guard = build::<G>(config)?;
    INSTANCE.with(|slot| *slot.borrow_mut() = Some(Box::new(guard)));
    Ok(())
}

/// Run `check` of an already built guard on event JSON text.
pub fn check_with<G: Guard>(guard: &G, event: &str) -> Result<Verdict, String> {
    let event = Event::from_json(event).map_err(|e| e.to_string())?;
    guard.check(&event)
}

/// The export `check`: the guard `init` kept, on event JSON text.
pub fn check<G: Guard>(event: &str) -> Result<Verdict, String> {
    INSTANCE.with(|slot| {
        let slot = slot.borrow();
        let guard = slot
            .as_ref()
            .and_then(|g| g.downcast_ref::<G>())
            .ok_or_else(|| "guard not initialised: init was not called".to_string())?;
        check_with(guard, event)
    })
}

/// The export `describe` as plain values: (name, version, handles).
pub fn describe<G: Guard>() -> (String, String, Vec<String>) {
    (
        G::NAME.to_string(),
        G::VERSION.to_string(),
        G::HANDLES.iter().map(|t| t.as_str().to_string()).collect(),
    )
}

#[cfg(target_arch = "wasm32")]
mod wit_glue {
    use super::bindings::clawdstrike::guard::types as wit;
    use crate::{Guard, Severity, Status, Verdict};

    /// `describe` in the generated types.
    pub fn wit_describe<G: Guard>() -> wit::GuardInfo {
        let (name, version, handles) = super::describe::<G>();
        wit::GuardInfo {
            name,
            version,
            handles,
        }
    }

    /// `check` in the generated types.
    pub fn wit_check<G: Guard>(event: &str) -> Result<wit::Verdict, String> {
        super::check::<G>(event).map(to_wit)
    }

    fn to_wit(v: Verdict) -> wit::Verdict {
        let details = v.details_text();
        wit::Verdict {
            status: match v.status {
                Status::Allow => wit::Status::Allow,
                Status::Warn => wit::Status::Warn,
                Status::Deny => wit::Status::Deny,
            },
            severity: v.severity.map(|s| match s {
                Severity::Low => wit::Severity::Low,
                Severity::Medium => wit::Severity::Medium,
                Severity::High => wit::Severity::High,
                Severity::Critical => wit::Severity::Critical,
            }),
            reason: v.reason,
            details,
            remediation: v.remediation,
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub use wit_glue::{wit_check, wit_describe};
