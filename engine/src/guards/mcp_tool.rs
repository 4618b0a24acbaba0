//! `mcp_tool`: which tools an agent may call.
//!
//! Order: oversized arguments, block list, confirmation list (warn with
//! `requires_confirmation: true`), a non-empty allow list, then `default_action`. Unlike
//! the old engine, names are compared after folding (case, full-width letters, invisible
//! characters, surrounding white space), and for `mcp__server__tool` names the last
//! `__` segment is compared too, so `mcp__srv__shell_exec` is blocked by `shell_exec`.
//! Every `tool_call` is examined (MCP or not): the lists name tools, whatever their kind.

use std::collections::HashSet;
use std::io;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::forbidden_path::merge_list;
use super::{Guard, GuardBuildError, GuardConfig};
use crate::decision::{Severity, Verdict};
use crate::event::{EventData, PolicyEvent};
use crate::normalize::text::fold_name;

/// Section name under `guards:`.
pub const NAME: &str = "mcp_tool";

/// Default largest serialised `parameters`, in bytes (1 MiB).
pub const DEFAULT_MAX_ARGS_SIZE: usize = 1 << 20;

/// What happens to a tool no list mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum McpDefaultAction {
    /// Let it through.
    #[default]
    Allow,
    /// Deny it (alias `deny`).
    #[serde(alias = "deny")]
    Block,
}

fn default_true() -> bool {
    true
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Configuration of the `mcp_tool` guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpToolConfig {
    /// Whether the guard runs.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// When non-empty, only these tools pass.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Tools always denied (alias `deny`).
    #[serde(default, alias = "deny")]
    pub block: Vec<String>,
    /// Tools that need a human's confirmation (warn).
    #[serde(default)]
    pub require_confirmation: Vec<String>,
    /// What happens to other tools (`allow` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<McpDefaultAction>,
    /// Largest serialised `parameters` in bytes (1 MiB when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_args_size: Option<usize>,
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

impl Default for McpToolConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow: Vec::new(),
            block: strings(&[
                "shell_exec",
                "run_command",
                "raw_file_write",
                "raw_file_delete",
            ]),
            require_confirmation: strings(&["file_write", "file_delete", "git_push"]),
            default_action: Some(McpDefaultAction::Allow),
            max_args_size: Some(DEFAULT_MAX_ARGS_SIZE),
            additional_allow: Vec::new(),
            remove_allow: Vec::new(),
            additional_block: Vec::new(),
            remove_block: Vec::new(),
        }
    }
}

impl McpToolConfig {
    /// The allow list in force.
    pub fn effective_allow(&self) -> Vec<String> {
        merge_list(&self.allow, &[], &self.additional_allow, &self.remove_allow)
    }

    /// The block list in force.
    pub fn effective_block(&self) -> Vec<String> {
        merge_list(&self.block, &[], &self.additional_block, &self.remove_block)
    }
}

impl GuardConfig for McpToolConfig {
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
            require_confirmation: merge_list(
                &self.require_confirmation,
                &child.require_confirmation,
                &[],
                &[],
            ),
            default_action: child.default_action.or(self.default_action),
            max_args_size: child.max_args_size.or(self.max_args_size),
            additional_allow: Vec::new(),
            remove_allow: Vec::new(),
            additional_block: Vec::new(),
            remove_block: Vec::new(),
        }
    }

    fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError> {
        Ok(Box::new(McpToolGuard::new(self)?))
    }
}

/// The compiled `mcp_tool` guard.
#[derive(Debug)]
pub struct McpToolGuard {
    enabled: bool,
    allow: HashSet<String>,
    block: HashSet<String>,
    confirm: HashSet<String>,
    default_action: McpDefaultAction,
    max_args_size: usize,
}

fn name_set(field: &str, names: &[String]) -> Result<HashSet<String>, GuardBuildError> {
    let mut out = HashSet::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let folded = fold_name(n);
        if folded.is_empty() {
            return Err(GuardBuildError::new(
                NAME,
                format!("{field}[{i}]"),
                "empty tool name",
            ));
        }
        out.insert(folded);
    }
    Ok(out)
}

/// The folded name, and for `mcp__server__tool` the folded last segment.
fn name_forms(raw: &str) -> (String, Option<String>) {
    let full = fold_name(raw);
    let short = full
        .strip_prefix("mcp__")
        .and_then(|rest| rest.rsplit_once("__"))
        .map(|(_, tool)| tool.to_string())
        .filter(|t| !t.is_empty());
    (full, short)
}

fn json_size(value: &serde_json::Value) -> usize {
    struct Counter(usize);
    impl io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0);
    // Serialising a `Value` cannot fail; count what was written either way.
    let _ = serde_json::to_writer(&mut c, value);
    c.0
}

