//! `clawdstrike-safe-browsing`: URL threat lists through the Safe Browsing v5 hash search.
//!
//! The URL is never sent. As the v5 protocol prescribes, the guard forms the URL's
//! host-suffix/path-prefix expressions, hashes each with SHA-256, and sends only the first
//! 4 bytes of each hash: `GET {base}v5/hashes:search?key=KEY&hashPrefixes=...` (base64).
//! The service answers with the full hashes that share those prefixes
//! (`{"fullHashes": [{"fullHash", "fullHashDetails": [{"threatType"}]}]}`); a full
//! hash equal to one of the URL's own is a match and denies. Internal hosts are never asked
//! about.

mod canonical;

use std::collections::BTreeSet;

use base64::Engine as _;
use futures_util::future::BoxFuture;
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

use super::{base, egress_url, join, key, parse, sha256_hex, ConfigError};
use crate::decision::{Severity, Status, Verdict};
use crate::event::PolicyEvent;
use crate::external::http::{Call, ServiceRequest};
use crate::external::service::{ServiceGuard, Subject};
use crate::resilience::Attempt;
use canonical::Canonical;

/// Package name.
pub const PACKAGE: &str = "clawdstrike-safe-browsing";
/// Guard name.
pub const NAME: &str = "safe_browsing";

/// At most this many host suffixes and path prefixes each (the protocol's own bounds).
const MAX_HOSTS: usize = 5;
const MAX_PATHS: usize = 6;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The API root, e.g. `https://<safe browsing>/`.
    base_url: String,
    api_key: String,
    /// Only these threat types deny (default: every type).
    #[serde(default)]
    threat_types: Vec<String>,
}

/// The guard.
#[derive(Debug)]
pub struct SafeBrowsing {
    base: Url,
    api_key: String,
    threat_types: Vec<String>,
}

impl SafeBrowsing {
    /// From `config`.
    pub fn new(config: &serde_json::Value) -> Result<Self, ConfigError> {
        let c: Config = parse(config)?;
        Ok(SafeBrowsing {
            base: base("base_url", &c.base_url)?,
            api_key: key("api_key", &c.api_key)?,
            threat_types: c.threat_types,
        })
    }
}

