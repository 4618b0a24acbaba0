//! Errors of signing-key handling and of envelope verification.

use chrono::{DateTime, Utc};

/// A key could not be created or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    /// The operating system's random source failed.
    #[error("cannot generate a signing key: the system random source failed: {0}")]
    Random(String),
    /// A public key is not standard base64 of 32 bytes, or not a valid ed25519 point.
    #[error("public key of {key_id}: {message}")]
    BadPublicKey {
        /// The key id it was given under.
        key_id: String,
        /// What is wrong.
        message: String,
    },
    /// The key id does not belong to the public key.
    #[error(
        "key id {given} does not match its public key, whose id is {actual}; \
         copy the keyid and publicKey together from GET /api/v1/keys"
    )]
    KeyIdMismatch {
        /// The key id that was given.
        given: String,
        /// The id computed from the public key.
        actual: String,
    },
}

/// Why a signed manifest was refused. Every message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The envelope is not the expected JSON, or a field is not valid base64.
    #[error("malformed signed manifest: {0}")]
    MalformedEnvelope(String),
    /// The envelope carries something other than an in-toto statement.
    #[error("signed manifest has payloadType \"{0}\"; expected \"application/vnd.in-toto+json\"")]
    WrongPayloadType(String),
    /// The envelope has no signatures.
    #[error("signed manifest has no signatures")]
    Unsigned,
    /// No signature is from a pinned key.
    #[error(
        "signed manifest is signed by {} but the pinned keys are {}; pin the registry's \
         current key (`clawdstrike guard keys URL` prints the block to add)",
        list(seen),
        list(pinned)
    )]
    UnknownKey {
        /// Key ids of the envelope's signatures.
        seen: Vec<String>,
        /// Key ids that are pinned.
        pinned: Vec<String>,
    },
    /// The signing key was not valid when the statement was issued.
    #[error(
        "key {key_id} signed a statement issued at {issued_at}, outside the key's validity \
         window [{valid_from}, {})",
        valid_until.map(|t| t.to_rfc3339()).unwrap_or_else(|| "no end".into())
    )]
    KeyNotValid {
        /// The signing key.
        key_id: String,
        /// The statement's `issuedAt`.
        issued_at: DateTime<Utc>,
        /// Start of the key's window.
        valid_from: DateTime<Utc>,
        /// End of the key's window (exclusive), if any.
        valid_until: Option<DateTime<Utc>>,
    },
    /// A signature from a pinned key does not match the payload.
    #[error(
        "bad signature by {0}: the signed manifest was altered after signing, or was signed \
         with a different key under that id"
    )]
    BadSignature(String),
    /// The payload is not a guard-release statement.
    #[error("malformed statement: {0}")]
    MalformedStatement(String),
    /// The statement's `expiresAt` is not in the future.
    #[error(
        "signed manifest for {name}@{version} expired at {expires_at} (now {now}); \
         fetch it again from the registry, which re-signs releases"
    )]
    Expired {
        /// Package name.
        name: String,
        /// Package version.
        version: String,
        /// The statement's `expiresAt`.
        expires_at: DateTime<Utc>,
        /// The time of verification.
        now: DateTime<Utc>,
    },
    /// Downloaded bytes differ from their signed digest.
    #[error("{name}: sha256 is {actual} but the signed manifest says {expected}")]
    SubjectMismatch {
        /// Subject name (archive file name or component path).
        name: String,
        /// The signed digest.
        expected: String,
        /// The digest of the bytes at hand.
        actual: String,
    },
    /// The statement has no subject of that name (or it has no sha256 digest).
    #[error(
        "the signed manifest has no subject {name} (it has: {})",
        list(available)
    )]
    MissingSubject {
        /// The name looked for.
        name: String,
        /// The subjects it has.
        available: Vec<String>,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
