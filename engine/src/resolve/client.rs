//! Resolving, fetching and verifying packages from the configured registries.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;

use super::config::{check_url, ClientConfig, RegistryConfig};
use super::error::ResolveError;
use super::http::{
    encode_path, encode_segment, Http, HttpError, Progress, DOWNLOAD_TIMEOUT, JSON_TIMEOUT,
    MAX_DOWNLOAD_BYTES, MAX_JSON_BYTES, MAX_MANIFEST_BYTES,
};
use super::package_cache::{safe_relative_path, CacheProblem, PackageCache};
use super::range::{engine_version, select, NoMatch, VersionEntry, VersionRange, VersionsDoc};
use crate::plugin::manifest::TrustTier;
use crate::policy::model::PackageRegistry;
use crate::signed::{self, TrustedKey, VerifiedRelease};
use clawdstrike_formats::api::{KeyList, KeyStatus, PublicKey};

/// What to resolve: a package, its ecosystem (which decides the range syntax), a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageQuery {
    /// Package name (`@acme/secrets`, `acme-secrets`).
    pub name: String,
    /// npm or crates.io: the syntax of `range`.
    pub ecosystem: PackageRegistry,
    /// Version constraint; `*` when absent.
    pub range: String,
    /// The policy's `integrity` pin (`sha512-…`), compared with the signed origin
    /// integrity.
    pub integrity: Option<String>,
}

impl PackageQuery {
    /// A query for `name` with `range` in npm syntax and no integrity pin.
    pub fn npm(name: &str, range: &str) -> PackageQuery {
        PackageQuery {
            name: name.to_string(),
            ecosystem: PackageRegistry::Npm,
            range: range.to_string(),
            integrity: None,
        }
    }
}

/// A package on disk, verified.
#[derive(Debug, Clone)]
pub struct FetchedPackage {
    /// The registry it came from.
    pub registry: String,
    /// That registry's URL.
    pub registry_url: String,
    /// The resolved version.
    pub version: semver::Version,
    /// The version directory in the cache: load it with the plugin host.
    pub dir: PathBuf,
    /// The verified signed manifest.
    pub release: VerifiedRelease,
    /// True when the registry was unreachable and a cached copy stood in.
    pub offline: bool,
}

impl FetchedPackage {
    /// The tier the registry signed.
    pub fn trust_tier(&self) -> TrustTier {
        self.release.statement.predicate.trust_tier
    }
}

/// `guard info`: a registry's entry for a package and its versions.
#[derive(Debug, Clone)]
pub struct PackageInfo {
    /// The registry that has it.
    pub registry: String,
    /// `GET /api/v1/guards/{name}` as sent.
    pub details: serde_json::Value,
    /// `GET /api/v1/guards/{name}/versions`.
    pub versions: VersionsDoc,
}

type WarnSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Resolves packages against the configured registries and keeps verified copies in the
/// cache. Cheap to clone.
#[derive(Clone)]
pub struct RegistryClient {
    config: Arc<ClientConfig>,
    http: Http,
    cache: PackageCache,
    warn: WarnSink,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field(
                "registries",
                &self
                    .config
                    .registries
                    .iter()
                    .map(|r| &r.name)
                    .collect::<Vec<_>>(),
            )
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// How looking a package up in one registry went.
enum Lookup {
    Found(Box<VersionEntry>, semver::Version),
    NotFound,
    NoVersion(String),
    Unreachable(String, String),
}

impl RegistryClient {
    /// A client for `config`. Warnings (community tier, deprecated versions, offline
    /// fallback) go to `tracing`; see [`with_warnings`](Self::with_warnings).
    pub fn new(config: ClientConfig) -> Result<RegistryClient, ResolveError> {
        let http = Http::new().map_err(|message| ResolveError::Cache {
            path: PathBuf::new(),
            message,
        })?;
        let cache = PackageCache::new(
            config.cache.directory.clone(),
            config.cache.max_size_mb,
            config.cache.ttl_hours,
        );
        Ok(RegistryClient {
            config: Arc::new(config),
            http,
            cache,
            warn: Arc::new(|w: &str| tracing::warn!("{w}")),
        })
    }

