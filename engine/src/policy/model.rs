//! The policy file as written: every field of schema 1.1.0 / 1.2.0 plus this project's
//! additions (`guards.custom`, `guards.composition`, `settings.unexamined_events`).
//!
//! Unknown fields are errors. Guard sections are `Option`s so that merging can tell
//! "absent" (inherit / defaults on) from "present".

use serde::{Deserialize, Serialize};

use crate::compose::CompositionRule;
use crate::decision::Status;
use crate::guards::builtin::{CombineSections, VisitSection};
use crate::guards::inline::InlineGuardSpec;

/// Policy schema versions this engine reads.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["1.1.0", "1.2.0"];

/// The version assumed when a policy does not say.
pub const DEFAULT_VERSION: &str = "1.2.0";

/// One policy document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Schema version, `1.1.0` or `1.2.0` (default `1.2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A built-in ruleset (`default`, `clawdstrike:strict`, ...) or a path relative to this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// How this file combines with what it extends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_strategy: Option<MergeStrategy>,
    /// Guard configuration.
    #[serde(default, skip_serializing_if = "GuardsSection::is_empty")]
    pub guards: GuardsSection,
    /// The old engine's custom guards: `[{id, enabled, config}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_guards: Vec<LegacyCustomGuard>,
    /// Engine settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsSection>,
    /// Posture (schema 1.2.0 only): kept and shown, not evaluated by this engine yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture: Option<serde_json::Value>,
}

/// `merge_strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeStrategy {
    /// The child replaces the base entirely.
    Replace,
    /// Top-level sections of the child replace the base's.
    Merge,
    /// Guard by guard (SPEC.md §7): list guards add and remove, others are replaced.
    #[default]
    DeepMerge,
}

macro_rules! guards_section {
    ($( $(#[$doc:meta])* $field:ident : $config:ty ),* $(,)?) => {
        /// The `guards:` section: one optional section per built-in guard (from
        /// [`for_each_builtin_guard!`](crate::guards::builtin::for_each_builtin_guard)),
        /// custom guards and composition rules.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct GuardsSection {
            $(
                $(#[$doc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$config>,
            )*
            /// Custom guards: packages, local paths or inline definitions.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub custom: Vec<CustomGuardSpec>,
            /// Composition rules.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub composition: Vec<CompositionRule>,
        }

        impl GuardsSection {
            /// Visit every built-in section, in evaluation order.
            pub(crate) fn visit_builtins(&self, visitor: &mut impl VisitSection) {
                $( visitor.visit(&self.$field); )*
            }

            /// The built-in sections of `self` and `other` combined one by one; custom
            /// guards and rules are left empty for the caller.
            pub(crate) fn combine_builtins(&self, other: &Self, how: &impl CombineSections) -> Self {
                GuardsSection {
                    $( $field: how.combine(&self.$field, &other.$field), )*
                    custom: Vec::new(),
                    composition: Vec::new(),
                }
            }
        }
    };
}
crate::guards::builtin::for_each_builtin_guard!(guards_section);

impl GuardsSection {
    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        *self == GuardsSection::default()
    }
}

/// `custom_guards[]` of the old engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyCustomGuard {
    /// The registered guard id.
    pub id: String,
    /// Whether it runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Its configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}

/// Which upstream registry a package comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PackageRegistry {
    /// npm (default).
    #[default]
    #[serde(rename = "npm")]
    Npm,
    /// crates.
    #[serde(rename = "crates.io", alias = "crates")]
    Crates,
}

/// One `guards.custom[]` entry: exactly one of `package`, `path` or `inline`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CustomGuardSpec {
    /// `{package, registry, version, config, enabled}`.
    Package(PackageGuardSpec),
    /// `{path, config, enabled}`.
    Path(PathGuardSpec),
    /// `{inline: {name, handles, logic}}`.
    Inline(InlineGuardEntry),
}

