//! First-party integrations with external security services (SPEC.md §4), enabled from
//! `guards.custom` by package name. They are built into the engine (DESIGN.md §3.3,
//! first-party tier) and never fetched from a registry.
//!
//! | package | guard | asks |
//! |---|---|---|
//! | `clawdstrike-virustotal` | `virustotal` | file SHA-256 and URL SHA-256 reports |
//! | `clawdstrike-safe-browsing` | `safe_browsing` | 4-byte hash prefixes of URL expressions |
//! | `clawdstrike-snyk` | `snyk` | known issues of the package versions a command installs |
//! | `clawdstrike-webhook` | `webhook` | your endpoint, with a minimised event |
//!
//! Each takes `base_url` (https, or http on loopback) and its key from `config`
//! (`api_key: ${secrets.NAME}`), and sends the minimum: hashes rather than contents, and
//! nothing about internal hosts.

pub mod safe_browsing;
pub mod snyk;
pub mod virustotal;
pub mod webhook;

use std::sync::Arc;

use reqwest::Url;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::hosts;
use super::service::ServiceGuard;
use crate::event::{EventData, PolicyEvent};

/// The package names of the integrations, as `guards.custom[].package` gives them.
pub const PACKAGES: [&str; 4] = [
    virustotal::PACKAGE,
    safe_browsing::PACKAGE,
    snyk::PACKAGE,
    webhook::PACKAGE,
];

/// A configuration problem, at a field inside `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path inside `config` (empty for the whole block).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn at(field: &str, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The integration called `package`, built from its `config`; `None` when `package` is
/// not a first-party integration.
pub fn build(
    package: &str,
    config: &serde_json::Value,
) -> Option<Result<Arc<dyn ServiceGuard>, ConfigError>> {
    Some(match package {
        virustotal::PACKAGE => virustotal::VirusTotal::new(config).map(|g| Arc::new(g) as _),
        safe_browsing::PACKAGE => {
            safe_browsing::SafeBrowsing::new(config).map(|g| Arc::new(g) as _)
        }
        snyk::PACKAGE => snyk::Snyk::new(config).map(|g| Arc::new(g) as _),
        webhook::PACKAGE => webhook::Webhook::new(config).map(|g| Arc::new(g) as _),
        _ => return None,
    })
}

/// Deserialize a `config` block; serde's message names the field.
fn parse<T: DeserializeOwned>(config: &serde_json::Value) -> Result<T, ConfigError> {
    serde_json::from_value(config.clone()).map_err(|e| ConfigError::at("", e.to_string()))
}

/// A checked base URL with a trailing slash, so relative joins keep its path.
fn base(field: &str, raw: &str) -> Result<Url, ConfigError> {
    let mut url = super::http::base_url(raw).map_err(|m| ConfigError::at(field, m))?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A non-empty secret.
fn key(field: &str, value: &str) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::at(
            field,
            "is empty; give the key as `${secrets.NAME}`",
        ));
    }
    Ok(value.to_string())
}

/// `base` + a relative path (no leading slash).
fn join(base: &Url, path: &str) -> Url {
    base.join(path).unwrap_or_else(|_| base.clone())
}

/// Lower-case hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The SHA-256 of what a `file_write` puts on disk: computed from the content, or the
/// event's own `contentHash` when it is a SHA-256 (`sha256:` prefix optional). The content
/// itself never leaves the engine.
fn written_file_sha256(event: &PolicyEvent) -> Option<String> {
    let EventData::File(file) = &event.data else {
        return None;
    };
    if let Some(content) = &file.content {
        return Some(sha256_hex(content.as_bytes()));
    }
    let hash = file.content_hash.as_deref()?;
    let hash = hash.strip_prefix("sha256:").unwrap_or(hash);
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hash.to_ascii_lowercase())
}

/// The URL a `network_egress` event reaches (its `url`, else `https://host[:port]/`),
/// unless the host is internal — those are never sent out.
/// A URL as an agent may write it: absolute, or a bare `host/path` (taken as `http://`,
/// as Safe Browsing does).
fn parse_url(text: &str) -> Option<Url> {
    match Url::parse(text) {
        Ok(url) => Some(url),
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            Url::parse(&format!("http://{}", text.trim())).ok()
        }
        Err(_) => None,
    }
}

fn egress_url(event: &PolicyEvent) -> Option<Url> {
    let EventData::Network(net) = &event.data else {
        return None;
    };
    let url = match &net.url {
        Some(u) => parse_url(u)?,
        None => {
            let host = net.host.trim();
            let with_port = match net.port {
                Some(p) if !host.contains(':') && p != 443 => format!("{host}:{p}"),
                _ => host.to_string(),
            };
            Url::parse(&format!("https://{with_port}/")).ok()?
        }
    };
    let host = url.host_str()?;
    (!hosts::is_internal(host)).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hashes_come_from_content_or_a_given_sha256() {
        let e = PolicyEvent::file_write("e", "/tmp/a", "hello");
        assert_eq!(
            written_file_sha256(&e).unwrap(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let mut e = PolicyEvent::file_write("e", "/tmp/a", "");
        if let EventData::File(f) = &mut e.data {
            f.content = None;
            f.content_hash = Some(format!("sha256:{}", "AB".repeat(32)));
        }
        assert_eq!(written_file_sha256(&e).unwrap(), "ab".repeat(32));
        assert!(written_file_sha256(&PolicyEvent::file_read("e", "/x")).is_none());
    }

    #[test]
    fn egress_to_internal_hosts_is_never_asked_about() {
        assert!(egress_url(&PolicyEvent::network("e", "db.internal", 5432)).is_none());
        assert!(egress_url(&PolicyEvent::network("e", "10.1.2.3", 443)).is_none());
        assert_eq!(
            egress_url(&PolicyEvent::network("e", "example.com", 443))
                .unwrap()
                .as_str(),
            "https://example.com/"
        );
        assert_eq!(
            egress_url(&PolicyEvent::network("e", "example.com", 8443))
                .unwrap()
                .as_str(),
            "https://example.com:8443/"
        );
    }

    #[test]
    fn unknown_packages_are_not_integrations() {
        assert!(build("acme-secrets", &serde_json::json!({})).is_none());
        assert!(build("clawdstrike-virustotal", &serde_json::json!({}))
            .unwrap()
            .is_err());
    }
}
