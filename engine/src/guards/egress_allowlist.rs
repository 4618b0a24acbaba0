//! `egress_allowlist`: which hosts (and ports) an agent may connect to.
//!
//! Order: the block list, then the allow list, then `default_action`. Host patterns are
//! globs (`*.example.com`, `*`) and may carry a port (`host:8443`, `host:*`). Unlike the
//! old engine, `*.example.com` also covers the apex `example.com`, ports are honoured,
//! hosts are compared after normalisation (case, trailing dot, full-width, IPv6
//! brackets) and an event whose `url` names a different host than `host` is denied.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::forbidden_path::merge_list;
use super::{Guard, GuardBuildError, GuardConfig};
use crate::decision::{Severity, Verdict};
use crate::event::{EventData, PolicyEvent};
use crate::normalize::glob::{self, GlobList, GlobOptions};
use crate::normalize::host::{parse_host, parse_url};

/// Section name under `guards:`.
pub const NAME: &str = "egress_allowlist";

/// What happens to a destination that no pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EgressDefaultAction {
    /// Let it through.
    Allow,
    /// Deny it (alias `deny`).
    #[default]
    #[serde(alias = "deny")]
    Block,
    /// Let it through with a warning.
    Log,
}

/// The default allow list (the `default` ruleset's).
pub fn default_allow() -> Vec<String> {
    [
        "*.openai.com",
        "*.anthropic.com",
        "api.github.com",
        "github.com",
        "*.githubusercontent.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn default_true() -> bool {
    true
}

/// Configuration of the `egress_allowlist` guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressAllowlistConfig {
    /// Whether the guard runs.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Allowed host patterns.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Blocked host patterns (checked first).
    #[serde(default)]
    pub block: Vec<String>,
    /// What happens when no pattern matches (`block` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<EgressDefaultAction>,
    /// Added to the allow list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_allow: Vec<String>,
    /// Removed from the allow list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_allow: Vec<String>,
    /// Added to the block list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_block: Vec<String>,
    /// Removed from the block list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_block: Vec<String>,
}

impl Default for EgressAllowlistConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow: default_allow(),
            block: Vec::new(),
            default_action: Some(EgressDefaultAction::Block),
            additional_allow: Vec::new(),
            remove_allow: Vec::new(),
            additional_block: Vec::new(),
            remove_block: Vec::new(),
        }
    }
}

impl EgressAllowlistConfig {
    /// The allow list in force (additions and removals applied).
    pub fn effective_allow(&self) -> Vec<String> {
        merge_list(&self.allow, &[], &self.additional_allow, &self.remove_allow)
    }

    /// The block list in force (additions and removals applied).
    pub fn effective_block(&self) -> Vec<String> {
        merge_list(&self.block, &[], &self.additional_block, &self.remove_block)
    }
}

impl GuardConfig for EgressAllowlistConfig {
    const NAME: &'static str = NAME;

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn merge_with(&self, child: &Self) -> Self {
        Self {
            enabled: child.enabled,
            allow: merge_list(
                &self.effective_allow(),
                &child.allow,
                &child.additional_allow,
                &child.remove_allow,
            ),
            block: merge_list(
                &self.effective_block(),
                &child.block,
                &child.additional_block,
                &child.remove_block,
            ),
            default_action: child.default_action.or(self.default_action),
            additional_allow: Vec::new(),
            remove_allow: Vec::new(),
            additional_block: Vec::new(),
            remove_block: Vec::new(),
        }
    }

    fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError> {
        Ok(Box::new(EgressAllowlistGuard::new(self)?))
    }
}

/// Which ports a host pattern covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortSpec {
    Any,
    Only(u16),
}

/// A compiled list of `host[:port]` patterns.
#[derive(Debug)]
struct HostList {
    globs: GlobList,
    /// For every glob in `globs`: (index of the configured pattern, port).
    origin: Vec<(usize, PortSpec)>,
    patterns: Vec<String>,
}

/// Host globs ignore ASCII case (hosts are folded as well).
const HOST_GLOBS: GlobOptions = GlobOptions {
    case_insensitive: true,
};

/// Split a configured `host[:port]` pattern.
fn split_pattern(raw: &str) -> Result<(String, PortSpec), String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("empty host pattern".into());
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("unclosed `[` in `{raw}`"))?;
        (inner.to_string(), after.strip_prefix(':'))
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':').unwrap_or((s, ""));
        (h.to_string(), Some(p))
    } else {
        (s.to_string(), None)
    };
    let port = match port {
        None | Some("*") => PortSpec::Any,
        Some(p) => PortSpec::Only(
            p.parse()
                .map_err(|_| format!("invalid port `{p}` in `{raw}` (a number or `*`)"))?,
        ),
    };
    let host = crate::normalize::text::fold(host.trim())
        .trim_end_matches('.')
        .to_string();
    if host.is_empty() {
        return Err(format!("empty host in `{raw}`"));
    }
    Ok((host, port))
}

