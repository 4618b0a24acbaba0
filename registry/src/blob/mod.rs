//! Content-addressed blob storage for package archives, package files and signed manifests.
//!
//! Two backends behind one trait, [`BlobStore`]: a local directory ([`LocalStore`], the
//! default) and any S3-compatible bucket ([`S3Store`]). Every blob lives under its content
//! address ([`BlobKey`], `sha256/<2 hex>/<2 hex>/<64 hex>`), so storing the same bytes twice
//! is a no-op and a blob never changes once written. Writes are atomic: a reader sees the
//! whole blob or nothing.

mod error;
mod local;
mod s3;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use error::BlobError;
pub use local::LocalStore;
pub use s3::S3Store;

/// A content address: `sha256/<2 hex>/<2 hex>/<64 hex>` (the first two pairs of hex digits of
/// the SHA-256 fan the blobs out over directories or key prefixes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// The content address of `bytes` (their SHA-256).
    pub fn for_bytes(bytes: &[u8]) -> BlobKey {
        let hex = hex::encode(Sha256::digest(bytes));
        BlobKey::from_valid_hex(&hex)
    }

    /// The key for a SHA-256 given as 64 lowercase hex digits (as stored in the database).
    pub fn from_sha256_hex(hex: &str) -> Result<BlobKey, BlobError> {
        let valid = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(BlobError::InvalidKey {
                key: hex.chars().take(80).collect(),
                reason: "a SHA-256 must be 64 lowercase hexadecimal digits".into(),
            });
        }
        Ok(BlobKey::from_valid_hex(hex))
    }

    fn from_valid_hex(hex: &str) -> BlobKey {
        BlobKey(format!("sha256/{}/{}/{}", &hex[..2], &hex[2..4], hex))
    }

    /// The SHA-256 of the blob, 64 lowercase hex digits.
    pub fn sha256_hex(&self) -> &str {
        // "sha256/ab/cd/" is 13 bytes; the constructor guarantees the rest is the hex.
        &self.0[13..]
    }

    /// The whole key, `sha256/<2 hex>/<2 hex>/<64 hex>` (a relative path / object key).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks that `bytes` hash to `key`: a store never files bytes under another content address.
pub(crate) fn verify_content(key: &BlobKey, bytes: &[u8]) -> Result<(), BlobError> {
    let actual = BlobKey::for_bytes(bytes);
    if &actual != key {
        return Err(BlobError::InvalidKey {
            key: key.to_string(),
            reason: format!(
                "the {} bytes given hash to {}, not to this key",
                bytes.len(),
                actual.sha256_hex()
            ),
        });
    }
    Ok(())
}

/// A blob's bytes as a stream of chunks.
pub type BlobBody = Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// A stored blob being read: its length, known up front, and its bytes.
pub struct Blob {
    /// Length in bytes (for `Content-Length`).
    pub len: u64,
    /// The bytes, streamed.
    pub body: BlobBody,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A content-addressed blob store.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores bytes under their content address; storing the same bytes again is a no-op
    /// success. Written atomically: a reader never sees a partial blob. Refuses
    /// ([`BlobError::InvalidKey`]) bytes that do not hash to `key`.
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError>;

    /// Opens a blob for streaming; [`BlobError::NotFound`] when nothing is stored under `key`.
    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobError>;

    /// Reads a small blob (a manifest) whole; [`BlobError::TooLarge`] when it is longer than
    /// `max` bytes, [`BlobError::NotFound`] when it is missing.
    async fn get_bytes(&self, key: &BlobKey, max: u64) -> Result<Bytes, BlobError>;

    /// Whether a blob is stored under `key`.
    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError>;

    /// Removes a blob; removing a missing blob succeeds.
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;

    /// Readiness: can we reach and write/read the store right now (for `/readyz`).
    async fn check(&self) -> Result<(), BlobError>;

    /// A human description for logs and errors, never containing secrets:
    /// `local directory /x`, `s3 bucket b at http://…`.
    fn describe(&self) -> String;
}

/// Which blob store to use (`[blob]` in the configuration file).
#[derive(Clone, serde::Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BlobConfig {
    /// Files under a local directory (created when missing).
    Local {
        /// The root directory; blobs live at `dir/<key>`.
        dir: std::path::PathBuf,
    },
    /// Objects in an S3-compatible bucket (which must exist).
    S3 {
        /// The endpoint URL (`http://host:port`); `None` means the provider's default.
        endpoint: Option<String>,
        /// The bucket name.
        bucket: String,
        /// The signing region; default `us-east-1`.
        region: Option<String>,
        /// Access key id.
        access_key_id: String,
        /// Secret access key (never logged or shown).
        secret_access_key: String,
        /// A key prefix inside the bucket (a `/` is added when it does not end in one).
        prefix: Option<String>,
        /// Path-style addressing (`endpoint/bucket/key`); default `true`.
        force_path_style: Option<bool>,
    },
}

impl fmt::Debug for BlobConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobConfig::Local { dir } => f.debug_struct("Local").field("dir", dir).finish(),
            BlobConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key: _,
                prefix,
                force_path_style,
            } => f
                .debug_struct("S3")
                .field("endpoint", endpoint)
                .field("bucket", bucket)
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .field("prefix", prefix)
                .field("force_path_style", force_path_style)
                .finish(),
        }
    }
}

/// Opens the configured store. A local directory is created when missing; an S3 bucket must
/// exist ([`BlobError::Config`] otherwise, also for rejected credentials), and an unreachable
/// endpoint is [`BlobError::Unavailable`].
pub async fn open(config: &BlobConfig) -> Result<Arc<dyn BlobStore>, BlobError> {
    match config {
        BlobConfig::Local { dir } => Ok(Arc::new(LocalStore::open(dir).await?)),
        BlobConfig::S3 { .. } => Ok(Arc::new(S3Store::open(config).await?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout() {
        let key = BlobKey::for_bytes(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(key.sha256_hex(), hex);
        assert_eq!(key.as_str(), format!("sha256/ba/78/{hex}"));
        assert_eq!(BlobKey::from_sha256_hex(hex).ok(), Some(key));
    }

    #[test]
    fn key_validation() {
        for bad in [
            "",
            "abc",
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
            "../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
        ] {
            assert!(
                matches!(
                    BlobKey::from_sha256_hex(bad),
                    Err(BlobError::InvalidKey { .. })
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn content_must_match_key() {
        let key = BlobKey::for_bytes(b"one");
        assert!(verify_content(&key, b"one").is_ok());
        assert!(matches!(
            verify_content(&key, b"two"),
            Err(BlobError::InvalidKey { .. })
        ));
    }

    #[test]
    fn config_debug_hides_secret() {
        let c = BlobConfig::S3 {
            endpoint: None,
            bucket: "b".into(),
            region: None,
            access_key_id: "AK".into(),
            secret_access_key: "very-secret".into(),
            prefix: None,
            force_path_style: None,
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }

    #[test]
    fn config_from_toml() {
        let c: BlobConfig = toml::from_str("kind = \"local\"\ndir = \"/x\"").expect("local");
        assert!(matches!(c, BlobConfig::Local { .. }));
        let c: BlobConfig = toml::from_str(
            "kind = \"s3\"\nbucket = \"b\"\naccess_key_id = \"a\"\nsecret_access_key = \"s\"",
        )
        .expect("s3");
        assert!(matches!(c, BlobConfig::S3 { .. }));
        assert!(toml::from_str::<BlobConfig>("kind = \"local\"\ndir = \"/x\"\nextra = 1").is_err());
    }
}
