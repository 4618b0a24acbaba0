//! File paths: lexical normalisation, the forms a deny list must consider, and glob lists.
//!
//! Deny lists match case-insensitively against *every* form of a path (as given, lexically
//! normalised, Unicode-folded, resolved through the file system when it exists, with
//! `/proc/*/root` aliases removed, truncated at a NUL byte). Allow lists (exceptions,
//! allowlists, skip lists) match case-sensitively against the canonical form only, and
//! when the file system resolves the path somewhere else, against that target too. Wrong
//! guesses therefore fail closed.

use super::glob::{self, GlobList, GlobOptions};
use super::text::fold;

/// A path from an event, in the forms the guards compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedPath {
    /// `/`-separated, `.`/`..` resolved lexically, no duplicate or trailing slashes,
    /// cut at the first NUL, `/proc/self/root` prefixes removed.
    pub canonical: String,
    /// The target after resolving symbolic links, when the path exists on this machine and
    /// resolves somewhere other than `canonical`.
    pub resolved: Option<String>,
    /// Further forms a deny list must also consider (Unicode-folded; a relative path that
    /// climbs with `..` anchored at `/`).
    pub variants: Vec<String>,
    /// True when the raw path contained a NUL byte.
    pub had_nul: bool,
}

impl NormalizedPath {
    /// Every form, canonical first.
    pub fn all_forms(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.canonical.as_str())
            .chain(self.resolved.as_deref())
            .chain(self.variants.iter().map(String::as_str))
    }
}

/// Normalise a path without touching the file system.
pub fn normalize_lexical(raw: &str) -> (String, bool) {
    let (raw, had_nul) = match raw.find('\0') {
        Some(i) => (&raw[..i], true),
        None => (raw, false),
    };
    let raw = raw.strip_prefix("file://").unwrap_or(raw);
    let replaced;
    let raw = if raw.contains('\\') {
        replaced = raw.replace('\\', "/");
        replaced.as_str()
    } else {
        raw
    };
    let absolute = raw.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&"..") | None if !absolute => parts.push(".."),
                Some(_) => {
                    parts.pop();
                }
                None => {} // `/..` is `/`
            },
            p => parts.push(p),
        }
    }
    // `/proc/self/root/x`, `/proc/thread-self/root/x` and `/proc/<pid>/root/x` are `/x`.
    while absolute
        && parts.len() >= 3
        && parts[0] == "proc"
        && parts[2] == "root"
        && (parts[1] == "self"
            || parts[1] == "thread-self"
            || parts[1].bytes().all(|b| b.is_ascii_digit()))
    {
        parts.drain(..3);
    }
    let mut out = String::with_capacity(raw.len() + 1);
    if absolute {
        out.push('/');
    }
    out.push_str(&parts.join("/"));
    if out.is_empty() {
        out.push('.');
    }
    (out, had_nul)
}

/// Normalise a path for matching (see the module docs).
pub fn normalize(raw: &str) -> NormalizedPath {
    let (canonical, had_nul) = normalize_lexical(raw);
    let mut variants = Vec::new();
    let folded = fold(&canonical);
    if folded != canonical.to_lowercase() {
        variants.push(normalize_lexical(&folded).0);
    }
    if !canonical.starts_with('/') {
        let climbed = canonical.trim_start_matches("../");
        if climbed.len() != canonical.len() && climbed != ".." {
            variants.push(format!("/{climbed}"));
        }
    }
    let resolved = std::fs::canonicalize(&canonical)
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .filter(|r| *r != canonical);
    NormalizedPath {
        canonical,
        resolved,
        variants,
        had_nul,
    }
}

/// How a [`PathMatcher`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMode {
    /// Case-insensitive, against every form; `dir/**` also matches `dir` itself.
    Deny,
    /// Case-sensitive, against the canonical form and the resolved target.
    Allow,
}

/// A compiled list of glob patterns.
#[derive(Debug, Clone)]
pub struct PathMatcher {
    globs: GlobList,
    /// Index into `patterns` for every glob in `globs`.
    origin: Vec<usize>,
    patterns: Vec<String>,
    mode: MatchMode,
}

/// The globs a pattern compiles to: the pattern itself and, in deny mode, the bare
/// directory of a `dir/**` pattern.
fn glob_forms(pattern: &str, mode: MatchMode) -> Vec<String> {
    let (mut p, _) = normalize_glob(pattern);
    if mode == MatchMode::Deny {
        // Case-insensitive by lower-casing both sides: a case-insensitive glob
        // compiles to a Unicode regex, ~30x slower to build than a literal match.
        p = p.to_lowercase();
    }
    let dir = match mode {
        MatchMode::Deny => p
            .strip_suffix("/**")
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        MatchMode::Allow => None,
    };
    let mut forms = vec![p];
    forms.extend(dir);
    forms
}

