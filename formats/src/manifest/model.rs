//! The normalised manifest model: what `clawdstrike.plugin.json` and
//! `clawdstrike.plugin.toml` both parse into, with every default applied.

use crate::event::EventType;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};
use std::fmt;
use std::str::FromStr;

/// Default `resources.maxMemoryMb`.
pub const DEFAULT_MAX_MEMORY_MB: u32 = 64;
/// Default `resources.maxCpuMs`.
pub const DEFAULT_MAX_CPU_MS: u32 = 100;
/// Default `resources.maxTimeoutMs`.
pub const DEFAULT_MAX_TIMEOUT_MS: u32 = 5000;
/// Hard cap on `resources.maxMemoryMb`, whatever the tier.
pub const HARD_MAX_MEMORY_MB: u32 = 4096;
/// Hard cap on `resources.maxCpuMs`, whatever the tier.
pub const HARD_MAX_CPU_MS: u32 = 60_000;
/// Hard cap on `resources.maxTimeoutMs`, whatever the tier.
pub const HARD_MAX_TIMEOUT_MS: u32 = 300_000;
/// Default `capabilities.network.maxRequestSizeBytes` (1 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 1024 * 1024;
/// Default `capabilities.network.maxResponseSizeBytes` (10 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
/// Hard cap on both network size limits (256 MiB): a guard's memory could not hold more.
pub const HARD_MAX_NETWORK_BYTES: u64 = 256 * 1024 * 1024;
/// The HTTP methods a manifest may allow.
pub const HTTP_METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// A guard package's manifest, normalised (defaults applied, names validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginManifest {
    /// The manifest format version (`version`); always 1.x.
    pub manifest_version: semver::Version,
    /// Package name (`@scope/name`, `name` or a crate name).
    pub name: String,
    /// Human-readable name.
    pub display_name: Option<String>,
    /// One-paragraph description.
    pub description: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// SPDX license expression.
    pub license: Option<String>,
    /// Compatible engine versions (`clawdstrike` in the JSON form).
    pub engine: EngineRange,
    /// The guards the package provides (at least one).
    pub guards: Vec<GuardDecl>,
    /// What the guards may reach outside the sandbox.
    pub capabilities: Capabilities,
    /// Per-check resource limits.
    pub resources: Resources,
    /// The trust the package asks for. A request, never a grant: see
    /// [`effective_tier`](super::effective_tier).
    pub trust: TrustRequest,
}

/// `clawdstrike: {minVersion, maxVersion}`: the engine versions the package works with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineRange {
    /// Oldest engine (a semver version, inclusive).
    pub min_version: Option<String>,
    /// Newest engine: a semver version (inclusive) or a wildcard such as `1.x` / `1.2.x`.
    pub max_version: Option<String>,
}

/// One guard of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardDecl {
    /// Name the policy refers to (`^[a-z][a-z0-9_-]{0,63}$`, unique in the package).
    pub name: String,
    /// Human-readable name.
    pub display_name: Option<String>,
    /// The component, relative to the package directory (by convention `dist/guard.wasm`).
    pub entrypoint: String,
    /// The event types the guard examines (non-empty, no duplicates).
    pub handles: Vec<EventType>,
    /// JSON Schema for the guard's `config` (already checked to compile).
    pub config_schema: Option<Value>,
}

/// What the package's guards may reach outside the sandbox. Absent means denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// HTTP requests through the host.
    pub network: NetworkCapability,
    /// File reads and writes through the host.
    pub filesystem: FilesystemCapability,
    /// Secrets through the host.
    pub secrets: SecretsCapability,
    /// Running processes. The sandbox has no way to do this; declaring it is always refused
    /// by [`PluginManifest::check_tier`](super::PluginManifest::check_tier).
    pub subprocess: bool,
}

/// `capabilities.network`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkCapability {
    /// `false` or absent.
    #[default]
    Denied,
    /// `true`: any host, any method, default size limits.
    Any,
    /// An explicit host list.
    Hosts(NetworkRules),
}

