//! The test harness (native targets only).
//!
//! One test function can run against two backends:
//!
//! - [`GuardTest::native`] calls the guard in-process through the same code path as the
//!   component's exports (config JSON → [`crate::Guard::new`], event JSON →
//!   [`crate::Event`] → [`crate::Guard::check`]), with a fresh guard per check as the engine
//!   does, and host calls served by a [`TestHost`] that grants nothing unless the test
//!   says so;
//! - [`GuardTest::sandbox`] (cargo feature `sandbox`) loads the built component from a
//!   package directory into the engine's plugin host, with the capabilities and limits
//!   of its manifest.
//!
//! ```
//! use clawdstrike_guard_sdk::testing::{events, GuardTest};
//! use clawdstrike_guard_sdk::{Event, EventType, Guard, NoConfig, Severity, Verdict};
//!
//! struct NoExe;
//! impl Guard for NoExe {
//!     const NAME: &'static str = "no_exe";
//!     const VERSION: &'static str = "0.1.0";
//!     const HANDLES: &'static [EventType] = &[EventType::FileWrite];
//!     type Config = NoConfig;
//!     fn new(_: NoConfig) -> Result<Self, String> { Ok(NoExe) }
//!     fn check(&self, e: &Event) -> Result<Verdict, String> {
//!         let path = &e.file().ok_or("not a file event")?.path;
//!         Ok(if path.ends_with(".exe") {
//!             Verdict::deny(Severity::High, format!("{path} is an executable"))
//!         } else {
//!             Verdict::allow("fine")
//!         })
//!     }
//! }
//!
//! fn vectors(t: &GuardTest) {
//!     t.check(events::file_write("a.exe", "MZ")).expect_deny().severity(Severity::High).reason_contains("a.exe");
//!     t.check(events::file_write("a.txt", "hi")).expect_allow();
//!     t.check(events::file_read("a.exe")).expect_skipped();
//! }
//!
//! vectors(&GuardTest::native::<NoExe>());
//! ```

pub mod events;
#[cfg(feature = "sandbox")]
mod sandbox;

pub use crate::host::test_host::{HttpHandler, LogLine, TestHost};

use crate::host::{HostError, Level, Request, Response};
use crate::{EventType, Guard, Severity, Status, Verdict};
use serde_json::Value;
use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
#[cfg(feature = "sandbox")]
use std::rc::Rc;

/// Run the component's `init` then `check` exports' logic on JSON text, natively, with
/// no event-type filtering: exactly what the guest does when the engine calls it.
/// Host calls go to the thread's current [`TestHost`] (see [`TestHost::run`]).
pub fn invoke<G: Guard>(config: &str, event: &str) -> Result<Verdict, String> {
    let guard = crate::__private::build::<G>(config)?;
    crate::__private::check_with(&guard, event)
}

/// What happened when a test checked an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The guard answered.
    Verdict(Verdict),
    /// The guard does not handle this event type; the engine would not call it.
    Skipped,
    /// `check` failed (an `Err`, a trap or a panic); the engine turns it into a deny.
    Error(String),
    /// `init` failed (in the sandbox: the package did not load).
    InitError(String),
}

/// The result of [`GuardTest::check`], with assertions.
#[must_use = "assert on the outcome, e.g. .expect_allow()"]
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    backend: BackendKind,
    outcome: Outcome,
    logs: Vec<LogLine>,
}

/// Which backend produced an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// In-process, through [`GuardTest::native`].
    Native,
    /// The built component in the engine's plugin host, through `GuardTest::sandbox`.
    Sandbox,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Native => "native",
            BackendKind::Sandbox => "sandbox",
        })
    }
}

impl CheckOutcome {
    /// What happened.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The backend that produced it.
    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// Lines the guard logged during this check (native backend; the sandbox's go to
    /// the engine's audit log and are not collected here).
    pub fn logs(&self) -> &[LogLine] {
        &self.logs
    }

    #[track_caller]
    fn expect_status(self, status: Status) -> VerdictAssert {
        match self.outcome {
            Outcome::Verdict(v) if v.status == status => VerdictAssert {
                backend: self.backend,
                verdict: v,
                logs: self.logs,
            },
            other => panic!("[{}] expected {status}, got {other:?}", self.backend),
        }
    }

