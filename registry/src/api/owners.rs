//! `GET/POST /api/v1/guards/{name}/owners`: owners may add owners.

use axum::extract::{Path, State};
use axum::Json;

use super::lookup;
use super::views::{OwnerChange, OwnerList};
use crate::auth::{Action, Caller};
use crate::db::packages::PackageRow;
use crate::db::publishers::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// Refuses unless the caller owns the package (admins own everything).
pub async fn require_owner(
    state: &AppState,
    caller: &Caller,
    p: &PackageRow,
) -> Result<(), ApiError> {
    let who = &caller.0.publisher;
    if who.role == Role::Admin || state.db.is_package_owner(p.id, who.id).await? {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "`{}` is not an owner of `{}`",
        who.name, p.name
    )))
}

/// The owners of a package.
#[utoipa::path(get, path = "/api/v1/guards/{name}/owners", tag = "publishing",
    params(("name" = String, Path)),
    responses((status = 200, body = OwnerList), (status = 404, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<OwnerList>, ApiError> {
    let p = lookup::package(&state, &name).await?;
    Ok(Json(OwnerList {
        owners: state.db.package_owners(p.id).await?,
    }))
}

/// Adds an owner (and, for a scoped package, an owner of its scope).
#[utoipa::path(post, path = "/api/v1/guards/{name}/owners", tag = "publishing",
    params(("name" = String, Path)), request_body = OwnerChange, security(("bearer" = [])),
    responses((status = 200, body = OwnerList), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(change): Json<OwnerChange>,
) -> Result<Json<OwnerList>, ApiError> {
    caller.require(Action::Publish, &name)?;
    let p = lookup::package(&state, &name).await?;
    require_owner(&state, &caller, &p).await?;
    let new = state
        .db
        .publisher_by_name(&change.publisher)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no publisher named `{}`", change.publisher)))?;
    state.db.add_package_owner(p.id, new.id).await?;
    if let Some(scope) = crate::publish::npm_scope(&p.name) {
        state.db.add_scope_owner(scope, new.id).await?;
    }
    state.invalidate(&name);
    tracing::info!(package = %name, added = %new.name, by = %caller.0.publisher.name, "owner added");
    Ok(Json(OwnerList {
        owners: state.db.package_owners(p.id).await?,
    }))
}

/// Removes an owner (not the last one; a scoped package's scope ownership is kept).
#[utoipa::path(delete, path = "/api/v1/guards/{name}/owners/{publisher}", tag = "publishing",
    params(("name" = String, Path), ("publisher" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = OwnerList), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, publisher)): Path<(String, String)>,
) -> Result<Json<OwnerList>, ApiError> {
    caller.require(Action::Publish, &name)?;
    let p = lookup::package(&state, &name).await?;
    require_owner(&state, &caller, &p).await?;
    let gone = state
        .db
        .publisher_by_name(&publisher)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no publisher named `{publisher}`")))?;
    if !state.db.is_package_owner(p.id, gone.id).await? {
        return Err(ApiError::NotFound(format!(
            "`{publisher}` is not an owner of `{name}`"
        )));
    }
    state.db.remove_package_owner(p.id, gone.id).await?;
    state.invalidate(&name);
    tracing::info!(package = %name, removed = %publisher, by = %caller.0.publisher.name, "owner removed");
    Ok(Json(OwnerList {
        owners: state.db.package_owners(p.id).await?,
    }))
}
