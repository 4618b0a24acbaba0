//! The key ring: `keyring.json` in the key directory (mode 0600), holding every key the
//! registry has signed with or will sign with, each with an id and a validity window.
//!
//! * `active`: signs new manifests (exactly one).
//! * `next`: announced at `/api/v1/keys` ahead of a rotation, so engines can pin it before
//!   it signs anything.
//! * `retired`: no longer signs; still verifies manifests issued inside its window.
//!
//! A running server notices a rotation made by the `keys` subcommand (the file's
//! modification time changes) before its next signature.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use clawdstrike_formats::api::{KeyStatus, PublicKey};
use clawdstrike_formats::signed::KeyPair;
use serde::{Deserialize, Serialize};

const FILE: &str = "keyring.json";

/// A key ring that cannot be read, written or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// Reading or writing the file failed.
    #[error("key ring {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The file is not a key ring.
    #[error("key ring {path} is malformed: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Randomness was unavailable.
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredKey {
    keyid: String,
    seed: String,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    status: KeyStatus,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredRing {
    keys: Vec<StoredKey>,
}

struct Loaded {
    ring: StoredRing,
    active: KeyPair,
    stamp: Option<FileStamp>,
}

/// The key ring of a registry.
pub struct KeyRing {
    dir: PathBuf,
    loaded: RwLock<Loaded>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> KeyRingError {
    KeyRingError::Io {
        path: path.into(),
        message: e.to_string(),
    }
}

fn new_key(status: KeyStatus) -> Result<(StoredKey, KeyPair), KeyRingError> {
    let pair = KeyPair::generate().map_err(|e| KeyRingError::Generate(e.to_string()))?;
    let stored = StoredKey {
        keyid: pair.key_id().to_string(),
        seed: base64::engine::general_purpose::STANDARD.encode(pair.seed()),
        valid_from: Utc::now(),
        valid_until: None,
        status,
    };
    Ok((stored, pair))
}

fn pair_of(path: &Path, key: &StoredKey) -> Result<KeyPair, KeyRingError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&key.seed)
        .map_err(|e| KeyRingError::Malformed {
            path: path.into(),
            message: format!("{}: {e}", key.keyid),
        })?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyRingError::Malformed {
        path: path.into(),
        message: format!("{}: the seed is not 32 bytes", key.keyid),
    })?;
    Ok(KeyPair::from_seed(&seed))
}

impl KeyRing {
    /// Opens the ring in `dir`, creating the directory (0700) and a first active key when
    /// there is none.
    pub fn open_or_create(dir: &Path) -> Result<KeyRing, KeyRingError> {
        let path = dir.join(FILE);
        if !path.exists() {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
            set_mode(dir, 0o700)?;
            let (key, _) = new_key(KeyStatus::Active)?;
            write_ring(&path, &StoredRing { keys: vec![key] })?;
            tracing::info!(path = %path.display(), "generated a new signing key");
        }
        let loaded = read_ring(&path)?;
        Ok(KeyRing {
            dir: dir.into(),
            loaded: RwLock::new(loaded),
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Re-reads the file (after this handle wrote it).
    fn reload(&self) -> Result<(), KeyRingError> {
        let fresh = read_ring(&self.path())?;
        if let Ok(mut l) = self.loaded.write() {
            *l = fresh;
        }
        Ok(())
    }

    /// Re-reads the file if another process changed it.
    fn refresh(&self) -> Result<(), KeyRingError> {
        let path = self.path();
        let stamp = file_stamp(&path);
        let stale = self.loaded.read().map(|l| l.stamp != stamp).unwrap_or(true);
        if stale {
            let fresh = read_ring(&path)?;
            if let Ok(mut l) = self.loaded.write() {
                *l = fresh;
            }
        }
        Ok(())
    }

    /// Runs `f` with the key that signs new manifests.
    pub fn with_active<T>(&self, f: impl FnOnce(&KeyPair) -> T) -> Result<T, KeyRingError> {
        self.refresh()?;
        let l = self
            .loaded
            .read()
            .map_err(|_| io_err(&self.path(), "lock poisoned"))?;
        Ok(f(&l.active))
    }

    /// The public half of every key.
    pub fn public_keys(&self) -> Result<Vec<PublicKey>, KeyRingError> {
        self.refresh()?;
        let path = self.path();
        let l = self
            .loaded
            .read()
            .map_err(|_| io_err(&path, "lock poisoned"))?;
        l.ring
            .keys
            .iter()
            .map(|k| {
                Ok(PublicKey {
                    keyid: k.keyid.clone(),
                    algorithm: "ed25519".to_string(),
                    public_key: pair_of(&path, k)?.public_key_base64(),
                    valid_from: k.valid_from,
                    valid_until: k.valid_until,
                    status: k.status,
                })
            })
            .collect()
    }

    /// Adds a `next` key (announced, not yet signing) and returns its id. An earlier `next`
    /// key that never signed anything is dropped: only the newest announcement stands.
    pub fn generate_next(&self) -> Result<String, KeyRingError> {
        let path = self.path();
        let mut ring = read_ring(&path)?.ring;
        ring.keys.retain(|k| k.status != KeyStatus::Next);
        let (key, _) = new_key(KeyStatus::Next)?;
        let id = key.keyid.clone();
        ring.keys.push(key);
        write_ring(&path, &ring)?;
        self.reload()?;
        Ok(id)
    }

    /// Makes the newest `next` key (or a new one) active and retires the active key, whose
    /// window closes now: manifests it signed keep verifying. Returns (retired, active).
    pub fn rotate(&self) -> Result<(String, String), KeyRingError> {
        let path = self.path();
        let mut ring = read_ring(&path)?.ring;
        let now = Utc::now();
        if !ring.keys.iter().any(|k| k.status == KeyStatus::Next) {
            let (key, _) = new_key(KeyStatus::Next)?;
            ring.keys.push(key);
        }
        let mut retired = String::new();
        for k in ring
            .keys
            .iter_mut()
            .filter(|k| k.status == KeyStatus::Active)
        {
            k.status = KeyStatus::Retired;
            k.valid_until = Some(now);
            retired = k.keyid.clone();
        }
        let next = ring
            .keys
            .iter_mut()
            .rev()
            .find(|k| k.status == KeyStatus::Next)
            .ok_or_else(|| io_err(&path, "no next key"))?;
        next.status = KeyStatus::Active;
        let active = next.keyid.clone();
        write_ring(&path, &ring)?;
        self.reload()?;
        Ok((retired, active))
    }
}

impl KeyRing {
    /// Revokes a key: its window becomes empty, so no manifest verifies with it any more.
    /// Revoking the active key first rotates to a new one. Re-sign what it signed with
    /// `clawdstrike-registry manifests renew --signed-by KEYID`, and tell engines to re-pin.
    pub fn revoke(&self, key_id: &str) -> Result<(), KeyRingError> {
        let path = self.path();
        let ring = read_ring(&path)?.ring;
        let key = ring
            .keys
            .iter()
            .find(|k| k.keyid == key_id)
            .ok_or_else(|| KeyRingError::Malformed {
                path: path.clone(),
                message: format!("no key {key_id} in the ring"),
            })?;
        if key.status == KeyStatus::Active {
            self.rotate()?;
        }
        let mut ring = read_ring(&path)?.ring;
        for k in ring.keys.iter_mut().filter(|k| k.keyid == key_id) {
            k.status = KeyStatus::Revoked;
            k.valid_until = Some(k.valid_from);
        }
        write_ring(&path, &ring)?;
        self.reload()
    }
}

/// What tells a changed key ring from the one loaded: every write replaces the file by a
/// rename, so its inode changes even when two writes share a modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn file_stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        modified: m.modified().ok(),
        len: m.len(),
        inode,
    })
}