    /// Assert an allow verdict.
    #[track_caller]
    pub fn expect_allow(self) -> VerdictAssert {
        self.expect_status(Status::Allow)
    }

    /// Assert a warn verdict.
    #[track_caller]
    pub fn expect_warn(self) -> VerdictAssert {
        self.expect_status(Status::Warn)
    }

    /// Assert a deny verdict.
    #[track_caller]
    pub fn expect_deny(self) -> VerdictAssert {
        self.expect_status(Status::Deny)
    }

    /// Assert that the guard was not asked (event type not in `HANDLES`).
    #[track_caller]
    pub fn expect_skipped(self) {
        if self.outcome != Outcome::Skipped {
            panic!(
                "[{}] expected the event to be skipped, got {:?}",
                self.backend, self.outcome
            );
        }
    }

    /// Assert that `check` failed with a message containing `contains`. In the sandbox
    /// an error is a deny whose message starts with the error text, so there this
    /// asserts a deny whose message contains it.
    #[track_caller]
    pub fn expect_error(self, contains: &str) {
        let message = match (&self.outcome, self.backend) {
            (Outcome::Error(m), _) => m,
            (Outcome::Verdict(v), BackendKind::Sandbox) if v.status == Status::Deny => {
                v.reason.as_deref().unwrap_or("")
            }
            (other, _) => panic!(
                "[{}] expected an error containing {contains:?}, got {other:?}",
                self.backend
            ),
        };
        assert!(
            message.contains(contains),
            "[{}] expected an error containing {contains:?}, got {message:?}",
            self.backend
        );
    }

    /// Assert that `init` failed (in the sandbox: that the package did not load) with a
    /// message containing `contains` (`""` accepts any message).
    #[track_caller]
    pub fn expect_init_error(self, contains: &str) {
        match &self.outcome {
            Outcome::InitError(m) if m.contains(contains) => {}
            other => panic!(
                "[{}] expected an init error containing {contains:?}, got {other:?}",
                self.backend
            ),
        }
    }

    /// Assert that the guard logged a line at `level` containing `contains` (native
    /// backend; a no-op in the sandbox, whose logs go to the engine's audit log).
    #[track_caller]
    pub fn expect_log(self, level: Level, contains: &str) -> Self {
        if self.backend == BackendKind::Native
            && !self
                .logs
                .iter()
                .any(|l| l.level == level && l.message.contains(contains))
        {
            panic!(
                "[native] expected a {} log line containing {contains:?}, got {:?}",
                level.as_str(),
                self.logs
            );
        }
        self
    }
}

/// Assertions on a verdict, chained: `.severity(..).reason_contains(..)`.
#[derive(Debug, Clone)]
pub struct VerdictAssert {
    backend: BackendKind,
    verdict: Verdict,
    logs: Vec<LogLine>,
}

/// The severity the engine records when a verdict carries none (WIT: low for allow,
/// high for deny; medium for warn).
fn default_severity(status: Status) -> Severity {
    match status {
        Status::Allow => Severity::Low,
        Status::Warn => Severity::Medium,
        Status::Deny => Severity::High,
    }
}

impl VerdictAssert {
    /// The verdict itself. In the sandbox its `reason` is the engine's message and its
    /// severity is always set (the engine fills in a default).
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// Lines logged during the check (native backend).
    pub fn logs(&self) -> &[LogLine] {
        &self.logs
    }

    /// Assert the severity as the engine records it: the verdict's own, or when it has
    /// none the engine's default (low for allow, medium for warn, high for deny).
    #[track_caller]
    pub fn severity(self, severity: Severity) -> Self {
        let got = self
            .verdict
            .severity
            .unwrap_or(default_severity(self.verdict.status));
        assert_eq!(
            got, severity,
            "[{}] severity of {:?}",
            self.backend, self.verdict
        );
        self
    }

    /// Assert that the guard set no severity. In the sandbox, where the engine always
    /// fills one in, this accepts the engine's default for the status.
    #[track_caller]
    pub fn no_severity(self) -> Self {
        let ok = match self.backend {
            BackendKind::Native => self.verdict.severity.is_none(),
            BackendKind::Sandbox => self
                .verdict
                .severity
                .is_none_or(|s| s == default_severity(self.verdict.status)),
        };
        assert!(
            ok,
            "[{}] expected no severity in {:?}",
            self.backend, self.verdict
        );
        self
    }

