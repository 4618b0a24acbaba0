//! The package cache: verified packages on disk, re-verified on every use.
//!
//! Layout: `<cache>/<registry>/<name with / as +>/<version>/` holding
//! `manifest.dsse.json` (the signed manifest, exact bytes), `clawdstrike.plugin.json` (the
//! signed `predicate.manifest`) and every component at its path; and
//! `<cache>/<registry>/<name>/versions.json` (the last version list, for the TTL).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ResolveError;
use super::range::VersionsDoc;
use crate::signed::{self, TrustedKey, VerifiedRelease, VerifyError};

/// The signed manifest's file name in a version directory.
pub const ENVELOPE_FILE: &str = "manifest.dsse.json";
/// The plugin manifest's file name in a version directory.
pub const MANIFEST_FILE: &str = "clawdstrike.plugin.json";
const VERSIONS_FILE: &str = "versions.json";

/// Why a cached copy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheProblem {
    /// It was changed after it was written: refuse it.
    Tampered(String),
    /// It is genuine but no longer usable as is (expired, the key is no longer pinned):
    /// download again.
    Stale(String),
}

impl std::fmt::Display for CacheProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheProblem::Tampered(m) | CacheProblem::Stale(m) => f.write_str(m),
        }
    }
}

/// The cache directory and its limits.
#[derive(Debug, Clone)]
pub struct PackageCache {
    root: Option<PathBuf>,
    max_bytes: u64,
    ttl: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedVersions {
    fetched_at: DateTime<Utc>,
    url: String,
    doc: VersionsDoc,
}

/// `@acme/secrets` → `@acme+secrets`.
pub fn name_dir(name: &str) -> String {
    name.replace('/', "+")
}

impl PackageCache {
    /// A cache at `root`. Packages load from the cache, so without a root every fetch fails
    /// with an error saying how to configure one.
    pub fn new(root: Option<PathBuf>, max_size_mb: u64, ttl_hours: u64) -> PackageCache {
        PackageCache {
            root,
            max_bytes: max_size_mb.saturating_mul(1 << 20),
            ttl: Duration::from_secs(ttl_hours.saturating_mul(3600)),
        }
    }

    /// The cache root.
    pub fn root(&self) -> Result<&Path, ResolveError> {
        self.root.as_deref().ok_or_else(|| ResolveError::Cache {
            path: PathBuf::new(),
            message: "no cache directory: set cache.directory in the client configuration or \
                      $CLAWDSTRIKE_CACHE_DIR"
                .into(),
        })
    }

    /// `<cache>/<registry>/<name>`.
    pub fn package_dir(&self, registry: &str, name: &str) -> Result<PathBuf, ResolveError> {
        Ok(self.root()?.join(registry).join(name_dir(name)))
    }

    /// `<cache>/<registry>/<name>/<version>`.
    pub fn version_dir(
        &self,
        registry: &str,
        name: &str,
        version: &semver::Version,
    ) -> Result<PathBuf, ResolveError> {
        Ok(self.package_dir(registry, name)?.join(version.to_string()))
    }

    /// The cached version list, if it is younger than the TTL and was fetched from `url`.
    pub fn fresh_versions(&self, registry: &str, name: &str, url: &str) -> Option<VersionsDoc> {
        if self.ttl.is_zero() {
            return None;
        }
        let path = self.package_dir(registry, name).ok()?.join(VERSIONS_FILE);
        let bytes = read_capped(&path, 8 << 20).ok()?;
        let cached: CachedVersions = serde_json::from_slice(&bytes).ok()?;
        let age = Utc::now().signed_duration_since(cached.fetched_at);
        let fresh = age >= chrono::Duration::zero()
            && age.to_std().is_ok_and(|a| a < self.ttl)
            && cached.url == url;
        fresh.then_some(cached.doc)
    }

    /// Remember a version list (best effort).
    pub fn store_versions(&self, registry: &str, name: &str, url: &str, doc: &VersionsDoc) {
        let Ok(dir) = self.package_dir(registry, name) else {
            return;
        };
        let cached = CachedVersions {
            fetched_at: Utc::now(),
            url: url.to_string(),
            doc: doc.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&cached) {
            let _ = std::fs::create_dir_all(&dir)
                .and_then(|_| write_atomic(&dir.join(VERSIONS_FILE), &bytes));
        }
    }

