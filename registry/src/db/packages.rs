//! `packages`, `package_owners`, `scope_owners`: the index entry of each guard package and
//! who may publish to it.

use sqlx::any::AnyRow;

use super::{col, now, Db, DbError};

/// A package's index entry.
#[derive(Debug, Clone)]
pub struct PackageRow {
    /// Row id.
    pub id: i64,
    /// The name as published (`@acme/secrets`, `acme-secrets`).
    pub name: String,
    /// `npm` or `crates.io`: which ecosystem's naming and range rules apply.
    pub ecosystem: String,
    /// `direct`, `npm` or `crates`: how the registry got it.
    pub origin: String,
    /// From the plugin manifest.
    pub display_name: Option<String>,
    /// From the package metadata or the manifest.
    pub description: Option<String>,
    /// One of SPEC §2's categories.
    pub category: String,
    /// Keywords.
    pub tags: Vec<String>,
    /// SPDX expression.
    pub license: Option<String>,
    /// Source repository URL.
    pub repository: Option<String>,
    /// Home page URL.
    pub homepage: Option<String>,
    /// The readme as published (Markdown).
    pub readme: Option<String>,
    /// The latest version's declared capabilities (JSON).
    pub capabilities: serde_json::Value,
    /// The tier of the latest version.
    pub trust_tier: String,
    /// Highest non-yanked version, if any.
    pub latest_version: Option<String>,
    /// First publish.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

const PACKAGE_COLUMNS: &str = "id, name, ecosystem, origin, display_name, description, category, \
    tags, license, repository, homepage, readme, capabilities, trust_tier, latest_version, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<PackageRow, DbError> {
    let tags: String = col(row, "tags")?;
    Ok(PackageRow {
        id: col(row, "id")?,
        name: col(row, "name")?,
        ecosystem: col(row, "ecosystem")?,
        origin: col(row, "origin")?,
        display_name: col(row, "display_name")?,
        description: col(row, "description")?,
        category: col(row, "category")?,
        tags: serde_json::from_str(&tags).map_err(|e| DbError::Corrupt(format!("tags: {e}")))?,
        license: col(row, "license")?,
        repository: col(row, "repository")?,
        homepage: col(row, "homepage")?,
        readme: col(row, "readme")?,
        capabilities: serde_json::from_str(&col::<String>(row, "capabilities")?)
            .map_err(|e| DbError::Corrupt(format!("capabilities: {e}")))?,
        trust_tier: col(row, "trust_tier")?,
        latest_version: col(row, "latest_version")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

/// Equality filters of the list route; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// SPEC §2 category.
    pub category: Option<String>,
    /// Trust tier.
    pub trust_tier: Option<String>,
    /// `npm` or `crates.io`.
    pub ecosystem: Option<String>,
}

/// The package-level fields a publish writes.
#[derive(Debug, Clone)]
pub struct PackageFields {
    /// Name.
    pub name: String,
    /// Confusable-folded name; unique.
    pub canonical_name: String,
    /// `npm` or `crates.io`.
    pub ecosystem: String,
    /// `direct`, `npm` or `crates`.
    pub origin: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Category.
    pub category: String,
    /// Keywords.
    pub tags: Vec<String>,
    /// License.
    pub license: Option<String>,
    /// Repository.
    pub repository: Option<String>,
    /// Home page.
    pub homepage: Option<String>,
    /// Readme (Markdown).
    pub readme: Option<String>,
    /// Declared capabilities (JSON).
    pub capabilities: serde_json::Value,
}

/// The version-level fields a publish writes.
#[derive(Debug, Clone)]
pub struct VersionFields {
    /// Semver.
    pub version: String,
    /// `npm` or `crate`.
    pub archive_kind: String,
    /// Archive file name.
    pub archive_name: String,
    /// Archive SHA-256 (hex); also its blob key.
    pub archive_sha256: String,
    /// Archive size.
    pub archive_size: i64,
    /// `sha512-…` of the archive.
    pub integrity: String,
    /// The plugin manifest (JSON).
    pub manifest_json: String,
    /// Engine range, lower bound.
    pub engine_min: Option<String>,
    /// Engine range, upper bound.
    pub engine_max: Option<String>,
    /// Tier assigned.
    pub trust_tier: String,
    /// The scan report (JSON).
    pub scan_json: String,
    /// SHA-256 of the signed manifest blob.
    pub envelope_sha256: String,
    /// Key that signed it.
    pub signing_key_id: String,
}

/// One component file of a version.
#[derive(Debug, Clone)]
pub struct FileFields {
    /// Path inside the package.
    pub path: String,
    /// Guard it implements.
    pub guard: String,
    /// SHA-256 (hex); also its blob key.
    pub sha256: String,
    /// Size.
    pub size: i64,
}

/// Everything one publish writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewRelease {
    /// Package fields (insert or refresh).
    pub package: PackageFields,
    /// The new version.
    pub version: VersionFields,
    /// Its components.
    pub files: Vec<FileFields>,
    /// The publishing account.
    pub publisher_id: i64,
    /// The npm scope to claim for the publisher when the package is new and the scope unclaimed.
    pub scope: Option<String>,
    /// The highest non-yanked version after this publish.
    pub latest_version: String,
    /// Whether the new version is that latest one: only then does it refresh the package's
    /// description, readme, tags, capabilities and tier (an older branch's patch release
    /// must not overwrite them).
    pub is_latest: bool,
}

impl Db {
    /// A package by exact name.
    pub async fn package_by_name(&self, name: &str) -> Result<Option<PackageRow>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM packages WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The name of the package whose canonical form is `canonical`, if any.
    pub async fn name_by_canonical(&self, canonical: &str) -> Result<Option<String>, DbError> {
        let row = sqlx::query("SELECT name FROM packages WHERE canonical_name = $1")
            .bind(canonical)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|r| col(r, "name")).transpose()
    }

