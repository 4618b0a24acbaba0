//! The S3 blob store: one object per blob at `<prefix><key>` in an S3-compatible bucket.

use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

use super::{Blob, BlobConfig, BlobError, BlobKey, BlobStore};

/// Time allowed to open a TCP connection to the endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Time allowed for a whole operation, retries included (not the streaming of a body).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per operation: the first plus at most two retries.
const MAX_ATTEMPTS: u32 = 3;
/// Bodies at least this long are hashed off the async threads.
const HASH_INLINE_MAX: usize = 256 * 1024;

/// Blobs as objects in an S3-compatible bucket.
///
/// Uses path-style addressing by default (what self-hosted S3 servers expect), static
/// credentials, a 2 s connect timeout, a 30 s operation timeout and at most two retries with
/// short back-offs, so an unreachable endpoint is reported as [`BlobError::Unavailable`] within
/// seconds. Uploads carry their length and SHA-256 checksum, which the server verifies.
///
/// The endpoint may be `http://` (loopback, private networks) or `https://` (rustls, system
/// roots); a configuration without one is refused by [`S3Store::open`] with a
/// [`BlobError::Config`], so no provider default is ever reached by accident.
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    endpoint: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// What an SDK error means for us.
enum Failure {
    /// 404: no such object (or bucket, told apart by the error code).
    NotFound { no_such_bucket: bool },
    /// 401/403: the server refused our credentials or our access.
    Denied(String),
    /// The request could not be built (bad configuration).
    Construction(String),
    /// Network error, timeout, 5xx or any other refusal.
    Other(String),
}

/// An error and its sources, `outer: inner: innermost`, skipping repeated texts.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

fn classify<E>(err: SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_owned);
    match &err {
        SdkError::ConstructionFailure(_) => return Failure::Construction(chain(&err)),
        SdkError::TimeoutError(_) => {
            return Failure::Other(format!(
                "timed out (limit {} s per operation)",
                OPERATION_TIMEOUT.as_secs()
            ))
        }
        SdkError::DispatchFailure(d) => {
            let what = if d.is_timeout() {
                "connection timed out"
            } else if d.is_io() {
                "cannot connect"
            } else {
                "request failed"
            };
            return Failure::Other(format!("{what}: {}", chain(&err)));
        }
        SdkError::ResponseError(_) => {
            return Failure::Other(format!("bad response: {}", chain(&err)))
        }
        _ => {}
    }
    let code_text = code.clone().unwrap_or_else(|| "no error code".into());
    let status_text = status.map_or_else(|| "?".to_string(), |s| s.to_string());
    let described = match err.message() {
        Some(m) => format!("{code_text}, HTTP {status_text}: {m}"),
        None => format!("{code_text}, HTTP {status_text}"),
    };
    let denied_code = matches!(
        code.as_deref(),
        Some(
            "SignatureDoesNotMatch"
                | "InvalidAccessKeyId"
                | "AccessDenied"
                | "InvalidToken"
                | "ExpiredToken"
        )
    );
    if denied_code || matches!(status, Some(401 | 403)) {
        return Failure::Denied(described);
    }
    if status == Some(404) || matches!(code.as_deref(), Some("NoSuchKey" | "NotFound")) {
        return Failure::NotFound {
            no_such_bucket: code.as_deref() == Some("NoSuchBucket"),
        };
    }
    Failure::Other(described)
}

/// Normalises a key prefix: no leading `/`, a trailing `/` when not empty.
fn normalise_prefix(prefix: Option<&str>) -> String {
    let p = prefix.unwrap_or("").trim_start_matches('/');
    if p.is_empty() || p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    }
}

impl S3Store {
    /// Starts reading one object (shared by `get` and `get_bytes`).
    async fn get_object(
        &self,
        key: &BlobKey,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, BlobError> {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| self.error("cannot read", Some(key), e))
    }

