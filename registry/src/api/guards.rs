//! `GET /api/v1/guards` and `GET /api/v1/guards/{name}`.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;

use super::lookup;
use super::views::{GuardDetails, GuardList, GuardSummary, ListQuery};
use crate::db::packages::ListFilter;
use crate::error::ApiError;
use crate::state::AppState;

/// Lists guard packages, most recently updated first.
#[utoipa::path(get, path = "/api/v1/guards", params(ListQuery), tag = "guards",
    responses((status = 200, body = GuardList), (status = 400, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<GuardList>, ApiError> {
    if q.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        return Err(ApiError::BadRequest(
            "full-text search (`q`) is not available on this registry yet; list without `q`".into(),
        ));
    }
    if let Some(sort) = q.sort.as_deref().filter(|s| *s != "updated") {
        return Err(ApiError::BadRequest(format!(
            "`sort={sort}` is not supported; use `sort=updated`"
        )));
    }
    let page = q.page.unwrap_or(1);
    let limit = q.limit.unwrap_or(20);
    if page < 1 || !(1..=100).contains(&limit) {
        return Err(ApiError::BadRequest(
            "`page` must be ≥ 1 and `limit` between 1 and 100".into(),
        ));
    }
    let filter = ListFilter {
        category: checked("category", q.category, &crate::publish::CATEGORIES)?,
        trust_tier: checked(
            "trust_tier",
            q.trust_tier,
            &["community", "verified", "certified", "first-party"],
        )?,
        ecosystem: checked("registry", q.registry, &["npm", "crates.io"])?,
    };
    let (rows, total) = state
        .db
        .list_packages(&filter, (page - 1).saturating_mul(limit), limit)
        .await?;
    let base = state.config.public_url();
    Ok(Json(GuardList {
        guards: rows
            .iter()
            .map(|p| GuardSummary::from_row(p, &base))
            .collect(),
        total,
        page,
        pages: (total + limit - 1) / limit,
    }))
}

/// One guard package: the index entry, readme, owners, config schemas and latest scan.
#[utoipa::path(get, path = "/api/v1/guards/{name}", tag = "guards",
    params(("name" = String, Path, description = "Package name, URL-encoded (`%40acme%2Fsecrets`)")),
    responses((status = 200, body = GuardDetails), (status = 404, body = crate::error::Problem)))]
pub async fn details(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if let Some(body) = state.details.get(&name) {
        return Ok(json_bytes(body));
    }
    let p = lookup::package(&state, &name).await?;
    let versions = state.db.versions_of(p.id).await?;
    let latest = p
        .latest_version
        .as_ref()
        .and_then(|l| versions.iter().find(|v| &v.version == l));
    let (config_schema, scan) = match latest {
        None => (serde_json::Value::Object(Default::default()), None),
        Some(v) => {
            let manifest: serde_json::Value = serde_json::from_str(&v.manifest_json)
                .map_err(|e| ApiError::Internal(format!("stored manifest: {e}")))?;
            let mut schemas = serde_json::Map::new();
            for g in manifest
                .get("guards")
                .and_then(|g| g.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(name) = g.get("name").and_then(|n| n.as_str()) {
                    schemas.insert(
                        name.into(),
                        g.get("configSchema")
                            .cloned()
                            .unwrap_or(serde_json::Value::Null),
                    );
                }
            }
            let report: serde_json::Value = serde_json::from_str(&v.scan_json)
                .map_err(|e| ApiError::Internal(format!("stored scan: {e}")))?;
            // SPEC §2's `lastSecurityScan` shape; the scan runs at publish.
            let scan = serde_json::json!({
                "scannedAt": v.published_at,
                "scanVersion": report.get("scannerVersion").or_else(|| report.get("scanner_version")),
                "passed": report.get("passed"),
                "findings": report.get("findings").cloned().unwrap_or_else(|| serde_json::json!([])),
            });
            (serde_json::Value::Object(schemas), Some(scan))
        }
    };
    let details = GuardDetails {
        summary: GuardSummary::from_row(&p, &state.config.public_url()),
        readme: p.readme.as_deref().map(crate::readme::render),
        license: p.license.clone(),
        repository: p.repository.clone(),
        homepage: p.homepage.clone(),
        owners: state.db.package_owners(p.id).await?,
        config_schema,
        last_security_scan: scan,
        versions: versions.len(),
    };
    let body =
        Bytes::from(serde_json::to_vec(&details).map_err(|e| ApiError::Internal(e.to_string()))?);
    state.details.insert(name, body.clone());
    Ok(json_bytes(body))
}

/// A filter value must be one of `allowed`, so a typo is an error rather than an empty page.
fn checked(
    name: &str,
    value: Option<String>,
    allowed: &[&str],
) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(ApiError::BadRequest(format!(
            "`{name}={v}` is not one of: {}",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
