//! Builds and signs the in-toto statement of one version (DESIGN.md §3.7).

use chrono::{DateTime, Duration, Utc};
use clawdstrike_formats::manifest::TrustTier;
use clawdstrike_formats::signed::{
    ArchiveRef, ComponentRef, Envelope, Origin, PublisherRef, ReleasePredicate, ScanSummary,
    Statement,
};

use super::{KeyRing, KeyRingError};

/// What a signed manifest says about a version.
#[derive(Debug, Clone)]
pub struct ReleaseFacts {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// `direct`, `npm` or `crates`.
    pub origin: String,
    /// `sha512-…` of the archive.
    pub integrity: String,
    /// Archive file name, kind (`npm`/`crate`), size and SHA-256.
    pub archive: ArchiveRef,
    /// The plugin manifest (JSON).
    pub manifest: serde_json::Value,
    /// Components.
    pub components: Vec<ComponentRef>,
    /// Tier.
    pub trust_tier: TrustTier,
    /// Scan summary.
    pub scan: ScanSummary,
    /// Publishing account.
    pub publisher: String,
}

/// A signed manifest ready to store.
#[derive(Debug, Clone)]
pub struct SignedRelease {
    /// The envelope's JSON bytes, exactly as served.
    pub envelope: Vec<u8>,
    /// The key that signed it.
    pub key_id: String,
}

impl ReleaseFacts {
    /// The statement, issued at `issued_at` and valid for `ttl_days`.
    pub fn statement(&self, issued_at: DateTime<Utc>, ttl_days: u32) -> Statement {
        Statement::for_release(ReleasePredicate {
            name: self.name.clone(),
            version: self.version.clone(),
            origin: Origin {
                kind: self.origin.clone(),
                integrity: self.integrity.clone(),
            },
            archive: self.archive.clone(),
            manifest: self.manifest.clone(),
            components: self.components.clone(),
            trust_tier: self.trust_tier,
            scan: self.scan.clone(),
            publisher: PublisherRef {
                account: self.publisher.clone(),
                identity: None,
            },
            issued_at,
            expires_at: issued_at + Duration::days(i64::from(ttl_days)),
        })
    }

    /// Signs the statement with the ring's active key.
    pub fn sign(&self, keys: &KeyRing, ttl_days: u32) -> Result<SignedRelease, KeyRingError> {
        let payload = self.statement(Utc::now(), ttl_days).to_payload();
        let (envelope, key_id): (Envelope, String) =
            keys.with_active(|k| (k.sign_envelope(&payload), k.key_id().to_string()))?;
        Ok(SignedRelease {
            envelope: envelope.to_json(),
            key_id,
        })
    }
}

/// Signs again what an existing signed manifest says, with a new tier and a fresh issue
/// and expiry time (a tier change, or renewal before expiry). The old envelope must be the
/// registry's own; its signature is not re-checked here because it came from our store.
pub fn resign(
    keys: &KeyRing,
    envelope: &[u8],
    tier: TrustTier,
    ttl_days: u32,
) -> Result<SignedRelease, KeyRingError> {
    let bad = |m: String| KeyRingError::Generate(format!("cannot re-sign: {m}"));
    let envelope = Envelope::from_json(envelope).map_err(|e| bad(e.to_string()))?;
    let payload = envelope.payload_bytes().map_err(|e| bad(e.to_string()))?;
    let mut statement: Statement =
        serde_json::from_slice(&payload).map_err(|e| bad(e.to_string()))?;
    let now = Utc::now();
    statement.predicate.trust_tier = tier;
    statement.predicate.issued_at = now;
    statement.predicate.expires_at = now + Duration::days(i64::from(ttl_days));
    let payload = statement.to_payload();
    let (envelope, key_id): (Envelope, String) =
        keys.with_active(|k| (k.sign_envelope(&payload), k.key_id().to_string()))?;
    Ok(SignedRelease {
        envelope: envelope.to_json(),
        key_id,
    })
}
