//! The OpenAPI document, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`. `registry/tests/snapshots/openapi.json` pins it: an API change
//! is always a visible diff.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{admin, files, guards, health, keys, owners, publish, versions};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The registry's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Clawdstrike Guard Registry", description = "Publish, find and fetch signed guard packages."),
    paths(
        guards::list, guards::details, versions::list, files::manifest, files::artifact,
        files::component, publish::create, versions::yank, versions::deprecate, owners::list,
        owners::add, owners::remove, admin::set_tier, keys::list, health::healthz, health::readyz, health::metrics,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    // The crate version would churn the snapshot on every release bump; the API has its own.
    doc.info.version = "1".into();
    doc
}

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