/// The object form of `capabilities.network`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// Host patterns, lower-cased: `api.example.com`, `*.example.org` (subdomains only, not
    /// the apex), `127.0.0.1`, `::1`, `[::1]:8443`, `host:8443`. Never `*` alone: "any
    /// host" is [`NetworkCapability::Any`].
    pub allowed_hosts: Vec<String>,
    /// Upper-case methods from [`HTTP_METHODS`] (default `["GET"]`).
    pub allowed_methods: Vec<String>,
    /// Largest request body, in bytes (default 1 MiB).
    pub max_request_size_bytes: u64,
    /// Largest response body, in bytes (default 10 MiB).
    pub max_response_size_bytes: u64,
}

impl NetworkRules {
    /// Rules for `hosts` with the default methods and size limits.
    pub fn with_hosts<I: IntoIterator<Item = S>, S: Into<String>>(hosts: I) -> Self {
        Self {
            allowed_hosts: hosts.into_iter().map(Into::into).collect(),
            allowed_methods: vec!["GET".to_string()],
            max_request_size_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_size_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// `capabilities.filesystem`: `false` = both denied, `true` = both any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesystemCapability {
    /// Reads.
    pub read: PathAccess,
    /// Writes.
    pub write: PathAccess,
}

/// `capabilities.filesystem.read` / `.write`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PathAccess {
    /// `false` or absent.
    #[default]
    Denied,
    /// `true`: any path.
    Any,
    /// Glob patterns (globset syntax, `*` stays within one path component, `**` crosses).
    Globs(Vec<String>),
}

/// `capabilities.secrets`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SecretsCapability {
    /// `false` or absent.
    #[default]
    Denied,
    /// `true`: any key.
    Any,
    /// `{allowedKeys: [...]}`: these names exactly (no wildcards).
    Keys(Vec<String>),
}

/// `resources`: limits for one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Linear memory cap, MiB (default 64).
    pub max_memory_mb: u32,
    /// CPU budget per check, ms (default 100).
    pub max_cpu_ms: u32,
    /// Wall-clock budget per check, ms (default 5000).
    pub max_timeout_ms: u32,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            max_memory_mb: DEFAULT_MAX_MEMORY_MB,
            max_cpu_ms: DEFAULT_MAX_CPU_MS,
            max_timeout_ms: DEFAULT_MAX_TIMEOUT_MS,
        }
    }
}

/// `trust`: what the package asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrustRequest {
    /// Requested tier (default community).
    pub level: TrustTier,
    /// Requested sandbox (default wasm).
    pub sandbox: Sandbox,
}

/// Trust tiers, ordered from least to most trusted (DESIGN.md §3.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrustTier {
    /// The default; `untrusted` is an alias. Strict capability and resource limits.
    #[default]
    Community,
    /// Passed the automated scan. Relaxed limits.
    Verified,
    /// Audited by a moderator (signed certificate). Relaxed limits.
    Certified,
    /// Built into the engine. A WebAssembly package can never run at this tier.
    FirstParty,
}

impl TrustTier {
    /// Every tier, low to high.
    pub const ALL: [TrustTier; 4] = [
        TrustTier::Community,
        TrustTier::Verified,
        TrustTier::Certified,
        TrustTier::FirstParty,
    ];

    /// The canonical spelling (`community`, `verified`, `certified`, `first-party`).
    pub fn as_str(self) -> &'static str {
        match self {
            TrustTier::Community => "community",
            TrustTier::Verified => "verified",
            TrustTier::Certified => "certified",
            TrustTier::FirstParty => "first-party",
        }
    }
}

impl fmt::Display for TrustTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown trust tier or sandbox name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} \"{got}\"; expected one of {expected}")]
pub struct UnknownName {
    /// `trust level` or `sandbox`.
    pub what: &'static str,
    /// What was written.
    pub got: String,
    /// The accepted spellings.
    pub expected: &'static str,
}

impl FromStr for TrustTier {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "community" | "untrusted" => Ok(TrustTier::Community),
            "verified" => Ok(TrustTier::Verified),
            "certified" => Ok(TrustTier::Certified),
            "first-party" | "first_party" => Ok(TrustTier::FirstParty),
            _ => Err(UnknownName {
                what: "trust level",
                got: s.to_string(),
                expected: "community (alias untrusted), verified, certified, first-party",
            }),
        }
    }
}