    /// Assert that the reason contains `needle`.
    #[track_caller]
    pub fn reason_contains(self, needle: &str) -> Self {
        let reason = self.verdict.reason.as_deref().unwrap_or("");
        assert!(
            reason.contains(needle),
            "[{}] expected the reason to contain {needle:?}, got {reason:?}",
            self.backend
        );
        self
    }

    /// Assert that the reason does not contain `needle` (e.g. a secret).
    #[track_caller]
    pub fn reason_lacks(self, needle: &str) -> Self {
        let reason = self.verdict.reason.as_deref().unwrap_or("");
        assert!(
            !reason.contains(needle),
            "[{}] expected the reason not to contain {needle:?}, got {reason:?}",
            self.backend
        );
        self
    }

    /// Assert the exact reason.
    #[track_caller]
    pub fn reason(self, exact: &str) -> Self {
        assert_eq!(
            self.verdict.reason.as_deref(),
            Some(exact),
            "[{}] reason of {:?}",
            self.backend,
            self.verdict
        );
        self
    }

    /// Assert the exact details.
    #[track_caller]
    pub fn details(self, expected: Value) -> Self {
        assert_eq!(
            self.verdict.details.as_ref(),
            Some(&expected),
            "[{}] details of {:?}",
            self.backend,
            self.verdict
        );
        self
    }

    /// Assert that there are no details.
    #[track_caller]
    pub fn no_details(self) -> Self {
        assert!(
            self.verdict.details.is_none(),
            "[{}] expected no details in {:?}",
            self.backend,
            self.verdict
        );
        self
    }

    /// Assert that the remediation contains `needle` (in the sandbox the engine carries
    /// it as `details.remediation`; the harness moves it back).
    #[track_caller]
    pub fn remediation_contains(self, needle: &str) -> Self {
        let r = self.verdict.remediation.as_deref().unwrap_or("");
        assert!(
            r.contains(needle),
            "[{}] remediation {r:?} lacks {needle:?}",
            self.backend
        );
        self
    }
}

/// How the engine words a config refused by the manifest's `configSchema`.
const SCHEMA_REJECTION: &str = "does not match its configSchema";

/// The result of [`GuardTest::init`].
#[must_use = "assert on the outcome, e.g. .expect_ok()"]
#[derive(Debug, Clone)]
pub struct InitOutcome {
    backend: BackendKind,
    result: Result<(), String>,
}

impl InitOutcome {
    /// Assert that the config was accepted (in the sandbox: the package loaded).
    #[track_caller]
    pub fn expect_ok(self) {
        if let Err(e) = self.result {
            panic!("[{}] expected init to succeed, got {e:?}", self.backend);
        }
    }

    /// Assert that the config was rejected: natively, an init error containing
    /// `contains`; in the sandbox, either that or the engine's own rejection of a config
    /// that does not match the manifest's `configSchema` (checked before the guard
    /// sees it).
    #[track_caller]
    pub fn expect_config_rejected(self, contains: &str) {
        match (&self.result, self.backend) {
            (Err(e), _) if e.contains(contains) => {}
            (Err(e), BackendKind::Sandbox) if e.contains(SCHEMA_REJECTION) => {}
            (other, _) => panic!(
                "[{}] expected the config to be rejected with {contains:?}, got {other:?}",
                self.backend
            ),
        }
    }

    /// Assert that init failed with a message containing `contains`.
    #[track_caller]
    pub fn expect_init_error(self, contains: &str) {
        match self.result {
            Err(e) if e.contains(contains) => {}
            other => panic!(
                "[{}] expected an init error containing {contains:?}, got {other:?}",
                self.backend
            ),
        }
    }
}

/// A guard under test, on one of two backends (see the [module docs](self)).
///
/// Cheap to clone; a clone has its own copy of the test host (state store, grants) so
/// that `t.clone().with_config(..)` behaves like another policy entry.
#[derive(Clone)]
pub struct GuardTest {
    backend: Backend,
    config: Value,
    host: RefCell<TestHost>,
}

/// Native backend: build the guard from config text, then check event text. The outer
/// `Err` is an init error, the inner one a check error.
type BuildAndCheck = fn(&str, &str) -> Result<Result<Verdict, String>, String>;

