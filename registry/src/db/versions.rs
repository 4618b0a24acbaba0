//! `versions` and `version_files`: immutable releases, with the few fields that may change
//! afterwards (yanked, deprecated, trust tier and the signed manifest that records it).

use sqlx::any::AnyRow;

use super::packages::FileFields;
use super::{col, Db, DbError};

/// One published version.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Row id.
    pub id: i64,
    /// Package row id.
    pub package_id: i64,
    /// Semver.
    pub version: String,
    /// `npm` or `crate`.
    pub archive_kind: String,
    /// Archive file name.
    pub archive_name: String,
    /// Archive SHA-256 (hex).
    pub archive_sha256: String,
    /// Archive size.
    pub archive_size: i64,
    /// `sha512-…`.
    pub integrity: String,
    /// Plugin manifest (JSON text).
    pub manifest_json: String,
    /// Engine range, lower bound.
    pub engine_min: Option<String>,
    /// Engine range, upper bound.
    pub engine_max: Option<String>,
    /// Current tier.
    pub trust_tier: String,
    /// Scan report (JSON text).
    pub scan_json: String,
    /// SHA-256 of the current signed manifest blob.
    pub envelope_sha256: String,
    /// Its signing key.
    pub signing_key_id: String,
    /// Yanked: resolvers skip it.
    pub yanked: bool,
    /// Why.
    pub yank_reason: Option<String>,
    /// Deprecated: still resolvable, with a warning.
    pub deprecated: bool,
    /// Why.
    pub deprecation_reason: Option<String>,
    /// Publish time.
    pub published_at: String,
}

const VERSION_COLUMNS: &str = "id, package_id, version, archive_kind, archive_name, archive_sha256, \
    archive_size, integrity, manifest_json, engine_min, engine_max, trust_tier, scan_json, \
    envelope_sha256, signing_key_id, CAST(CASE WHEN yanked THEN 1 ELSE 0 END AS BIGINT) AS yanked, yank_reason, \
    CAST(CASE WHEN deprecated THEN 1 ELSE 0 END AS BIGINT) AS deprecated, deprecation_reason, published_at";

/// Booleans are read as integers (`CAST(.. AS BIGINT)` in the query): the `Any` driver
/// cannot decode SQLite's declared BOOLEAN columns.
fn flag(row: &AnyRow, name: &str) -> Result<bool, DbError> {
    Ok(col::<i64>(row, name)? != 0)
}

fn from_row(row: &AnyRow) -> Result<VersionRow, DbError> {
    Ok(VersionRow {
        id: col(row, "id")?,
        package_id: col(row, "package_id")?,
        version: col(row, "version")?,
        archive_kind: col(row, "archive_kind")?,
        archive_name: col(row, "archive_name")?,
        archive_sha256: col(row, "archive_sha256")?,
        archive_size: col(row, "archive_size")?,
        integrity: col(row, "integrity")?,
        manifest_json: col(row, "manifest_json")?,
        engine_min: col(row, "engine_min")?,
        engine_max: col(row, "engine_max")?,
        trust_tier: col(row, "trust_tier")?,
        scan_json: col(row, "scan_json")?,
        envelope_sha256: col(row, "envelope_sha256")?,
        signing_key_id: col(row, "signing_key_id")?,
        yanked: flag(row, "yanked")?,
        yank_reason: col(row, "yank_reason")?,
        deprecated: flag(row, "deprecated")?,
        deprecation_reason: col(row, "deprecation_reason")?,
        published_at: col(row, "published_at")?,
    })
}

/// Sorts versions newest first by semver precedence; unparsable ones (never stored by a
/// publish) go last.
pub fn sort_newest_first(versions: &mut [VersionRow]) {
    versions.sort_by(|a, b| {
        let va = semver::Version::parse(&a.version).ok();
        let vb = semver::Version::parse(&b.version).ok();
        vb.cmp(&va)
    });
}

/// The highest version that is not yanked, preferring releases over pre-releases.
pub fn latest_of(versions: &[VersionRow]) -> Option<&VersionRow> {
    let live = || versions.iter().filter(|v| !v.yanked);
    let parsed = |v: &VersionRow| semver::Version::parse(&v.version).ok();
    live()
        .filter(|v| parsed(v).is_some_and(|p| p.pre.is_empty()))
        .max_by_key(|v| parsed(v))
        .or_else(|| live().max_by_key(|v| parsed(v)))
}

impl Db {
    /// Every version of a package, newest first.
    pub async fn versions_of(&self, package_id: i64) -> Result<Vec<VersionRow>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE package_id = $1"
        ))
        .bind(package_id)
        .fetch_all(self.pool())
        .await?;
        let mut versions = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        sort_newest_first(&mut versions);
        Ok(versions)
    }

    /// Every version of every package, with its package name (for maintenance commands).
    pub async fn all_versions(&self) -> Result<Vec<(String, VersionRow)>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT (SELECT name FROM packages p WHERE p.id = versions.package_id) AS package_name, \
             {VERSION_COLUMNS} FROM versions ORDER BY package_id, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((col(r, "package_name")?, from_row(r)?)))
            .collect()
    }

    /// One version.
    pub async fn version(
        &self,
        package_id: i64,
        version: &str,
    ) -> Result<Option<VersionRow>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE package_id = $1 AND version = $2"
        ))
        .bind(package_id)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The component files of a version.
    pub async fn version_files(&self, version_id: i64) -> Result<Vec<FileFields>, DbError> {
        let rows = sqlx::query("SELECT path, guard, sha256, size FROM version_files WHERE version_id = $1 ORDER BY path")
            .bind(version_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FileFields {
                    path: col(r, "path")?,
                    guard: col(r, "guard")?,
                    sha256: col(r, "sha256")?,
                    size: col(r, "size")?,
                })
            })
            .collect()
    }

    /// Marks a version yanked or not.
    pub async fn set_yanked(
        &self,
        version_id: i64,
        yanked: bool,
        reason: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE versions SET yanked = $1, yank_reason = $2 WHERE id = $3")
            .bind(yanked)
            .bind(reason)
            .bind(version_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks a version deprecated or not.
    pub async fn set_deprecated(
        &self,
        version_id: i64,
        deprecated: bool,
        reason: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE versions SET deprecated = $1, deprecation_reason = $2 WHERE id = $3")
            .bind(deprecated)
            .bind(reason)
            .bind(version_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a new tier and the manifest re-signed for it.
    pub async fn set_version_tier(
        &self,
        version_id: i64,
        tier: &str,
        envelope_sha256: &str,
        key_id: &str,
    ) -> Result<(), DbError> {
        sqlx::query("UPDATE versions SET trust_tier = $1, envelope_sha256 = $2, signing_key_id = $3 WHERE id = $4")
            .bind(tier)
            .bind(envelope_sha256)
            .bind(key_id)
            .bind(version_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