impl Serialize for TrustTier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TrustTier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a guard runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Sandbox {
    /// The WebAssembly sandbox (the only choice for a package).
    #[default]
    Wasm,
    /// In the engine process; only for guards built into the engine.
    Native,
}

impl Sandbox {
    /// `wasm` or `native`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sandbox::Wasm => "wasm",
            Sandbox::Native => "native",
        }
    }
}

impl fmt::Display for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sandbox {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wasm" => Ok(Sandbox::Wasm),
            "native" => Ok(Sandbox::Native),
            _ => Err(UnknownName {
                what: "sandbox",
                got: s.to_string(),
                expected: "wasm, native",
            }),
        }
    }
}

impl Serialize for Sandbox {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

// The JSON form, with every default written out. Used for audit records (`plugin_loaded`
// carries the capabilities), for comparing a TOML manifest with its JSON twin, and by the
// schema test, which checks that the normalised form is itself a valid manifest.

impl PluginManifest {
    /// The manifest in its JSON form (camelCase), every default written out. Parsing the
    /// result with [`PluginManifest::from_json_str`](super::PluginManifest::from_json_str)
    /// gives back an equal manifest.
    pub fn to_json_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), json!(self.manifest_version.to_string()));
        m.insert("name".into(), json!(self.name));
        insert_opt(&mut m, "displayName", &self.display_name);
        insert_opt(&mut m, "description", &self.description);
        insert_opt(&mut m, "author", &self.author);
        insert_opt(&mut m, "license", &self.license);
        let mut engine = Map::new();
        insert_opt(&mut engine, "minVersion", &self.engine.min_version);
        insert_opt(&mut engine, "maxVersion", &self.engine.max_version);
        m.insert("clawdstrike".into(), Value::Object(engine));
        m.insert(
            "guards".into(),
            Value::Array(self.guards.iter().map(GuardDecl::to_json_value).collect()),
        );
        m.insert("capabilities".into(), self.capabilities.to_json_value());
        m.insert("resources".into(), self.resources.to_json_value());
        m.insert(
            "trust".into(),
            json!({"level": self.trust.level.as_str(), "sandbox": self.trust.sandbox.as_str()}),
        );
        Value::Object(m)
    }
}

impl GuardDecl {
    /// This guard in the manifest's JSON form.
    pub fn to_json_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        insert_opt(&mut m, "displayName", &self.display_name);
        m.insert("entrypoint".into(), json!(self.entrypoint));
        m.insert(
            "handles".into(),
            Value::Array(self.handles.iter().map(|h| json!(h.as_str())).collect()),
        );
        if let Some(schema) = &self.config_schema {
            m.insert("configSchema".into(), schema.clone());
        }
        Value::Object(m)
    }
}

impl Capabilities {
    /// The capabilities in the manifest's JSON form, as recorded in audit events.
    pub fn to_json_value(&self) -> Value {
        let network = match &self.network {
            NetworkCapability::Denied => json!(false),
            NetworkCapability::Any => json!(true),
            NetworkCapability::Hosts(r) => json!({
                "allowedHosts": r.allowed_hosts,
                "allowedMethods": r.allowed_methods,
                "maxRequestSizeBytes": r.max_request_size_bytes,
                "maxResponseSizeBytes": r.max_response_size_bytes,
            }),
        };
        let filesystem = json!({
            "read": self.filesystem.read.to_json_value(),
            "write": self.filesystem.write.to_json_value(),
        });
        let secrets = match &self.secrets {
            SecretsCapability::Denied => json!(false),
            SecretsCapability::Any => json!(true),
            SecretsCapability::Keys(k) => json!({ "allowedKeys": k }),
        };
        json!({
            "network": network,
            "filesystem": filesystem,
            "secrets": secrets,
            "subprocess": self.subprocess,
        })
    }
}

impl Serialize for Capabilities {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json_value().serialize(s)
    }
}

impl PathAccess {
    /// `false`, `true` or the glob list.
    pub fn to_json_value(&self) -> Value {
        match self {
            PathAccess::Denied => json!(false),
            PathAccess::Any => json!(true),
            PathAccess::Globs(g) => json!(g),
        }
    }
}

impl Resources {
    /// The limits in the manifest's JSON form.
    pub fn to_json_value(&self) -> Value {
        json!({
            "maxMemoryMb": self.max_memory_mb,
            "maxCpuMs": self.max_cpu_ms,
            "maxTimeoutMs": self.max_timeout_ms,
        })
    }
}