    /// Send warnings to `sink` instead (the CLI prints them on stderr).
    pub fn with_warnings(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.warn = Arc::new(sink);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn warn(&self, message: String) {
        (self.warn)(&message);
    }

    fn registries(&self, package: &str) -> Result<&[RegistryConfig], ResolveError> {
        if self.config.registries.is_empty() {
            return Err(ResolveError::NoRegistry {
                package: package.to_string(),
                source_hint: match &self.config.source {
                    Some(p) => format!("{} has no registries", p.display()),
                    None => "no clawdstrike.yaml was found".to_string(),
                },
            });
        }
        Ok(&self.config.registries)
    }

    fn guard_url(registry: &RegistryConfig, name: &str) -> String {
        format!("{}/api/v1/guards/{}", registry.url, encode_segment(name))
    }

    fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        registry: &RegistryConfig,
        url: &str,
    ) -> Result<Result<T, HttpError>, ResolveError> {
        match self.http.get(
            Some(registry),
            url,
            "application/json",
            MAX_JSON_BYTES,
            JSON_TIMEOUT,
            None,
        ) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Ok)
                .map_err(|e| ResolveError::Http {
                    registry: registry.name.clone(),
                    url: url.to_string(),
                    message: format!("unexpected response: {e}"),
                }),
            Err(e) => Ok(Err(e)),
        }
    }

    fn http_error(registry: &RegistryConfig, url: &str, e: HttpError) -> ResolveError {
        let registry_name = registry.name.clone();
        match e {
            HttpError::Transport(message) => ResolveError::Unreachable {
                registry: registry_name,
                url: url.to_string(),
                message,
            },
            HttpError::TooLarge(limit) => ResolveError::TooLarge {
                registry: registry_name,
                url: url.to_string(),
                limit,
            },
            HttpError::NotFound(detail) => ResolveError::Http {
                registry: registry_name,
                url: url.to_string(),
                message: format!("404 not found {detail}").trim().to_string(),
            },
            HttpError::Status(status, detail) => ResolveError::Http {
                registry: registry_name,
                url: url.to_string(),
                message: match status {
                    401 | 403 => format!(
                        "{status} {detail}; check the registry's `token` in the client configuration"
                    ),
                    _ => format!("{status} {detail}"),
                },
            },
            HttpError::Body(message) => ResolveError::Http {
                registry: registry_name,
                url: url.to_string(),
                message,
            },
        }
    }

    /// The versions of `name` in one registry: the cached list while it is fresh and
    /// has a match, else the registry's.
    fn lookup(
        &self,
        registry: &RegistryConfig,
        name: &str,
        range: &VersionRange,
    ) -> Result<Lookup, ResolveError> {
        let engine = engine_version();
        let url = format!("{}/versions", Self::guard_url(registry, name));
        if let Some(doc) = self.cache.fresh_versions(&registry.name, name, &url) {
            if let Ok((entry, version)) = select(&doc.versions, range, &engine) {
                return Ok(Lookup::Found(Box::new(entry.clone()), version));
            }
        }
        let doc: VersionsDoc = match self.get_json(registry, &url)? {
            Ok(doc) => doc,
            Err(HttpError::NotFound(_)) => return Ok(Lookup::NotFound),
            Err(HttpError::Transport(message)) => return Ok(Lookup::Unreachable(url, message)),
            Err(e) => return Err(Self::http_error(registry, &url, e)),
        };
        if doc.name != name {
            return Err(ResolveError::Http {
                registry: registry.name.clone(),
                url,
                message: format!("answered with the versions of `{}`", doc.name),
            });
        }
        self.cache.store_versions(&registry.name, name, &url, &doc);
        match select(&doc.versions, range, &engine) {
            Ok((entry, version)) => Ok(Lookup::Found(Box::new(entry.clone()), version)),
            Err(reason) => Ok(Lookup::NoVersion(explain(reason, &engine))),
        }
    }

    /// Resolve `query` (SPEC.md §6), download and verify it (or re-verify the cached
    /// copy), and return where it is.
    ///
    /// Registries are asked in priority order; the first that has the package decides
    /// (a lower-priority registry is never asked for a name a higher one serves). When a
    /// registry cannot be reached, a verified cached version matching the range stands in,
    /// with a warning.
    pub fn fetch(&self, query: &PackageQuery) -> Result<FetchedPackage, ResolveError> {
        check_package_name(&query.name)?;
        let range = VersionRange::parse(query.ecosystem, &query.range).map_err(|m| {
            ResolveError::Invalid(format!("version of package `{}`: {m}", query.name))
        })?;
        let registries = self.registries(&query.name)?;
        let mut asked = Vec::new();
        for registry in registries {
            match self.lookup(registry, &query.name, &range)? {
                Lookup::Found(entry, version) => {
                    return self.fetch_version(registry, query, &version, Some(&entry));
                }
                Lookup::NotFound => asked.push(registry.name.clone()),
                Lookup::NoVersion(reason) => {
                    return Err(ResolveError::NoVersion {
                        package: query.name.clone(),
                        range: range.to_string(),
                        registry: registry.name.clone(),
                        reason,
                    })
                }
                Lookup::Unreachable(url, message) => {
                    return self.offline(registry, &url, &message, query, &range);
                }
            }
        }
        Err(ResolveError::NotFound {
            package: query.name.clone(),
            registries: asked,
        })
    }

    /// The registry at `failed` could not be reached: use the newest verified cached
    /// version matching the range, from any configured registry.
    fn offline(
        &self,
        failed: &RegistryConfig,
        url: &str,
        message: &str,
        query: &PackageQuery,
        range: &VersionRange,
    ) -> Result<FetchedPackage, ResolveError> {
        let now = Utc::now();
        let mut notes = Vec::new();
        for registry in &self.config.registries {
            for version in self.cache.cached_versions(&registry.name, &query.name) {
                if !range.matches(&version) {
                    continue;
                }
                let dir = self
                    .cache
                    .version_dir(&registry.name, &query.name, &version)?;
                match self
                    .cache
                    .verify(&dir, &registry.keys, &query.name, &version, now)
                {
                    Ok(release) => {
                        self.accept(registry, query, &release, None)?;
                        self.warn(format!(
                            "registry {} is unreachable ({message}); using the verified cached \
                             copy of {}@{version} from registry {}",
                            failed.name, query.name, registry.name
                        ));
                        return Ok(FetchedPackage {
                            registry: registry.name.clone(),
                            registry_url: registry.url.clone(),
                            version,
                            dir,
                            release,
                            offline: true,
                        });
                    }
                    Err(problem) => {
                        notes.push(format!("cached {version} ({}): {problem}", registry.name))
                    }
                }
            }
        }
        let cache_note = if notes.is_empty() {
            format!("no cached version of {} matches {range}", query.name)
        } else {
            format!(
                "no cached version of {} matching {range} verifies: {}",
                query.name,
                notes.join("; ")
            )
        };
        Err(ResolveError::Unreachable {
            registry: failed.name.clone(),
            url: url.to_string(),
            message: format!("{message}; {cache_note}"),
        })
    }

    /// Make sure `version` is in the cache, verified, and return it.
    fn fetch_version(
        &self,
        registry: &RegistryConfig,
        query: &PackageQuery,
        version: &semver::Version,
        entry: Option<&VersionEntry>,
    ) -> Result<FetchedPackage, ResolveError> {
        let name = &query.name;
        if registry.keys.is_empty() {
            return Err(ResolveError::NoKeys {
                registry: registry.name.clone(),
                url: registry.url.clone(),
                package: name.clone(),
                config: self.config.describe_source(),
            });
        }
        let now = Utc::now();
        let dir = self.cache.version_dir(&registry.name, name, version)?;
        let package = |release: VerifiedRelease, dir: PathBuf, offline: bool| FetchedPackage {
            registry: registry.name.clone(),
            registry_url: registry.url.clone(),
            version: version.clone(),
            dir,
            release,
            offline,
        };
        let mut stale_but_valid = None;
        if dir.join(super::package_cache::ENVELOPE_FILE).exists() {
            match self.cache.verify(&dir, &registry.keys, name, version, now) {
                Ok(release) if self.cache.is_fresh(&dir) => {
                    self.accept(registry, query, &release, entry)?;
                    return Ok(package(release, dir, false));
                }
                Ok(release) => stale_but_valid = Some(release),
                Err(CacheProblem::Tampered(message)) => {
                    return Err(ResolveError::CacheTampered {
                        package: name.clone(),
                        version: version.to_string(),
                        path: dir,
                        message,
                    })
                }
                Err(CacheProblem::Stale(_)) => {}
            }
        }

        let base = format!("{}/{}", Self::guard_url(registry, name), version);
        let manifest_url = format!("{base}/manifest");
        let envelope = match self.http.get(
            Some(registry),
            &manifest_url,
            "application/vnd.dsse.envelope.v1+json, application/json",
            MAX_MANIFEST_BYTES,
            JSON_TIMEOUT,
            None,
        ) {
            Ok(bytes) => bytes,
            Err(HttpError::Transport(message)) => match stale_but_valid {
                Some(release) => {
                    self.accept(registry, query, &release, entry)?;
                    self.warn(format!(
                        "registry {} is unreachable ({message}); using the verified cached \
                         copy of {name}@{version}",
                        registry.name
                    ));
                    return Ok(package(release, dir, true));
                }
                None => {
                    return Err(Self::http_error(
                        registry,
                        &manifest_url,
                        HttpError::Transport(message),
                    ))
                }
            },
            Err(e) => return Err(Self::http_error(registry, &manifest_url, e)),
        };
        let verify_error = |source| ResolveError::Verify {
            registry: registry.name.clone(),
            package: name.clone(),
            version: version.to_string(),
            source: Box::new(source),
        };
        let release = signed::verify(&envelope, &registry.keys, now).map_err(verify_error)?;
        let refused = |message: String| ResolveError::Refused {
            registry: registry.name.clone(),
            package: name.clone(),
            version: version.to_string(),
            message,
        };
        let predicate = &release.statement.predicate;
        if predicate.name != *name || predicate.version != version.to_string() {
            return Err(refused(format!(
                "the registry served the signed manifest of {}@{}",
                predicate.name, predicate.version
            )));
        }
        self.accept(registry, query, &release, entry)?;
        let components = components_of(&release).map_err(refused)?;

        let mut downloaded = Vec::with_capacity(components.len());
        for (path, rel) in components {
            let url = format!("{base}/artifact/{}", encode_path(&path));
            let bytes = self
                .http
                .get(
                    Some(registry),
                    &url,
                    "application/wasm, application/octet-stream",
                    MAX_DOWNLOAD_BYTES,
                    DOWNLOAD_TIMEOUT,
                    None,
                )
                .map_err(|e| Self::http_error(registry, &url, e))?;
            release.check_subject(&path, &bytes).map_err(verify_error)?;
            downloaded.push((rel, bytes));
        }
        let dir = self
            .cache
            .store(&registry.name, &release, &envelope, &downloaded, version)?;
        self.cache.prune(&dir);
        Ok(package(release, dir, false))
    }

    /// The checks on a verified release beyond its signature: the configuration's trust
    /// requirements and the policy's integrity pin. Emits the warnings.
    fn accept(
        &self,
        registry: &RegistryConfig,
        query: &PackageQuery,
        release: &VerifiedRelease,
        entry: Option<&VersionEntry>,
    ) -> Result<(), ResolveError> {
        let p = &release.statement.predicate;
        let refused = |message: String| ResolveError::Refused {
            registry: registry.name.clone(),
            package: p.name.clone(),
            version: p.version.clone(),
            message,
        };
        let trust = &self.config.trust;
        if p.trust_tier < trust.minimum_tier {
            return Err(refused(format!(
                "its trust tier is {}, below trust.minimum_tier ({}) in {}",
                p.trust_tier,
                trust.minimum_tier,
                self.config.describe_source()
            )));
        }
        if p.trust_tier == TrustTier::Community && !trust.allow_community {
            return Err(refused(format!(
                "it is a community-tier package and trust.allow_community is false in {}",
                self.config.describe_source()
            )));
        }
        if let Some(pin) = &query.integrity {
            if pin.trim() != p.origin.integrity {
                return Err(refused(format!(
                    "the policy pins integrity {pin} but the signed manifest says {}",
                    p.origin.integrity
                )));
            }
        }
        if p.trust_tier == TrustTier::Community && trust.community_warning {
            self.warn(format!(
                "{}@{} is a community-tier package: it has not been verified by the registry \
                 (set trust.community_warning: false to silence this)",
                p.name, p.version
            ));
        }
        if !p.scan.passed {
            self.warn(format!(
                "{}@{}: the registry's security scan did not pass (critical {}, high {})",
                p.name, p.version, p.scan.findings.critical, p.scan.findings.high
            ));
        }
        if let Some(e) = entry.filter(|e| e.deprecated) {
            self.warn(format!(
                "{}@{} is deprecated{}",
                p.name,
                p.version,
                e.deprecation_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ));
        }
        Ok(())
    }

    /// `GET /api/v1/guards/{name}` and its versions, from the first registry that has it.
    pub fn info(&self, name: &str) -> Result<PackageInfo, ResolveError> {
        check_package_name(name)?;
        let mut asked = Vec::new();
        for registry in self.registries(name)? {
            let url = Self::guard_url(registry, name);
            let details: serde_json::Value = match self.get_json(registry, &url)? {
                Ok(v) => v,
                Err(HttpError::NotFound(_)) => {
                    asked.push(registry.name.clone());
                    continue;
                }
                Err(e) => return Err(Self::http_error(registry, &url, e)),
            };
            let versions_url = format!("{url}/versions");
            let versions: VersionsDoc = self
                .get_json(registry, &versions_url)?
                .map_err(|e| Self::http_error(registry, &versions_url, e))?;
            return Ok(PackageInfo {
                registry: registry.name.clone(),
                details,
                versions,
            });
        }
        Err(ResolveError::NotFound {
            package: name.to_string(),
            registries: asked,
        })
    }

    /// Download the package archive of a fetched package and check it against the
    /// archive subject of its signed manifest. `progress` sees (bytes, total).
    pub fn download_archive(
        &self,
        package: &FetchedPackage,
        progress: Option<Progress<'_>>,
    ) -> Result<Vec<u8>, ResolveError> {
        let registry = self
            .config
            .registries
            .iter()
            .find(|r| r.name == package.registry)
            .ok_or_else(|| {
                ResolveError::Invalid(format!("registry {} is not configured", package.registry))
            })?;
        let p = &package.release.statement.predicate;
        let url = format!(
            "{}/{}/artifact",
            Self::guard_url(registry, &p.name),
            package.version
        );
        let bytes = self
            .http
            .get(
                Some(registry),
                &url,
                "application/gzip, application/octet-stream",
                MAX_DOWNLOAD_BYTES,
                DOWNLOAD_TIMEOUT,
                progress,
            )
            .map_err(|e| Self::http_error(registry, &url, e))?;
        package
            .release
            .check_subject(&p.archive.name, &bytes)
            .map_err(|source| ResolveError::Verify {
                registry: registry.name.clone(),
                package: p.name.clone(),
                version: p.version.clone(),
                source: Box::new(source),
            })?;
        Ok(bytes)
    }
}

