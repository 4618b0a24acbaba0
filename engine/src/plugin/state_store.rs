//! The per-guard key-value store behind the `state` import.
//!
//! A guard runs in a fresh instance for every check, so anything it wants to remember
//! (a cache of lookups, a counter) lives here, in the host, bounded by the limits in
//! [`crate::plugin::limits`]. One store per loaded guard: guards never see each other's.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::plugin::limits::{
    STATE_MAX_KEYS, STATE_MAX_KEY_BYTES, STATE_MAX_TOTAL_BYTES, STATE_MAX_VALUE_BYTES,
};

/// Why a `set` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The key is longer than allowed.
    #[error("state key is {0} bytes; the limit is {STATE_MAX_KEY_BYTES}")]
    KeyTooLong(usize),
    /// The value is larger than allowed.
    #[error("state value is {0} bytes; the limit is {STATE_MAX_VALUE_BYTES}")]
    ValueTooLarge(usize),
    /// The store would hold too many keys.
    #[error("state store is full ({STATE_MAX_KEYS} keys)")]
    TooManyKeys,
    /// The store would hold too many bytes.
    #[error("state store would exceed {STATE_MAX_TOTAL_BYTES} bytes")]
    TooLarge,
}

/// A bounded in-memory key-value store.
#[derive(Debug, Default)]
pub struct StateStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Vec<u8>>,
    bytes: usize,
}

impl StateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent (every
        // mutation is a single insert/remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().map.get(key).cloned()
    }

    /// Store `value` under `key`, within the limits.
    pub fn set(&self, key: &str, value: Vec<u8>) -> Result<(), StateError> {
        if key.len() > STATE_MAX_KEY_BYTES {
            return Err(StateError::KeyTooLong(key.len()));
        }
        if value.len() > STATE_MAX_VALUE_BYTES {
            return Err(StateError::ValueTooLarge(value.len()));
        }
        let mut inner = self.lock();
        let old = inner.map.get(key).map(|v| key.len() + v.len());
        if old.is_none() && inner.map.len() >= STATE_MAX_KEYS {
            return Err(StateError::TooManyKeys);
        }
        let bytes = inner.bytes - old.unwrap_or(0) + key.len() + value.len();
        if bytes > STATE_MAX_TOTAL_BYTES {
            return Err(StateError::TooLarge);
        }
        inner.bytes = bytes;
        inner.map.insert(key.to_string(), value);
        Ok(())
    }

    /// Remove `key`.
    pub fn delete(&self, key: &str) {
        let mut inner = self.lock();
        if let Some(v) = inner.map.remove(key) {
            inner.bytes -= key.len() + v.len();
        }
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_delete_round_trip() {
        let s = StateStore::new();
        assert_eq!(s.get("a"), None);
        s.set("a", b"1".to_vec()).unwrap();
        assert_eq!(s.get("a"), Some(b"1".to_vec()));
        s.set("a", b"22".to_vec()).unwrap();
        assert_eq!(s.get("a"), Some(b"22".to_vec()));
        s.delete("a");
        s.delete("a");
        assert!(s.is_empty());
    }

    #[test]
    fn limits_are_enforced_and_accounting_follows_overwrites() {
        let s = StateStore::new();
        let long_key = "k".repeat(STATE_MAX_KEY_BYTES + 1);
        assert!(matches!(
            s.set(&long_key, vec![]),
            Err(StateError::KeyTooLong(_))
        ));
        assert!(matches!(
            s.set("v", vec![0; STATE_MAX_VALUE_BYTES + 1]),
            Err(StateError::ValueTooLarge(_))
        ));
        // Fill to the byte limit with maximal values, then overwriting one must still fit.
        let per = STATE_MAX_VALUE_BYTES;
        let mut i = 0;
        loop {
            match s.set(&format!("{i}"), vec![0; per]) {
                Ok(()) => i += 1,
                Err(e) => {
                    assert_eq!(e, StateError::TooLarge);
                    break;
                }
            }
        }
        assert!(i > 0);
        s.set("0", vec![1; per]).unwrap();
        s.delete("0");
        s.set("new", vec![0; per]).unwrap();
    }

    #[test]
    fn key_count_is_bounded() {
        let s = StateStore::new();
        for i in 0..STATE_MAX_KEYS {
            s.set(&i.to_string(), vec![]).unwrap();
        }
        assert_eq!(s.set("one-more", vec![]), Err(StateError::TooManyKeys));
        s.set("0", b"x".to_vec()).unwrap();
    }
}
