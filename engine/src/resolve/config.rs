//! Client configuration (`clawdstrike.yaml`, SPEC.md §2): the registries to resolve
//! packages from, with their pinned signing keys; the trust requirements; the package cache.
//!
//! ```yaml
//! registries:
//!   - name: acme
//!     url: https://guards.acme.example
//!     priority: 10                         # lower is consulted first (default 100)
//!     token: ${secrets.acme_registry}      # optional bearer token; ${NAME} / ${env.NAME} too
//!     keys:                                # `clawdstrike guard keys URL` prints this block
//!       - keyid: ed25519:1c2d3e4f5a6b7c8d
//!         publicKey: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
//!         validFrom: 2026-01-01T00:00:00Z
//!         validUntil: null
//! trust:
//!   minimum_tier: community      # community | verified | certified
//!   allow_community: true
//!   community_warning: true
//!   require_signature: true      # `false` is not supported
//! cache:
//!   directory: ~/.cache/clawdstrike/packages
//!   max_size_mb: 1024
//!   ttl_hours: 24
//! ```
//!
//! Found by `--registry-config FILE`, else `$CLAWDSTRIKE_CONFIG`, else `clawdstrike.yaml`
//! next to the policy file. Unknown fields are errors, located like policy errors.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_saphyr::DuplicateKeyPolicy;

use crate::plugin::manifest::TrustTier;
use crate::policy::locate::{locate, YamlPath};
use crate::policy::placeholders::Resolver;
use crate::policy::Location;
use crate::signed::TrustedKey;

/// The file name looked for next to a policy.
pub const CONFIG_FILE_NAME: &str = "clawdstrike.yaml";

/// Largest configuration file read.
const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// The default registry priority.
pub const DEFAULT_PRIORITY: i64 = 100;

/// A configuration problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConfigError {
    /// The file, line and column, and the field.
    pub location: Location,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The client configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientConfig {
    /// Registries, sorted by priority (lowest number first, then file order).
    pub registries: Vec<RegistryConfig>,
    /// Trust requirements.
    pub trust: TrustConfig,
    /// The package cache.
    pub cache: CacheConfig,
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
}

/// One registry.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryConfig {
    /// A short name: the cache subdirectory and how messages name the registry.
    pub name: String,
    /// Base URL, without a trailing `/` (the API is under `{url}/api/v1/`).
    pub url: String,
    /// Lower is consulted first.
    pub priority: i64,
    /// Bearer token sent with every request to this registry.
    pub token: Option<String>,
    /// The pinned signing keys.
    pub keys: Vec<TrustedKey>,
}

/// `trust:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustConfig {
    /// Packages below this tier are refused (default community).
    pub minimum_tier: TrustTier,
    /// Whether community-tier packages may be used at all (default true).
    pub allow_community: bool,
    /// Warn when a community-tier package is loaded (default true).
    pub community_warning: bool,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            minimum_tier: TrustTier::Community,
            allow_community: true,
            community_warning: true,
        }
    }
}

/// `cache:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Where verified packages are kept (`None`: no usable default, e.g. no `$HOME`).
    pub directory: Option<PathBuf>,
    /// Size above which the least recently used versions are removed.
    pub max_size_mb: u64,
    /// How long a version list and a signed manifest are used without asking the registry
    /// again. `0` asks every time.
    pub ttl_hours: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            directory: default_cache_dir(),
            max_size_mb: 1024,
            ttl_hours: 24,
        }
    }
}

/// `$CLAWDSTRIKE_CACHE_DIR/packages`, else `$XDG_CACHE_HOME/clawdstrike/packages`, else
/// `~/.cache/clawdstrike/packages`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("CLAWDSTRIKE_CACHE_DIR") {
        return Some(PathBuf::from(d).join("packages"));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("clawdstrike/packages"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/clawdstrike/packages"))
}

