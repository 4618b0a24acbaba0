//! Verifying a signed manifest.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use super::envelope::{pae, Envelope, PAYLOAD_TYPE};
use super::error::VerifyError;
use super::keys::TrustedKey;
use super::statement::{Statement, PREDICATE_TYPE, STATEMENT_TYPE};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A statement whose signature verified with a pinned key and which has not expired.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedRelease {
    /// The statement.
    pub statement: Statement,
    /// The pinned key whose signature verified.
    pub key_id: String,
}

impl VerifiedRelease {
    /// Check that `bytes` are the subject `name` (the archive file name or a component
    /// path): the statement must list it and its sha256 must equal theirs.
    pub fn check_subject(&self, name: &str, bytes: &[u8]) -> Result<(), VerifyError> {
        let expected = self
            .statement
            .subject
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.digest.get("sha256"))
            .ok_or_else(|| VerifyError::MissingSubject {
                name: name.to_string(),
                available: self
                    .statement
                    .subject
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
            })?;
        let actual = sha256_hex(bytes);
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(VerifyError::SubjectMismatch {
                name: name.to_string(),
                expected: expected.clone(),
                actual,
            });
        }
        Ok(())
    }
}

/// Verify a DSSE envelope: parse it, check its payload type, check that a signature from
/// a pinned key verifies over the PAE of the decoded payload bytes (before those bytes are
/// parsed), parse the statement, check that the signing key was valid at `issuedAt` and
/// that `expiresAt` is after `now`.
///
/// Subjects are not checked here: call [`VerifiedRelease::check_subject`] for every byte
/// string downloaded.
pub fn verify(
    envelope_bytes: &[u8],
    keys: &[TrustedKey],
    now: DateTime<Utc>,
) -> Result<VerifiedRelease, VerifyError> {
    let envelope = Envelope::from_json(envelope_bytes)?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(VerifyError::WrongPayloadType(envelope.payload_type));
    }
    let payload = envelope.payload_bytes()?;
    if envelope.signatures.is_empty() {
        return Err(VerifyError::Unsigned);
    }
    let message = pae(PAYLOAD_TYPE, &payload);

    // Every signature by a pinned key that verifies, with the key.
    let mut verified: Vec<&TrustedKey> = Vec::new();
    let mut bad: Option<String> = None;
    for sig in &envelope.signatures {
        let candidates = keys.iter().filter(|k| k.key_id == sig.keyid);
        for key in candidates {
            let raw = STANDARD.decode(sig.sig.as_bytes()).map_err(|e| {
                VerifyError::MalformedEnvelope(format!(
                    "signature by {} is not standard base64: {e}",
                    sig.keyid
                ))
            })?;
            let Ok(raw) = <[u8; 64]>::try_from(raw.as_slice()) else {
                return Err(VerifyError::MalformedEnvelope(format!(
                    "signature by {} is {} bytes; an ed25519 signature is 64 bytes",
                    sig.keyid,
                    raw.len()
                )));
            };
            let signature = ed25519_dalek::Signature::from_bytes(&raw);
            let ok = VerifyingKey::from_bytes(&key.public_key)
                .map(|vk| vk.verify_strict(&message, &signature).is_ok())
                .unwrap_or(false);
            if ok {
                verified.push(key);
            } else {
                bad.get_or_insert_with(|| sig.keyid.clone());
            }
        }
    }
    if verified.is_empty() {
        if let Some(key_id) = bad {
            return Err(VerifyError::BadSignature(key_id));
        }
        return Err(VerifyError::UnknownKey {
            seen: envelope
                .signatures
                .iter()
                .map(|s| s.keyid.clone())
                .collect(),
            pinned: keys.iter().map(|k| k.key_id.clone()).collect(),
        });
    }

    // Only now, with the bytes authenticated, parse them.
    let statement: Statement = serde_json::from_slice(&payload).map_err(|e| {
        VerifyError::MalformedStatement(format!("payload is not a guard-release statement: {e}"))
    })?;
    if statement.type_ != STATEMENT_TYPE {
        return Err(VerifyError::MalformedStatement(format!(
            "_type is \"{}\"; expected \"{STATEMENT_TYPE}\"",
            statement.type_
        )));
    }
    if statement.predicate_type != PREDICATE_TYPE {
        return Err(VerifyError::MalformedStatement(format!(
            "predicateType is \"{}\"; expected \"{PREDICATE_TYPE}\"",
            statement.predicate_type
        )));
    }

    let issued_at = statement.predicate.issued_at;
    let Some(key) = verified.iter().find(|k| k.valid_at(issued_at)) else {
        let k = verified[0];
        return Err(VerifyError::KeyNotValid {
            key_id: k.key_id.clone(),
            issued_at,
            valid_from: k.valid_from,
            valid_until: k.valid_until,
        });
    };
    if statement.predicate.expires_at <= now {
        return Err(VerifyError::Expired {
            name: statement.predicate.name.clone(),
            version: statement.predicate.version.clone(),
            expires_at: statement.predicate.expires_at,
            now,
        });
    }
    let key_id = key.key_id.clone();
    Ok(VerifiedRelease { statement, key_id })
}
