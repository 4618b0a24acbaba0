//! Version constraints and picking a version (SPEC.md §6).
//!
//! The range syntax follows the package's ecosystem: npm ranges for `registry: npm`
//! (`1.2.3` is exact, `^1.2`, `~1.2.3`, `1.x`, `>=1 <2`, `1.0.0 - 1.4.0`, `a || b`, `*`),
//! Cargo requirements for `registry: crates.io` (`1.2.3` means `^1.2.3`, `=1.2.3` is exact,
//! `~1.2`, `1.*`, `>=1, <2`, `*`).

use serde::{Deserialize, Serialize};

use crate::policy::model::PackageRegistry;

/// A parsed version constraint.
#[derive(Debug, Clone)]
pub enum VersionRange {
    /// An npm range.
    Npm(nodejs_semver::Range, String),
    /// A Cargo version requirement.
    Cargo(semver::VersionReq, String),
}

impl VersionRange {
    /// Parse `text` with the syntax of `ecosystem`; empty means `*`.
    pub fn parse(ecosystem: PackageRegistry, text: &str) -> Result<VersionRange, String> {
        let text = text.trim();
        let text = if text.is_empty() { "*" } else { text };
        match ecosystem {
            PackageRegistry::Npm => nodejs_semver::Range::parse(text)
                .map(|r| VersionRange::Npm(r, text.to_string()))
                .map_err(|_| {
                    format!(
                        "\"{}\" is not an npm version range; write e.g. \"^1.2.0\", \"~1.2\", \
                         \"1.x\", \">=1.0.0 <2.0.0\" or \"*\"",
                        shorten(text)
                    )
                }),
            PackageRegistry::Crates => semver::VersionReq::parse(text)
                .map(|r| VersionRange::Cargo(r, text.to_string()))
                .map_err(|e| {
                    format!(
                        "\"{}\" is not a Cargo version requirement ({e}); write e.g. \"1.2\", \
                         \"^1.2.0\", \"~1.2\", \"=1.2.3\", \">=1, <2\" or \"*\"",
                        shorten(text)
                    )
                }),
        }
    }

    /// Whether `version` satisfies the constraint. Pre-releases match only when the
    /// constraint names a pre-release of the same version (both ecosystems).
    pub fn matches(&self, version: &semver::Version) -> bool {
        match self {
            VersionRange::Npm(range, _) => nodejs_semver::Version::parse(version.to_string())
                .map(|v| range.satisfies(&v))
                .unwrap_or(false),
            VersionRange::Cargo(req, _) => req.matches(version),
        }
    }

    /// The constraint as written.
    pub fn as_str(&self) -> &str {
        match self {
            VersionRange::Npm(_, s) | VersionRange::Cargo(_, s) => s,
        }
    }
}

impl std::fmt::Display for VersionRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /api/v1/guards/{name}/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionsDoc {
    /// Package name.
    pub name: String,
    /// Every version, newest first.
    pub versions: Vec<VersionEntry>,
}

/// One version in [`VersionsDoc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionEntry {
    /// The version.
    pub version: String,
    /// When it was published (RFC 3339).
    #[serde(default)]
    pub published_at: Option<String>,
    /// The engine versions it works with.
    #[serde(default)]
    pub engine: EngineBounds,
    /// Withdrawn: never picked by resolution.
    #[serde(default)]
    pub yanked: bool,
    /// Why it was yanked.
    #[serde(default)]
    pub yank_reason: Option<String>,
    /// Still picked, with a warning.
    #[serde(default)]
    pub deprecated: bool,
    /// Why it is deprecated.
    #[serde(default)]
    pub deprecation_reason: Option<String>,
    /// The registry's tier for this version.
    #[serde(default)]
    pub trust_tier: Option<String>,
    /// The package archive.
    #[serde(default)]
    pub archive: Option<ArchiveInfo>,
}

