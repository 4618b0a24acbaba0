//! The in-process host used on native targets, where the component's imports do not
//! exist. Behaves like the engine's host: every capability is denied unless the test
//! grants it, the state store enforces the host's limits, and log lines are recorded.

use super::{HostError, Level, Request, Response};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// Answers HTTP requests for a test (see [`TestHost::with_http`]).
pub type HttpHandler = Rc<dyn Fn(&Request) -> Result<Response, HostError>>;

/// One line the guard logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: Level,
    /// Its text.
    pub message: String,
}

/// The engine's state-store limits (WIT `state` interface).
const MAX_KEY_BYTES: usize = 256;
const MAX_VALUE_BYTES: usize = 64 * 1024;
const MAX_KEYS: usize = 1024;
const MAX_TOTAL_BYTES: usize = 1024 * 1024;

/// A fake host for native tests: the capabilities a test grants, the state store and
/// the log. [`crate::testing::GuardTest`] owns one per test; use [`TestHost::run`] to
/// call guard code directly under one.
#[derive(Clone, Default)]
pub struct TestHost {
    secrets: BTreeMap<String, String>,
    files: BTreeMap<String, Vec<u8>>,
    http: Option<HttpHandler>,
    state: BTreeMap<String, Vec<u8>>,
    logs: Vec<LogLine>,
}

impl fmt::Debug for TestHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestHost")
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("http", &self.http.is_some())
            .field("state", &self.state.keys().collect::<Vec<_>>())
            .field("logs", &self.logs)
            .finish()
    }
}

impl TestHost {
    /// A host that grants nothing (like a manifest with every capability `false`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Grant the secret `name` with this value (`get_secret(name)` returns it).
    #[must_use]
    pub fn with_secret(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.secrets.insert(name.into(), value.into());
        self
    }

    /// Grant reading `path` and give it this content.
    #[must_use]
    pub fn with_file(mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), content.into());
        self
    }

    /// Grant the network capability: every `http_request` is answered by `handler`.
    #[must_use]
    pub fn with_http(
        mut self,
        handler: impl Fn(&Request) -> Result<Response, HostError> + 'static,
    ) -> Self {
        self.http = Some(Rc::new(handler));
        self
    }

    /// Put a value in the state store before the guard runs.
    #[must_use]
    pub fn with_state(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.state.insert(key.into(), value.into());
        self
    }

    /// What the state store holds under `key`.
    pub fn state(&self, key: &str) -> Option<&[u8]> {
        self.state.get(key).map(Vec::as_slice)
    }

    /// Every key in the state store, sorted.
    pub fn state_keys(&self) -> Vec<String> {
        self.state.keys().cloned().collect()
    }

    /// Every line logged so far.
    pub fn logs(&self) -> &[LogLine] {
        &self.logs
    }

    /// Forget the logged lines.
    pub fn clear_logs(&mut self) {
        self.logs.clear();
    }

    /// Run `f` with this host serving the thread's host calls, then take it back.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        // Swap in and out (rather than sharing) so that nested or parallel test hosts on
        // other threads never see each other's state; the guard restores the previous
        // host even when `f` panics.
        struct Restore<'a> {
            host: &'a mut TestHost,
        }
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                CURRENT.with(|c| std::mem::swap(&mut *c.borrow_mut(), self.host));
            }
        }
        CURRENT.with(|c| std::mem::swap(&mut *c.borrow_mut(), self));
        let _restore = Restore { host: self };
        f()
    }
}

thread_local! {
    static CURRENT: RefCell<TestHost> = RefCell::new(TestHost::default());
}

pub(crate) fn log(level: Level, message: &str) {
    CURRENT.with(|c| {
        c.borrow_mut().logs.push(LogLine {
            level,
            message: message.to_string(),
        })
    });
}

pub(crate) fn http_request(request: &Request) -> Result<Response, HostError> {
    // Take the handler out before calling it: it is test code and may log.
    let handler = CURRENT.with(|c| c.borrow().http.clone());
    match handler {
        Some(h) => h(request),
        None => Err(HostError::Denied(
            "network capability not declared".to_string(),
        )),
    }
}

