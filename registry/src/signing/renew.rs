//! Re-signing stored manifests in bulk: before they expire, after a key is revoked, or
//! after a rotation when every manifest should carry the new key.

use bytes::Bytes;
use chrono::{Duration, Utc};
use clawdstrike_formats::manifest::TrustTier;
use clawdstrike_formats::signed::{Envelope, Statement};

use crate::blob::BlobKey;
use crate::state::AppState;

/// Which manifests to re-sign.
#[derive(Debug, Clone, Default)]
pub struct RenewSelection {
    /// Every manifest.
    pub all: bool,
    /// Manifests signed by this key.
    pub signed_by: Option<String>,
    /// Manifests expiring within this many days.
    pub expiring_within_days: Option<u32>,
}

/// What a renewal did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenewReport {
    /// Versions looked at.
    pub checked: usize,
    /// Versions re-signed.
    pub renewed: usize,
}

/// Re-signs the selected manifests with the active key, keeping every fact but the issue
/// and expiry times.
pub async fn renew(state: &AppState, selection: &RenewSelection) -> anyhow::Result<RenewReport> {
    let mut report = RenewReport::default();
    let horizon = selection
        .expiring_within_days
        .map(|d| Utc::now() + Duration::days(i64::from(d)));
    for (name, v) in state.db.all_versions().await? {
        report.checked += 1;
        let old = state
            .blobs
            .get_bytes(&BlobKey::from_sha256_hex(&v.envelope_sha256)?, 1 << 20)
            .await?;
        let statement: Statement =
            serde_json::from_slice(&Envelope::from_json(&old)?.payload_bytes()?)?;
        let selected = selection.all
            || selection.signed_by.as_deref() == Some(v.signing_key_id.as_str())
            || horizon.is_some_and(|h| statement.predicate.expires_at <= h);
        if !selected {
            continue;
        }
        let tier: TrustTier = v
            .trust_tier
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}@{}: {e}", v.version))?;
        let signed = super::release::resign(
            &state.keys,
            &old,
            tier,
            state.config.signing.manifest_ttl_days,
        )?;
        let key = BlobKey::for_bytes(&signed.envelope);
        state.blobs.put(&key, Bytes::from(signed.envelope)).await?;
        state
            .db
            .set_version_tier(v.id, &v.trust_tier, key.sha256_hex(), &signed.key_id)
            .await?;
        state.invalidate(&name);
        report.renewed += 1;
        tracing::info!(package = %name, version = %v.version, key = %signed.key_id, "manifest re-signed");
    }
    Ok(report)
}