const GLOB_OPTIONS: GlobOptions = GlobOptions {
    case_insensitive: false,
};

impl PathMatcher {
    /// Compile patterns. `*` matches across `/` as in the old engine; `**/x` also matches
    /// `x`; in deny mode `dir/**` also matches the bare directory.
    pub fn new(patterns: &[String], mode: MatchMode) -> Result<Self, globset::Error> {
        let mut forms = Vec::with_capacity(patterns.len());
        let mut origin = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            for form in glob_forms(p, mode) {
                forms.push(form);
                origin.push(i);
            }
        }
        Ok(Self {
            globs: GlobList::new(forms.iter().map(String::as_str), GLOB_OPTIONS)?,
            origin,
            patterns: patterns.to_vec(),
            mode,
        })
    }

    /// Check one pattern's syntax without compiling it: `Ok` exactly when `new` accepts
    /// it on its own, short of a glob too large for globset to compile.
    pub fn check(pattern: &str, mode: MatchMode) -> Result<(), globset::Error> {
        glob_forms(pattern, mode)
            .iter()
            .try_for_each(|form| glob::check(form, GLOB_OPTIONS))
    }

    /// True when no pattern is configured.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The first pattern (as configured) that matches the path, if any.
    pub fn first_match(&self, path: &NormalizedPath) -> Option<&str> {
        match (self.mode, path.resolved.as_deref()) {
            (MatchMode::Deny, _) => path.all_forms().find_map(|c| self.first_match_str(c)),
            // The file system sends this path elsewhere: only the real target counts.
            (MatchMode::Allow, Some(target)) => self.first_match_str(target),
            (MatchMode::Allow, None) => self.first_match_str(&path.canonical),
        }
    }

    /// The first pattern that matches one string form.
    pub fn first_match_str(&self, candidate: &str) -> Option<&str> {
        if self.mode == MatchMode::Deny && candidate.chars().any(char::is_uppercase) {
            return self.first_match_exact(&candidate.to_lowercase());
        }
        self.first_match_exact(candidate)
    }

    fn first_match_exact(&self, candidate: &str) -> Option<&str> {
        self.globs
            .first_match(candidate, |_| true)
            .map(|g| self.patterns[self.origin[g]].as_str())
    }
}

/// Patterns are written with `/`; a Windows-style pattern is accepted too.
fn normalize_glob(p: &str) -> (String, bool) {
    if p.contains('\\') && !p.contains("\\*") && !p.contains("\\?") && !p.contains("\\[") {
        (p.replace('\\', "/"), true)
    } else {
        (p.to_string(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deny(patterns: &[&str]) -> PathMatcher {
        let p: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        PathMatcher::new(&p, MatchMode::Deny).unwrap()
    }

    #[test]
    fn dot_dot_is_resolved_lexically() {
        assert_eq!(normalize_lexical("/repo/tests/../a.txt").0, "/repo/a.txt");
        assert_eq!(normalize_lexical("/../../etc//shadow").0, "/etc/shadow");
        assert_eq!(normalize_lexical("a/./b/../../../c").0, "../c");
    }

    #[test]
    fn proc_root_aliases_are_removed() {
        assert_eq!(
            normalize_lexical("/proc/self/root/etc/shadow").0,
            "/etc/shadow"
        );
        assert_eq!(
            normalize_lexical("/proc/1234/root/proc/self/root/etc/shadow").0,
            "/etc/shadow"
        );
    }

    #[test]
    fn nul_truncates() {
        assert_eq!(
            normalize_lexical("/etc/shadow\0.txt"),
            ("/etc/shadow".into(), true)
        );
    }

    #[test]
    fn bare_directory_matches_dir_glob() {
        let m = deny(&["**/.ssh/**"]);
        assert!(m.first_match(&normalize("~/.ssh")).is_some());
        assert!(m.first_match(&normalize("/home/u/.ssh/")).is_some());
        assert!(m.first_match(&normalize("/home/u/.sshx")).is_none());
    }

    #[test]
    fn deny_is_case_insensitive_and_folds_unicode() {
        let m = deny(&["**/.env"]);
        assert!(m.first_match(&normalize("/app/.ENV")).is_some());
        assert!(m.first_match(&normalize("/app/．env")).is_some());
    }

    #[test]
    fn relative_climb_is_anchored_at_root() {
        let m = deny(&["/etc/shadow"]);
        assert!(m
            .first_match(&normalize("../../../../etc/shadow"))
            .is_some());
    }

    #[test]
    fn windows_paths_match() {
        let m = deny(&["**/.ssh/**"]);
        assert!(m
            .first_match(&normalize(r"C:\Users\a\.ssh\id_rsa"))
            .is_some());
    }
}