/// A guard from a registry package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageGuardSpec {
    /// Package name (`@acme/secrets`, `acme-secrets`).
    pub package: String,
    /// Upstream registry (default npm).
    #[serde(default)]
    pub registry: PackageRegistry,
    /// Semver range (default `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Exact pin's integrity (`sha512-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// Guard configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Whether it runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Trust ceiling and required capabilities (plugin system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_override: Option<serde_json::Value>,
    /// Async execution settings (async guards).
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub async_config: Option<serde_json::Value>,
}

/// A guard from a local directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathGuardSpec {
    /// Directory (relative to the policy file) holding the plugin manifest.
    pub path: String,
    /// Guard configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// Whether it runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Trust ceiling and required capabilities (plugin system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_override: Option<serde_json::Value>,
    /// Async execution settings (async guards).
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub async_config: Option<serde_json::Value>,
}

/// `{inline: {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineGuardEntry {
    /// The guard's definition.
    pub inline: InlineGuardSpec,
    /// Whether it runs.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// `settings:` as written (every field optional so merging can tell what was set).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsSection {
    /// Stop evaluating guards at the first deny.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_fast: Option<bool>,
    /// More logging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbose_logging: Option<bool>,
    /// Session timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout_secs: Option<u64>,
    /// What an event that no enabled guard or rule examines gets (default `allow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unexamined_events: Option<Status>,
}

/// Effective settings with defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Stop at the first deny (default false).
    pub fail_fast: bool,
    /// More logging (default false).
    pub verbose_logging: bool,
    /// Session timeout (default 3600).
    pub session_timeout_secs: u64,
    /// Status for events nothing examines (default allow).
    pub unexamined_events: Status,
}

impl From<&SettingsSection> for Settings {
    fn from(s: &SettingsSection) -> Self {
        Settings {
            fail_fast: s.fail_fast.unwrap_or(false),
            verbose_logging: s.verbose_logging.unwrap_or(false),
            session_timeout_secs: s.session_timeout_secs.unwrap_or(3600),
            unexamined_events: s.unexamined_events.unwrap_or(Status::Allow),
        }
    }
}

fn yes() -> bool {
    true
}

impl CustomGuardSpec {
    /// The key that identifies this entry when policies are merged: the package name,
    /// the path, or the inline guard's name.
    pub fn key(&self) -> String {
        match self {
            CustomGuardSpec::Package(p) => format!("package:{}", p.package),
            CustomGuardSpec::Path(p) => format!("path:{}", p.path),
            CustomGuardSpec::Inline(i) => format!("inline:{}", i.inline.name),
        }
    }

    /// Whether the entry is enabled.
    pub fn enabled(&self) -> bool {
        match self {
            CustomGuardSpec::Package(p) => p.enabled,
            CustomGuardSpec::Path(p) => p.enabled,
            CustomGuardSpec::Inline(i) => i.enabled,
        }
    }
}

// Routed by key so that a mistake inside an entry is reported against its real shape
// rather than as "did not match any variant".
impl<'de> Deserialize<'de> for CustomGuardSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        let obj = value
            .as_object()
            .ok_or_else(|| D::Error::custom("a custom guard entry must be a mapping"))?;
        let kinds: Vec<&str> = ["package", "path", "inline"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        let parsed = match kinds.as_slice() {
            ["package"] => serde_json::from_value(value.clone()).map(CustomGuardSpec::Package),
            ["path"] => serde_json::from_value(value.clone()).map(CustomGuardSpec::Path),
            ["inline"] => serde_json::from_value(value.clone()).map(CustomGuardSpec::Inline),
            [] => {
                return Err(D::Error::custom(
                    "a custom guard entry needs one of `package`, `path` or `inline`",
                ))
            }
            many => {
                return Err(D::Error::custom(format!(
                "a custom guard entry takes only one of `package`, `path` or `inline`, found {}",
                many.join(" and ")
            )))
            }
        };
        parsed.map_err(|e| D::Error::custom(format!("custom guard `{}`: {e}", kinds[0])))
    }
}