/// The URL's lookup expressions (`host/path`), most specific first, built from its
/// canonical form ([`canonical`]).
pub fn expressions(url: &Url) -> Vec<String> {
    let Some(url) = Canonical::of(url) else {
        return Vec::new();
    };
    let host = url.host.as_str();
    let mut hosts = vec![host.to_string()];
    if !url.host_is_ip() {
        let parts: Vec<&str> = host.split('.').collect();
        let n = parts.len();
        // Suffixes of the last five components, down to two (never the TLD alone).
        for start in n.saturating_sub(5).max(1)..n.saturating_sub(1) {
            if hosts.len() == MAX_HOSTS {
                break;
            }
            hosts.push(parts[start..].join("."));
        }
    }
    let path = url.path.as_str();
    let mut paths = Vec::new();
    if let Some(q) = &url.query {
        paths.push(format!("{path}?{q}"));
    }
    paths.push(path.to_string());
    let mut prefix = String::from("/");
    paths.push(prefix.clone());
    // Directory prefixes only: `/1/2.html` gives `/1/`, never `/1/2.html/`.
    let dirs = match path.rsplit_once('/') {
        Some((dirs, _)) => dirs,
        None => "",
    };
    for segment in dirs.split('/').filter(|s| !s.is_empty()) {
        if paths.len() >= MAX_PATHS {
            break;
        }
        prefix.push_str(segment);
        prefix.push('/');
        if prefix.as_str() != path {
            paths.push(prefix.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for h in &hosts {
        for p in &paths {
            let e = format!("{h}{p}");
            if seen.insert(e.clone()) {
                out.push(e);
            }
        }
    }
    out
}

impl ServiceGuard for SafeBrowsing {
    fn name(&self) -> &str {
        NAME
    }

    fn subject(&self, event: &PolicyEvent) -> Option<Subject> {
        let url = egress_url(event)?;
        let expressions = expressions(&url);
        // The first expression is the whole canonical URL: spellings of one URL share
        // one cache entry.
        let cache_key = format!("url:{}", sha256_hex(expressions.first()?.as_bytes()));
        let hashes: Vec<String> = expressions
            .iter()
            .map(|e| sha256_hex(e.as_bytes()))
            .collect();
        Some(Subject {
            cache_key: Some(cache_key),
            items: hashes,
        })
    }

    fn ask<'a>(
        &'a self,
        subject: &'a Subject,
        _event: &'a PolicyEvent,
        call: Call<'a>,
    ) -> BoxFuture<'a, Attempt<Verdict>> {
        Box::pin(async move {
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut url = join(&self.base, "v5/hashes:search");
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("key", &self.api_key);
                let prefixes: BTreeSet<String> = subject
                    .items
                    .iter()
                    .filter_map(|h| hex::decode(h).ok())
                    .map(|full| b64.encode(&full[..4]))
                    .collect();
                for p in prefixes {
                    q.append_pair("hashPrefixes", &p);
                }
            }
            let response = match call.send(ServiceRequest::get(url)).await {
                Ok(r) => r,
                Err(a) => return a,
            };
            if response.status != 200 {
                return Attempt::Fail(format!("Safe Browsing answered {}", response.status));
            }
            let body = match response.json("Safe Browsing") {
                Ok(b) => b,
                Err(a) => return a,
            };
            let entries = match &body["fullHashes"] {
                serde_json::Value::Null => &[][..],
                serde_json::Value::Array(a) => a.as_slice(),
                _ => {
                    return Attempt::Fail(
                        "Safe Browsing answered fullHashes that is not a list".into(),
                    )
                }
            };
            let mut threats = BTreeSet::new();
            for entry in entries {
                let Some(full) = entry["fullHash"].as_str() else {
                    return Attempt::Fail(
                        "Safe Browsing answered an entry without fullHash".into(),
                    );
                };
                let Ok(full) = b64.decode(full) else {
                    return Attempt::Fail(
                        "Safe Browsing answered a fullHash that is not base64".into(),
                    );
                };
                let full = hex::encode(full);
                if !subject.items.contains(&full) {
                    continue; // shares a prefix with our URL, but is some other URL
                }
                for detail in entry["fullHashDetails"].as_array().into_iter().flatten() {
                    if let Some(t) = detail["threatType"].as_str() {
                        if self.threat_types.is_empty() || self.threat_types.iter().any(|w| w == t)
                        {
                            threats.insert(t.to_string());
                        }
                    }
                }
            }
            Attempt::Done(if threats.is_empty() {
                Verdict {
                    status: Status::Allow,
                    severity: Severity::Low,
                    message: "the URL is on no Safe Browsing threat list".into(),
                    details: None,
                }
            } else {
                let list: Vec<String> = threats.into_iter().collect();
                Verdict {
                    status: Status::Deny,
                    severity: Severity::Critical,
                    message: format!("Safe Browsing lists the URL as {}", list.join(", ")),
                    details: Some(json!({"threatTypes": list})),
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_follow_the_host_suffix_path_prefix_rule() {
        let url = Url::parse("https://a.b.c.example.com/1/2.html?param=1").unwrap();
        let e = expressions(&url);
        assert_eq!(e[0], "a.b.c.example.com/1/2.html?param=1");
        for want in [
            "a.b.c.example.com/1/2.html",
            "a.b.c.example.com/",
            "a.b.c.example.com/1/",
            "b.c.example.com/1/2.html?param=1",
            "c.example.com/",
            "example.com/1/",
        ] {
            assert!(e.contains(&want.to_string()), "{want} missing from {e:?}");
        }
        assert!(!e.iter().any(|x| x.starts_with("com/")));
        let ip = expressions(&Url::parse("http://1.2.3.4/x").unwrap());
        assert_eq!(ip, vec!["1.2.3.4/x", "1.2.3.4/"]);
    }
}