fn read_ring(path: &Path) -> Result<Loaded, KeyRingError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let stamp = file_stamp(path);
    let ring: StoredRing = serde_json::from_str(&text).map_err(|e| KeyRingError::Malformed {
        path: path.into(),
        message: e.to_string(),
    })?;
    let actives: Vec<&StoredKey> = ring
        .keys
        .iter()
        .filter(|k| k.status == KeyStatus::Active)
        .collect();
    let [active] = actives.as_slice() else {
        return Err(KeyRingError::Malformed {
            path: path.into(),
            message: format!("expected exactly one active key, found {}", actives.len()),
        });
    };
    let pair = pair_of(path, active)?;
    if pair.key_id() != active.keyid {
        return Err(KeyRingError::Malformed {
            path: path.into(),
            message: format!(
                "key id {} does not match its seed ({})",
                active.keyid,
                pair.key_id()
            ),
        });
    }
    Ok(Loaded {
        active: pair,
        ring,
        stamp,
    })
}

fn write_ring(path: &Path, ring: &StoredRing) -> Result<(), KeyRingError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let text = serde_json::to_vec_pretty(ring).map_err(|e| io_err(path, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_err(dir, e))?;
    std::io::Write::write_all(&mut tmp, &text).map_err(|e| io_err(path, e))?;
    tmp.as_file().sync_all().map_err(|e| io_err(path, e))?;
    set_mode(tmp.path(), 0o600)?;
    tmp.persist(path).map_err(|e| io_err(path, e.error))?;
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), KeyRingError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_err(path, e))?;
    }
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_open_creates_one_active_key_readable_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open_or_create(&dir.path().join("keys")).unwrap();
        let keys = ring.public_keys().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].status, KeyStatus::Active);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys/keyring.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Opening again keeps the key.
        let again = KeyRing::open_or_create(&dir.path().join("keys")).unwrap();
        assert_eq!(again.public_keys().unwrap()[0].keyid, keys[0].keyid);
    }

    #[test]
    fn rotation_retires_the_old_key_with_a_closed_window_and_activates_the_announced_one() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::open_or_create(dir.path()).unwrap();
        let first = ring.with_active(|k| k.key_id().to_string()).unwrap();
        let next = ring.generate_next().unwrap();
        assert_eq!(ring.with_active(|k| k.key_id().to_string()).unwrap(), first);
        let (retired, active) = ring.rotate().unwrap();
        assert_eq!(
            (retired.as_str(), active.as_str()),
            (first.as_str(), next.as_str())
        );
        let keys = ring.public_keys().unwrap();
        let old = keys.iter().find(|k| k.keyid == first).unwrap();
        assert_eq!(old.status, KeyStatus::Retired);
        assert!(old.valid_until.is_some());
        // Revoking the active key rotates first; the revoked key's window is empty.
        let active_before = ring.with_active(|k| k.key_id().to_string()).unwrap();
        ring.revoke(&active_before).unwrap();
        let keys = ring.public_keys().unwrap();
        let revoked = keys.iter().find(|k| k.keyid == active_before).unwrap();
        assert_eq!(revoked.status, KeyStatus::Revoked);
        assert_eq!(revoked.valid_until, Some(revoked.valid_from));
        assert_ne!(
            ring.with_active(|k| k.key_id().to_string()).unwrap(),
            active_before
        );
        let next = ring.with_active(|k| k.key_id().to_string()).unwrap();
        // Another handle on the same directory sees the rotation.
        let other = KeyRing::open_or_create(dir.path()).unwrap();
        assert_eq!(other.with_active(|k| k.key_id().to_string()).unwrap(), next);
    }
}
