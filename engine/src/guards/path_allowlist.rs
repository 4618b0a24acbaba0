//! `path_allowlist` (schema 1.2.0): file access is denied unless a glob allows it.
//!
//! Reads are checked against `file_access_allow`, writes against `file_write_allow`,
//! patches against `patch_allow` (falling back to `file_write_allow` when empty). When the
//! policy has no `path_allowlist` section the guard is disabled, as in the old engine, so
//! a 1.1.0 policy does not suddenly deny all file access.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::forbidden_path::compile_globs;
use super::{Guard, GuardBuildError, GuardConfig};
use crate::decision::{Severity, Verdict};
use crate::event::{EventData, EventType, PolicyEvent};
use crate::normalize::path::{normalize, MatchMode, PathMatcher};

/// Section name under `guards:`.
pub const NAME: &str = "path_allowlist";

fn default_true() -> bool {
    true
}

/// Configuration of the `path_allowlist` guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathAllowlistConfig {
    /// Whether the guard runs (true when the section is present, false when absent).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Globs allowed for `file_read`.
    #[serde(default)]
    pub file_access_allow: Vec<String>,
    /// Globs allowed for `file_write`.
    #[serde(default)]
    pub file_write_allow: Vec<String>,
    /// Globs allowed for `patch_apply` (empty: `file_write_allow`).
    #[serde(default)]
    pub patch_allow: Vec<String>,
}

impl Default for PathAllowlistConfig {
    /// No section: the guard is off.
    fn default() -> Self {
        Self {
            enabled: false,
            file_access_allow: Vec::new(),
            file_write_allow: Vec::new(),
            patch_allow: Vec::new(),
        }
    }
}

fn pick(base: &[String], child: &[String]) -> Vec<String> {
    if child.is_empty() {
        base.to_vec()
    } else {
        child.to_vec()
    }
}

impl GuardConfig for PathAllowlistConfig {
    const NAME: &'static str = NAME;

    fn enabled(&self) -> bool {
        self.enabled
    }

    fn merge_with(&self, child: &Self) -> Self {
        Self {
            enabled: child.enabled,
            file_access_allow: pick(&self.file_access_allow, &child.file_access_allow),
            file_write_allow: pick(&self.file_write_allow, &child.file_write_allow),
            patch_allow: pick(&self.patch_allow, &child.patch_allow),
        }
    }

    fn build(&self) -> Result<Box<dyn Guard>, GuardBuildError> {
        Ok(Box::new(PathAllowlistGuard::new(self)?))
    }
}

/// The compiled `path_allowlist` guard.
#[derive(Debug)]
pub struct PathAllowlistGuard {
    enabled: bool,
    read: PathMatcher,
    write: PathMatcher,
    patch: PathMatcher,
}

impl PathAllowlistGuard {
    /// Compile a configuration.
    pub fn new(config: &PathAllowlistConfig) -> Result<Self, GuardBuildError> {
        let read = compile_globs(
            NAME,
            "file_access_allow",
            &config.file_access_allow,
            MatchMode::Allow,
        )?;
        let write = compile_globs(
            NAME,
            "file_write_allow",
            &config.file_write_allow,
            MatchMode::Allow,
        )?;
        let patch = if config.patch_allow.is_empty() {
            write.clone()
        } else {
            compile_globs(NAME, "patch_allow", &config.patch_allow, MatchMode::Allow)?
        };
        Ok(Self {
            enabled: config.enabled,
            read,
            write,
            patch,
        })
    }
}

impl Guard for PathAllowlistGuard {
    fn name(&self) -> &str {
        NAME
    }

