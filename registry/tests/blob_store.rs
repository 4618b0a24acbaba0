//! The blob store, against both backends: a local directory and an S3 bucket served by
//! `s3s-fs` (see `support/s3.rs`; `scripts/install-s3s.sh` installs the server).
//!
//! Every behaviour of the [`BlobStore`] contract is one generic body run once per backend;
//! fault behaviours specific to a backend follow.

#[path = "support/s3.rs"]
mod s3_support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use clawdstrike_registry::blob::{self, BlobConfig, BlobError, BlobKey, BlobStore};
use futures_util::StreamExt;
use s3_support::S3Server;

/// A store and whatever keeps it alive (its directory or its server).
struct Fixture {
    store: Arc<dyn BlobStore>,
    _dir: Option<tempfile::TempDir>,
    _server: Option<S3Server>,
}

async fn local() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = blob::open(&BlobConfig::Local {
        dir: dir.path().join("blobs"),
    })
    .await
    .expect("open local store");
    Fixture {
        store,
        _dir: Some(dir),
        _server: None,
    }
}

async fn s3() -> Fixture {
    let server = S3Server::start();
    server.create_bucket("blobs").await;
    let store = blob::open(&server.blob_config("blobs"))
        .await
        .expect("open s3 store");
    Fixture {
        store,
        _dir: None,
        _server: Some(server),
    }
}

/// Runs one behaviour against both backends, as `local_<name>` and `s3_<name>`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod local_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::local().await;
                    super::$name(fixture.store.clone()).await;
                }
            )*
        }
        mod s3_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::s3().await;
                    super::$name(fixture.store.clone()).await;
                }
            )*
        }
    };
}

both_backends!(
    round_trip_one_byte,
    round_trip_five_mib,
    put_is_idempotent,
    put_refuses_bytes_of_another_key,
    missing_blob_is_not_found,
    get_bytes_respects_its_cap,
    delete_removes_and_tolerates_missing,
    exists_follows_put_and_delete,
    concurrent_puts_of_the_same_key,
    check_succeeds,
);

/// Reads a streamed blob whole.
async fn read_all(store: &dyn BlobStore, key: &BlobKey) -> (u64, Vec<u8>) {
    let blob = store.get(key).await.expect("get");
    let len = blob.len;
    let mut body = blob.body;
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.expect("body chunk"));
    }
    (len, out)
}

/// Deterministic, non-repeating-looking test bytes.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

async fn round_trip(store: Arc<dyn BlobStore>, bytes: Vec<u8>) {
    let key = BlobKey::for_bytes(&bytes);
    store
        .put(&key, Bytes::from(bytes.clone()))
        .await
        .expect("put");
    let (len, read) = read_all(store.as_ref(), &key).await;
    assert_eq!(len, bytes.len() as u64, "announced length");
    assert!(read == bytes, "streamed bytes differ");
    let whole = store
        .get_bytes(&key, bytes.len() as u64)
        .await
        .expect("get_bytes");
    assert!(whole.as_ref() == bytes.as_slice(), "get_bytes differs");
}

async fn round_trip_one_byte(store: Arc<dyn BlobStore>) {
    round_trip(store, vec![0x2a]).await;
}

async fn round_trip_five_mib(store: Arc<dyn BlobStore>) {
    round_trip(store, pattern(5 * 1024 * 1024, 7)).await;
}

async fn put_is_idempotent(store: Arc<dyn BlobStore>) {
    let bytes = Bytes::from_static(b"the same bytes, twice");
    let key = BlobKey::for_bytes(&bytes);
    store.put(&key, bytes.clone()).await.expect("first put");
    store.put(&key, bytes.clone()).await.expect("second put");
    let (_, read) = read_all(store.as_ref(), &key).await;
    assert_eq!(read, bytes.as_ref());
}

async fn put_refuses_bytes_of_another_key(store: Arc<dyn BlobStore>) {
    let key = BlobKey::for_bytes(b"what the key says");
    let err = store
        .put(&key, Bytes::from_static(b"something else"))
        .await
        .expect_err("mismatched bytes stored");
    assert!(matches!(err, BlobError::InvalidKey { .. }), "{err:?}");
    assert!(!store.exists(&key).await.expect("exists"));
}

async fn missing_blob_is_not_found(store: Arc<dyn BlobStore>) {
    let key = BlobKey::for_bytes(b"never stored");
    match store.get(&key).await {
        Err(BlobError::NotFound { key: k }) => assert_eq!(k, key.as_str()),
        Err(e) => panic!("get: expected NotFound, got {e:?}"),
        Ok(_) => panic!("get: expected NotFound, got a blob"),
    }
    let err = store
        .get_bytes(&key, 1024)
        .await
        .expect_err("get_bytes of a missing blob");
    assert!(matches!(err, BlobError::NotFound { .. }), "{err:?}");
    assert!(!store.exists(&key).await.expect("exists"));
}

