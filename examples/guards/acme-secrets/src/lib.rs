//! `acme_secrets`: finds ACME secrets (API keys, live tokens) in the content of a file
//! being written and in the lines a patch adds. The verdict names the pattern, the file
//! and the line, never the secret.

use std::cell::OnceCell;

use clawdstrike_guard_sdk::{
    export_guard, state, Event, EventData, EventType, Guard, Severity, Verdict,
};
use memchr::memmem::Finder;
use regex_lite::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::json;

/// Compiled-program limits for configured regular expressions: `init` runs before every
/// check, so a pattern must stay cheap to compile and cannot grow without bound.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const MAX_PATTERNS: usize = 32;
const MAX_PATTERN_LEN: usize = 1024;

/// State-store key under which `init` remembers the patterns it has already compiled
/// once (see [`AcmeSecrets::new`]).
const VALIDATED_KEY: &str = "acme_secrets.validated_patterns";

/// What to do when a secret is found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Deny the write (default).
    #[default]
    Deny,
    /// Let it happen with a warning.
    Warn,
}

/// One secret pattern.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternConfig {
    /// Name used in verdicts (`acme_api_key`).
    pub name: String,
    /// The regular expression (Rust `regex` syntax).
    pub regex: String,
    /// How serious a match is (default high).
    #[serde(default = "default_severity")]
    pub severity: Severity,
}

fn default_severity() -> Severity {
    Severity::High
}

/// The guard's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Patterns to look for; replaces the defaults when given.
    pub patterns: Vec<PatternConfig>,
    /// Paths not scanned: globs (`*` within a segment, `**` across, `?`) or path
    /// prefixes (matching whole segments), compared after normalising `.` and `..`.
    pub allow_paths: Vec<String>,
    /// `deny` (default) or `warn`.
    pub action: Action,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            patterns: vec![
                PatternConfig {
                    name: "acme_api_key".into(),
                    regex: "ACME-[A-Z0-9]{32}".into(),
                    severity: Severity::Critical,
                },
                PatternConfig {
                    name: "acme_live_token".into(),
                    regex: "acme_live_[a-z0-9]{24}".into(),
                    severity: Severity::High,
                },
            ],
            allow_paths: Vec::new(),
            action: Action::Deny,
        }
    }
}

#[derive(Debug)]
struct Pattern {
    name: String,
    severity: Severity,
    /// The regular expression as configured.
    source: String,
    /// Compiled on first use: most text never contains the literal prefix, and then
    /// the regex is never needed.
    regex: OnceCell<Regex>,
    /// Finds the text every match starts with, when the pattern begins with a literal.
    literal: Option<Finder<'static>>,
}

impl Pattern {
    fn new(name: String, source: String, severity: Severity) -> Self {
        let literal = literal_prefix(&source).map(|l| Finder::new(l.as_bytes()).into_owned());
        Pattern {
            name,
            severity,
            source,
            regex: OnceCell::new(),
            literal,
        }
    }

    /// The compiled regex (compiled now if this is its first use).
    fn regex(&self) -> Result<&Regex, regex_lite::Error> {
        if let Some(regex) = self.regex.get() {
            return Ok(regex);
        }
        let regex = compile(&self.source)?;
        Ok(self.regex.get_or_init(|| regex))
    }

    /// False when `text` cannot hold a match: the literal prefix is missing.
    fn may_match(&self, text: &str) -> bool {
        self.literal
            .as_ref()
            .is_none_or(|f| f.find(text.as_bytes()).is_some())
    }
}

/// The literal text every match of `pattern` starts with (`ACME-` for
/// `ACME-[A-Z0-9]{32}`), if it begins with one. A line without it cannot match, so the
/// scan skips it without running the regex: the cheap path for ordinary text.
fn literal_prefix(pattern: &str) -> Option<String> {
    // An alternation anywhere could make the prefix optional; stay exact and give up.
    if pattern.contains('|') {
        return None;
    }
    let mut prefix = String::new();
    for c in pattern.chars() {
        match c {
            // A quantifier that allows zero repetitions makes the last character optional.
            '*' | '?' | '{' => {
                prefix.pop();
                break;
            }
            // `+` still needs one of the last character; the rest end the literal.
            '\\' | '.' | '+' | '(' | ')' | '[' | ']' | '}' | '^' | '$' => break,
            _ => prefix.push(c),
        }
    }
    (!prefix.is_empty()).then_some(prefix)
}

#[derive(Debug)]
enum PathRule {
    Prefix(String),
    Glob(Regex),
}