impl HostList {
    /// The globs of each pattern (`*.example.com` also covers the apex `example.com`),
    /// checked; errors name the entry.
    fn forms(
        field: &str,
        patterns: &[String],
    ) -> Result<Vec<(String, usize, PortSpec)>, GuardBuildError> {
        let mut forms = Vec::with_capacity(patterns.len());
        for (i, raw) in patterns.iter().enumerate() {
            let err = |m: String| GuardBuildError::new(NAME, format!("{field}[{i}]"), m);
            let (host, port) = split_pattern(raw).map_err(err)?;
            let apex = host
                .strip_prefix("*.")
                .filter(|apex| !apex.is_empty())
                .map(str::to_string);
            for form in std::iter::once(host).chain(apex) {
                glob::check(&form, HOST_GLOBS)
                    .map_err(|e| err(format!("invalid host pattern `{raw}`: {e}")))?;
                forms.push((form, i, port));
            }
        }
        Ok(forms)
    }

    fn new(field: &str, patterns: &[String]) -> Result<Self, GuardBuildError> {
        let forms = Self::forms(field, patterns)?;
        let globs = GlobList::new(forms.iter().map(|(f, _, _)| f.as_str()), HOST_GLOBS)
            .map_err(|e| GuardBuildError::new(NAME, field, format!("invalid patterns: {e}")))?;
        Ok(Self {
            globs,
            origin: forms.into_iter().map(|(_, i, port)| (i, port)).collect(),
            patterns: patterns.to_vec(),
        })
    }

    /// The first pattern matching host and port. A pattern with a port matches an event
    /// of unknown port only when `unknown_port_matches` (fail closed for block lists).
    fn first_match(
        &self,
        host: &str,
        port: Option<u16>,
        unknown_port_matches: bool,
    ) -> Option<&str> {
        if self.patterns.is_empty() {
            return None;
        }
        // Globs are numbered in pattern order, so the lowest glob is the first pattern.
        self.globs
            .first_match(host, |g| match (self.origin[g].1, port) {
                (PortSpec::Any, _) => true,
                (PortSpec::Only(p), Some(q)) => p == q,
                (PortSpec::Only(_), None) => unknown_port_matches,
            })
            .map(|g| self.patterns[self.origin[g].0].as_str())
    }
}

/// The compiled `egress_allowlist` guard.
#[derive(Debug)]
pub struct EgressAllowlistGuard {
    enabled: bool,
    allow: HostList,
    block: HostList,
    default_action: EgressDefaultAction,
}

impl EgressAllowlistGuard {
    /// Compile a configuration.
    pub fn new(config: &EgressAllowlistConfig) -> Result<Self, GuardBuildError> {
        // Validate the fields as written so errors name them.
        HostList::forms("additional_allow", &config.additional_allow)?;
        HostList::forms("additional_block", &config.additional_block)?;
        Ok(Self {
            enabled: config.enabled,
            allow: HostList::new("allow", &config.effective_allow())?,
            block: HostList::new("block", &config.effective_block())?,
            default_action: config.default_action.unwrap_or_default(),
        })
    }
}

fn blocked(host: &str, port: Option<u16>, pattern: Option<&str>) -> Verdict {
    Verdict::deny(
        Severity::High,
        format!("Egress to {host} blocked by policy"),
    )
    .with_details(json!({
        "host": host,
        "port": port,
        "matched_pattern": pattern,
        "is_default": pattern.is_none(),
    }))
}

impl Guard for EgressAllowlistGuard {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.enabled {
            return None;
        }
        let EventData::Network(net) = &event.data else {
            return None;
        };
        let (mut host, host_port) = parse_host(&net.host);
        let url = net.url.as_deref().and_then(parse_url);
        if let Some(u) = &url {
            if host.is_empty() {
                host = u.host.clone();
            } else if u.host != host {
                return Some(
                    Verdict::deny(
                        Severity::High,
                        format!(
                            "Egress destination mismatch: host {} differs from URL host {}",
                            net.host, u.host
                        ),
                    )
                    .with_details(json!({
                        "host": net.host,
                        "url_host": u.host,
                        "reason": "host_url_mismatch",
                    })),
                );
            }
        }
        let shown = if net.host.trim().is_empty() {
            host.as_str()
        } else {
            net.host.as_str()
        };
        if host.is_empty() {
            return Some(
                Verdict::deny(
                    Severity::High,
                    "Egress with no destination host blocked by policy",
                )
                .with_details(json!({"reason": "missing_host"})),
            );
        }
        let port = net
            .port
            .or(host_port)
            .or_else(|| url.as_ref().and_then(|u| u.port));

