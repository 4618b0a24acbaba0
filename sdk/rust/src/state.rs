//! A small key-value store the host keeps per guard (per policy entry), so a guard can
//! remember things between checks: every check runs in a fresh instance, so memory
//! inside the guard does not survive.
//!
//! Limits (enforced by the host): keys up to 256 bytes, values up to 64 KiB, 1024 keys,
//! 1 MiB in all. Not shared between guards, not persisted across engine restarts. No
//! capability is needed.

use crate::host::HostError;

#[cfg(target_arch = "wasm32")]
use crate::__private::bindings::clawdstrike::guard::state as wit;

/// The value stored under `key`, if any.
pub fn get(key: &str) -> Option<Vec<u8>> {
    #[cfg(target_arch = "wasm32")]
    {
        wit::get(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    crate::host::test_host::state_get(key)
}

/// Store `value` under `key`; [`HostError::TooLarge`] when a limit would be exceeded.
pub fn set(key: &str, value: &[u8]) -> Result<(), HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        wit::set(key, value).map_err(crate::host::from_wit)
    }
    #[cfg(not(target_arch = "wasm32"))]
    crate::host::test_host::state_set(key, value)
}

/// Remove `key` (nothing happens when it is absent).
pub fn delete(key: &str) {
    #[cfg(target_arch = "wasm32")]
    wit::delete(key);
    #[cfg(not(target_arch = "wasm32"))]
    crate::host::test_host::state_delete(key);
}

/// The value under `key` parsed as JSON; `None` when absent or not valid JSON.
pub fn get_json<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
    get(key).and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

/// Store `value` as JSON under `key`.
pub fn set_json<T: serde::Serialize>(key: &str, value: &T) -> Result<(), HostError> {
    let bytes = serde_json::to_vec(value).map_err(|e| HostError::Failed(e.to_string()))?;
    set(key, &bytes)
}