async fn get_bytes_respects_its_cap(store: Arc<dyn BlobStore>) {
    let bytes = Bytes::from(pattern(100, 3));
    let key = BlobKey::for_bytes(&bytes);
    store.put(&key, bytes.clone()).await.expect("put");
    match store.get_bytes(&key, 99).await {
        Err(BlobError::TooLarge { size, max, .. }) => {
            assert_eq!((size, max), (100, 99));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let err = store.get_bytes(&key, 0).await.expect_err("cap of 0");
    assert!(matches!(err, BlobError::TooLarge { .. }), "{err:?}");
    assert_eq!(store.get_bytes(&key, 100).await.expect("at the cap"), bytes);
}

async fn delete_removes_and_tolerates_missing(store: Arc<dyn BlobStore>) {
    let bytes = Bytes::from_static(b"to be deleted");
    let key = BlobKey::for_bytes(&bytes);
    store.put(&key, bytes).await.expect("put");
    store.delete(&key).await.expect("delete");
    assert!(!store.exists(&key).await.expect("exists"));
    assert!(matches!(
        store.get(&key).await,
        Err(BlobError::NotFound { .. })
    ));
    store.delete(&key).await.expect("deleting again");
    store
        .delete(&BlobKey::for_bytes(b"never stored"))
        .await
        .expect("deleting a blob never stored");
}

async fn exists_follows_put_and_delete(store: Arc<dyn BlobStore>) {
    let bytes = Bytes::from_static(b"exists?");
    let key = BlobKey::for_bytes(&bytes);
    assert!(!store.exists(&key).await.expect("before put"));
    store.put(&key, bytes).await.expect("put");
    assert!(store.exists(&key).await.expect("after put"));
    // Another key in the same fan-out directory still does not exist.
    let other = BlobKey::from_sha256_hex(&format!("{}{}", &key.sha256_hex()[..4], "0".repeat(60)))
        .expect("key");
    assert!(!store.exists(&other).await.expect("neighbour"));
    store.delete(&key).await.expect("delete");
    assert!(!store.exists(&key).await.expect("after delete"));
}

async fn concurrent_puts_of_the_same_key(store: Arc<dyn BlobStore>) {
    let bytes = Bytes::from(pattern(1024 * 1024, 11));
    let key = BlobKey::for_bytes(&bytes);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, key, bytes) = (store.clone(), key.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move { store.put(&key, bytes).await }));
    }
    // Readers racing the writers see the whole blob or nothing.
    for _ in 0..8 {
        match store.get_bytes(&key, 2 * 1024 * 1024).await {
            Ok(read) => assert!(read == bytes, "a reader saw a partial blob"),
            Err(BlobError::NotFound { .. }) => {}
            Err(e) => panic!("reader: {e:?}"),
        }
    }
    for task in tasks {
        task.await.expect("join").expect("concurrent put");
    }
    let (_, read) = read_all(store.as_ref(), &key).await;
    assert!(read == bytes.as_ref(), "final contents differ");
}

async fn check_succeeds(store: Arc<dyn BlobStore>) {
    store.check().await.expect("check");
    let described = store.describe();
    assert!(
        described.starts_with("local directory ")
            || described.starts_with("s3 bucket blobs at http://127.0.0.1:"),
        "{described}"
    );
}

// ---------------------------------------------------------------------------------------
// Local directory

/// Every file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn temp_files(dir: &Path) -> Vec<std::path::PathBuf> {
    all_files(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".tmp-") || n.starts_with(".probe-"))
        })
        .collect()
}

#[tokio::test]
async fn local_layout_and_permissions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("a/b/blobs");
    let store = blob::open(&BlobConfig::Local { dir: root.clone() })
        .await
        .expect("open creates missing directories");
    let bytes = Bytes::from_static(b"layout");
    let key = BlobKey::for_bytes(&bytes);
    store.put(&key, bytes.clone()).await.expect("put");
    let path = root.join(key.as_str());
    assert_eq!(std::fs::read(&path).expect("blob file"), bytes.as_ref());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "file mode {mode:o}");
        let parent = path.parent().expect("parent");
        let mode = std::fs::metadata(parent)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        // 0755 as created, minus whatever the umask removes; never more.
        assert_eq!(mode & !0o755, 0, "directory mode {mode:o}");
    }
    store.check().await.expect("check");
    assert!(temp_files(&root).is_empty(), "{:?}", temp_files(&root));
    assert_eq!(
        store.describe(),
        format!("local directory {}", root.display())
    );
}

