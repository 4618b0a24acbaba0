//! `trust_override` on a policy's `guards.custom` entry: the policy author's limits on a
//! package, whatever its manifest asks for.
//!
//! ```yaml
//! guards:
//!   custom:
//!     - package: "@acme/secrets-guard"
//!       trust_override:
//!         max_trust_tier: community          # run it at community at most
//!         require_capabilities: [network]     # it may declare network access and nothing else
//! ```

use super::error::ManifestProblem;
use super::model::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `trust_override` of a `guards.custom` entry (snake_case keys; unknown keys refused).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustOverride {
    /// The highest tier the package's guards may run at, whatever the package is entitled
    /// to; see [`effective_tier`](super::effective_tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_trust_tier: Option<TrustTier>,
    /// When given, the package may declare ONLY these capabilities: a capability the
    /// manifest declares (anything other than `false`/absent) that is not listed here makes
    /// the package refused. An empty list allows no capability at all. Absent means no
    /// restriction beyond the tier's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_capabilities: Option<Vec<CapabilityName>>,
}

/// A capability as named in `require_capabilities`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityName {
    /// `capabilities.network`.
    Network,
    /// `capabilities.filesystem` (read or write).
    Filesystem,
    /// `capabilities.secrets`.
    Secrets,
    /// `capabilities.subprocess`.
    Subprocess,
}

impl CapabilityName {
    /// Every capability, in manifest order.
    pub const ALL: [CapabilityName; 4] = [
        CapabilityName::Network,
        CapabilityName::Filesystem,
        CapabilityName::Secrets,
        CapabilityName::Subprocess,
    ];

    /// `network`, `filesystem`, `secrets` or `subprocess`.
    pub fn as_str(self) -> &'static str {
        match self {
            CapabilityName::Network => "network",
            CapabilityName::Filesystem => "filesystem",
            CapabilityName::Secrets => "secrets",
            CapabilityName::Subprocess => "subprocess",
        }
    }
}

impl fmt::Display for CapabilityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Capabilities {
    /// Whether the manifest declares `cap` (anything other than denied/false).
    pub fn declares(&self, cap: CapabilityName) -> bool {
        match cap {
            CapabilityName::Network => self.network != NetworkCapability::Denied,
            CapabilityName::Filesystem => {
                self.filesystem.read != PathAccess::Denied
                    || self.filesystem.write != PathAccess::Denied
            }
            CapabilityName::Secrets => self.secrets != SecretsCapability::Denied,
            CapabilityName::Subprocess => self.subprocess,
        }
    }

    /// The capabilities the manifest declares, in manifest order.
    pub fn declared(&self) -> Vec<CapabilityName> {
        CapabilityName::ALL
            .into_iter()
            .filter(|c| self.declares(*c))
            .collect()
    }
}

impl TrustOverride {
    /// Read a `trust_override` value as the policy holds it (parsed YAML/JSON).
    pub fn from_value(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value.clone())
    }

    /// With `require_capabilities` given, refuse a manifest that declares any capability
    /// outside the list; the problem names the first such capability (and lists them all).
    pub fn check_required(&self, manifest: &PluginManifest) -> Result<(), ManifestProblem> {
        let Some(allowed) = &self.require_capabilities else {
            return Ok(());
        };
        let extra: Vec<CapabilityName> = manifest
            .capabilities
            .declared()
            .into_iter()
            .filter(|c| !allowed.contains(c))
            .collect();
        let Some(first) = extra.first() else {
            return Ok(());
        };
        let listed = if allowed.is_empty() {
            "no capabilities".to_string()
        } else {
            allowed
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let names = extra
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Err(ManifestProblem::new(
            format!("capabilities.{first}"),
            format!(
                "the policy's trust_override.require_capabilities allows only {listed}, but the \
                 package declares {names}; add {names} to require_capabilities if the policy \
                 should allow it, or use a package that does not need it"
            ),
        ))
    }
}
