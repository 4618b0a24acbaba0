//! The JSON bodies of the read API (camelCase, SPEC.md §2 field names).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::packages::PackageRow;
use crate::db::versions::VersionRow;
use crate::publish::encode_name;

/// One guard package in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuardSummary {
    /// Package name (`@acme/secrets`).
    pub name: String,
    /// Human name from the plugin manifest.
    pub display_name: Option<String>,
    /// One line.
    pub description: Option<String>,
    /// Highest version that is not yanked.
    pub version: Option<String>,
    /// `npm` or `crates.io`.
    pub registry: String,
    /// `community`, `verified`, `certified` or `first-party`.
    pub trust_tier: String,
    /// SPEC §2 category.
    pub category: String,
    /// Keywords.
    pub tags: Vec<String>,
    /// Capabilities the latest version declares.
    #[schema(value_type = Object)]
    pub capabilities: serde_json::Value,
    /// First publish.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// This resource.
    pub url: String,
}

impl GuardSummary {
    /// From a package row.
    pub fn from_row(p: &PackageRow, base: &str) -> GuardSummary {
        GuardSummary {
            name: p.name.clone(),
            display_name: p.display_name.clone(),
            description: p.description.clone(),
            version: p.latest_version.clone(),
            registry: p.ecosystem.clone(),
            trust_tier: p.trust_tier.clone(),
            category: p.category.clone(),
            tags: p.tags.clone(),
            capabilities: p.capabilities.clone(),
            created_at: p.created_at.clone(),
            updated_at: p.updated_at.clone(),
            url: format!("{base}/api/v1/guards/{}", encode_name(&p.name)),
        }
    }
}

/// A page of guards.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuardList {
    /// This page.
    pub guards: Vec<GuardSummary>,
    /// All matches.
    pub total: i64,
    /// Page number, from 1.
    pub page: i64,
    /// Number of pages.
    pub pages: i64,
}

/// Query of the list route.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page number, from 1 (default 1).
    pub page: Option<i64>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
    /// Only `updated` (the default) until the search issue adds relevance.
    pub sort: Option<String>,
    /// Only this category (`secrets`, `paths`, `network`, `execution`, `compliance`,
    /// `integration`, `composition`, `other`).
    pub category: Option<String>,
    /// Only this trust tier (`community`, `verified`, `certified`, `first-party`).
    pub trust_tier: Option<String>,
    /// Only this ecosystem (`npm`, `crates.io`).
    pub registry: Option<String>,
    /// Free text; matched by the search index when it arrives, refused meanwhile.
    pub q: Option<String>,
}

/// One guard package in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuardDetails {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: GuardSummary,
    /// The readme, rendered to sanitised HTML.
    pub readme: Option<String>,
    /// SPDX license.
    pub license: Option<String>,
    /// Source repository.
    pub repository: Option<String>,
    /// Home page.
    pub homepage: Option<String>,
    /// Owning accounts.
    pub owners: Vec<String>,
    /// Config schema of each guard of the latest version, by guard name.
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    /// The latest version's scan: `{scannedAt, scanVersion, passed, findings[]}`.
    #[schema(value_type = Object)]
    pub last_security_scan: Option<serde_json::Value>,
    /// How many versions exist.
    pub versions: usize,
}

/// Engine versions a release works with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EngineRange {
    /// Oldest engine, inclusive.
    pub min: Option<String>,
    /// Newest engine, inclusive (may be a wildcard such as `1.x`).
    pub max: Option<String>,
}

/// The stored archive of a release.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveView {
    /// `npm` or `crate`.
    pub kind: String,
    /// File name.
    pub name: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// `sha512-…`.
    pub integrity: String,
}

/// One release.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    /// Semver.
    pub version: String,
    /// Publish time.
    pub published_at: String,
    /// Engine range.
    pub engine: EngineRange,
    /// Skipped by resolvers.
    pub yanked: bool,
    /// Why.
    pub yank_reason: Option<String>,
    /// Resolvable with a warning.
    pub deprecated: bool,
    /// Why.
    pub deprecation_reason: Option<String>,
    /// Tier.
    pub trust_tier: String,
    /// The archive.
    pub archive: ArchiveView,
}

impl From<&VersionRow> for VersionView {
    fn from(v: &VersionRow) -> Self {
        VersionView {
            version: v.version.clone(),
            published_at: v.published_at.clone(),
            engine: EngineRange {
                min: v.engine_min.clone(),
                max: v.engine_max.clone(),
            },
            yanked: v.yanked,
            yank_reason: v.yank_reason.clone(),
            deprecated: v.deprecated,
            deprecation_reason: v.deprecation_reason.clone(),
            trust_tier: v.trust_tier.clone(),
            archive: ArchiveView {
                kind: v.archive_kind.clone(),
                name: v.archive_name.clone(),
                size: v.archive_size,
                sha256: v.archive_sha256.clone(),
                integrity: v.integrity.clone(),
            },
        }
    }
}

/// Every release of a package, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionList {
    /// Package name.
    pub name: String,
    /// Releases.
    pub versions: Vec<VersionView>,
}

/// Body of the yank and deprecate routes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagChange {
    /// Set (`true`, the default) or clear (`false`).
    #[serde(default = "yes")]
    pub value: bool,
    /// Why; required when setting.
    pub reason: Option<String>,
}

fn yes() -> bool {
    true
}

/// Body of the tier route.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierChange {
    /// `community`, `verified` or `certified`.
    pub tier: String,
    /// Why (kept in the log).
    pub reason: Option<String>,
}

/// Body of the add-owner route.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerChange {
    /// Account to add.
    pub publisher: String,
}

/// Owners of a package.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnerList {
    /// Account names.
    pub owners: Vec<String>,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Each dependency's state (readiness only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// One dependency's readiness.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    /// `database` or `blob_store`.
    pub name: &'static str,
    /// `ok` or the error.
    pub status: String,
}