pub(crate) fn read_file(path: &str) -> Result<Vec<u8>, HostError> {
    CURRENT.with(|c| {
        c.borrow().files.get(path).cloned().ok_or_else(|| {
            HostError::Denied(format!(
                "filesystem.read capability not declared for {path}"
            ))
        })
    })
}

pub(crate) fn get_secret(name: &str) -> Result<String, HostError> {
    CURRENT.with(|c| {
        c.borrow().secrets.get(name).cloned().ok_or_else(|| {
            HostError::Denied(format!("secrets capability not declared for \"{name}\""))
        })
    })
}

pub(crate) fn state_get(key: &str) -> Option<Vec<u8>> {
    CURRENT.with(|c| c.borrow().state.get(key).cloned())
}

pub(crate) fn state_set(key: &str, value: &[u8]) -> Result<(), HostError> {
    CURRENT.with(|c| {
        let mut host = c.borrow_mut();
        let state = &mut host.state;
        let replaced = state.get(key).map_or(0, |v| key.len() + v.len());
        let total: usize = state.iter().map(|(k, v)| k.len() + v.len()).sum();
        let new_key = !state.contains_key(key);
        if key.len() > MAX_KEY_BYTES
            || value.len() > MAX_VALUE_BYTES
            || (new_key && state.len() >= MAX_KEYS)
            || total - replaced + key.len() + value.len() > MAX_TOTAL_BYTES
        {
            return Err(HostError::TooLarge);
        }
        state.insert(key.to_string(), value.to_vec());
        Ok(())
    })
}

pub(crate) fn state_delete(key: &str) {
    CURRENT.with(|c| {
        c.borrow_mut().state.remove(key);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{host, state};

    #[test]
    fn denies_every_capability_by_default() {
        let mut h = TestHost::new();
        h.run(|| {
            assert!(matches!(host::get_secret("K"), Err(HostError::Denied(m)) if m.contains("not declared")));
            assert!(matches!(host::read_file("/etc/x"), Err(HostError::Denied(_))));
            assert!(matches!(host::http_request(&Request::get("http://h/")), Err(HostError::Denied(_))));
        });
    }

    #[test]
    fn serves_what_the_test_granted_and_records_logs() {
        let mut h = TestHost::new()
            .with_secret("K", "v")
            .with_file("/etc/a", "A")
            .with_http(|r| {
                host::info("handler ran");
                Ok(Response::new(201, r.url.clone()))
            });
        h.run(|| {
            host::debug("hello");
            assert_eq!(host::get_secret("K").as_deref(), Ok("v"));
            assert_eq!(host::read_file("/etc/a"), Ok(b"A".to_vec()));
            let r = host::http_request(&Request::get("http://h/x")).unwrap();
            assert_eq!(
                (r.status, r.body.as_slice()),
                (201, b"http://h/x".as_slice())
            );
        });
        let lines: Vec<_> = h
            .logs()
            .iter()
            .map(|l| (l.level, l.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            [(Level::Debug, "hello"), (Level::Info, "handler ran")]
        );
        // Outside `run` the thread's default host is back: nothing granted.
        assert!(host::get_secret("K").is_err());
    }

    #[test]
    fn state_persists_and_enforces_the_host_limits() {
        let mut h = TestHost::new();
        h.run(|| {
            state::set("a", b"1").unwrap();
            assert_eq!(state::get("a"), Some(b"1".to_vec()));
            assert_eq!(state::set(&"k".repeat(257), b""), Err(HostError::TooLarge));
            assert_eq!(
                state::set("big", &vec![0; 64 * 1024 + 1]),
                Err(HostError::TooLarge)
            );
            for i in 0..15 {
                state::set(&format!("f{i}"), &vec![0; 64 * 1024]).unwrap();
            }
            // 1 MiB in all: the sixteenth 64 KiB value does not fit.
            assert_eq!(
                state::set("f15", &vec![0; 64 * 1024]),
                Err(HostError::TooLarge)
            );
            state::delete("a");
            assert_eq!(state::get("a"), None);
        });
        assert_eq!(h.state("f0").map(<[u8]>::len), Some(64 * 1024));
    }
}
