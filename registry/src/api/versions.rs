//! `GET /api/v1/guards/{name}/versions`, and yanking and deprecating a version.

use axum::extract::{Path, State};
use axum::Json;

use super::lookup;
use super::views::{FlagChange, VersionList, VersionView};
use crate::auth::{Action, Caller};
use crate::error::ApiError;
use crate::publish::pick_latest;
use crate::state::AppState;

/// Every version, newest first (semver order), with yanked and deprecated marks.
#[utoipa::path(get, path = "/api/v1/guards/{name}/versions", tag = "guards",
    params(("name" = String, Path, description = "Package name, URL-encoded")),
    responses((status = 200, body = VersionList), (status = 404, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<VersionList>, ApiError> {
    let p = lookup::package(&state, &name).await?;
    let versions = state.db.versions_of(p.id).await?;
    Ok(Json(VersionList {
        name: p.name,
        versions: versions.iter().map(VersionView::from).collect(),
    }))
}

fn reason_for(change: &FlagChange, what: &str) -> Result<Option<String>, ApiError> {
    match (change.value, change.reason.as_deref().map(str::trim)) {
        (true, None | Some("")) => Err(ApiError::BadRequest(format!("{what} needs a `reason`"))),
        (true, Some(r)) if r.len() > 1000 => Err(ApiError::BadRequest(
            "`reason` is limited to 1000 characters".into(),
        )),
        (true, Some(r)) => Ok(Some(r.to_string())),
        (false, _) => Ok(None),
    }
}

/// Which flag of a version a route sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Yanked,
    Deprecated,
}

/// The shared body of the yank and deprecate routes: authorise, validate the reason, set
/// the flag, refresh the latest version (yanks change it), answer with the version.
async fn set_flag(
    state: &AppState,
    caller: &Caller,
    name: &str,
    version: &str,
    change: &FlagChange,
    flag: Flag,
) -> Result<Json<VersionView>, ApiError> {
    caller.require(Action::Yank, name)?;
    let (p, v) = lookup::version(state, name, version).await?;
    super::owners::require_owner(state, caller, &p).await?;
    let what = if flag == Flag::Yanked {
        "yanking"
    } else {
        "deprecating"
    };
    let reason = reason_for(change, what)?;
    match flag {
        Flag::Yanked => {
            state
                .db
                .set_yanked(v.id, change.value, reason.as_deref())
                .await?;
            let all: Vec<(String, bool)> = state
                .db
                .versions_of(p.id)
                .await?
                .into_iter()
                .map(|v| (v.version, v.yanked))
                .collect();
            state
                .db
                .set_latest_version(p.id, pick_latest(&all).as_deref(), None)
                .await?;
        }
        Flag::Deprecated => {
            state
                .db
                .set_deprecated(v.id, change.value, reason.as_deref())
                .await?
        }
    }
    state.invalidate(name);
    tracing::info!(package = %name, %version, ?flag, value = change.value, by = %caller.0.publisher.name, "version flag changed");
    let (_, v) = lookup::version(state, name, version).await?;
    Ok(Json(VersionView::from(&v)))
}

/// Yanks (or, with `value: false`, restores) a version. Yanked versions stay downloadable
/// by exact version but resolvers skip them.
#[utoipa::path(put, path = "/api/v1/guards/{name}/{version}/yank", tag = "publishing",
    params(("name" = String, Path), ("version" = String, Path)), request_body = FlagChange,
    security(("bearer" = [])),
    responses((status = 200, body = VersionView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn yank(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    Json(change): Json<FlagChange>,
) -> Result<Json<VersionView>, ApiError> {
    set_flag(&state, &caller, &name, &version, &change, Flag::Yanked).await
}

/// Deprecates (or restores) a version, with a reason shown to everyone who resolves it.
#[utoipa::path(put, path = "/api/v1/guards/{name}/{version}/deprecate", tag = "publishing",
    params(("name" = String, Path), ("version" = String, Path)), request_body = FlagChange,
    security(("bearer" = [])),
    responses((status = 200, body = VersionView), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn deprecate(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    Json(change): Json<FlagChange>,
) -> Result<Json<VersionView>, ApiError> {
    set_flag(&state, &caller, &name, &version, &change, Flag::Deprecated).await
}