/// The components to download: (path as signed, safe relative path). Every guard
/// entrypoint of the signed plugin manifest must be one of them.
fn components_of(release: &VerifiedRelease) -> Result<Vec<(String, PathBuf)>, String> {
    let p = &release.statement.predicate;
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for c in &p.components {
        let rel = safe_relative_path(&c.path)?;
        if out.iter().any(|(path, _)| *path == c.path) {
            continue;
        }
        if !release.statement.subject.iter().any(|s| s.name == c.path) {
            return Err(format!(
                "component {} is not a subject of the signed statement",
                c.path
            ));
        }
        out.push((c.path.clone(), rel));
    }
    let guards = p
        .manifest
        .get("guards")
        .and_then(|g| g.as_array())
        .cloned()
        .unwrap_or_default();
    for g in guards {
        if let Some(entry) = g.get("entrypoint").and_then(|e| e.as_str()) {
            let entry = entry.trim_start_matches("./");
            if !out.iter().any(|(path, _)| path == entry) {
                return Err(format!(
                    "the manifest's entrypoint {entry} is not a signed component"
                ));
            }
        }
    }
    Ok(out)
}

/// A package name usable in a URL and as a cache directory: an npm name (`name`,
/// `@scope/name`: lower-case letters, digits, `-._~`) or a crate name.
pub fn check_package_name(name: &str) -> Result<(), ResolveError> {
    let npm_part = |p: &str| {
        !p.is_empty()
            && !p.starts_with(['.', '_'])
            && p.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | '~')
            })
    };
    let npm = match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, n)| npm_part(scope) && npm_part(n)),
        None => npm_part(name),
    };
    let crate_style = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if name.len() <= 214 && (npm || crate_style) {
        Ok(())
    } else {
        Err(ResolveError::Invalid(format!(
            "\"{}\" is not a package name: write an npm name (\"acme-guard\", \
             \"@acme/secrets\") or a crate name (\"acme_guard\")",
            super::range::shorten(name)
        )))
    }
}

