//! The blob store's error type.

/// Every way a blob store operation can fail.
///
/// The API maps [`BlobError::Unavailable`] to 503 (the store is down or refusing us right
/// now; a retry later may succeed) and everything else to the status its meaning calls for.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob is stored under this key.
    #[error("blob {key} not found")]
    NotFound {
        /// The content address that was asked for.
        key: String,
    },
    /// The blob is larger than the caller's limit.
    #[error("blob {key} is {size} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// The content address.
        key: String,
        /// The stored size in bytes.
        size: u64,
        /// The caller's limit in bytes.
        max: u64,
    },
    /// The store cannot be reached or refused the operation (network error, timeout, 5xx,
    /// rejected credentials, local I/O error).
    #[error("{store} is unavailable: {message}")]
    Unavailable {
        /// Which store ([`crate::blob::BlobStore::describe`]).
        store: String,
        /// What went wrong, with the underlying cause.
        message: String,
    },
    /// A key is malformed, or the bytes do not hash to the key they are stored under.
    #[error("invalid blob key `{key}`: {reason}")]
    InvalidKey {
        /// The offending key (or text that was meant to be one).
        key: String,
        /// Why it was refused.
        reason: String,
    },
    /// The store says the bytes it holds no longer match what was written (an S3 checksum
    /// mismatch): tampering or corruption, not a transient failure.
    #[error("blob {key} is corrupt: {message}")]
    Corrupt {
        /// The content address.
        key: String,
        /// The store's report.
        message: String,
    },
    /// The store's configuration is wrong (missing bucket, bad directory, bad endpoint).
    #[error("blob store configuration: {message}")]
    Config {
        /// What is wrong and what to change.
        message: String,
    },
}

impl BlobError {
    /// An [`BlobError::Unavailable`] for `store` with `message`.
    pub(crate) fn unavailable(store: impl Into<String>, message: impl Into<String>) -> Self {
        BlobError::Unavailable {
            store: store.into(),
            message: message.into(),
        }
    }

    /// A [`BlobError::Config`] with `message`.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        BlobError::Config {
            message: message.into(),
        }
    }
}
