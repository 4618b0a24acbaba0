//! Publishing a version: read and check the package (scanner), authorise, decide the trust
//! tier, write the blobs and the signed manifest, then the database rows — blobs first, so
//! a row never points at nothing. Used by `POST /api/v1/guards` and by seeding.

use bytes::Bytes;
use clawdstrike_formats::api::Published;
use clawdstrike_formats::manifest::TrustTier;
use clawdstrike_formats::signed::{ArchiveRef, ComponentRef, ScanSummary};
use clawdstrike_scanner::{ArchiveKind, Package};

use crate::auth::{Action, Caller};
use crate::blob::BlobKey;
use crate::db::packages::{FileFields, NewRelease, PackageFields, VersionFields};
use crate::db::publishers::{Publisher, Role};
use crate::db::versions::{latest_of, VersionRow};
use crate::db::DbError;
use crate::error::ApiError;
use crate::signing::release::ReleaseFacts;
use crate::state::AppState;

/// SPEC §2's categories; a package lands in the first one its keywords name.
pub const CATEGORIES: [&str; 8] = [
    "secrets",
    "paths",
    "network",
    "execution",
    "compliance",
    "integration",
    "composition",
    "other",
];

/// Who is publishing.
pub enum Publishing<'a> {
    /// A token holder over HTTP; its scopes and ownership are checked.
    Caller(&'a Caller),
    /// The registry itself seeding its examples, at a fixed tier.
    Seed {
        /// The system account.
        account: &'a Publisher,
        /// The tier to assign.
        tier: TrustTier,
    },
}

impl Publishing<'_> {
    fn account(&self) -> &Publisher {
        match self {
            Publishing::Caller(c) => &c.0.publisher,
            Publishing::Seed { account, .. } => account,
        }
    }
}

/// Publishes one package archive.
pub async fn publish(
    state: &AppState,
    who: Publishing<'_>,
    bytes: Bytes,
) -> Result<Published, ApiError> {
    let result = publish_inner(state, &who, bytes).await;
    state.metrics.publish(match &result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    });
    result
}