    /// Connects to the bucket described by `config` (which must be [`BlobConfig::S3`]) and
    /// checks that it exists and accepts our credentials (HeadBucket).
    ///
    /// Errors: [`BlobError::Config`] for a bad configuration, a missing bucket or rejected
    /// credentials; [`BlobError::Unavailable`] when the endpoint cannot be reached.
    pub async fn open(config: &BlobConfig) -> Result<S3Store, BlobError> {
        let BlobConfig::S3 {
            endpoint,
            bucket,
            region,
            access_key_id,
            secret_access_key,
            prefix,
            force_path_style,
        } = config
        else {
            return Err(BlobError::config("not an S3 blob store configuration"));
        };
        if bucket.is_empty() {
            return Err(BlobError::config("the S3 bucket name is empty"));
        }
        // No endpoint means the provider's default, which only an explicit configuration may
        // choose: every endpoint is written down, as DESIGN.md §3.9 asks of upstream URLs.
        let endpoint = match endpoint.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(BlobError::config(format!(
                "s3 bucket {bucket}: an `endpoint` (http://host:port or https://host) is required"
            )))
            }
            Some(e) if e.starts_with("http://") || e.starts_with("https://") => {
                e.trim_end_matches('/').to_string()
            }
            Some(e) => {
                return Err(BlobError::config(format!(
                    "s3 endpoint `{e}` is not an http:// or https:// URL"
                )))
            }
        };

        let credentials = Credentials::new(
            access_key_id.clone(),
            secret_access_key.clone(),
            None,
            None,
            "clawdstrike-registry-config",
        );
        let sdk_config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(
                region
                    .clone()
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "us-east-1".to_string()),
            ))
            .endpoint_url(endpoint.clone())
            .force_path_style(force_path_style.unwrap_or(true))
            .credentials_provider(credentials)
            // rustls with ring: https endpoints verify against the system roots; plain http
            // stays available for loopback and private networks.
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(100))
                    .with_max_backoff(Duration::from_secs(1)),
            )
            .build();
        let store = S3Store {
            client: aws_sdk_s3::Client::from_conf(sdk_config),
            bucket: bucket.clone(),
            prefix: normalise_prefix(prefix.as_deref()),
            endpoint,
        };

        match store
            .client
            .head_bucket()
            .bucket(&store.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(store),
            Err(e) => Err(match classify(e) {
                Failure::NotFound { .. } => BlobError::config(format!(
                    "bucket {} does not exist at {}",
                    store.bucket, store.endpoint
                )),
                Failure::Denied(detail) => BlobError::config(format!(
                    "{} refused our credentials ({detail}): check access_key_id and \
                     secret_access_key",
                    store.describe()
                )),
                Failure::Construction(detail) => {
                    BlobError::config(format!("{}: {detail}", store.describe()))
                }
                Failure::Other(detail) => BlobError::unavailable(store.describe(), detail),
            }),
        }
    }

    /// The object key of a blob: prefix + key.
    fn object_key(&self, key: &BlobKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    /// Turns an SDK error on an operation (about `key`, when there is one) into a BlobError.
    fn error<E>(&self, op: &str, key: Option<&BlobKey>, err: SdkError<E>) -> BlobError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let what = match key {
            Some(k) => format!("{op} {k}"),
            None => op.to_string(),
        };
        match classify(err) {
            Failure::NotFound {
                no_such_bucket: false,
            } if key.is_some() => BlobError::NotFound {
                key: key.map(ToString::to_string).unwrap_or_default(),
            },
            Failure::NotFound { .. } => BlobError::unavailable(
                self.describe(),
                format!("{what}: bucket {} does not exist", self.bucket),
            ),
            Failure::Denied(detail) => BlobError::unavailable(
                self.describe(),
                format!("{what}: refused ({detail}); check access_key_id and secret_access_key"),
            ),
            Failure::Construction(detail) => {
                BlobError::config(format!("{}: {what}: {detail}", self.describe()))
            }
            Failure::Other(detail) => {
                BlobError::unavailable(self.describe(), format!("{what}: {detail}"))
            }
        }
    }
}