/// `engine: {min, max}` of a version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineBounds {
    /// Oldest engine (inclusive), a semver version.
    #[serde(default)]
    pub min: Option<String>,
    /// Newest engine: a version (inclusive) or `1.x` / `1.4.x`.
    #[serde(default)]
    pub max: Option<String>,
}

/// `archive: {kind, size, sha256}` of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveInfo {
    /// `npm` or `crate`.
    pub kind: String,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

impl EngineBounds {
    /// Whether an engine of version `engine` is inside the bounds. Unreadable bounds admit
    /// nothing. Pre-release tags of the engine are ignored.
    pub fn admits(&self, engine: &semver::Version) -> bool {
        let core = semver::Version::new(engine.major, engine.minor, engine.patch);
        if let Some(min) = &self.min {
            match semver::Version::parse(min.trim()) {
                Ok(min) if core >= min => {}
                _ => return false,
            }
        }
        if let Some(max) = &self.max {
            if !max_admits(max.trim(), &core) {
                return false;
            }
        }
        true
    }

    /// `>=0.1.0, <=1.x`, or `any`.
    pub fn describe(&self) -> String {
        match (&self.min, &self.max) {
            (None, None) => "any".to_string(),
            (Some(min), None) => format!(">={min}"),
            (None, Some(max)) => format!("<={max}"),
            (Some(min), Some(max)) => format!(">={min}, <={max}"),
        }
    }
}

/// Why no version was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoMatch {
    /// The package has no versions at all.
    NoVersions,
    /// No version satisfies the range; `available` lists the non-yanked versions.
    NoneInRange {
        /// Every non-yanked version, newest first.
        available: Vec<String>,
    },
    /// Every version in range is yanked.
    AllYanked {
        /// The yanked versions in range.
        yanked: Vec<String>,
    },
    /// The versions in range do not support this engine.
    EngineIncompatible {
        /// `version (engine range)` for each version in range.
        versions: Vec<String>,
    },
}

/// The highest version satisfying `range`, not yanked, whose engine bounds admit
/// `engine`. Versions that do not parse as semver are ignored.
pub fn select<'a>(
    versions: &'a [VersionEntry],
    range: &VersionRange,
    engine: &semver::Version,
) -> Result<(&'a VersionEntry, semver::Version), NoMatch> {
    let parsed: Vec<(&VersionEntry, semver::Version)> = versions
        .iter()
        .filter_map(|e| semver::Version::parse(&e.version).ok().map(|v| (e, v)))
        .collect();
    if parsed.is_empty() {
        return Err(NoMatch::NoVersions);
    }
    let in_range: Vec<&(&VersionEntry, semver::Version)> =
        parsed.iter().filter(|(_, v)| range.matches(v)).collect();
    if in_range.is_empty() {
        let mut available: Vec<&(&VersionEntry, semver::Version)> =
            parsed.iter().filter(|(e, _)| !e.yanked).collect();
        available.sort_by(|a, b| b.1.cmp(&a.1));
        return Err(NoMatch::NoneInRange {
            available: available.iter().map(|(_, v)| v.to_string()).collect(),
        });
    }
    let live: Vec<&&(&VersionEntry, semver::Version)> =
        in_range.iter().filter(|(e, _)| !e.yanked).collect();
    if live.is_empty() {
        return Err(NoMatch::AllYanked {
            yanked: in_range.iter().map(|(_, v)| v.to_string()).collect(),
        });
    }
    let best = live
        .iter()
        .filter(|(e, _)| e.engine.admits(engine))
        .max_by(|a, b| a.1.cmp(&b.1));
    match best {
        Some((entry, version)) => Ok((entry, version.clone())),
        None => Err(NoMatch::EngineIncompatible {
            versions: live
                .iter()
                .map(|(e, v)| format!("{v} (engine {})", e.engine.describe()))
                .collect(),
        }),
    }
}

