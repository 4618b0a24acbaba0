//! The in-toto Statement v1 and the guard-release predicate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::manifest::TrustTier;

/// The statement `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The statement `predicateType` of a guard release.
pub const PREDICATE_TYPE: &str = "urn:clawdstrike:guard-release:v1";

/// An in-toto Statement v1 about one guard release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The archive (first) and every component, each with its sha256.
    pub subject: Vec<Subject>,
    /// Always [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// What the registry says about the release.
    pub predicate: ReleasePredicate,
}

/// One artifact the statement is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Archive file name, or a component's path inside the package.
    pub name: String,
    /// Digests by algorithm; `sha256` (lowercase hex) is the one checked.
    pub digest: BTreeMap<String, String>,
}

/// The `urn:clawdstrike:guard-release:v1` predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasePredicate {
    /// Package name, e.g. `@acme/secrets`.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Where the archive came from.
    pub origin: Origin,
    /// The package archive.
    pub archive: ArchiveRef,
    /// The plugin manifest as JSON (TOML manifests converted).
    pub manifest: serde_json::Value,
    /// The WebAssembly components, one per guard.
    pub components: Vec<ComponentRef>,
    /// The tier the registry grants the release.
    pub trust_tier: TrustTier,
    /// The security scan's outcome.
    pub scan: ScanSummary,
    /// Who published it.
    pub publisher: PublisherRef,
    /// When the registry signed this statement.
    pub issued_at: DateTime<Utc>,
    /// After this instant the statement is refused; the registry re-signs before then.
    pub expires_at: DateTime<Utc>,
}

/// Provenance of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// `direct`, `npm` or `crates`.
    pub kind: String,
    /// npm-style SRI of the archive (`sha512-<base64>`).
    pub integrity: String,
}

/// The package archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRef {
    /// File name, equal to the first subject's name.
    pub name: String,
    /// `npm` (tarball) or `crate`.
    pub kind: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// One guard's component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRef {
    /// The guard's name in the manifest.
    pub guard: String,
    /// Path inside the package, e.g. `dist/guard.wasm`.
    pub path: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The security scan summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanSummary {
    /// Scanner version.
    pub scanner_version: String,
    /// Whether the scan passed.
    pub passed: bool,
    /// Findings by severity.
    pub findings: FindingCounts,
}

/// Scan findings by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCounts {
    /// Critical findings.
    pub critical: u64,
    /// High findings.
    pub high: u64,
    /// Medium findings.
    pub medium: u64,
    /// Low findings.
    pub low: u64,
}

/// The publisher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublisherRef {
    /// Registry account name.
    pub account: String,
    /// Verified identity, if any (shape decided by the registry).
    pub identity: Option<serde_json::Value>,
}

impl Statement {
    /// The statement for `predicate`, with subjects derived from it: the archive first
    /// (`archive.name`, `archive.sha256`), then each component (`path`, `sha256`).
    pub fn for_release(predicate: ReleasePredicate) -> Statement {
        let mut subject = Vec::with_capacity(predicate.components.len() + 1);
        subject.push(Subject::sha256(
            &predicate.archive.name,
            &predicate.archive.sha256,
        ));
        for c in &predicate.components {
            subject.push(Subject::sha256(&c.path, &c.sha256));
        }
        Statement {
            type_: STATEMENT_TYPE.to_string(),
            subject,
            predicate_type: PREDICATE_TYPE.to_string(),
            predicate,
        }
    }

    /// The statement as compact JSON bytes. The signer signs exactly these bytes; the
    /// verifier checks the signature over the bytes in the envelope, never over a
    /// re-serialisation.
    pub fn to_payload(&self) -> Vec<u8> {
        // Every field is a string, number, bool, list, string-keyed map or JSON value, all
        // of which serialise.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Subject {
    /// A subject with one `sha256` digest.
    pub fn sha256(name: &str, hex: &str) -> Subject {
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), hex.to_string())]),
        }
    }
}