#[derive(Clone)]
enum Backend {
    Native {
        name: &'static str,
        handles: &'static [EventType],
        build_and_check: BuildAndCheck,
        init: fn(&str) -> Result<(), String>,
    },
    #[cfg(feature = "sandbox")]
    Sandbox(Rc<sandbox::Sandbox>),
}

/// Native backend: `Err` = init error, `Ok(Err)` = check error.
fn native_build_and_check<G: Guard>(
    config: &str,
    event: &str,
) -> Result<Result<Verdict, String>, String> {
    let guard = crate::__private::build::<G>(config)?;
    Ok(crate::__private::check_with(&guard, event))
}

fn native_init<G: Guard>(config: &str) -> Result<(), String> {
    crate::__private::build::<G>(config).map(drop)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

impl fmt::Debug for GuardTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardTest")
            .field("backend", &self.backend_kind())
            .field("guard", &self.guard_name())
            .field("config", &self.config)
            .finish()
    }
}

impl GuardTest {
    /// Test guard `G` in-process.
    pub fn native<G: Guard>() -> Self {
        GuardTest {
            backend: Backend::Native {
                name: G::NAME,
                handles: G::HANDLES,
                build_and_check: native_build_and_check::<G>,
                init: native_init::<G>,
            },
            config: Value::Object(Default::default()),
            host: RefCell::new(TestHost::new()),
        }
    }

    /// Test the built component of the package in `package_dir` (the directory holding
    /// `clawdstrike.plugin.toml` or `.json`) inside the engine's plugin host. The
    /// package must hold exactly one guard, or pick one with [`GuardTest::guard`].
    /// Build the component first (`scripts/build-guards.sh`).
    ///
    /// Needs the cargo feature `sandbox`; without it this panics with that advice.
    #[track_caller]
    pub fn sandbox(package_dir: impl AsRef<Path>) -> Self {
        #[cfg(feature = "sandbox")]
        {
            GuardTest {
                backend: Backend::Sandbox(Rc::new(sandbox::Sandbox::new(package_dir.as_ref()))),
                config: Value::Object(Default::default()),
                host: RefCell::new(TestHost::new()),
            }
        }
        #[cfg(not(feature = "sandbox"))]
        {
            panic!(
                "GuardTest::sandbox({}) needs the `sandbox` feature of clawdstrike-guard-sdk",
                package_dir.as_ref().display()
            )
        }
    }

    /// Pick the guard `name` in a sandbox package that holds several.
    #[must_use]
    pub fn guard(self, name: &str) -> Self {
        #[cfg(feature = "sandbox")]
        if let Backend::Sandbox(s) = &self.backend {
            let picked = s.pick(name);
            return GuardTest {
                backend: Backend::Sandbox(Rc::new(picked)),
                ..self
            };
        }
        let _ = name;
        self
    }

    /// Use this config (the policy's `config` object). Default: `{}`.
    #[must_use]
    pub fn with_config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    #[track_caller]
    fn native_host_only(&self, what: &str) {
        if self.backend_kind() != BackendKind::Native {
            panic!(
                "{what} is for the native backend: the sandbox grants capabilities from the \
                 package manifest and reaches real resources"
            );
        }
    }

    /// Grant the secret `name` (native backend).
    #[track_caller]
    #[must_use]
    pub fn with_secret(self, name: &str, value: &str) -> Self {
        self.native_host_only("with_secret");
        self.map_host(|h| h.with_secret(name, value))
    }

    /// Grant reading `path` with this content (native backend).
    #[track_caller]
    #[must_use]
    pub fn with_file(self, path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.native_host_only("with_file");
        self.map_host(|h| h.with_file(path, content))
    }

    /// Grant the network: `handler` answers every request (native backend).
    #[track_caller]
    #[must_use]
    pub fn with_http(
        self,
        handler: impl Fn(&Request) -> Result<Response, HostError> + 'static,
    ) -> Self {
        self.native_host_only("with_http");
        self.map_host(|h| h.with_http(handler))
    }

    /// Put a value in the guard's state store (native backend).
    #[track_caller]
    #[must_use]
    pub fn with_state(self, key: &str, value: impl Into<Vec<u8>>) -> Self {
        self.native_host_only("with_state");
        self.map_host(|h| h.with_state(key, value))
    }

    fn map_host(self, f: impl FnOnce(TestHost) -> TestHost) -> Self {
        let host = f(self.host.into_inner());
        GuardTest {
            host: RefCell::new(host),
            ..self
        }
    }