/// An upper engine bound: a version (inclusive), or `MAJOR.x` / `MAJOR.MINOR.x` (`*` for
/// `x`). Unreadable bounds admit nothing.
fn max_admits(max: &str, core: &semver::Version) -> bool {
    if let Ok(v) = semver::Version::parse(max) {
        return *core <= semver::Version::new(v.major, v.minor, v.patch);
    }
    let parts: Vec<&str> = max.split('.').collect();
    let num = |p: &str| -> Option<u64> {
        (!p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let wild = |p: &str| matches!(p, "x" | "X" | "*");
    match parts.as_slice() {
        [major, w] if wild(w) => num(major).is_some_and(|m| core.major <= m),
        [major, minor, w] if wild(w) => match (num(major), num(minor)) {
            (Some(ma), Some(mi)) => (core.major, core.minor) <= (ma, mi),
            _ => false,
        },
        _ => false,
    }
}

pub(crate) use clawdstrike_formats::manifest::rules::shorten;

/// This engine's version.
pub fn engine_version() -> semver::Version {
    semver::Version::parse(env!("CARGO_PKG_VERSION")).unwrap_or(semver::Version::new(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap()
    }

    fn npm(s: &str) -> VersionRange {
        VersionRange::parse(PackageRegistry::Npm, s).unwrap()
    }

    fn cargo(s: &str) -> VersionRange {
        VersionRange::parse(PackageRegistry::Crates, s).unwrap()
    }

    fn entry(version: &str) -> VersionEntry {
        VersionEntry {
            version: version.into(),
            published_at: None,
            engine: EngineBounds::default(),
            yanked: false,
            yank_reason: None,
            deprecated: false,
            deprecation_reason: None,
            trust_tier: None,
            archive: None,
        }
    }

    #[test]
    fn caret_zero_minor_is_the_same_in_both() {
        for r in [npm("^0.1"), cargo("^0.1")] {
            assert!(r.matches(&v("0.1.0")), "{r}");
            assert!(r.matches(&v("0.1.9")), "{r}");
            assert!(!r.matches(&v("0.2.0")), "{r}");
            assert!(!r.matches(&v("1.0.0")), "{r}");
        }
        // ^0.0.3 is exactly 0.0.3 in both.
        for r in [npm("^0.0.3"), cargo("^0.0.3")] {
            assert!(r.matches(&v("0.0.3")));
            assert!(!r.matches(&v("0.0.4")));
        }
    }

    #[test]
    fn x_ranges() {
        for r in [npm("1.x"), cargo("1.x"), cargo("1.*")] {
            assert!(r.matches(&v("1.0.0")), "{r}");
            assert!(r.matches(&v("1.99.3")), "{r}");
            assert!(!r.matches(&v("2.0.0")), "{r}");
            assert!(!r.matches(&v("0.9.0")), "{r}");
        }
    }

    #[test]
    fn a_bare_version_differs_between_ecosystems() {
        // npm: exact. Cargo: caret.
        assert!(npm("1.2.3").matches(&v("1.2.3")));
        assert!(!npm("1.2.3").matches(&v("1.4.0")));
        assert!(cargo("1.2.3").matches(&v("1.4.0")));
        assert!(!cargo("=1.2.3").matches(&v("1.4.0")));
    }

    #[test]
    fn syntax_of_one_ecosystem_is_refused_by_the_other() {
        // npm's hyphen range and `||` are not Cargo syntax.
        assert!(npm("1.0.0 - 1.4.0").matches(&v("1.3.0")));
        assert!(VersionRange::parse(PackageRegistry::Crates, "1.0.0 - 1.4.0").is_err());
        assert!(npm("^1 || ^3").matches(&v("3.1.0")));
        assert!(VersionRange::parse(PackageRegistry::Crates, "^1 || ^3").is_err());
        // Cargo's comma-separated comparators.
        assert!(cargo(">=1, <2").matches(&v("1.5.0")));
        let err = VersionRange::parse(PackageRegistry::Npm, "not a range!").unwrap_err();
        assert!(err.contains("npm version range"), "{err}");
    }

    #[test]
    fn pre_releases_only_when_asked() {
        assert!(!npm("^1.0.0").matches(&v("1.1.0-beta.1")));
        assert!(!cargo("^1.0.0").matches(&v("1.1.0-beta.1")));
        assert!(npm("^1.1.0-beta.0").matches(&v("1.1.0-beta.1")));
        assert!(cargo("^1.1.0-beta.0").matches(&v("1.1.0-beta.1")));
    }

    #[test]
    fn empty_is_any() {
        assert!(npm("").matches(&v("7.0.0")));
        assert!(cargo(" ").matches(&v("7.0.0")));
        assert_eq!(npm("").as_str(), "*");
    }

    #[test]
    fn select_picks_the_highest_live_compatible() {
        let mut yanked = entry("1.3.0");
        yanked.yanked = true;
        let mut future = entry("1.2.5");
        future.engine.min = Some("99.0.0".into());
        let versions = vec![
            entry("2.0.0"),
            yanked,
            future,
            entry("1.2.0"),
            entry("1.10.0-rc.1"),
            entry("not-semver"),
        ];
        let (e, picked) = select(&versions, &npm("^1.0.0"), &v("0.1.0")).unwrap();
        assert_eq!(picked, v("1.2.0"));
        assert_eq!(e.version, "1.2.0");
        let (_, picked) = select(&versions, &cargo("*"), &v("0.1.0")).unwrap();
        assert_eq!(picked, v("2.0.0"));
    }

    #[test]
    fn select_explains_failures() {
        let mut yanked = entry("1.3.0");
        yanked.yanked = true;
        let versions = vec![entry("2.0.0"), yanked.clone(), entry("0.4.0")];
        assert_eq!(
            select(&versions, &npm("^3"), &v("0.1.0")).unwrap_err(),
            NoMatch::NoneInRange {
                available: vec!["2.0.0".into(), "0.4.0".into()]
            }
        );
        assert_eq!(
            select(&versions, &npm("~1.3"), &v("0.1.0")).unwrap_err(),
            NoMatch::AllYanked {
                yanked: vec!["1.3.0".into()]
            }
        );
        let mut old = entry("0.4.0");
        old.engine.max = Some("0.0.x".into());
        let err = select(&[old], &npm("*"), &v("0.1.0")).unwrap_err();
        assert_eq!(
            err,
            NoMatch::EngineIncompatible {
                versions: vec!["0.4.0 (engine <=0.0.x)".into()]
            }
        );
        assert_eq!(
            select(&[], &npm("*"), &v("0.1.0")).unwrap_err(),
            NoMatch::NoVersions
        );
    }

    #[test]
    fn engine_bounds() {
        let b = EngineBounds {
            min: Some("0.1.0".into()),
            max: Some("1.x".into()),
        };
        assert!(b.admits(&v("0.1.0")));
        assert!(b.admits(&v("1.9.0")));
        assert!(b.admits(&v("0.2.0-dev")));
        assert!(!b.admits(&v("2.0.0")));
        assert!(!b.admits(&v("0.0.9")));
        let garbage = EngineBounds {
            min: Some("soon".into()),
            max: None,
        };
        assert!(!garbage.admits(&v("1.0.0")));
        assert!(EngineBounds::default().admits(&v("5.0.0")));
    }

    #[test]
    fn versions_doc_parses_the_contract_shape() {
        let doc: VersionsDoc = serde_json::from_str(
            r#"{"name":"@acme/secrets","versions":[{"version":"0.1.0","publishedAt":"2026-11-24T13:00:00Z","engine":{"min":"0.1.0","max":null},"yanked":false,"yankReason":null,"deprecated":true,"deprecationReason":"use 0.2","trustTier":"verified","archive":{"kind":"npm","size":12,"sha256":"ab"}}]}"#,
        )
        .unwrap();
        assert_eq!(doc.versions[0].engine.min.as_deref(), Some("0.1.0"));
        assert!(doc.versions[0].deprecated);
        assert_eq!(doc.versions[0].archive.as_ref().unwrap().size, 12);
    }
}