        if let Some(p) = self.block.first_match(&host, port, true) {
            return Some(blocked(shown, port, Some(p)));
        }
        if self.allow.first_match(&host, port, false).is_some() {
            return Some(Verdict::allow(format!("Egress to {shown} allowed")));
        }
        Some(match self.default_action {
            EgressDefaultAction::Allow => Verdict::allow(format!("Egress to {shown} allowed")),
            EgressDefaultAction::Block => blocked(shown, port, None),
            EgressDefaultAction::Log => {
                Verdict::warn(Severity::Medium, format!("Egress to {shown} logged"))
                    .with_details(json!({"host": shown, "port": port}))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;
    use crate::event::{EventType, NetworkData};

    fn cfg(allow: &[&str], block: &[&str], default: EgressDefaultAction) -> EgressAllowlistConfig {
        EgressAllowlistConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            block: block.iter().map(|s| s.to_string()).collect(),
            default_action: Some(default),
            ..Default::default()
        }
    }

    fn st(g: &dyn Guard, host: &str, port: u16) -> Status {
        g.check(&PolicyEvent::network("e", host, port))
            .unwrap()
            .status
    }

    fn net(host: &str, port: Option<u16>, url: Option<&str>) -> PolicyEvent {
        PolicyEvent::new(
            "e",
            EventType::NetworkEgress,
            EventData::Network(NetworkData {
                host: host.into(),
                port,
                protocol: None,
                url: url.map(str::to_string),
            }),
        )
    }

    #[test]
    fn defaults_allow_ai_apis_and_block_the_rest() {
        let g = EgressAllowlistConfig::default().build().unwrap();
        assert_eq!(st(&*g, "api.openai.com", 443), Status::Allow);
        assert_eq!(st(&*g, "api.github.com", 443), Status::Allow);
        let v = g
            .check(&PolicyEvent::network("e", "evil.com", 443))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.severity, Severity::High);
        assert_eq!(v.message, "Egress to evil.com blocked by policy");
        assert_eq!(v.details.unwrap()["is_default"], true);
    }

    #[test]
    fn block_list_wins_over_allow_list() {
        let g = cfg(
            &["*.corp.com"],
            &["secret.corp.com"],
            EgressDefaultAction::Allow,
        )
        .build()
        .unwrap();
        assert_eq!(st(&*g, "api.corp.com", 443), Status::Allow);
        let v = g
            .check(&PolicyEvent::network("e", "secret.corp.com", 443))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.details.unwrap()["matched_pattern"], "secret.corp.com");
    }

    #[test]
    fn wildcard_covers_apex_domain() {
        let g = cfg(&["*.example.com"], &[], EgressDefaultAction::Block)
            .build()
            .unwrap();
        assert_eq!(st(&*g, "example.com", 443), Status::Allow);
        assert_eq!(st(&*g, "a.b.example.com", 443), Status::Allow);
        assert_eq!(st(&*g, "badexample.com", 443), Status::Deny);
    }

    #[test]
    fn port_in_pattern_restricts_port() {
        let g = cfg(
            &["api.x.com:8443", "web.x.com:*"],
            &[],
            EgressDefaultAction::Block,
        )
        .build()
        .unwrap();
        assert_eq!(st(&*g, "api.x.com", 8443), Status::Allow);
        assert_eq!(st(&*g, "api.x.com", 22), Status::Deny);
        assert_eq!(st(&*g, "web.x.com", 22), Status::Allow);
    }

    #[test]
    fn event_port_from_host_or_url() {
        let g = cfg(&["api.x.com:8443"], &[], EgressDefaultAction::Block)
            .build()
            .unwrap();
        assert_eq!(
            g.check(&net("api.x.com:8443", None, None)).unwrap().status,
            Status::Allow
        );
        assert_eq!(
            g.check(&net("api.x.com:22", None, None)).unwrap().status,
            Status::Deny
        );
        assert_eq!(
            g.check(&net("api.x.com", None, Some("https://api.x.com:8443/p")))
                .unwrap()
                .status,
            Status::Allow
        );
        // Unknown port never satisfies a port-specific allow pattern.
        assert_eq!(
            g.check(&net("api.x.com", None, None)).unwrap().status,
            Status::Deny
        );
    }

    #[test]
    fn port_specific_block_with_unknown_port_fails_closed() {
        let g = cfg(&["*"], &["x.com:22"], EgressDefaultAction::Allow)
            .build()
            .unwrap();
        assert_eq!(
            g.check(&net("x.com", None, None)).unwrap().status,
            Status::Deny
        );
        assert_eq!(st(&*g, "x.com", 443), Status::Allow);
    }