#[tokio::test]
async fn local_open_refuses_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").expect("write");
    let err = blob::open(&BlobConfig::Local { dir: file })
        .await
        .err()
        .expect("a file is not a blob directory");
    assert!(matches!(err, BlobError::Config { .. }), "{err:?}");
}

/// A write that fails after its temporary file was written (the final name is taken by a
/// directory, so the rename fails) leaves no temporary file behind and is reported as
/// Unavailable.
#[tokio::test]
async fn local_failed_rename_leaves_no_temp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("blobs");
    let store = blob::open(&BlobConfig::Local { dir: root.clone() })
        .await
        .expect("open");
    let bytes = Bytes::from(pattern(300_000, 5));
    let key = BlobKey::for_bytes(&bytes);
    let target = root.join(key.as_str());
    std::fs::create_dir_all(target.join("occupied")).expect("occupy the blob's path");
    let err = store
        .put(&key, bytes)
        .await
        .expect_err("put over a directory");
    eprintln!("put over a directory: {err}");
    assert!(matches!(err, BlobError::Unavailable { .. }), "{err:?}");
    assert!(temp_files(&root).is_empty(), "{:?}", temp_files(&root));
    assert!(!store.exists(&key).await.expect("exists"));
}

/// A write whose directory cannot be created (a path component is a file) fails cleanly.
#[tokio::test]
async fn local_parent_is_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("blobs");
    let store = blob::open(&BlobConfig::Local { dir: root.clone() })
        .await
        .expect("open");
    std::fs::write(root.join("sha256"), b"in the way").expect("write");
    let bytes = Bytes::from_static(b"nowhere to go");
    let key = BlobKey::for_bytes(&bytes);
    let err = store.put(&key, bytes).await.expect_err("put under a file");
    assert!(matches!(err, BlobError::Unavailable { .. }), "{err:?}");
    assert!(temp_files(&root).is_empty(), "{:?}", temp_files(&root));
    assert!(!store.exists(&key).await.expect("exists"));
    assert!(matches!(
        store.get(&key).await,
        Err(BlobError::NotFound { .. }) | Err(BlobError::Unavailable { .. })
    ));
}

/// A read-only blob directory: put and check fail as Unavailable, leaving no temporary file.
/// Root ignores directory permissions, so the test says so and returns when run as root.
#[cfg(unix)]
#[tokio::test]
async fn local_read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("blobs");
    let store = blob::open(&BlobConfig::Local { dir: root.clone() })
        .await
        .expect("open");
    let bytes = Bytes::from_static(b"read-only");
    let key = BlobKey::for_bytes(&bytes);
    let parent = root.join(key.as_str());
    let parent = parent.parent().expect("parent");
    std::fs::create_dir_all(parent).expect("mkdir");
    for d in [parent, root.as_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    }
    let restore = || {
        for d in [root.as_path(), parent] {
            let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
        }
    };
    if std::fs::write(parent.join("probe"), b"x").is_ok() {
        restore();
        eprintln!("local_read_only_directory: running with permission overrides (root); covered by local_failed_rename_leaves_no_temp_file instead");
        return;
    }
    let put = store.put(&key, bytes).await;
    let check = store.check().await;
    restore();
    assert!(matches!(put, Err(BlobError::Unavailable { .. })), "{put:?}");
    assert!(
        matches!(check, Err(BlobError::Unavailable { .. })),
        "{check:?}"
    );
    assert!(temp_files(&root).is_empty(), "{:?}", temp_files(&root));
}

