//! Signed release manifests: DSSE envelopes carrying an in-toto Statement v1 whose
//! predicate describes one guard release (DESIGN.md §3.6).
//!
//! The registry signs, the engine verifies; both use this module so that the two sides
//! cannot disagree about the bytes.
//!
//! - Envelope JSON: `{"payloadType":"application/vnd.in-toto+json","payload":"<base64>",
//!   "signatures":[{"keyid":"ed25519:…","sig":"<base64>"}]}`.
//! - Each signature is ed25519 over the DSSE pre-authentication encoding ([`pae`]) of the
//!   payload type and the exact payload bytes.
//! - A key id is `"ed25519:"` followed by the first 16 hex characters of the SHA-256 of the
//!   raw 32-byte public key ([`key_id_for`]).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use clawdstrike_formats::signed::{self, KeyPair, TrustedKey};
//!
//! let pair = KeyPair::from_seed(&[7; 32]);
//! # let statement = signed::test_statement();
//! let envelope = pair.sign_envelope(&statement.to_payload());
//! let pinned = TrustedKey::from_base64(
//!     pair.key_id(),
//!     &pair.public_key_base64(),
//!     Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
//!     None,
//! )
//! .unwrap();
//! let now = statement.predicate.issued_at;
//! let release = signed::verify(&envelope.to_json(), &[pinned], now).unwrap();
//! assert_eq!(release.statement.predicate.name, "@acme/secrets");
//! assert_eq!(release.key_id, pair.key_id());
//! ```

mod envelope;
mod error;
mod keys;
mod statement;
mod verify;

#[cfg(test)]
mod tests;

pub use envelope::{pae, Envelope, Signature, PAYLOAD_TYPE};
pub use error::{SignedError, VerifyError};
pub use keys::{key_id_for, KeyPair, TrustedKey};
pub use statement::{
    ArchiveRef, ComponentRef, FindingCounts, Origin, PublisherRef, ReleasePredicate, ScanSummary,
    Statement, Subject, PREDICATE_TYPE, STATEMENT_TYPE,
};
pub use verify::{sha256_hex, verify, VerifiedRelease};

/// A complete example statement (`@acme/secrets` 0.1.0, issued 2026-11-24, valid one
/// year), for documentation and tests.
#[doc(hidden)]
pub fn test_statement() -> Statement {
    use chrono::{TimeZone, Utc};
    let issued = Utc.with_ymd_and_hms(2026, 11, 24, 13, 0, 0).single();
    let expires = Utc.with_ymd_and_hms(2027, 11, 24, 13, 0, 0).single();
    let (Some(issued_at), Some(expires_at)) = (issued, expires) else {
        unreachable!("fixed dates are valid")
    };
    let wasm = b"\0asm-example-component";
    let archive = b"example archive bytes";
    Statement::for_release(ReleasePredicate {
        name: "@acme/secrets".into(),
        version: "0.1.0".into(),
        origin: Origin {
            kind: "direct".into(),
            integrity: "sha512-AAAA".into(),
        },
        archive: ArchiveRef {
            name: "acme-secrets-0.1.0.tgz".into(),
            kind: "npm".into(),
            size: archive.len() as u64,
            sha256: sha256_hex(archive),
        },
        manifest: serde_json::json!({"schemaVersion": 1, "name": "@acme/secrets", "version": "0.1.0"}),
        components: vec![ComponentRef {
            guard: "acme_secrets".into(),
            path: "dist/guard.wasm".into(),
            sha256: sha256_hex(wasm),
            size: wasm.len() as u64,
        }],
        trust_tier: crate::manifest::TrustTier::Verified,
        scan: ScanSummary {
            scanner_version: "0.1.0".into(),
            passed: true,
            findings: FindingCounts::default(),
        },
        publisher: PublisherRef {
            account: "alice".into(),
            identity: None,
        },
        issued_at,
        expires_at,
    })
}