fn explain(reason: NoMatch, engine: &semver::Version) -> String {
    match reason {
        NoMatch::NoVersions => "the package has no published versions".to_string(),
        NoMatch::NoneInRange { available } if available.is_empty() => {
            "no version matches, and every published version is yanked".to_string()
        }
        NoMatch::NoneInRange { available } => {
            format!("no version matches; available: {}", available.join(", "))
        }
        NoMatch::AllYanked { yanked } => format!(
            "every matching version is yanked ({}); widen the range",
            yanked.join(", ")
        ),
        NoMatch::EngineIncompatible { versions } => format!(
            "no matching version supports this engine ({engine}): {}",
            versions.join(", ")
        ),
    }
}

/// `GET {url}/api/v1/keys`: the registry's published keys, each checked (its key id must
/// belong to its public key).
pub fn fetch_keys(url: &str) -> Result<Vec<PublicKey>, ResolveError> {
    let base = check_url(url).map_err(ResolveError::Invalid)?;
    let http = Http::new().map_err(ResolveError::Invalid)?;
    let keys_url = format!("{base}/api/v1/keys");
    let registry = RegistryConfig {
        name: "(keys)".into(),
        url: base.clone(),
        priority: 0,
        token: None,
        keys: Vec::new(),
    };
    let bytes = http
        .get(
            None,
            &keys_url,
            "application/json",
            MAX_JSON_BYTES,
            JSON_TIMEOUT,
            None,
        )
        .map_err(|e| RegistryClient::http_error(&registry, &keys_url, e))?;
    let doc: KeyList = serde_json::from_slice(&bytes).map_err(|e| ResolveError::Http {
        registry: base.clone(),
        url: keys_url.clone(),
        message: format!("unexpected response: {e}"),
    })?;
    for k in &doc.keys {
        if k.algorithm != "ed25519" {
            return Err(ResolveError::Http {
                registry: base.clone(),
                url: keys_url.clone(),
                message: format!(
                    "key {} uses unsupported algorithm {:?}",
                    k.keyid, k.algorithm
                ),
            });
        }
        TrustedKey::from_base64(&k.keyid, &k.public_key, k.valid_from, k.valid_until).map_err(
            |e| ResolveError::Http {
                registry: base.clone(),
                url: keys_url.clone(),
                message: e.to_string(),
            },
        )?;
    }
    Ok(doc.keys)
}

