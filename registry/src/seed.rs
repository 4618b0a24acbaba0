//! Seeding: publishing the project's own guards into a registry on start, from a directory
//! holding a `seed.toml` (`examples/guards/seed.toml`). Versions already present are left
//! alone, so seeding on every start is harmless.

use std::path::Path;

use anyhow::Context;
use bytes::Bytes;
use clawdstrike_formats::manifest::TrustTier;
use serde::Deserialize;

use crate::db::publishers::Role;
use crate::error::ApiError;
use crate::publish::{publish, Publishing};
use crate::state::AppState;

/// The account seeded packages are published by.
pub const SEED_ACCOUNT: &str = "clawdstrike";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    package: Vec<SeedEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedEntry {
    dir: String,
    tier: String,
}

/// Publishes every package `dir/seed.toml` lists. Returns how many versions were added.
pub async fn seed_dir(state: &AppState, dir: &Path) -> anyhow::Result<usize> {
    let list = dir.join("seed.toml");
    let text = std::fs::read_to_string(&list)
        .with_context(|| format!("cannot read {}", list.display()))?;
    let file: SeedFile =
        toml::from_str(&text).with_context(|| format!("{} is malformed", list.display()))?;
    let account = match state.db.publisher_by_name(SEED_ACCOUNT).await? {
        Some(a) => a,
        None => {
            state
                .db
                .create_publisher(SEED_ACCOUNT, None, Role::Publisher)
                .await?
        }
    };
    let mut added = 0;
    for entry in file.package {
        let tier: TrustTier = entry
            .tier
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: {e}", list.display()))?;
        let packed = crate::pack::pack_dir(&dir.join(&entry.dir))?;
        match publish(
            state,
            Publishing::Seed {
                account: &account,
                tier,
            },
            Bytes::from(packed.bytes),
        )
        .await
        {
            Ok(p) => {
                tracing::info!(package = %p.name, version = %p.version, "seeded");
                added += 1;
            }
            Err(ApiError::Conflict(_)) => {}
            Err(e) => return Err(anyhow::anyhow!("{}: {e}", entry.dir)),
        }
    }
    Ok(added)
}