    #[test]
    fn url_host_mismatch_is_denied() {
        let g = cfg(&["*"], &[], EgressDefaultAction::Allow)
            .build()
            .unwrap();
        let v = g
            .check(&net(
                "api.github.com",
                Some(443),
                Some("https://evil.com/x"),
            ))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.severity, Severity::High);
        assert_eq!(
            g.check(&net(
                "API.GitHub.com",
                Some(443),
                Some("https://api.github.com/x")
            ))
            .unwrap()
            .status,
            Status::Allow
        );
    }

    #[test]
    fn host_taken_from_url_when_missing() {
        let g = cfg(&["api.github.com"], &[], EgressDefaultAction::Block)
            .build()
            .unwrap();
        assert_eq!(
            g.check(&net("", None, Some("https://api.github.com/x")))
                .unwrap()
                .status,
            Status::Allow
        );
        assert_eq!(g.check(&net("", None, None)).unwrap().status, Status::Deny);
    }

    #[test]
    fn host_is_normalised_before_matching() {
        let g = cfg(&[], &["evil.com", "::1"], EgressDefaultAction::Allow)
            .build()
            .unwrap();
        for h in ["EVIL.com", "evil.com.", "ｅｖｉｌ.com", "[::1]"] {
            assert_eq!(st(&*g, h, 443), Status::Deny, "{h}");
        }
    }

    #[test]
    fn log_default_yields_warn_and_allow_default_allows() {
        let g = cfg(&[], &[], EgressDefaultAction::Log).build().unwrap();
        let v = g.check(&PolicyEvent::network("e", "x.com", 443)).unwrap();
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.message, "Egress to x.com logged");
        let g = cfg(&[], &[], EgressDefaultAction::Allow).build().unwrap();
        assert_eq!(st(&*g, "x.com", 443), Status::Allow);
    }

    #[test]
    fn deny_is_an_alias_of_block() {
        let c: EgressAllowlistConfig =
            serde_json::from_value(json!({"default_action": "deny"})).unwrap();
        assert_eq!(c.default_action, Some(EgressDefaultAction::Block));
    }

    #[test]
    fn other_events_are_skipped() {
        let g = EgressAllowlistConfig::default().build().unwrap();
        assert!(g.check(&PolicyEvent::file_read("e", "/x")).is_none());
    }

    #[test]
    fn merge_additional_and_remove() {
        let base = EgressAllowlistConfig::default();
        let child = EgressAllowlistConfig {
            allow: vec![],
            default_action: None,
            additional_allow: vec!["pkgs.example.org".into()],
            remove_allow: vec!["github.com".into()],
            additional_block: vec!["bad.com".into()],
            ..Default::default()
        };
        let m = base.merge_with(&child);
        assert!(m.allow.contains(&"pkgs.example.org".to_string()));
        assert!(!m.allow.contains(&"github.com".to_string()));
        assert!(m.allow.contains(&"*.openai.com".to_string()));
        assert_eq!(m.block, vec!["bad.com"]);
        assert_eq!(m.default_action, Some(EgressDefaultAction::Block));
    }

    #[test]
    fn merge_non_empty_child_list_replaces_and_scalars_inherit() {
        let base = cfg(&["a.com"], &["b.com"], EgressDefaultAction::Log);
        let child = EgressAllowlistConfig {
            allow: vec!["c.com".into()],
            block: vec![],
            default_action: None,
            ..Default::default()
        };
        let m = base.merge_with(&child);
        assert_eq!(m.allow, vec!["c.com"]);
        assert_eq!(m.block, vec!["b.com"]);
        assert_eq!(m.default_action, Some(EgressDefaultAction::Log));
    }

    #[test]
    fn invalid_patterns_name_the_field() {
        let c = cfg(
            &["ok.com", "x.com:notaport"],
            &[],
            EgressDefaultAction::Block,
        );
        assert_eq!(c.build().unwrap_err().field, "allow[1]");
        let c = cfg(&[], &["[bad"], EgressDefaultAction::Block);
        assert_eq!(c.build().unwrap_err().field, "block[0]");
        let c = cfg(&[""], &[], EgressDefaultAction::Block);
        assert_eq!(c.build().unwrap_err().field, "allow[0]");
    }

    #[test]
    fn round_trips() {
        let c = EgressAllowlistConfig::default();
        let back: EgressAllowlistConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn permissive_star_allows_everything() {
        let g = cfg(&["*"], &[], EgressDefaultAction::Allow)
            .build()
            .unwrap();
        assert_eq!(st(&*g, "anything.example", 1), Status::Allow);
    }

    #[test]
    fn strict_ruleset_section_as_written_blocks_all_egress() {
        use super::super::builtin::test_rulesets::{rulesets, section};
        let (_, doc) = rulesets()
            .into_iter()
            .find(|(n, _)| *n == "strict")
            .unwrap();
        let c: EgressAllowlistConfig =
            serde_json::from_value(section(&doc, NAME).unwrap()).unwrap();
        assert_eq!(
            st(&*c.build().unwrap(), "api.github.com", 443),
            Status::Deny
        );
    }
}
