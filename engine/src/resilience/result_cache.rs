//! Results of external checks, kept for `ttl_seconds` (moka). Keys default to
//! `guard:eventId` (SPEC.md §4); a guard may supply its own (a file hash, a URL).

use std::time::Duration;

/// A TTL cache of results of type `V`.
#[derive(Clone)]
pub struct ResultCache<V: Clone + Send + Sync + 'static> {
    inner: moka::sync::Cache<String, V>,
}

impl<V: Clone + Send + Sync + 'static> std::fmt::Debug for ResultCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl<V: Clone + Send + Sync + 'static> ResultCache<V> {
    /// At most `capacity` entries, each for `ttl`.
    pub fn new(ttl: Duration, capacity: u64) -> ResultCache<V> {
        ResultCache {
            inner: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The default key: `guard:eventId`.
    pub fn key(guard: &str, event_id: &str) -> String {
        format!("{guard}:{event_id}")
    }

    /// A live entry.
    pub fn get(&self, key: &str) -> Option<V> {
        self.inner.get(key)
    }

    /// Stores a result.
    pub fn insert(&self, key: String, value: V) {
        self.inner.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_reused_within_the_ttl_and_not_after() {
        let c: ResultCache<u32> = ResultCache::new(Duration::from_millis(100), 100);
        let k = ResultCache::<u32>::key("vt", "e1");
        assert_eq!(k, "vt:e1");
        c.insert(k.clone(), 7);
        assert_eq!(c.get(&k), Some(7));
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(c.get(&k), None);
    }
}
