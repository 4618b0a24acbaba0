//! Signing keys (registry side) and pinned public keys (engine side).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::envelope::{pae, Envelope, Signature, PAYLOAD_TYPE};
use super::error::SignedError;

/// The key id of a raw ed25519 public key: `"ed25519:"` + the first 16 hex characters of
/// its SHA-256.
pub fn key_id_for(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    let hex = hex::encode(digest);
    format!("ed25519:{}", &hex[..16])
}

/// An ed25519 signing key and its key id.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the seed.
        f.debug_struct("KeyPair")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<KeyPair, SignedError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SignedError::Random(e.to_string()))?;
        Ok(KeyPair::from_seed(&seed))
    }

    /// The key with this 32-byte seed (the RFC 8032 secret key).
    pub fn from_seed(seed: &[u8; 32]) -> KeyPair {
        let signing = SigningKey::from_bytes(seed);
        let key_id = key_id_for(signing.verifying_key().as_bytes());
        KeyPair { signing, key_id }
    }

    /// The seed, to store the key.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The key id, `ed25519:<16 hex>`.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key, standard base64 of its 32 raw bytes (as published at
    /// `GET /api/v1/keys`).
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(self.public_key())
    }

    /// Sign `payload` (an in-toto statement's bytes, see
    /// [`Statement::to_payload`](super::Statement::to_payload)) into a DSSE envelope with
    /// payload type `application/vnd.in-toto+json` and one signature.
    pub fn sign_envelope(&self, payload: &[u8]) -> Envelope {
        let sig = self.signing.sign(&pae(PAYLOAD_TYPE, payload));
        Envelope {
            payload_type: PAYLOAD_TYPE.to_string(),
            payload: STANDARD.encode(payload),
            signatures: vec![Signature {
                keyid: self.key_id.clone(),
                sig: STANDARD.encode(sig.to_bytes()),
            }],
        }
    }

    /// This key as a [`TrustedKey`] valid from `valid_from` on.
    pub fn trusted(
        &self,
        valid_from: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
    ) -> TrustedKey {
        TrustedKey {
            key_id: self.key_id.clone(),
            public_key: self.public_key(),
            valid_from,
            valid_until,
        }
    }
}

/// A pinned public key: signatures by it are accepted for statements issued inside
/// `[valid_from, valid_until)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// `ed25519:<16 hex>`.
    pub key_id: String,
    /// The raw ed25519 public key.
    pub public_key: [u8; 32],
    /// Start of the validity window (inclusive).
    pub valid_from: DateTime<Utc>,
    /// End of the validity window (exclusive); `None` is open-ended.
    pub valid_until: Option<DateTime<Utc>>,
}

impl TrustedKey {
    /// A pinned key from its published form. Checks that the base64 decodes to a valid
    /// 32-byte ed25519 public key and that `key_id` is that key's id.
    pub fn from_base64(
        key_id: &str,
        public_key_b64: &str,
        valid_from: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<TrustedKey, SignedError> {
        let bad = |message: String| SignedError::BadPublicKey {
            key_id: key_id.to_string(),
            message,
        };
        let raw = STANDARD
            .decode(public_key_b64.trim().as_bytes())
            .map_err(|e| bad(format!("not standard base64: {e}")))?;
        let public_key: [u8; 32] = raw.as_slice().try_into().map_err(|_| {
            bad(format!(
                "{} bytes; an ed25519 public key is 32 bytes",
                raw.len()
            ))
        })?;
        VerifyingKey::from_bytes(&public_key)
            .map_err(|_| bad("not a valid ed25519 public key".to_string()))?;
        let actual = key_id_for(&public_key);
        if actual != key_id {
            return Err(SignedError::KeyIdMismatch {
                given: key_id.to_string(),
                actual,
            });
        }
        Ok(TrustedKey {
            key_id: actual,
            public_key,
            valid_from,
            valid_until,
        })
    }

    /// Whether `at` is inside `[valid_from, valid_until)`.
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        at >= self.valid_from && self.valid_until.is_none_or(|until| at < until)
    }
}