#[tokio::test]
async fn local_check_fails_when_directory_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("blobs");
    let store = blob::open(&BlobConfig::Local { dir: root.clone() })
        .await
        .expect("open");
    std::fs::remove_dir_all(&root).expect("remove");
    let err = store.check().await.expect_err("check without a directory");
    assert!(matches!(err, BlobError::Unavailable { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// S3

#[tokio::test]
async fn s3_wrong_secret_is_a_clear_error() {
    let server = S3Server::start();
    server.create_bucket("blobs").await;
    let mut config = server.blob_config("blobs");
    let wrong = "not-the-secret-0123456789";
    if let BlobConfig::S3 {
        secret_access_key, ..
    } = &mut config
    {
        *secret_access_key = wrong.to_string();
    }
    let err = blob::open(&config)
        .await
        .err()
        .expect("wrong secret accepted");
    let text = err.to_string();
    eprintln!("wrong secret: {text}");
    assert!(matches!(err, BlobError::Config { .. }), "{err:?}");
    assert!(text.contains("credentials"), "{text}");
    assert!(text.contains("secret_access_key"), "{text}");
    assert!(!text.contains(wrong), "the secret leaked: {text}");
    assert!(
        !text.contains(&server.secret_key),
        "the secret leaked: {text}"
    );

    // Signature verification really happens on object operations too.
    let err = server
        .client_with_secret(wrong)
        .get_object()
        .bucket("blobs")
        .key("x")
        .send()
        .await
        .expect_err("wrong signature accepted");
    let text = format!("{}", aws_sdk_s3::error::DisplayErrorContext(&err));
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
}

#[tokio::test]
async fn s3_missing_bucket_is_a_config_error() {
    let server = S3Server::start();
    let err = blob::open(&server.blob_config("nope"))
        .await
        .err()
        .expect("missing bucket accepted");
    assert!(matches!(err, BlobError::Config { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "bucket nope does not exist at {}",
            server.endpoint
        )),
        "{text}"
    );
}

#[tokio::test]
async fn s3_unreachable_endpoint_is_unavailable_at_open() {
    let mut server = S3Server::start();
    server.create_bucket("blobs").await;
    server.stop();
    let started = Instant::now();
    let err = blob::open(&server.blob_config("blobs"))
        .await
        .err()
        .expect("opened a stopped server");
    eprintln!(
        "open against a stopped server: {err} ({:?})",
        started.elapsed()
    );
    assert!(matches!(err, BlobError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server_stopped_then_restarted() {
    let mut server = S3Server::start();
    server.create_bucket("blobs").await;
    let store = blob::open(&server.blob_config("blobs"))
        .await
        .expect("open");
    let bytes = Bytes::from(pattern(200_000, 9));
    let key = BlobKey::for_bytes(&bytes);
    store.put(&key, bytes.clone()).await.expect("put");

    server.stop();
    let other = Bytes::from_static(b"while down");
    let other_key = BlobKey::for_bytes(&other);
    let started = Instant::now();
    let results = [
        ("get", store.get(&key).await.map(|_| ())),
        (
            "get_bytes",
            store.get_bytes(&key, 1 << 20).await.map(|_| ()),
        ),
        ("put", store.put(&other_key, other.clone()).await),
        ("exists", store.exists(&key).await.map(|_| ())),
        ("delete", store.delete(&other_key).await),
        ("check", store.check().await),
    ];
    let elapsed = started.elapsed();
    eprintln!("six operations against a stopped server took {elapsed:?}");
    for (op, result) in results {
        eprintln!("{op}: {result:?}");
        assert!(
            matches!(result, Err(BlobError::Unavailable { .. })),
            "{op} with the server down: {result:?}"
        );
    }
    // Six operations, each with at most two short retries: seconds, not 30 s timeouts.
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");

    server.restart();
    store.check().await.expect("check after restart");
    let (_, read) = read_all(store.as_ref(), &key).await;
    assert!(read == bytes.as_ref(), "blob lost across the restart");
    store
        .put(&other_key, other)
        .await
        .expect("put after restart");
}

#[tokio::test]
async fn s3_prefix_places_objects() {
    let server = S3Server::start();
    server.create_bucket("blobs").await;
    let mut config = server.blob_config("blobs");
    if let BlobConfig::S3 { prefix, .. } = &mut config {
        *prefix = Some("registry".into());
    }
    let store = blob::open(&config).await.expect("open");
    assert!(
        store.describe().contains("prefix registry/"),
        "{}",
        store.describe()
    );
    let bytes = Bytes::from_static(b"prefixed");
    let key = BlobKey::for_bytes(&bytes);
    store.put(&key, bytes.clone()).await.expect("put");
    let object_key = format!("registry/{}", key.as_str());
    let head = server
        .client()
        .head_object()
        .bucket("blobs")
        .key(&object_key)
        .send()
        .await
        .expect("object at prefix + key");
    assert_eq!(head.content_length(), Some(bytes.len() as i64));
    // The upload carried its SHA-256, which the server checked and kept.
    let head = server
        .client()
        .head_object()
        .bucket("blobs")
        .key(&object_key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .expect("head with checksum");
    let sha = hex::decode(key.sha256_hex()).expect("hex");
    assert_eq!(
        head.checksum_sha256(),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(sha)
                .as_str()
        )
    );
    assert_eq!(
        std::fs::read(server.object_path("blobs", &object_key)).expect("file on the server"),
        bytes.as_ref()
    );
}

#[tokio::test]
async fn s3_describe_hides_secrets() {
    let server = S3Server::start();
    server.create_bucket("blobs").await;
    let store = blob::open(&server.blob_config("blobs"))
        .await
        .expect("open");
    let described = store.describe();
    assert_eq!(described, format!("s3 bucket blobs at {}", server.endpoint));
    assert!(!described.contains(&server.secret_key));
    assert!(!format!("{:?}", server.blob_config("blobs")).contains(&server.secret_key));
}