async fn publish_inner(
    state: &AppState,
    who: &Publishing<'_>,
    bytes: Bytes,
) -> Result<Published, ApiError> {
    // A token that may publish nothing is refused before its upload costs a scan.
    if let Publishing::Caller(caller) = who {
        if !caller.may_publish_something() {
            return Err(ApiError::Forbidden(format!(
                "this token has no `publish` scope (its scopes: {})",
                if caller.0.scopes.is_empty() {
                    "none".to_string()
                } else {
                    caller.0.scopes.join(", ")
                }
            )));
        }
    }
    let max_compressed = state.config.limits.max_publish_bytes;
    // Reading and scanning is CPU work on untrusted bytes: off the async threads.
    let archive_bytes = bytes.clone();
    let (package, report) = tokio::task::spawn_blocking(move || {
        let limits = clawdstrike_scanner::Limits {
            max_compressed_bytes: max_compressed,
            ..clawdstrike_scanner::Limits::default()
        };
        let package = clawdstrike_scanner::read_package(&bytes, &limits)?;
        let report = clawdstrike_scanner::scan(&package);
        Ok::<_, clawdstrike_scanner::PackageError>((package, report))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("package reader panicked: {e}")))?
    .map_err(|e| ApiError::Unprocessable(e.to_string()))?;

    let name = package.name.clone();
    let canonical = clawdstrike_scanner::canonical_name(&name);
    let version = package.version.to_string();
    clawdstrike_scanner::validate_name(&name, package.kind)
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    if let Publishing::Caller(caller) = who {
        caller.require(Action::Publish, &name)?;
    }
    let account = who.account();
    let ecosystem = match package.kind {
        ArchiveKind::Npm => "npm",
        ArchiveKind::Crate => "crates.io",
    };

    let existing = state.db.package_by_name(&name).await?;
    let mut versions: Vec<VersionRow> = Vec::new();
    match &existing {
        Some(p) => {
            if p.ecosystem != ecosystem {
                return Err(ApiError::Conflict(format!(
                    "`{name}` is a {} package; this archive is a {ecosystem} package",
                    p.ecosystem
                )));
            }
            if matches!(who, Publishing::Caller(_))
                && account.role != Role::Admin
                && !state.db.is_package_owner(p.id, account.id).await?
            {
                let owners = state.db.package_owners(p.id).await?;
                return Err(ApiError::Forbidden(format!(
                    "`{name}` belongs to {}; ask an owner to add `{}` as an owner",
                    owners.join(", "),
                    account.name
                )));
            }
            versions = state.db.versions_of(p.id).await?;
            if versions.iter().any(|v| v.version == version) {
                return Err(ApiError::Conflict(format!(
                    "{name}@{version} is already published; versions are immutable, publish a new version"
                )));
            }
        }
        None => {
            if let Some(other) = state.db.name_by_canonical(&canonical).await? {
                return Err(ApiError::Conflict(format!(
                    "`{name}` is too similar to the existing package `{other}`; choose a distinct name"
                )));
            }
            if let Some(scope) = npm_scope(&name) {
                let owners = state.db.scope_owners(scope).await?;
                if !owners.is_empty()
                    && !owners.contains(&account.id)
                    && account.role != Role::Admin
                {
                    return Err(ApiError::Forbidden(format!(
                        "the scope `{scope}` belongs to another publisher; ask one of its owners to add `{}`",
                        account.name
                    )));
                }
            }
        }
    }

    let tier = match who {
        Publishing::Seed { tier, .. } => *tier,
        Publishing::Caller(_) => decide_tier(
            existing.as_ref().map(|p| p.trust_tier.as_str()),
            &versions,
            &package,
            &report,
        ),
    };
    let summary: ScanSummary = report.summary();

    // Blobs first: archive, components, then the signed manifest naming them.
    let archive_key = BlobKey::from_sha256_hex(&package.archive.sha256)?;
    let mut written = Vec::new();
    let stored = async {
        put_new(state, &archive_key, archive_bytes, &mut written).await?;
        for c in &package.components {
            let key = BlobKey::from_sha256_hex(&c.sha256)?;
            put_new(state, &key, Bytes::from(c.bytes.clone()), &mut written).await?;
        }
        Ok::<_, crate::blob::BlobError>(())
    }
    .await;
    if let Err(e) = stored {
        cleanup(state, &written).await;
        return Err(e.into());
    }
    let facts = ReleaseFacts {
        name: name.clone(),
        version: version.clone(),
        origin: "direct".into(),
        integrity: package.archive.integrity.clone(),
        archive: ArchiveRef {
            name: package.archive.file_name.clone(),
            kind: match package.kind {
                ArchiveKind::Npm => "npm".into(),
                ArchiveKind::Crate => "crate".into(),
            },
            size: package.archive.size,
            sha256: package.archive.sha256.clone(),
        },
        manifest: package.manifest_json.clone(),
        components: package
            .components
            .iter()
            .map(|c| ComponentRef {
                guard: c.guard.clone(),
                path: c.path.clone(),
                sha256: c.sha256.clone(),
                size: c.size,
            })
            .collect(),
        trust_tier: tier,
        scan: summary,
        publisher: account.name.clone(),
    };
    let signed = match facts.sign(&state.keys, state.config.signing.manifest_ttl_days) {
        Ok(s) => s,
        Err(e) => {
            cleanup(state, &written).await;
            return Err(ApiError::Internal(e.to_string()));
        }
    };
    let envelope_key = BlobKey::for_bytes(&signed.envelope);
    if let Err(e) = put_new(
        state,
        &envelope_key,
        Bytes::from(signed.envelope.clone()),
        &mut written,
    )
    .await
    {
        cleanup(state, &written).await;
        return Err(e.into());
    }

    let manifest = &package.manifest;
    let latest = {
        let mut all: Vec<(String, bool)> = versions
            .iter()
            .map(|v| (v.version.clone(), v.yanked))
            .collect();
        all.push((version.clone(), false));
        pick_latest(&all).unwrap_or_else(|| version.clone())
    };
    let release = NewRelease {
        package: PackageFields {
            name: name.clone(),
            canonical_name: canonical,
            ecosystem: ecosystem.into(),
            origin: "direct".into(),
            display_name: manifest.display_name.clone(),
            description: package
                .metadata
                .description
                .clone()
                .or_else(|| manifest.description.clone()),
            category: category_of(&package.metadata.keywords),
            tags: package.metadata.keywords.clone(),
            license: package
                .metadata
                .license
                .clone()
                .or_else(|| manifest.license.clone()),
            repository: package.metadata.repository.clone(),
            homepage: package.metadata.homepage.clone(),
            readme: package.metadata.readme.clone(),
            capabilities: package
                .manifest_json
                .get("capabilities")
                .cloned()
                .unwrap_or_default(),
        },
        version: VersionFields {
            version: version.clone(),
            archive_kind: facts.archive.kind.clone(),
            archive_name: facts.archive.name.clone(),
            archive_sha256: package.archive.sha256.clone(),
            archive_size: package.archive.size as i64,
            integrity: package.archive.integrity.clone(),
            manifest_json: package.manifest_json.to_string(),
            engine_min: manifest.engine.min_version.clone(),
            engine_max: manifest.engine.max_version.clone(),
            trust_tier: tier.as_str().into(),
            scan_json: serde_json::to_string(&report)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
            envelope_sha256: envelope_key.sha256_hex().to_string(),
            signing_key_id: signed.key_id.clone(),
        },
        files: package
            .components
            .iter()
            .map(|c| FileFields {
                path: c.path.clone(),
                guard: c.guard.clone(),
                sha256: c.sha256.clone(),
                size: c.size as i64,
            })
            .collect(),
        publisher_id: account.id,
        scope: npm_scope(&name).map(str::to_string),
        is_latest: latest == version,
        latest_version: latest,
    };
    if let Err(e) = state.db.insert_release(&release).await {
        cleanup(state, &written).await;
        return Err(match e {
            DbError::Conflict(m) => ApiError::Conflict(m),
            other => other.into(),
        });
    }
    state.invalidate(&name);
    tracing::info!(package = %name, %version, tier = tier.as_str(), publisher = %account.name, "published");
    let base = format!(
        "{}/api/v1/guards/{}/{}",
        state.config.public_url(),
        encode_name(&name),
        version
    );
    Ok(Published {
        name,
        version,
        trust_tier: tier.as_str().into(),
        manifest_url: format!("{base}/manifest"),
        artifact_url: format!("{base}/artifact"),
    })
}

