//! `clawdstrike-snyk`: known vulnerabilities of the package versions a command installs,
//! from the Snyk REST API's package issues endpoint.
//!
//! A `command_exec` that installs exact versions (`npm|pnpm|yarn|bun install|i|add
//! name@1.2.3`, `pip install name==1.2.3`, `cargo add name@1.2.3`) is turned into package
//! URLs, and each is asked about:
//! `GET {base}orgs/{org_id}/packages/{purl, URL-encoded}/issues?version=2024-10-15` with
//! `Authorization: token KEY`. Only names and versions leave the engine. An issue whose
//! `attributes.effective_severity_level` is at or above `severity_threshold` (default
//! `high`) denies; 404 means Snyk does not know the package: allow. Ranges and bare names
//! name no version to look up, so they are not asked about.

use futures_util::future::BoxFuture;
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

use super::{base, join, key, parse, ConfigError};
use crate::decision::{Severity, Status, Verdict};
use crate::event::{EventData, PolicyEvent};
use crate::external::http::{Call, ServiceRequest};
use crate::external::service::{ServiceGuard, Subject};
use crate::resilience::Attempt;
use crate::resolve::http::encode_segment;

/// Package name.
pub const PACKAGE: &str = "clawdstrike-snyk";
/// Guard name.
pub const NAME: &str = "snyk";
/// The REST API version the guard speaks.
pub const API_VERSION: &str = "2024-10-15";
/// Packages asked about per command, at most.
const MAX_PACKAGES: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The REST root, e.g. `https://<snyk api>/rest`.
    base_url: String,
    api_key: String,
    org_id: String,
    #[serde(default = "high")]
    severity_threshold: String,
}

fn high() -> String {
    "high".into()
}

const LEVELS: [&str; 4] = ["low", "medium", "high", "critical"];

fn level(s: &str) -> Option<usize> {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(s))
}

/// The guard.
#[derive(Debug)]
pub struct Snyk {
    base: Url,
    api_key: String,
    org_id: String,
    threshold: usize,
}

impl Snyk {
    /// From `config`.
    pub fn new(config: &serde_json::Value) -> Result<Self, ConfigError> {
        let c: Config = parse(config)?;
        let threshold = level(&c.severity_threshold).ok_or_else(|| {
            ConfigError::at(
                "severity_threshold",
                format!(
                    "`{}` is not one of low, medium, high, critical",
                    c.severity_threshold
                ),
            )
        })?;
        if c.org_id.is_empty()
            || !c
                .org_id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        {
            return Err(ConfigError::at(
                "org_id",
                "must be the organisation's id (letters, digits, dashes)",
            ));
        }
        Ok(Snyk {
            base: base("base_url", &c.base_url)?,
            api_key: key("api_key", &c.api_key)?,
            org_id: c.org_id,
            threshold,
        })
    }
}

/// An exact version: digits and dots first, then anything semver allows.
fn exact(version: &str) -> bool {
    version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

fn npm_purl(spec: &str) -> Option<String> {
    let (name, version) = match spec.strip_prefix('@') {
        Some(rest) => {
            let (n, v) = rest.split_once('@')?;
            (format!("@{n}"), v)
        }
        None => spec.split_once('@').map(|(n, v)| (n.to_string(), v))?,
    };
    if !exact(version) || name.is_empty() {
        return None;
    }
    Some(
        match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, n)) => format!("pkg:npm/%40{scope}/{n}@{version}"),
            None => format!("pkg:npm/{name}@{version}"),
        },
    )
}

/// Package URLs of the exact versions a command installs.
pub fn installed_packages(command: &str, args: &[String]) -> Vec<String> {
    let words: Vec<&str> = command
        .split_whitespace()
        .chain(args.iter().map(String::as_str))
        .collect();
    let Some((tool, rest)) = words.split_first() else {
        return Vec::new();
    };
    let tool = tool.rsplit('/').next().unwrap_or(tool);
    let positional: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|w| !w.starts_with('-'))
        .collect();
    let Some((sub, specs)) = positional.split_first() else {
        return Vec::new();
    };
    let purls: Vec<String> = match (tool, *sub) {
        ("npm" | "pnpm" | "yarn" | "bun", "install" | "i" | "add") => {
            specs.iter().filter_map(|s| npm_purl(s)).collect()
        }
        ("pip" | "pip3", "install") => specs
            .iter()
            .filter_map(|s| s.split_once("=="))
            .filter(|(n, v)| !n.is_empty() && exact(v))
            .map(|(n, v)| format!("pkg:pypi/{}@{v}", n.to_ascii_lowercase()))
            .collect(),
        ("cargo", "add") => specs
            .iter()
            .filter_map(|s| s.split_once('@'))
            .filter(|(n, v)| !n.is_empty() && exact(v))
            .map(|(n, v)| format!("pkg:cargo/{n}@{v}"))
            .collect(),
        _ => Vec::new(),
    };
    purls.into_iter().take(MAX_PACKAGES).collect()
}

