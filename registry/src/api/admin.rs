//! Moderator routes under `/api/v1/admin/`: changing a version's trust tier re-signs its
//! manifest, so engines see the new tier only through a valid signature.

use axum::extract::{Path, State};
use axum::Json;
use bytes::Bytes;
use clawdstrike_formats::manifest::TrustTier;

use super::lookup;
use super::views::{TierChange, VersionView};
use crate::auth::{Action, Caller};
use crate::blob::BlobKey;
use crate::error::ApiError;
use crate::state::AppState;

/// Sets a version's trust tier (`community`, `verified`, `certified`) and re-signs its
/// manifest.
#[utoipa::path(put, path = "/api/v1/admin/guards/{name}/{version}/tier", tag = "moderation",
    params(("name" = String, Path), ("version" = String, Path)), request_body = TierChange,
    security(("bearer" = [])),
    responses((status = 200, body = VersionView), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn set_tier(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    Json(change): Json<TierChange>,
) -> Result<Json<VersionView>, ApiError> {
    caller.require(Action::Moderate, &name)?;
    let tier: TrustTier = change
        .tier
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("{e}")))?;
    if tier == TrustTier::FirstParty {
        return Err(ApiError::BadRequest(
            "`first-party` is reserved for packages the registry ships itself".into(),
        ));
    }
    let (p, v) = lookup::version(&state, &name, &version).await?;
    let old = state
        .blobs
        .get_bytes(&BlobKey::from_sha256_hex(&v.envelope_sha256)?, 1 << 20)
        .await?;
    let signed = crate::signing::release::resign(
        &state.keys,
        &old,
        tier,
        state.config.signing.manifest_ttl_days,
    )
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let key = BlobKey::for_bytes(&signed.envelope);
    state.blobs.put(&key, Bytes::from(signed.envelope)).await?;
    state
        .db
        .set_version_tier(v.id, tier.as_str(), key.sha256_hex(), &signed.key_id)
        .await?;
    if p.latest_version.as_deref() == Some(version.as_str()) {
        state
            .db
            .set_latest_version(p.id, Some(&version), Some(tier.as_str()))
            .await?;
    }
    state.invalidate(&name);
    tracing::info!(package = %name, %version, tier = tier.as_str(), reason = ?change.reason,
        by = %caller.0.publisher.name, "trust tier changed");
    let (_, v) = lookup::version(&state, &name, &version).await?;
    Ok(Json(VersionView::from(&v)))
}