/// The YAML block that pins `keys` for a registry at `url`. Retired keys are kept: their
/// window (`validUntil`) limits them to manifests issued before the rotation, which still
/// need them to verify. Revoked keys are left out.
pub fn pin_block(name: &str, url: &str, keys: &[PublicKey]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Signing keys of {url}, fetched {}.\n# Check the key ids with the registry operator \
         before trusting them.\n",
        Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    ));
    out.push_str("registries:\n");
    out.push_str(&format!("  - name: {name}\n"));
    out.push_str(&format!("    url: {url}\n"));
    out.push_str("    keys:\n");
    let live: Vec<&PublicKey> = keys
        .iter()
        .filter(|k| k.status != KeyStatus::Revoked)
        .collect();
    if live.is_empty() {
        out.push_str("      []  # the registry publishes no usable key\n");
    }
    for k in live {
        out.push_str(&format!("      - keyid: \"{}\"\n", k.keyid));
        out.push_str(&format!("        publicKey: \"{}\"\n", k.public_key));
        out.push_str(&format!(
            "        validFrom: \"{}\"\n",
            k.valid_from.format("%Y-%m-%dT%H:%M:%SZ")
        ));
        match k.valid_until {
            Some(t) => out.push_str(&format!(
                "        validUntil: \"{}\"\n",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            )),
            None => out.push_str("        validUntil: null\n"),
        }
    }
    out
}

/// A registry name for `url` in a pin block: its host, `:` made `-`.
pub fn registry_name_for(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .map(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .replace(':', "-")
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "registry".to_string())
}