/// The guard.
#[derive(Debug)]
pub struct AcmeSecrets {
    patterns: Vec<Pattern>,
    allow: Vec<PathRule>,
    action: Action,
}

fn compile(pattern: &str) -> Result<Regex, regex_lite::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(64)
        .build()
}

/// `a/./b/../c` → `a/c`; `//` collapses. Lexical only: the guard cannot see the file
/// system, and a path that climbs out of an allowed prefix must not stay inside it.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    out.push_str("(?:.*/)?");
                } else {
                    out.push_str(".*");
                }
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            c => out.push_str(&regex_lite::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

impl PathRule {
    fn parse(index: usize, rule: &str) -> Result<Self, String> {
        if rule.contains(['*', '?']) {
            compile(&glob_to_regex(&normalize(rule)))
                .map(PathRule::Glob)
                .map_err(|e| format!("config.allow_paths[{index}]: {e}"))
        } else {
            Ok(PathRule::Prefix(normalize(rule)))
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            PathRule::Glob(re) => re.is_match(path),
            PathRule::Prefix(p) if p.is_empty() || p == "/" => true,
            PathRule::Prefix(p) => {
                path == p || (path.starts_with(p.as_str()) && path[p.len()..].starts_with('/'))
            }
        }
    }
}

/// One pattern found: where, and how long the match was (never the text).
struct Finding<'a> {
    pattern: &'a Pattern,
    line: usize,
    count: usize,
    length: usize,
}

impl AcmeSecrets {
    /// Scan `lines` (1-based line numbers as the file or diff shows them), all of which
    /// are slices of `whole`.
    fn scan<'a, 'b>(
        &'a self,
        whole: &'b str,
        lines: impl Iterator<Item = (usize, &'b str)> + Clone,
    ) -> Result<Vec<Finding<'a>>, String> {
        let mut findings = Vec::new();
        for pattern in &self.patterns {
            // One search of the whole text first: ordinary text holds no literal prefix
            // at all, and then neither the lines nor the regex are needed.
            if !pattern.may_match(whole) {
                continue;
            }
            let regex = pattern
                .regex()
                .map_err(|e| format!("pattern \"{}\": {e}", pattern.name))?;
            let mut found: Option<Finding<'a>> = None;
            for (line, text) in lines.clone() {
                if !pattern.may_match(text) {
                    continue;
                }
                for m in regex.find_iter(text) {
                    match &mut found {
                        Some(f) => f.count += 1,
                        None => {
                            found = Some(Finding {
                                pattern,
                                line,
                                count: 1,
                                length: m.as_str().chars().count(),
                            })
                        }
                    }
                }
            }
            findings.extend(found);
        }
        // Most serious first; the verdict's severity is the first one's.
        findings.sort_by(|a, b| {
            b.pattern
                .severity
                .cmp(&a.pattern.severity)
                .then(a.line.cmp(&b.line))
        });
        Ok(findings)
    }
}

impl Guard for AcmeSecrets {
    const NAME: &'static str = "acme_secrets";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const HANDLES: &'static [EventType] = &[EventType::FileWrite, EventType::PatchApply];
    type Config = Config;

    fn new(config: Config) -> Result<Self, String> {
        if config.patterns.is_empty() {
            return Err("config.patterns is empty: the guard would find nothing".into());
        }
        if config.patterns.len() > MAX_PATTERNS {
            return Err(format!(
                "config.patterns has {} entries; at most {MAX_PATTERNS}",
                config.patterns.len()
            ));
        }
        if let Some(i) = config
            .patterns
            .iter()
            .position(|p| p.regex.len() > MAX_PATTERN_LEN)
        {
            return Err(format!(
                "config.patterns[{i}].regex is longer than {MAX_PATTERN_LEN} bytes"
            ));
        }
        // `init` runs before every check, on a fresh instance. Compiling every regex
        // each time would cost more than most scans, so a bad pattern is found by
        // compiling them all once — at load, the first `init` — and the state store
        // remembers which patterns passed. Later inits compile only what a scan needs.
        let fingerprint: String = config
            .patterns
            .iter()
            .flat_map(|p| [p.regex.as_str(), "\0"])
            .collect();
        let patterns: Vec<Pattern> = config
            .patterns
            .into_iter()
            .map(|p| Pattern::new(p.name, p.regex, p.severity))
            .collect();
        if state::get(VALIDATED_KEY).as_deref() != Some(fingerprint.as_bytes()) {
            for (i, p) in patterns.iter().enumerate() {
                p.regex()
                    .map_err(|e| format!("config.patterns[{i}].regex: {e}"))?;
            }
            // Losing this only costs the next init the same compile again.
            let _ = state::set(VALIDATED_KEY, fingerprint.as_bytes());
        }
        let allow = config
            .allow_paths
            .iter()
            .enumerate()
            .map(|(i, r)| PathRule::parse(i, r))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(AcmeSecrets {
            patterns,
            allow,
            action: config.action,
        })
    }

