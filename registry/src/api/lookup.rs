//! Finding the package and version a route names, with 404s that say what exists.

use crate::db::packages::PackageRow;
use crate::db::versions::VersionRow;
use crate::error::ApiError;
use crate::state::AppState;

/// The package called `name`.
pub async fn package(state: &AppState, name: &str) -> Result<PackageRow, ApiError> {
    state
        .db
        .package_by_name(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no guard package named `{name}`")))
}

/// Version `version` of `name`.
pub async fn version(
    state: &AppState,
    name: &str,
    version: &str,
) -> Result<(PackageRow, VersionRow), ApiError> {
    let p = package(state, name).await?;
    let v = state.db.version(p.id, version).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "`{name}` has no version `{version}`{}",
            p.latest_version
                .as_ref()
                .map(|l| format!(" (latest is {l})"))
                .unwrap_or_default()
        ))
    })?;
    Ok((p, v))
}