impl McpToolGuard {
    /// Compile a configuration.
    pub fn new(config: &McpToolConfig) -> Result<Self, GuardBuildError> {
        name_set("additional_allow", &config.additional_allow)?;
        name_set("additional_block", &config.additional_block)?;
        let max_args_size = config.max_args_size.unwrap_or(DEFAULT_MAX_ARGS_SIZE);
        if max_args_size == 0 {
            return Err(GuardBuildError::new(
                NAME,
                "max_args_size",
                "must be greater than 0",
            ));
        }
        Ok(Self {
            enabled: config.enabled,
            allow: name_set("allow", &config.effective_allow())?,
            block: name_set("block", &config.effective_block())?,
            confirm: name_set("require_confirmation", &config.require_confirmation)?,
            default_action: config.default_action.unwrap_or_default(),
            max_args_size,
        })
    }

    fn in_set(set: &HashSet<String>, full: &str, short: Option<&str>) -> bool {
        set.contains(full) || short.is_some_and(|s| set.contains(s))
    }
}

impl Guard for McpToolGuard {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.enabled {
            return None;
        }
        let EventData::Tool(tool) = &event.data else {
            return None;
        };
        let name = tool.tool_name.as_str();
        let size = json_size(&tool.parameters);
        if size > self.max_args_size {
            return Some(
                Verdict::deny(
                    Severity::High,
                    format!(
                        "Tool arguments too large: {size} bytes (max: {})",
                        self.max_args_size
                    ),
                )
                .with_details(json!({
                    "tool": name,
                    "args_size": size,
                    "max_args_size": self.max_args_size,
                    "reason": "args_too_large",
                })),
            );
        }
        let (full, short) = name_forms(name);
        let short = short.as_deref();
        let blocked = |reason: &str| {
            Verdict::deny(
                Severity::High,
                format!("Tool '{name}' is blocked by policy"),
            )
            .with_details(json!({"tool": name, "reason": reason}))
        };
        if Self::in_set(&self.block, &full, short) {
            return Some(blocked("blocked_by_policy"));
        }
        if Self::in_set(&self.confirm, &full, short) {
            return Some(
                Verdict::warn(
                    Severity::Medium,
                    format!("Tool '{name}' requires confirmation"),
                )
                .with_details(json!({
                    "tool": name,
                    "requires_confirmation": true,
                    "reason": "approval_required",
                })),
            );
        }
        if !self.allow.is_empty() {
            return Some(if Self::in_set(&self.allow, &full, short) {
                Verdict::allow(format!("Tool '{name}' is allowed"))
            } else {
                blocked("not_in_allowlist")
            });
        }
        Some(match self.default_action {
            McpDefaultAction::Allow => Verdict::allow(format!("Tool '{name}' is allowed")),
            McpDefaultAction::Block => blocked("default_action_block"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;

    fn guard() -> Box<dyn Guard> {
        McpToolConfig::default().build().unwrap()
    }

    fn st(g: &dyn Guard, name: &str) -> Status {
        g.check(&PolicyEvent::tool("e", name, json!({"path": "/a"})))
            .unwrap()
            .status
    }

    #[test]
    fn default_blocks_dangerous_tools_and_allows_others() {
        let g = guard();
        assert_eq!(st(&*g, "shell_exec"), Status::Deny);
        assert_eq!(st(&*g, "run_command"), Status::Deny);
        assert_eq!(st(&*g, "read_file"), Status::Allow);
        let v = g
            .check(&PolicyEvent::tool("e", "shell_exec", json!({})))
            .unwrap();
        assert_eq!(v.message, "Tool 'shell_exec' is blocked by policy");
        assert_eq!(v.severity, Severity::High);
    }

    #[test]
    fn confirmation_list_warns_with_flag() {
        let v = guard()
            .check(&PolicyEvent::tool("e", "git_push", json!({})))
            .unwrap();
        assert_eq!(v.status, Status::Warn);
        assert_eq!(v.details.unwrap()["requires_confirmation"], true);
    }

    #[test]
    fn block_list_wins_over_confirmation() {
        let c = McpToolConfig {
            block: vec!["git_push".into()],
            ..Default::default()
        };
        assert_eq!(st(&*c.build().unwrap(), "git_push"), Status::Deny);
    }

    #[test]
    fn allow_list_mode_denies_unlisted_tools() {
        let c = McpToolConfig {
            allow: vec!["safe_tool".into()],
            block: vec![],
            require_confirmation: vec![],
            ..Default::default()
        };
        let g = c.build().unwrap();
        assert_eq!(st(&*g, "safe_tool"), Status::Allow);
        assert_eq!(st(&*g, "other_tool"), Status::Deny);
    }

    #[test]
    fn default_action_block_denies_unlisted() {
        let c = McpToolConfig {
            default_action: Some(McpDefaultAction::Block),
            ..Default::default()
        };
        assert_eq!(st(&*c.build().unwrap(), "anything"), Status::Deny);
        let c: McpToolConfig = serde_json::from_value(json!({"default_action": "deny"})).unwrap();
        assert_eq!(c.default_action, Some(McpDefaultAction::Block));
    }

    #[test]
    fn oversized_args_are_denied_first() {
        let c = McpToolConfig {
            max_args_size: Some(100),
            allow: vec!["big".into()],
            ..Default::default()
        };
        let v = c
            .build()
            .unwrap()
            .check(&PolicyEvent::tool(
                "e",
                "big",
                json!({"d": "x".repeat(200)}),
            ))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
        assert!(v.message.starts_with("Tool arguments too large: "));
    }

    #[test]
    fn case_variant_tool_name_is_blocked() {
        assert_eq!(st(&*guard(), "Shell_Exec"), Status::Deny);
        assert_eq!(st(&*guard(), "SHELL_EXEC"), Status::Deny);
    }

    #[test]
    fn trailing_space_tool_name_is_blocked() {
        assert_eq!(st(&*guard(), "shell_exec  "), Status::Deny);
        assert_eq!(st(&*guard(), "\tshell_exec"), Status::Deny);
    }

    #[test]
    fn full_width_tool_name_is_blocked() {
        assert_eq!(st(&*guard(), "ｓｈｅｌｌ_exec"), Status::Deny);
        assert_eq!(st(&*guard(), "shell\u{200B}_exec"), Status::Deny);
    }

    #[test]
    fn mcp_prefixed_name_is_blocked_by_bare_name() {
        assert_eq!(st(&*guard(), "mcp__server__shell_exec"), Status::Deny);
        assert_eq!(st(&*guard(), "mcp__my__srv__Shell_Exec"), Status::Deny);
        assert_eq!(st(&*guard(), "mcp__server__read"), Status::Allow);
    }

    #[test]
    fn full_mcp_name_can_be_listed() {
        let c = McpToolConfig {
            allow: vec!["mcp__github__create_issue".into()],
            block: vec![],
            require_confirmation: vec![],
            ..Default::default()
        };
        let g = c.build().unwrap();
        assert_eq!(st(&*g, "mcp__github__create_issue"), Status::Allow);
        assert_eq!(st(&*g, "mcp__gitlab__create_issue"), Status::Deny);
    }

    #[test]
    fn other_events_are_skipped() {
        assert!(guard().check(&PolicyEvent::file_read("e", "/a")).is_none());
    }

    #[test]
    fn merge_lists_and_scalars() {
        let base = McpToolConfig::default();
        let child = McpToolConfig {
            allow: vec![],
            block: vec![],
            require_confirmation: vec![],
            default_action: None,
            max_args_size: None,
            additional_block: vec!["danger".into()],
            remove_block: vec!["run_command".into()],
            ..Default::default()
        };
        let m = base.merge_with(&child);
        assert!(m.block.contains(&"danger".to_string()));
        assert!(!m.block.contains(&"run_command".to_string()));
        assert!(m.block.contains(&"shell_exec".to_string()));
        assert_eq!(m.require_confirmation, base.require_confirmation);
        assert_eq!(m.max_args_size, Some(DEFAULT_MAX_ARGS_SIZE));

        let child = McpToolConfig {
            block: vec!["only".into()],
            require_confirmation: vec!["deploy".into()],
            default_action: Some(McpDefaultAction::Block),
            ..Default::default()
        };
        let m = base.merge_with(&child);
        assert_eq!(m.block, vec!["only"]);
        assert_eq!(m.require_confirmation, vec!["deploy"]);
        assert_eq!(m.default_action, Some(McpDefaultAction::Block));
    }

    #[test]
    fn invalid_config_names_the_field() {
        let c = McpToolConfig {
            block: vec!["ok".into(), "  ".into()],
            ..Default::default()
        };
        assert_eq!(c.build().unwrap_err().field, "block[1]");
        let c = McpToolConfig {
            max_args_size: Some(0),
            ..Default::default()
        };
        assert_eq!(c.build().unwrap_err().field, "max_args_size");
    }

    #[test]
    fn round_trips_and_accepts_deny_alias_for_block() {
        let c: McpToolConfig = serde_json::from_value(json!({"deny": ["x"]})).unwrap();
        assert_eq!(c.block, vec!["x"]);
        let d = McpToolConfig::default();
        let back: McpToolConfig =
            serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