impl ServiceGuard for Snyk {
    fn name(&self) -> &str {
        NAME
    }

    fn subject(&self, event: &PolicyEvent) -> Option<Subject> {
        let EventData::Command(cmd) = &event.data else {
            return None;
        };
        let mut purls = installed_packages(&cmd.command, &cmd.args);
        if purls.is_empty() {
            return None;
        }
        purls.sort();
        purls.dedup();
        Some(Subject {
            cache_key: Some(purls.join(",")),
            items: purls,
        })
    }

    fn ask<'a>(
        &'a self,
        subject: &'a Subject,
        _event: &'a PolicyEvent,
        call: Call<'a>,
    ) -> BoxFuture<'a, Attempt<Verdict>> {
        Box::pin(async move {
            let mut worst: Option<(usize, String, String)> = None; // (level, purl, issue)
            let mut findings = Vec::new();
            for purl in &subject.items {
                let mut url = join(
                    &self.base,
                    &format!(
                        "orgs/{}/packages/{}/issues",
                        self.org_id,
                        encode_segment(purl)
                    ),
                );
                url.query_pairs_mut().append_pair("version", API_VERSION);
                let request = ServiceRequest::get(url)
                    .header("authorization", format!("token {}", self.api_key))
                    .header("accept", "application/vnd.api+json");
                let response = match call.send(request).await {
                    Ok(r) => r,
                    Err(a) => return a,
                };
                match response.status {
                    404 => continue,
                    401 | 403 => {
                        return Attempt::Fail(format!(
                            "Snyk refused the API key ({})",
                            response.status
                        ))
                    }
                    200 => {}
                    other => return Attempt::Fail(format!("Snyk answered {other} for {purl}")),
                }
                let body = match response.json("Snyk") {
                    Ok(b) => b,
                    Err(a) => return a,
                };
                let Some(issues) = body["data"].as_array() else {
                    return Attempt::Fail("Snyk answered without a `data` list".into());
                };
                for issue in issues {
                    let attrs = &issue["attributes"];
                    let Some(lvl) = attrs["effective_severity_level"].as_str().and_then(level)
                    else {
                        return Attempt::Fail(
                            "Snyk answered an issue without a known effective_severity_level"
                                .into(),
                        );
                    };
                    let id = issue["id"].as_str().unwrap_or("?").to_string();
                    let title = attrs["title"].as_str().unwrap_or("").to_string();
                    findings.push(
                        json!({"package": purl, "id": id, "title": title, "severity": LEVELS[lvl]}),
                    );
                    if worst.as_ref().is_none_or(|(w, _, _)| lvl > *w) {
                        worst = Some((lvl, purl.clone(), format!("{id} {title}")));
                    }
                }
            }
            let details = Some(json!({"issues": findings, "threshold": LEVELS[self.threshold]}));
            Attempt::Done(match worst {
                Some((lvl, purl, issue)) if lvl >= self.threshold => Verdict {
                    status: Status::Deny,
                    severity: if lvl == 3 {
                        Severity::Critical
                    } else {
                        Severity::High
                    },
                    message: format!("{purl} has a {} issue: {issue}", LEVELS[lvl]),
                    details,
                },
                Some((lvl, _, _)) => Verdict {
                    status: Status::Allow,
                    severity: Severity::Low,
                    message: format!(
                        "known issues are at most {}, below the {} threshold",
                        LEVELS[lvl], LEVELS[self.threshold]
                    ),
                    details,
                },
                None => Verdict::allow(format!(
                    "Snyk knows no issue in {}",
                    subject.items.join(", ")
                )),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Vec<String> {
        installed_packages(s, &[])
    }

    #[test]
    fn install_commands_name_exact_versions() {
        assert_eq!(
            cmd("npm install lodash@4.17.15 @types/node@20.1.0 express"),
            vec!["pkg:npm/lodash@4.17.15", "pkg:npm/%40types/node@20.1.0"]
        );
        assert_eq!(cmd("yarn add -D left-pad@^1.0.0"), Vec::<String>::new());
        assert_eq!(
            cmd("pip install Requests==2.19.0 flask"),
            vec!["pkg:pypi/requests@2.19.0"]
        );
        assert_eq!(
            cmd("/usr/bin/cargo add serde@1.0.100"),
            vec!["pkg:cargo/serde@1.0.100"]
        );
        assert_eq!(
            installed_packages("npm", &["i".into(), "minimist@0.0.8".into()]),
            vec!["pkg:npm/minimist@0.0.8"]
        );
        assert!(cmd("ls -la").is_empty());
        assert_eq!(
            encode_segment("pkg:npm/%40a/b@1"),
            "pkg%3Anpm%2F%2540a%2Fb%401"
        );
    }
}