    /// Whether the signed manifest in `dir` was downloaded less than the TTL ago.
    pub fn is_fresh(&self, dir: &Path) -> bool {
        let modified = std::fs::metadata(dir.join(ENVELOPE_FILE)).and_then(|m| m.modified());
        match modified {
            Ok(t) => SystemTime::now()
                .duration_since(t)
                .is_ok_and(|age| age < self.ttl),
            Err(_) => false,
        }
    }

    /// The versions cached for a package, newest first.
    pub fn cached_versions(&self, registry: &str, name: &str) -> Vec<semver::Version> {
        let Ok(dir) = self.package_dir(registry, name) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut versions: Vec<semver::Version> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|s| semver::Version::parse(s).ok())
            })
            .collect();
        versions.sort_by(|a, b| b.cmp(a));
        versions
    }

    /// Re-verify a cached version: the signature with the pinned `keys`, expiry, the name
    /// and version, the plugin manifest against the signed one, every component against
    /// its digest, and that nothing else is in the directory.
    pub fn verify(
        &self,
        dir: &Path,
        keys: &[TrustedKey],
        name: &str,
        version: &semver::Version,
        now: DateTime<Utc>,
    ) -> Result<VerifiedRelease, CacheProblem> {
        let tampered = |m: String| CacheProblem::Tampered(m);
        let envelope = read_capped(&dir.join(ENVELOPE_FILE), super::http::MAX_MANIFEST_BYTES)
            .map_err(|e| tampered(format!("{ENVELOPE_FILE}: {e}")))?;
        let release = signed::verify(&envelope, keys, now).map_err(|e| match e {
            VerifyError::Expired { .. }
            | VerifyError::UnknownKey { .. }
            | VerifyError::KeyNotValid { .. } => CacheProblem::Stale(e.to_string()),
            other => tampered(other.to_string()),
        })?;
        let predicate = &release.statement.predicate;
        if predicate.name != name || predicate.version != version.to_string() {
            return Err(tampered(format!(
                "the signed manifest is for {}@{}",
                predicate.name, predicate.version
            )));
        }
        let manifest_bytes = read_capped(&dir.join(MANIFEST_FILE), 4 << 20)
            .map_err(|e| tampered(format!("{MANIFEST_FILE}: {e}")))?;
        let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| tampered(format!("{MANIFEST_FILE}: {e}")))?;
        if manifest != predicate.manifest {
            return Err(tampered(format!(
                "{MANIFEST_FILE} differs from the signed manifest"
            )));
        }
        let mut allowed: BTreeSet<PathBuf> = BTreeSet::new();
        allowed.insert(PathBuf::from(ENVELOPE_FILE));
        allowed.insert(PathBuf::from(MANIFEST_FILE));
        for c in &predicate.components {
            let rel = safe_relative_path(&c.path).map_err(tampered)?;
            let bytes = read_capped(&dir.join(&rel), super::http::MAX_DOWNLOAD_BYTES)
                .map_err(|e| tampered(format!("{}: {e}", c.path)))?;
            release
                .check_subject(&c.path, &bytes)
                .map_err(|e| tampered(e.to_string()))?;
            let mut p = rel.as_path();
            allowed.insert(p.to_path_buf());
            while let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                allowed.insert(parent.to_path_buf());
                p = parent;
            }
        }
        check_no_extra_files(dir, dir, &allowed).map_err(tampered)?;
        Ok(release)
    }

    /// Write a verified package into its version directory (replacing what was there) and
    /// return the directory. `components` are (path, bytes), already checked against the
    /// statement.
    pub fn store(
        &self,
        registry: &str,
        release: &VerifiedRelease,
        envelope: &[u8],
        components: &[(PathBuf, Vec<u8>)],
        version: &semver::Version,
    ) -> Result<PathBuf, ResolveError> {
        let name = &release.statement.predicate.name;
        let pkg = self.package_dir(registry, name)?;
        let io = |path: &Path, e: std::io::Error| ResolveError::Cache {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&pkg).map_err(|e| io(&pkg, e))?;
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = pkg.join(format!(".tmp-{}-{stamp}", std::process::id()));
        let result = (|| {
            std::fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
            let manifest = serde_json::to_vec_pretty(&release.statement.predicate.manifest)
                .map_err(|e| ResolveError::Cache {
                    path: tmp.join(MANIFEST_FILE),
                    message: e.to_string(),
                })?;
            std::fs::write(tmp.join(MANIFEST_FILE), manifest)
                .map_err(|e| io(&tmp.join(MANIFEST_FILE), e))?;
            for (rel, bytes) in components {
                let path = tmp.join(rel);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                }
                std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
            }
            // The envelope last: its presence (and mtime) marks a complete download.
            std::fs::write(tmp.join(ENVELOPE_FILE), envelope)
                .map_err(|e| io(&tmp.join(ENVELOPE_FILE), e))?;
            let dest = pkg.join(version.to_string());
            if dest.exists() {
                std::fs::remove_dir_all(&dest).map_err(|e| io(&dest, e))?;
            }
            match std::fs::rename(&tmp, &dest) {
                Ok(()) => Ok(dest),
                // Another process stored the same version at the same moment: use theirs
                // (it is re-verified before use like every cached copy).
                Err(_) if dest.join(ENVELOPE_FILE).is_file() => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    Ok(dest)
                }
                Err(e) => Err(io(&dest, e)),
            }
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    /// Remove the least recently downloaded versions until the cache fits `max_size_mb`;
    /// never `keep`. Best effort.
    pub fn prune(&self, keep: &Path) {
        let Ok(root) = self.root() else { return };
        let mut versions: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        let mut total = 0u64;
        for registry in read_dirs(root) {
            for package in read_dirs(&registry) {
                for version in read_dirs(&package) {
                    let size = dir_size(&version);
                    total += size;
                    let when = std::fs::metadata(version.join(ENVELOPE_FILE))
                        .and_then(|m| m.modified())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    if version != keep {
                        versions.push((when, size, version));
                    }
                }
            }
        }
        versions.sort_by_key(|(when, _, _)| *when);
        for (_, size, dir) in versions {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_dir_all(&dir).is_ok() {
                total = total.saturating_sub(size);
            }
        }
    }
}