    /// One page of packages, most recently updated first, and the total count, narrowed
    /// by the filters that are set.
    pub async fn list_packages(
        &self,
        filter: &ListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<PackageRow>, i64), DbError> {
        // Unset filters bind NULL and match everything, so one statement serves every
        // combination.
        const WHERE: &str = "WHERE latest_version IS NOT NULL \
             AND (CAST($1 AS TEXT) IS NULL OR category = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR trust_tier = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR ecosystem = $3)";
        let rows = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM packages {WHERE} ORDER BY updated_at DESC, name LIMIT $4 OFFSET $5"
        ))
        .bind(&filter.category)
        .bind(&filter.trust_tier)
        .bind(&filter.ecosystem)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let total = sqlx::query(&format!("SELECT COUNT(*) AS n FROM packages {WHERE}"))
            .bind(&filter.category)
            .bind(&filter.trust_tier)
            .bind(&filter.ecosystem)
            .fetch_one(self.pool())
            .await?;
        Ok((
            rows.iter().map(from_row).collect::<Result<_, _>>()?,
            col(&total, "n")?,
        ))
    }

    /// Removes an owner; refuses to remove the last one.
    pub async fn remove_package_owner(
        &self,
        package_id: i64,
        publisher_id: i64,
    ) -> Result<(), DbError> {
        let owners = sqlx::query("SELECT COUNT(*) AS n FROM package_owners WHERE package_id = $1")
            .bind(package_id)
            .fetch_one(self.pool())
            .await?;
        let n: i64 = col(&owners, "n")?;
        if n <= 1 {
            return Err(DbError::Conflict(
                "a package keeps at least one owner; add another owner first".into(),
            ));
        }
        sqlx::query("DELETE FROM package_owners WHERE package_id = $1 AND publisher_id = $2")
            .bind(package_id)
            .bind(publisher_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Account names owning a package.
    pub async fn package_owners(&self, package_id: i64) -> Result<Vec<String>, DbError> {
        let rows = sqlx::query(
            "SELECT p.name FROM package_owners o JOIN publishers p ON p.id = o.publisher_id \
             WHERE o.package_id = $1 ORDER BY p.name",
        )
        .bind(package_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| col(r, "name")).collect()
    }

    /// Whether an account owns a package.
    pub async fn is_package_owner(
        &self,
        package_id: i64,
        publisher_id: i64,
    ) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT 1 AS x FROM package_owners WHERE package_id = $1 AND publisher_id = $2",
        )
        .bind(package_id)
        .bind(publisher_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Adds an owner (idempotent).
    pub async fn add_package_owner(
        &self,
        package_id: i64,
        publisher_id: i64,
    ) -> Result<(), DbError> {
        if self.is_package_owner(package_id, publisher_id).await? {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO package_owners (package_id, publisher_id, added_at) VALUES ($1, $2, $3)",
        )
        .bind(package_id)
        .bind(publisher_id)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Accounts owning an npm scope (`@acme`); empty when unclaimed.
    pub async fn scope_owners(&self, scope: &str) -> Result<Vec<i64>, DbError> {
        let rows = sqlx::query("SELECT publisher_id FROM scope_owners WHERE scope = $1")
            .bind(scope)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| col(r, "publisher_id")).collect()
    }

    /// Adds an owner to a scope (idempotent).
    pub async fn add_scope_owner(&self, scope: &str, publisher_id: i64) -> Result<(), DbError> {
        if self.scope_owners(scope).await?.contains(&publisher_id) {
            return Ok(());
        }
        sqlx::query("INSERT INTO scope_owners (scope, publisher_id, added_at) VALUES ($1, $2, $3)")
            .bind(scope)
            .bind(publisher_id)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Writes a publish: the package (created, or its metadata refreshed), the version and
    /// its files, ownership of a new package and its scope. All or nothing. A version that
    /// already exists is a [`DbError::Conflict`].
    pub async fn insert_release(&self, release: &NewRelease) -> Result<i64, DbError> {
        let mut tx = self.pool().begin().await?;
        let at = now();
        let p = &release.package;
        let tags = serde_json::to_string(&p.tags).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let existing = sqlx::query("SELECT id FROM packages WHERE name = $1")
            .bind(&p.name)
            .fetch_optional(&mut *tx)
            .await?;
        let package_id: i64 = match existing {
            Some(row) if !release.is_latest => {
                let id: i64 = col(&row, "id")?;
                sqlx::query("UPDATE packages SET updated_at = $1 WHERE id = $2")
                    .bind(&at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            Some(row) => {
                let id: i64 = col(&row, "id")?;
                sqlx::query(
                    "UPDATE packages SET display_name = $1, description = $2, category = $3, \
                     tags = $4, license = $5, repository = $6, homepage = $7, readme = $8, \
                     trust_tier = $9, latest_version = $10, updated_at = $11, capabilities = $13 \
                     WHERE id = $12",
                )
                .bind(&p.display_name)
                .bind(&p.description)
                .bind(&p.category)
                .bind(&tags)
                .bind(&p.license)
                .bind(&p.repository)
                .bind(&p.homepage)
                .bind(&p.readme)
                .bind(&release.version.trust_tier)
                .bind(&release.latest_version)
                .bind(&at)
                .bind(id)
                .bind(p.capabilities.to_string())
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                let row = sqlx::query(
                    "INSERT INTO packages (name, canonical_name, ecosystem, origin, display_name, \
                     description, category, tags, license, repository, homepage, readme, \
                     trust_tier, latest_version, created_at, updated_at, capabilities) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) \
                     RETURNING id",
                )
                .bind(&p.name)
                .bind(&p.canonical_name)
                .bind(&p.ecosystem)
                .bind(&p.origin)
                .bind(&p.display_name)
                .bind(&p.description)
                .bind(&p.category)
                .bind(&tags)
                .bind(&p.license)
                .bind(&p.repository)
                .bind(&p.homepage)
                .bind(&p.readme)
                .bind(&release.version.trust_tier)
                .bind(&release.latest_version)
                .bind(&at)
                .bind(p.capabilities.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match DbError::from(e) {
                    DbError::Conflict(_) => DbError::Conflict(format!(
                        "the name `{}` is taken or too similar to an existing package",
                        p.name
                    )),
                    other => other,
                })?;
                let id: i64 = col(&row, "id")?;
                sqlx::query("INSERT INTO package_owners (package_id, publisher_id, added_at) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(release.publisher_id)
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?;
                if let Some(scope) = &release.scope {
                    let claimed = sqlx::query("SELECT 1 AS x FROM scope_owners WHERE scope = $1")
                        .bind(scope)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if claimed.is_none() {
                        sqlx::query("INSERT INTO scope_owners (scope, publisher_id, added_at) VALUES ($1, $2, $3)")
                            .bind(scope)
                            .bind(release.publisher_id)
                            .bind(&at)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                id
            }
        };
        let v = &release.version;
        let row = sqlx::query(
            "INSERT INTO versions (package_id, version, archive_kind, archive_name, archive_sha256, \
             archive_size, integrity, manifest_json, engine_min, engine_max, trust_tier, scan_json, \
             envelope_sha256, signing_key_id, yanked, deprecated, published_by, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             RETURNING id",
        )
        .bind(package_id)
        .bind(&v.version)
        .bind(&v.archive_kind)
        .bind(&v.archive_name)
        .bind(&v.archive_sha256)
        .bind(v.archive_size)
        .bind(&v.integrity)
        .bind(&v.manifest_json)
        .bind(&v.engine_min)
        .bind(&v.engine_max)
        .bind(&v.trust_tier)
        .bind(&v.scan_json)
        .bind(&v.envelope_sha256)
        .bind(&v.signing_key_id)
        .bind(false)
        .bind(false)
        .bind(release.publisher_id)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match DbError::from(e) {
            DbError::Conflict(_) => DbError::Conflict(format!(
                "{}@{} is already published; versions are immutable, publish a new version",
                p.name, v.version
            )),
            other => other,
        })?;
        let version_id: i64 = col(&row, "id")?;
        for f in &release.files {
            sqlx::query(
                "INSERT INTO version_files (version_id, path, guard, sha256, size) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(version_id)
            .bind(&f.path)
            .bind(&f.guard)
            .bind(&f.sha256)
            .bind(f.size)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(version_id)
    }

    /// Sets the latest version and bumps the update time (after a yank or tier change).
    pub async fn set_latest_version(
        &self,
        package_id: i64,
        latest: Option<&str>,
        tier: Option<&str>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE packages SET latest_version = $1, trust_tier = COALESCE($2, trust_tier), updated_at = $3 WHERE id = $4",
        )
        .bind(latest)
        .bind(tier)
        .bind(now())
        .bind(package_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether any stored version or file still points at a blob (before deleting an
    /// orphan left by a failed publish).
    pub async fn blob_referenced(&self, sha256: &str) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT 1 AS x FROM versions WHERE archive_sha256 = $1 OR envelope_sha256 = $1 \
             UNION SELECT 1 AS x FROM version_files WHERE sha256 = $1",
        )
        .bind(sha256)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }
}