fn insert_opt(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_ordered_low_to_high() {
        assert!(TrustTier::Community < TrustTier::Verified);
        assert!(TrustTier::Verified < TrustTier::Certified);
        assert!(TrustTier::Certified < TrustTier::FirstParty);
        let mut sorted = TrustTier::ALL;
        sorted.sort();
        assert_eq!(sorted, TrustTier::ALL);
    }

    #[test]
    fn tier_aliases_parse_and_display_canonically() {
        for (text, tier, shown) in [
            ("community", TrustTier::Community, "community"),
            ("untrusted", TrustTier::Community, "community"),
            ("verified", TrustTier::Verified, "verified"),
            ("certified", TrustTier::Certified, "certified"),
            ("first-party", TrustTier::FirstParty, "first-party"),
            ("first_party", TrustTier::FirstParty, "first-party"),
        ] {
            let parsed: TrustTier = text.parse().unwrap();
            assert_eq!(parsed, tier, "{text}");
            assert_eq!(parsed.to_string(), shown);
        }
    }

    #[test]
    fn unknown_tier_lists_the_accepted_names() {
        let err = "trusted".parse::<TrustTier>().unwrap_err().to_string();
        assert!(err.contains("\"trusted\""), "{err}");
        assert!(err.contains("community (alias untrusted)"), "{err}");
        assert!(
            "Community".parse::<TrustTier>().is_err(),
            "names are case-sensitive"
        );
    }

    #[test]
    fn tier_deserialises_from_json_with_aliases() {
        let t: TrustTier = serde_json::from_str("\"untrusted\"").unwrap();
        assert_eq!(t, TrustTier::Community);
        assert_eq!(
            serde_json::to_string(&TrustTier::FirstParty).unwrap(),
            "\"first-party\""
        );
        assert!(serde_json::from_str::<TrustTier>("\"root\"").is_err());
    }

    #[test]
    fn sandbox_parses_wasm_and_native_only() {
        assert_eq!("wasm".parse::<Sandbox>().unwrap(), Sandbox::Wasm);
        assert_eq!("native".parse::<Sandbox>().unwrap(), Sandbox::Native);
        assert!("docker".parse::<Sandbox>().is_err());
    }

    #[test]
    fn defaults_are_the_spec_defaults() {
        let r = Resources::default();
        assert_eq!(
            (r.max_memory_mb, r.max_cpu_ms, r.max_timeout_ms),
            (64, 100, 5000)
        );
        let t = TrustRequest::default();
        assert_eq!((t.level, t.sandbox), (TrustTier::Community, Sandbox::Wasm));
        let c = Capabilities::default();
        assert_eq!(c.network, NetworkCapability::Denied);
        assert_eq!(c.filesystem.read, PathAccess::Denied);
        assert_eq!(c.filesystem.write, PathAccess::Denied);
        assert_eq!(c.secrets, SecretsCapability::Denied);
        assert!(!c.subprocess);
        let n = NetworkRules::with_hosts(["a.example"]);
        assert_eq!(n.allowed_methods, ["GET"]);
        assert_eq!(n.max_request_size_bytes, 1024 * 1024);
        assert_eq!(n.max_response_size_bytes, 10 * 1024 * 1024);
    }

    #[test]
    fn capabilities_serialise_in_the_json_form() {
        let c = Capabilities {
            network: NetworkCapability::Hosts(NetworkRules::with_hosts(["api.example.com"])),
            filesystem: FilesystemCapability {
                read: PathAccess::Globs(vec!["/etc/acme/*.conf".into()]),
                write: PathAccess::Denied,
            },
            secrets: SecretsCapability::Keys(vec!["ACME_API_KEY".into()]),
            subprocess: false,
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({
                "network": {"allowedHosts": ["api.example.com"], "allowedMethods": ["GET"],
                            "maxRequestSizeBytes": 1048576, "maxResponseSizeBytes": 10485760},
                "filesystem": {"read": ["/etc/acme/*.conf"], "write": false},
                "secrets": {"allowedKeys": ["ACME_API_KEY"]},
                "subprocess": false
            })
        );
    }
}