    fn check(&self, event: &Event) -> Result<Verdict, String> {
        let (path, findings) = match &event.data {
            EventData::File(file) => {
                let Some(content) = file.content.as_deref() else {
                    return Ok(Verdict::allow(format!(
                        "no content to scan in {}",
                        file.path
                    )));
                };
                if self.allowed(&file.path) {
                    return Ok(Verdict::allow(format!("{} is in allow_paths", file.path)));
                }
                (
                    &file.path,
                    self.scan(
                        content,
                        content.lines().enumerate().map(|(i, l)| (i + 1, l)),
                    )?,
                )
            }
            EventData::Patch(patch) => {
                if self.allowed(&patch.file_path) {
                    return Ok(Verdict::allow(format!(
                        "{} is in allow_paths",
                        patch.file_path
                    )));
                }
                // Only what the patch adds: removing a leaked key must stay possible.
                let added = patch
                    .patch_content
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| l.starts_with('+') && !l.starts_with("+++"))
                    .map(|(i, l)| (i + 1, &l[1..]));
                (&patch.file_path, self.scan(&patch.patch_content, added)?)
            }
            _ => return Ok(Verdict::allow("event type not handled")),
        };
        let Some(first) = findings.first() else {
            return Ok(Verdict::allow(format!("no ACME secrets in {path}")));
        };
        let where_ = if matches!(event.data, EventData::Patch(_)) {
            "patch line"
        } else {
            "line"
        };
        let mut reason = format!(
            "ACME secret \"{}\" found in {path} ({where_} {})",
            first.pattern.name, first.line
        );
        if findings.len() > 1 {
            reason.push_str(&format!(" and {} more pattern(s)", findings.len() - 1));
        }
        let details = json!({
            "path": path,
            "findings": findings.iter().map(|f| json!({
                "pattern": f.pattern.name,
                "severity": f.pattern.severity,
                "line": f.line,
                "matches": f.count,
                "redacted": format!("[REDACTED {} chars]", f.length),
            })).collect::<Vec<_>>(),
        });
        let severity = first.pattern.severity;
        let verdict = match self.action {
            Action::Deny => Verdict::deny(severity, reason),
            Action::Warn => Verdict::warn(severity, reason),
        };
        Ok(verdict
            .with_details(details)
            .with_remediation("Remove the secret, load it at run time from the secret store, and rotate the exposed key."))
    }
}

impl AcmeSecrets {
    fn allowed(&self, path: &str) -> bool {
        let path = normalize(path);
        self.allow.iter().any(|r| r.matches(&path))
    }
}

export_guard!(AcmeSecrets);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefixes_are_exact_or_absent() {
        assert_eq!(
            literal_prefix("ACME-[A-Z0-9]{32}").as_deref(),
            Some("ACME-")
        );
        assert_eq!(
            literal_prefix("acme_live_[a-z0-9]{24}").as_deref(),
            Some("acme_live_")
        );
        assert_eq!(literal_prefix("ab+c").as_deref(), Some("ab"));
        assert_eq!(literal_prefix("abc?d").as_deref(), Some("ab"));
        assert_eq!(literal_prefix("ab{0,3}").as_deref(), Some("a"));
        assert_eq!(literal_prefix("a*"), None);
        assert_eq!(literal_prefix("(?i)acme"), None);
        assert_eq!(literal_prefix("abc|xyz"), None);
        assert_eq!(literal_prefix("[A-Z]+"), None);
    }

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(normalize("/repo/tests/../a.txt"), "/repo/a.txt");
        assert_eq!(normalize("./a//b/./c"), "a/b/c");
        assert_eq!(normalize("/../etc"), "/etc");
        assert_eq!(normalize("../x"), "../x");
    }

    #[test]
    fn globs_and_prefixes() {
        let g = PathRule::parse(0, "**/fixtures/*.txt").unwrap();
        assert!(g.matches("a/b/fixtures/x.txt") && g.matches("fixtures/x.txt"));
        assert!(!g.matches("fixtures/sub/x.txt"));
        let p = PathRule::parse(0, "/repo/tests/").unwrap();
        assert!(p.matches("/repo/tests/a.rs") && p.matches("/repo/tests"));
        assert!(!p.matches("/repo/tests2/a.rs"));
    }
}