    fn check(&self, event: &PolicyEvent) -> Option<Verdict> {
        if !self.enabled {
            return None;
        }
        let (path, matcher) = match (&event.data, event.event_type) {
            (EventData::File(f), EventType::FileWrite) => (f.path.as_str(), &self.write),
            (EventData::File(f), _) => (f.path.as_str(), &self.read),
            (EventData::Patch(p), _) => (p.file_path.as_str(), &self.patch),
            _ => return None,
        };
        let normalized = normalize(path);
        // A NUL byte makes the path ambiguous: never let it through an allowlist.
        let allowed = !normalized.had_nul && matcher.first_match(&normalized).is_some();
        Some(if allowed {
            Verdict::allow("path is in the allowlist")
        } else {
            Verdict::deny(Severity::High, format!("Path not in allowlist: {path}")).with_details(
                json!({
                    "path": path,
                    "reason": "path_not_allowlisted",
                }),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::Status;

    fn cfg() -> PathAllowlistConfig {
        PathAllowlistConfig {
            enabled: true,
            file_access_allow: vec!["/repo/**".into()],
            file_write_allow: vec!["/repo/src/**".into()],
            patch_allow: vec![],
        }
    }

    fn st(g: &dyn Guard, e: &PolicyEvent) -> Status {
        g.check(e).unwrap().status
    }

    #[test]
    fn absent_section_is_disabled_and_allows_everything() {
        let g = PathAllowlistConfig::default().build().unwrap();
        assert!(!PathAllowlistConfig::default().enabled());
        assert!(g
            .check(&PolicyEvent::file_read("e", "/etc/hosts"))
            .is_none());
    }

    #[test]
    fn present_section_is_enabled_by_default() {
        let c: PathAllowlistConfig =
            serde_json::from_value(json!({"file_access_allow": ["/repo/**"]})).unwrap();
        assert!(c.enabled);
        let merged = PathAllowlistConfig::default().merge_with(&c);
        assert!(merged.enabled);
    }

    #[test]
    fn read_checked_against_file_access_allow() {
        let g = cfg().build().unwrap();
        assert_eq!(
            st(&*g, &PolicyEvent::file_read("e", "/repo/a.txt")),
            Status::Allow
        );
        let v = g
            .check(&PolicyEvent::file_read("e", "/etc/passwd"))
            .unwrap();
        assert_eq!(v.status, Status::Deny);
        assert_eq!(v.severity, Severity::High);
        assert_eq!(v.message, "Path not in allowlist: /etc/passwd");
    }

    #[test]
    fn write_checked_against_file_write_allow() {
        let g = cfg().build().unwrap();
        assert_eq!(
            st(&*g, &PolicyEvent::file_write("e", "/repo/src/a.rs", "x")),
            Status::Allow
        );
        assert_eq!(
            st(&*g, &PolicyEvent::file_write("e", "/repo/README", "x")),
            Status::Deny
        );
    }

    #[test]
    fn patch_falls_back_to_file_write_allow() {
        let g = cfg().build().unwrap();
        assert_eq!(
            st(&*g, &PolicyEvent::patch("e", "/repo/src/a.rs", "+x")),
            Status::Allow
        );
        assert_eq!(
            st(&*g, &PolicyEvent::patch("e", "/repo/b.rs", "+x")),
            Status::Deny
        );
        let mut c = cfg();
        c.patch_allow = vec!["/repo/**".into()];
        let g = c.build().unwrap();
        assert_eq!(
            st(&*g, &PolicyEvent::patch("e", "/repo/b.rs", "+x")),
            Status::Allow
        );
    }

    #[test]
    fn traversal_out_of_allowed_dir_is_denied() {
        let g = cfg().build().unwrap();
        assert_eq!(
            st(&*g, &PolicyEvent::file_read("e", "/repo/../etc/shadow")),
            Status::Deny
        );
    }

    #[test]
    fn nul_suffixed_path_is_denied() {
        let g = cfg().build().unwrap();
        assert_eq!(
            st(
                &*g,
                &PolicyEvent::file_read("e", "/repo/a\0/../../etc/shadow")
            ),
            Status::Deny
        );
    }

    #[test]
    fn empty_list_denies_that_kind_of_access() {
        let g = PathAllowlistConfig {
            enabled: true,
            ..Default::default()
        }
        .build()
        .unwrap();
        assert_eq!(
            st(&*g, &PolicyEvent::file_read("e", "/repo/a")),
            Status::Deny
        );
    }

    #[test]
    fn other_events_are_skipped() {
        let g = cfg().build().unwrap();
        assert!(g.check(&PolicyEvent::network("e", "x.com", 443)).is_none());
    }

    #[test]
    fn merge_non_empty_child_list_replaces() {
        let child = PathAllowlistConfig {
            enabled: true,
            file_access_allow: vec!["/other/**".into()],
            file_write_allow: vec![],
            patch_allow: vec![],
        };
        let m = cfg().merge_with(&child);
        assert_eq!(m.file_access_allow, vec!["/other/**"]);
        assert_eq!(m.file_write_allow, vec!["/repo/src/**"]);
        let off = PathAllowlistConfig {
            enabled: false,
            ..Default::default()
        };
        assert!(!cfg().merge_with(&off).enabled);
    }

    #[test]
    fn invalid_glob_names_the_field() {
        let mut c = cfg();
        c.patch_allow = vec!["/ok/**".into(), "[bad".into()];
        assert_eq!(c.build().unwrap_err().field, "patch_allow[1]");
    }

    #[test]
    fn round_trips_and_rejects_unknown_fields() {
        let back: PathAllowlistConfig =
            serde_json::from_value(serde_json::to_value(cfg()).unwrap()).unwrap();
        assert_eq!(back, cfg());
        assert!(serde_json::from_value::<PathAllowlistConfig>(json!({"x": 1})).is_err());
    }
}
