//! The application state every handler receives: one explicit struct, no globals.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::blob::BlobStore;
use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::signing::KeyRing;

/// A signed manifest held in memory: the bytes as stored and their ETag.
#[derive(Debug, Clone)]
pub struct CachedBlob {
    /// The bytes.
    pub bytes: Bytes,
    /// `"<sha256>"`.
    pub etag: String,
}

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Settings.
    pub config: Arc<Config>,
    /// Database.
    pub db: Db,
    /// Blob store.
    pub blobs: Arc<dyn BlobStore>,
    /// Signing keys.
    pub keys: Arc<KeyRing>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Signed manifests by (name, version). Invalidated by the writes that re-sign; the TTL
    /// bounds staleness between replicas.
    pub manifests: moka::sync::Cache<(String, String), CachedBlob>,
    /// Rendered guard details by name; same invalidation.
    pub details: moka::sync::Cache<String, Bytes>,
}

impl AppState {
    /// Assembles the state.
    pub fn new(config: Config, db: Db, blobs: Arc<dyn BlobStore>, keys: KeyRing) -> AppState {
        AppState {
            config: Arc::new(config),
            db,
            blobs,
            keys: Arc::new(keys),
            metrics: Arc::new(Metrics::new()),
            manifests: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .support_invalidation_closures()
                .time_to_live(Duration::from_secs(60))
                .build(),
            details: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(10))
                .build(),
        }
    }

    /// Forgets cached views of a package after a write.
    pub fn invalidate(&self, name: &str) {
        self.details.invalidate(name);
        let name = name.to_string();
        // Writes are rare; the predicate runs lazily over the cached entries.
        if let Err(e) = self
            .manifests
            .invalidate_entries_if(move |k, _| k.0 == name)
        {
            tracing::warn!(error = %e, "cannot invalidate cached manifests");
            self.manifests.invalidate_all();
        }
    }
}
