//! The local-directory blob store: one file per blob at `<dir>/<key>`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;

use super::{verify_content, Blob, BlobError, BlobKey, BlobStore};

/// Read size when streaming a blob from disk.
const CHUNK: usize = 64 * 1024;

/// Blobs as files under a directory.
///
/// A blob is written to a temporary file (`.tmp-*.part`) in its final directory, flushed to
/// disk (`fsync`), given mode 0644 and renamed into place, so a reader never sees part of a
/// blob and a failed write leaves nothing behind. Directories are created with mode 0755.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens (creating when missing) the store rooted at `dir`.
    pub async fn open(dir: &Path) -> Result<LocalStore, BlobError> {
        let root = std::path::absolute(dir).map_err(|e| {
            BlobError::config(format!(
                "blob directory {} cannot be resolved: {e}",
                dir.display()
            ))
        })?;
        let store = LocalStore { root };
        let root = store.root.clone();
        let result = tokio::task::spawn_blocking(move || -> io::Result<()> {
            create_dirs(&root)?;
            let meta = std::fs::metadata(&root)?;
            if !meta.is_dir() {
                return Err(io::Error::other("it is not a directory"));
            }
            Ok(())
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(store),
            Ok(Err(e)) => Err(BlobError::config(format!(
                "blob directory {} cannot be used: {e}",
                store.root.display()
            ))),
            Err(e) => Err(store.unavailable(format!("background task failed: {e}"))),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn unavailable(&self, message: impl Into<String>) -> BlobError {
        BlobError::unavailable(self.describe(), message)
    }

    fn io_error(&self, what: &str, key: Option<&BlobKey>, e: io::Error) -> BlobError {
        match key {
            Some(key) => self.unavailable(format!("{what} {key}: {e}")),
            None => self.unavailable(format!("{what}: {e}")),
        }
    }

    /// Runs blocking file-system work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
    ) -> Result<T, BlobError> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| self.unavailable(format!("background task failed: {e}")))?
    }
}

/// Creates `dir` and its missing parents with mode 0755.
fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder.create(dir)
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename).
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let parent = path
        .parent()
        .ok_or_else(|| io::Error::other("a blob path has no parent directory"))?;
    create_dirs(parent)?;
    // Dropping `tmp` on any error below removes the temporary file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".part")
        .tempfile_in(parent)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    #[cfg(unix)]
    std::fs::File::open(parent)?.sync_all()?;
    Ok(())
}

#[async_trait::async_trait]
impl BlobStore for LocalStore {
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let this = self.clone();
        let key = key.clone();
        self.blocking(move || {
            verify_content(&key, &bytes)?;
            let path = this.path(&key);
            match std::fs::metadata(&path) {
                // Same address, same length: the same bytes are already there.
                Ok(meta) if meta.is_file() && meta.len() == bytes.len() as u64 => return Ok(()),
                _ => {}
            }
            write_atomically(&path, &bytes)
                .map_err(|e| this.io_error("cannot write", Some(&key), e))
        })
        .await
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob, BlobError> {
        let path = self.path(key);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound {
                    key: key.to_string(),
                })
            }
            Err(e) => return Err(self.io_error("cannot open", Some(key), e)),
        };
        let meta = file
            .metadata()
            .await
            .map_err(|e| self.io_error("cannot stat", Some(key), e))?;
        if !meta.is_file() {
            return Err(BlobError::NotFound {
                key: key.to_string(),
            });
        }
        let len = meta.len();
        let body = futures_util::stream::unfold(Some(file), |state| async move {
            let mut file = state?;
            let mut buf = BytesMut::with_capacity(CHUNK);
            match file.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), Some(file))),
                Err(e) => Some((Err(e), None)),
            }
        });
        Ok(Blob {
            len,
            body: Box::pin(body),
        })
    }

    async fn get_bytes(&self, key: &BlobKey, max: u64) -> Result<Bytes, BlobError> {
        let this = self.clone();
        let key = key.clone();
        self.blocking(move || {
            let path = this.path(&key);
            let file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(BlobError::NotFound {
                        key: key.to_string(),
                    })
                }
                Err(e) => return Err(this.io_error("cannot open", Some(&key), e)),
            };
            let meta = file
                .metadata()
                .map_err(|e| this.io_error("cannot stat", Some(&key), e))?;
            if !meta.is_file() {
                return Err(BlobError::NotFound {
                    key: key.to_string(),
                });
            }
            if meta.len() > max {
                return Err(BlobError::TooLarge {
                    key: key.to_string(),
                    size: meta.len(),
                    max,
                });
            }
            let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
            // Read at most max + 1 bytes, whatever the file claims.
            file.take(max.saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(|e| this.io_error("cannot read", Some(&key), e))?;
            if buf.len() as u64 > max {
                return Err(BlobError::TooLarge {
                    key: key.to_string(),
                    size: buf.len() as u64,
                    max,
                });
            }
            Ok(Bytes::from(buf))
        })
        .await
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            // A path component that is a file ("not a directory") means no blob either.
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(false),
            Err(e) => Err(self.io_error("cannot stat", Some(key), e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_error("cannot delete", Some(key), e)),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        let this = self.clone();
        self.blocking(move || {
            let probe = || -> io::Result<()> {
                let mut tmp = tempfile::Builder::new()
                    .prefix(".probe-")
                    .tempfile_in(&this.root)?;
                tmp.write_all(b"clawdstrike blob store probe\n")?;
                tmp.as_file().sync_all()?;
                let mut back = String::new();
                std::fs::File::open(tmp.path())?.read_to_string(&mut back)?;
                if back != "clawdstrike blob store probe\n" {
                    return Err(io::Error::other("the probe file read back differently"));
                }
                tmp.close()
            };
            probe().map_err(|e| this.io_error("cannot write and remove a probe file", None, e))
        })
        .await
    }

    fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }
}