/// Stores a blob, remembering it in `created` when it was not there before, so a failed
/// publish removes only what it added.
async fn put_new(
    state: &AppState,
    key: &BlobKey,
    bytes: Bytes,
    created: &mut Vec<BlobKey>,
) -> Result<(), crate::blob::BlobError> {
    if state.blobs.exists(key).await? {
        return Ok(());
    }
    state.blobs.put(key, bytes).await?;
    created.push(key.clone());
    Ok(())
}

/// Deletes the blobs a failed publish created, unless a version committed meanwhile uses
/// them (blobs are content-addressed, so identical components are shared). A concurrent
/// publish of identical bytes that has not committed yet can lose its blob here; it is
/// the only window, and `exists` checks before each put keep it to identical uploads in
/// flight at the same moment.
async fn cleanup(state: &AppState, keys: &[BlobKey]) {
    for key in keys {
        match state.db.blob_referenced(key.sha256_hex()).await {
            Ok(false) => {
                if let Err(e) = state.blobs.delete(key).await {
                    tracing::warn!(key = key.as_str(), error = %e, "cannot delete an orphan blob");
                }
            }
            Ok(true) => {}
            Err(e) => tracing::warn!(key = key.as_str(), error = %e, "cannot check an orphan blob"),
        }
    }
}

/// SPEC §2: a new package starts at community; later versions keep the package's tier if
/// the scan passes; critical findings drop it to community; a certified package's new
/// major version waits for re-review at verified.
fn decide_tier(
    current: Option<&str>,
    versions: &[VersionRow],
    package: &Package,
    report: &clawdstrike_scanner::ScanReport,
) -> TrustTier {
    let current = current
        .and_then(|t| t.parse::<TrustTier>().ok())
        .unwrap_or(TrustTier::Community);
    let critical = report
        .findings
        .iter()
        .any(|f| f.severity == clawdstrike_formats::decision::Severity::Critical);
    if !report.passed || critical {
        return TrustTier::Community;
    }
    match current {
        // First-party is assigned by seeding only; a publish over HTTP keeps at most certified.
        TrustTier::FirstParty | TrustTier::Certified => {
            let newest_major = latest_of(versions)
                .and_then(|v| semver::Version::parse(&v.version).ok())
                .map(|v| v.major);
            if newest_major.is_some_and(|m| package.version.major > m) {
                TrustTier::Verified
            } else {
                TrustTier::Certified.min(current)
            }
        }
        other => other,
    }
}

/// The highest non-yanked release (pre-releases only when nothing else).
pub fn pick_latest(versions: &[(String, bool)]) -> Option<String> {
    let live: Vec<semver::Version> = versions
        .iter()
        .filter(|(_, yanked)| !yanked)
        .filter_map(|(v, _)| semver::Version::parse(v).ok())
        .collect();
    live.iter()
        .filter(|v| v.pre.is_empty())
        .max()
        .or_else(|| live.iter().max())
        .map(|v| v.to_string())
}

fn category_of(keywords: &[String]) -> String {
    keywords
        .iter()
        .find_map(|k| CATEGORIES.iter().find(|c| k.eq_ignore_ascii_case(c)))
        .unwrap_or(&"other")
        .to_string()
}

/// `@scope` of `@scope/name`.
pub fn npm_scope(name: &str) -> Option<&str> {
    name.starts_with('@')
        .then(|| name.split('/').next())
        .flatten()
}

/// A name as it travels in a URL path segment (`@acme/x` → `%40acme%2Fx`).
pub fn encode_name(name: &str) -> String {
    name.replace('@', "%40").replace('/', "%2F")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_skips_yanked_and_prefers_releases() {
        let v = |s: &str, y| (s.to_string(), y);
        assert_eq!(
            pick_latest(&[v("1.0.0", false), v("1.1.0", true), v("2.0.0-rc.1", false)]).as_deref(),
            Some("1.0.0")
        );
        assert_eq!(
            pick_latest(&[v("2.0.0-rc.1", false)]).as_deref(),
            Some("2.0.0-rc.1")
        );
        assert_eq!(pick_latest(&[v("1.0.0", true)]), None);
    }

    #[test]
    fn names_travel_encoded_and_scopes_are_found() {
        assert_eq!(encode_name("@acme/secrets"), "%40acme%2Fsecrets");
        assert_eq!(npm_scope("@acme/secrets"), Some("@acme"));
        assert_eq!(npm_scope("acme-secrets"), None);
        assert_eq!(category_of(&["guard".into(), "Secrets".into()]), "secrets");
        assert_eq!(category_of(&[]), "other");
    }
}
