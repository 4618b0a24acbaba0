//! Wire types of the registry's HTTP API (`/api/v1`) that both sides read: the registry
//! serialises them, the engine and the CLI deserialise them. With the `openapi` feature
//! each derives `utoipa::ToSchema` for the registry's OpenAPI document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The answer to a publish (`POST /api/v1/guards`, 201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Published {
    /// Package name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The tier it was stored at (`community` unless the publisher is trusted more).
    pub trust_tier: String,
    /// Where the signed manifest is served.
    pub manifest_url: String,
    /// Where the archive is served.
    pub artifact_url: String,
}

/// A signing key's role in the registry's key ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new manifests.
    #[default]
    Active,
    /// Announced; will sign after the next rotation.
    Next,
    /// Verifies old manifests only.
    Retired,
    /// Compromised or withdrawn: its window is empty, so it verifies nothing.
    Revoked,
}

/// A public key as published at `GET /api/v1/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// `ed25519:<16 hex>`.
    pub keyid: String,
    /// Always `ed25519`.
    #[serde(default = "ed25519")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub algorithm: String,
    /// The raw 32-byte public key, standard base64.
    pub public_key: String,
    /// Start of the window (manifests issued before it do not verify with this key).
    pub valid_from: DateTime<Utc>,
    /// End of the window, if the key is retired.
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    /// Role; a registry that predates key roles omits it, and its keys are active.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub status: KeyStatus,
}

impl KeyStatus {
    /// The spelling used in the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Next => "next",
            KeyStatus::Retired => "retired",
            KeyStatus::Revoked => "revoked",
        }
    }
}

fn ed25519() -> String {
    "ed25519".to_string()
}

/// `GET /api/v1/keys`: every signing key with its id, window and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyList {
    /// Keys, active first.
    pub keys: Vec<PublicKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_from_an_older_registry_without_status_still_reads() {
        let key: PublicKey = serde_json::from_str(
            r#"{"keyid":"ed25519:00","publicKey":"AA==","validFrom":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(key.algorithm, "ed25519");
        assert_eq!(key.status, KeyStatus::Active);
    }

    #[test]
    fn key_status_is_lowercase_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&KeyStatus::Revoked).unwrap(),
            "\"revoked\""
        );
    }
}
