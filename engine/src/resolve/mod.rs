//! Registry packages on the engine side: client configuration ([`config`]), version
//! constraints and selection ([`range`]), fetching and verifying signed releases and the
//! package cache ([`RegistryClient`]).
//!
//! A `guards.custom` entry `{package: "@acme/secrets", version: "^1.2"}` is resolved
//! against the registries of `clawdstrike.yaml` in priority order, the chosen version's
//! signed manifest is verified with the registry's pinned keys, every component is checked
//! against its signed digest, and the package is loaded from
//! `<cache>/<registry>/<name>/<version>/`. See docs/registry-client.md.

mod client;
pub mod config;
mod error;
pub mod http;
pub mod package_cache;
pub mod range;

pub use client::{
    check_package_name, fetch_keys, pin_block, registry_name_for, FetchedPackage, PackageInfo,
    PackageQuery, RegistryClient,
};
pub use config::{CacheConfig, ClientConfig, ConfigError, RegistryConfig, TrustConfig};
pub use error::ResolveError;
pub use range::{VersionEntry, VersionRange, VersionsDoc};

/// Split `NAME@RANGE` at the last `@` after the first character, so that scoped names
/// work: `@acme/secrets@^1.2` → (`@acme/secrets`, `^1.2`), `@acme/secrets` →
/// (`@acme/secrets`, `*`), `acme@1.x` → (`acme`, `1.x`).
pub fn split_spec(spec: &str) -> (&str, &str) {
    match spec.get(1..).and_then(|rest| rest.rfind('@')) {
        Some(i) => {
            let (name, range) = spec.split_at(i + 1);
            let range = &range[1..];
            (name, if range.is_empty() { "*" } else { range })
        }
        None => (spec, "*"),
    }
}

#[cfg(test)]
mod tests;