// ----- the file as written -----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    registries: Vec<RegistryDoc>,
    #[serde(default)]
    trust: Option<TrustDoc>,
    #[serde(default)]
    cache: Option<CacheDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryDoc {
    name: String,
    url: String,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    keys: Vec<KeyDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyDoc {
    keyid: String,
    #[serde(rename = "publicKey")]
    public_key: String,
    #[serde(rename = "validFrom")]
    valid_from: DateTime<Utc>,
    #[serde(rename = "validUntil", default)]
    valid_until: Option<DateTime<Utc>>,
    /// As printed by `guard keys`; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustDoc {
    #[serde(default)]
    minimum_tier: Option<String>,
    #[serde(default)]
    allow_community: Option<bool>,
    #[serde(default)]
    community_warning: Option<bool>,
    #[serde(default)]
    require_signature: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheDoc {
    #[serde(default)]
    directory: Option<String>,
    #[serde(default)]
    max_size_mb: Option<u64>,
    #[serde(default)]
    ttl_hours: Option<u64>,
}

impl ClientConfig {
    /// Find the configuration file: `explicit` (must exist), else `$CLAWDSTRIKE_CONFIG`
    /// (must exist), else `clawdstrike.yaml` in `policy_dir` when there is one.
    pub fn locate(explicit: Option<&Path>, policy_dir: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os("CLAWDSTRIKE_CONFIG").filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let candidate = policy_dir?.join(CONFIG_FILE_NAME);
        candidate.is_file().then_some(candidate)
    }

    /// [`locate`](Self::locate) the file and read it; the default configuration (no
    /// registries) when there is none.
    pub fn discover(
        explicit: Option<&Path>,
        policy_dir: Option<&Path>,
        resolver: &Resolver,
    ) -> Result<ClientConfig, ConfigError> {
        match Self::locate(explicit, policy_dir) {
            Some(path) => Self::from_file(&path, resolver),
            None => Ok(ClientConfig::default()),
        }
    }

    /// Read a configuration file, expanding `${NAME}`, `${env.NAME}` and
    /// `${secrets.NAME}` placeholders with `resolver`.
    pub fn from_file(path: &Path, resolver: &Resolver) -> Result<ClientConfig, ConfigError> {
        let unlocated = |message: String| ConfigError {
            location: Location {
                source: path.display().to_string(),
                line_col: None,
                field: None,
            },
            message,
        };
        let meta = std::fs::metadata(path)
            .map_err(|e| unlocated(format!("cannot read the client configuration: {e}")))?;
        if meta.len() as usize > MAX_CONFIG_BYTES {
            return Err(unlocated(format!(
                "the configuration is {} bytes, larger than the limit of {MAX_CONFIG_BYTES}",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| unlocated(format!("cannot read the client configuration: {e}")))?;
        let mut config = Self::parse(&text, &path.display().to_string(), resolver)?;
        config.source = Some(path.to_path_buf());
        if let Some(dir) = &mut config.cache.directory {
            if dir.is_relative() {
                let base = path.parent().unwrap_or(Path::new("."));
                *dir = base.join(&*dir);
            }
        }
        Ok(config)
    }

    /// Parse configuration text; `source` names it in messages. A relative
    /// `cache.directory` is left relative.
    pub fn parse(
        text: &str,
        source: &str,
        resolver: &Resolver,
    ) -> Result<ClientConfig, ConfigError> {
        let at = |field: &str, message: String| ConfigError {
            location: Location {
                source: source.to_string(),
                line_col: locate(text, &YamlPath::parse(field)),
                field: Some(field.to_string()).filter(|f| !f.is_empty()),
            },
            message,
        };
        let options = serde_saphyr::options! {
            duplicate_keys: DuplicateKeyPolicy::Error,
        };
        let doc: FileDoc = if text.trim().is_empty() {
            FileDoc::default()
        } else {
            serde_saphyr::from_str_with_options(text, options).map_err(|e| ConfigError {
                location: Location {
                    source: source.to_string(),
                    line_col: e
                        .location()
                        .map(|l| (l.line() as usize, l.column() as usize)),
                    field: None,
                },
                message: parse_message(&e.to_string()),
            })?
        };
        let doc = expand(doc, resolver).map_err(|(path, msg)| at(&path.to_string(), msg))?;

        let mut registries = Vec::new();
        for (i, r) in doc.registries.iter().enumerate() {
            let field = format!("registries[{i}]");
            check_registry_name(&r.name).map_err(|m| at(&format!("{field}.name"), m))?;
            if registries.iter().any(|x: &RegistryConfig| x.name == r.name) {
                return Err(at(
                    &format!("{field}.name"),
                    format!(
                        "a registry named `{}` is already configured; names must be unique",
                        r.name
                    ),
                ));
            }
            let url = check_url(&r.url).map_err(|m| at(&format!("{field}.url"), m))?;
            let mut keys = Vec::new();
            for (k, key) in r.keys.iter().enumerate() {
                let trusted = TrustedKey::from_base64(
                    &key.keyid,
                    &key.public_key,
                    key.valid_from,
                    key.valid_until,
                )
                .map_err(|e| at(&format!("{field}.keys[{k}]"), e.to_string()))?;
                keys.push(trusted);
            }
            let token = r.token.clone().filter(|t| !t.is_empty());
            registries.push(RegistryConfig {
                name: r.name.clone(),
                url,
                priority: r.priority.unwrap_or(DEFAULT_PRIORITY),
                token,
                keys,
            });
        }
        // Stable: equal priorities keep file order.
        registries.sort_by_key(|r| r.priority);

        let mut trust = TrustConfig::default();
        if let Some(t) = &doc.trust {
            if let Some(tier) = &t.minimum_tier {
                let tier: TrustTier =
                    tier.parse()
                        .map_err(|e: crate::plugin::manifest::UnknownName| {
                            at("trust.minimum_tier", e.to_string())
                        })?;
                if tier == TrustTier::FirstParty {
                    return Err(at(
                        "trust.minimum_tier",
                        "first-party guards are built into the engine and never come from a \
                         registry; write community, verified or certified"
                            .into(),
                    ));
                }
                trust.minimum_tier = tier;
            }
            if let Some(b) = t.allow_community {
                trust.allow_community = b;
            }
            if let Some(b) = t.community_warning {
                trust.community_warning = b;
            }
            if t.require_signature == Some(false) {
                return Err(at(
                    "trust.require_signature",
                    "unsigned packages are not supported: every package from a registry must \
                     carry a manifest signed by a pinned key. Remove the field (or write true)"
                        .into(),
                ));
            }
        }

        let mut cache = CacheConfig::default();
        if let Some(c) = &doc.cache {
            if let Some(dir) = &c.directory {
                if dir.trim().is_empty() {
                    return Err(at("cache.directory", "empty directory".into()));
                }
                cache.directory = Some(expand_home(dir));
            }
            if let Some(mb) = c.max_size_mb {
                if mb == 0 {
                    return Err(at(
                        "cache.max_size_mb",
                        "0 leaves no room for any package; write a size in MB, e.g. 1024".into(),
                    ));
                }
                cache.max_size_mb = mb;
            }
            if let Some(h) = c.ttl_hours {
                cache.ttl_hours = h;
            }
        }
        Ok(ClientConfig {
            registries,
            trust,
            cache,
            source: None,
        })
    }

    /// Where messages say the configuration came from.
    pub fn describe_source(&self) -> String {
        match &self.source {
            Some(p) => p.display().to_string(),
            None => "the client configuration".to_string(),
        }
    }
}

/// The parser's message without its own `error: line L column C:` prefix (the location is
/// printed already).
fn parse_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or("").trim();
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    match rest.strip_prefix("line ") {
        Some(tail) => match tail.split_once(": ") {
            Some((position, message)) if position.contains("column") => message.to_string(),
            _ => rest.to_string(),
        },
        None => rest.to_string(),
    }
}

/// Expand placeholders in every string of the document.
fn expand(doc: FileDoc, resolver: &Resolver) -> Result<FileDoc, (YamlPath, String)> {
    let mut value =
        serde_json::to_value(&doc).map_err(|e| (YamlPath::default(), format!("internal: {e}")))?;
    rewrite_env(&mut value);
    resolver.expand_value(&mut value)?;
    serde_json::from_value(value).map_err(|e| {
        (
            YamlPath::default(),
            format!("after expanding placeholders: {e}"),
        )
    })
}

/// `${env.NAME}` is `${NAME}`: rewrite it so the policy placeholder code expands it.
fn rewrite_env(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains("${env.") => *s = rewrite_env_str(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(rewrite_env),
        serde_json::Value::Object(map) => map.values_mut().for_each(rewrite_env),
        _ => {}
    }
}

fn rewrite_env_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            // An escaped placeholder stays as written.
            out.push_str("$${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${env.") {
            out.push_str("${");
            rest = tail;
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

fn expand_home(dir: &str) -> PathBuf {
    match dir.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(rest),
            None => PathBuf::from(dir),
        },
        None => PathBuf::from(dir),
    }
}

/// A registry name: letters, digits, `.`, `_`, `-`, at most 64, not starting with `.`.
fn check_registry_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is not a registry name: use letters, digits, `.`, `_` and `-` (it names \
             the registry's cache directory), e.g. \"acme\"",
            name.chars().take(80).collect::<String>()
        ))
    }
}

/// A registry URL: `https://host[:port][/path]`, or `http://` to a loopback address.
/// Returned without a trailing `/`.
pub fn check_url(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| {
        format!("\"{raw}\" is not a URL ({e}); write e.g. https://guards.example.com")
    })?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "\"{raw}\": a registry URL has no query or fragment; write the base URL, e.g. https://guards.example.com"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "\"{raw}\": credentials do not go in the URL; use the registry's `token` field"
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(format!("\"{raw}\" has no host"));
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(format!(
                "\"{raw}\": plain http is accepted only for loopback registries (127.0.0.1, \
                 ::1, localhost); use https"
            ))
        }
        other => {
            return Err(format!(
                "\"{raw}\": scheme `{other}` is not supported; use https"
            ))
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Whether a URL host (as `Url::host_str` gives it: IPv6 in brackets) is loopback.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a URL is on a loopback host.
pub(crate) fn url_is_loopback(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(is_loopback))
        .unwrap_or(false)
}