/// A component path from a signed manifest as a relative path that stays inside the
/// package directory: `/`-separated, no empty, `.` or `..` segments, no `\`, NUL or drive
/// prefix, and not one of the cache's own file names.
pub fn safe_relative_path(p: &str) -> Result<PathBuf, String> {
    let bad = |why: &str| {
        Err(format!(
            "component path \"{}\" {why}",
            super::range::shorten(p)
        ))
    };
    if p.is_empty() || p.len() > 512 {
        return bad("is empty or too long");
    }
    if p.contains(['\\', '\0', ':']) {
        return bad("contains `\\`, `:` or NUL");
    }
    if p.starts_with('/') {
        return bad("is absolute");
    }
    let mut out = PathBuf::new();
    for seg in p.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return bad("has an empty, `.` or `..` segment");
        }
        out.push(seg);
    }
    if p == ENVELOPE_FILE || p == MANIFEST_FILE || p == "clawdstrike.plugin.toml" {
        return bad("collides with the package's manifest");
    }
    Ok(out)
}

fn check_no_extra_files(
    base: &Path,
    dir: &Path,
    allowed: &BTreeSet<PathBuf>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        let rel = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
        let meta =
            std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", rel.display()))?;
        if !allowed.contains(&rel) {
            return Err(format!("unexpected file {}", rel.display()));
        }
        if meta.file_type().is_symlink() {
            return Err(format!("{} is a symbolic link", rel.display()));
        }
        if meta.is_dir() {
            check_no_extra_files(base, &path, allowed)?;
        }
    }
    Ok(())
}

/// Read a regular file of at most `limit` bytes.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// Write a file through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.{}-{stamp}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => total += dir_size(&e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_paths_stay_inside() {
        assert_eq!(
            safe_relative_path("dist/guard.wasm").unwrap(),
            PathBuf::from("dist/guard.wasm")
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x.wasm",
            "dist/../../x",
            "dist//x",
            "./x",
            "a\\b",
            "c:x",
            "manifest.dsse.json",
            "clawdstrike.plugin.json",
        ] {
            assert!(safe_relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scoped_names_become_one_directory() {
        assert_eq!(name_dir("@acme/secrets"), "@acme+secrets");
        assert_eq!(name_dir("acme_guard"), "acme_guard");
    }
}