/// SHA-256 of `bytes`, off the async threads when they are long.
async fn sha256(bytes: &Bytes) -> Result<[u8; 32], tokio::task::JoinError> {
    if bytes.len() < HASH_INLINE_MAX {
        return Ok(Sha256::digest(bytes).into());
    }
    let bytes = bytes.clone();
    tokio::task::spawn_blocking(move || Sha256::digest(&bytes).into()).await
}

#[async_trait::async_trait]
impl BlobStore for S3Store {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let digest = sha256(&bytes).await.map_err(|e| {
            BlobError::unavailable(self.describe(), format!("background task failed: {e}"))
        })?;
        if hex::encode(digest) != key.sha256_hex() {
            return Err(BlobError::InvalidKey {
                key: key.to_string(),
                reason: format!(
                    "the {} bytes given hash to {}, not to this key",
                    bytes.len(),
                    hex::encode(digest)
                ),
            });
        }
        let len = i64::try_from(bytes.len()).map_err(|_| BlobError::TooLarge {
            key: key.to_string(),
            size: bytes.len() as u64,
            max: i64::MAX as u64,
        })?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .content_length(len)
            .content_type("application/octet-stream")
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.error("cannot store", Some(key), e))?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobError> {
        let out = self.get_object(key).await?;
        let len = match out.content_length() {
            Some(n) => u64::try_from(n).unwrap_or(0),
            None => out.body.size_hint().0,
        };
        let body = futures_util::stream::unfold(Some(out.body), |state| async move {
            let mut body = state?;
            match body.next().await {
                None => None,
                Some(Ok(chunk)) => Some((Ok(chunk), Some(body))),
                Some(Err(e)) => Some((Err(std::io::Error::other(e)), None)),
            }
        });
        Ok(Blob {
            len,
            body: Box::pin(body),
        })
    }

    async fn get_bytes(&self, key: &BlobKey, max: u64) -> Result<Bytes, BlobError> {
        let out = self.get_object(key).await?;
        let too_large = |size: u64| BlobError::TooLarge {
            key: key.to_string(),
            size,
            max,
        };
        let declared = out.content_length().and_then(|n| u64::try_from(n).ok());
        if let Some(size) = declared.filter(|&n| n > max) {
            return Err(too_large(size));
        }
        let mut body = out.body;
        let mut buf =
            BytesMut::with_capacity(declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                let message = chain(&e);
                if message.contains("checksum mismatch") {
                    BlobError::Corrupt {
                        key: key.to_string(),
                        message,
                    }
                } else {
                    BlobError::unavailable(self.describe(), format!("cannot read {key}: {message}"))
                }
            })?;
            if (buf.len() + chunk.len()) as u64 > max {
                return Err(too_large((buf.len() + chunk.len()) as u64));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match self.error("cannot look up", Some(key), e) {
                BlobError::NotFound { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match self.error("cannot delete", Some(key), e) {
                BlobError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| self.error("cannot reach the bucket", None, e))?;
        Ok(())
    }

    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3 bucket {} at {}", self.bucket, self.endpoint)
        } else {
            format!(
                "s3 bucket {} at {} (prefix {})",
                self.bucket, self.endpoint, self.prefix
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(normalise_prefix(None), "");
        assert_eq!(normalise_prefix(Some("")), "");
        assert_eq!(normalise_prefix(Some("/")), "");
        assert_eq!(normalise_prefix(Some("registry")), "registry/");
        assert_eq!(normalise_prefix(Some("/a/b/")), "a/b/");
    }

    #[tokio::test]
    async fn refuses_unsupported_endpoints() {
        for endpoint in [None, Some(""), Some("ftp://x")] {
            let config = BlobConfig::S3 {
                endpoint: endpoint.map(str::to_string),
                bucket: "b".into(),
                region: None,
                access_key_id: "a".into(),
                secret_access_key: "s".into(),
                prefix: None,
                force_path_style: None,
            };
            assert!(
                matches!(S3Store::open(&config).await, Err(BlobError::Config { .. })),
                "{endpoint:?} accepted"
            );
        }
    }
}