    /// The test host (native backend): its state store and every line logged so far.
    pub fn host(&self) -> std::cell::Ref<'_, TestHost> {
        self.host.borrow()
    }

    /// Which backend this test runs on.
    pub fn backend_kind(&self) -> BackendKind {
        match &self.backend {
            Backend::Native { .. } => BackendKind::Native,
            #[cfg(feature = "sandbox")]
            Backend::Sandbox(_) => BackendKind::Sandbox,
        }
    }

    /// The guard's name (native: `G::NAME`; sandbox: as the loaded guard reports it,
    /// or `None` when the package does not load).
    pub fn guard_name(&self) -> Option<String> {
        match &self.backend {
            Backend::Native { name, .. } => Some(name.to_string()),
            #[cfg(feature = "sandbox")]
            Backend::Sandbox(s) => s.guard_name(&self.config),
        }
    }

    /// Validate the config as the engine does at load.
    pub fn init(&self) -> InitOutcome {
        let result = match &self.backend {
            Backend::Native { init, .. } => {
                let config = self.config.to_string();
                let mut host = self.host.borrow_mut();
                host.run(|| catch_unwind(AssertUnwindSafe(|| init(&config))))
                    .unwrap_or_else(|p| Err(format!("guard trapped: {}", panic_message(&*p))))
            }
            #[cfg(feature = "sandbox")]
            Backend::Sandbox(s) => s.init(&self.config),
        };
        InitOutcome {
            backend: self.backend_kind(),
            result,
        }
    }

    /// Check one event (JSON in the engine's event shape, e.g. from [`events`]): a fresh
    /// guard built from the config, as the engine does for every check.
    pub fn check(&self, event: Value) -> CheckOutcome {
        let (outcome, logs) = match &self.backend {
            Backend::Native {
                handles,
                build_and_check,
                init,
                ..
            } => self.check_native(handles, *build_and_check, *init, &event),
            #[cfg(feature = "sandbox")]
            Backend::Sandbox(s) => (s.check(&self.config, &event), Vec::new()),
        };
        CheckOutcome {
            backend: self.backend_kind(),
            outcome,
            logs,
        }
    }

    fn check_native(
        &self,
        handles: &[EventType],
        build_and_check: BuildAndCheck,
        init: fn(&str) -> Result<(), String>,
        event: &Value,
    ) -> (Outcome, Vec<LogLine>) {
        // The engine only calls `check` for the types the guard handles (it still runs
        // `init` at load). An event it cannot parse never reaches a guard, but passing it
        // on as the guest would see it keeps malformed-event tests meaningful.
        let skipped = event
            .get("eventType")
            .or_else(|| event.get("event_type"))
            .and_then(Value::as_str)
            .and_then(EventType::parse)
            .is_some_and(|t| !handles.contains(&t));
        let config = self.config.to_string();
        let event_text = event.to_string();
        let mut host = self.host.borrow_mut();
        let before = host.logs().len();
        let result = host.run(|| {
            catch_unwind(AssertUnwindSafe(|| {
                if skipped {
                    init(&config).map(|()| None)
                } else {
                    build_and_check(&config, &event_text).map(Some)
                }
            }))
        });
        let logs = host.logs()[before..].to_vec();
        let outcome = match result {
            Err(panic) => Outcome::Error(format!("guard trapped: {}", panic_message(&*panic))),
            Ok(Err(init_error)) => Outcome::InitError(init_error),
            Ok(Ok(None)) => Outcome::Skipped,
            Ok(Ok(Some(Err(e)))) => Outcome::Error(e),
            Ok(Ok(Some(Ok(v)))) => {
                match v.details_text().map(|t| serde_json::from_str::<Value>(&t)) {
                    // The engine keeps details as a JSON object; anything else is a broken
                    // guard, which fails closed (same wording as the engine).
                    Some(Err(e)) => {
                        Outcome::Error(format!("returned details that are not valid JSON: {e}"))
                    }
                    Some(Ok(d)) if !d.is_object() => {
                        Outcome::Error("returned details that are not a JSON object".to_string())
                    }
                    _ => Outcome::Verdict(v),
                }
            }
        };
        (outcome, logs)
    }
}

#[cfg(test)]
mod tests;
