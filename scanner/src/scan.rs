//! Static checks on a package that was read: the first set of the automated scan
//! (SPEC.md §2). Every rule is in [`RULES`], with its kind and severity; a package passes
//! when no finding is high or critical.
//!
//! Capability checks are done at **function level**: for each component, the functions
//! it imports from the `clawdstrike:guard/host@1.x` instance (`http-request`, `read-file`,
//! `get-secret`, `log`) come from the instance type in the component, which
//! `wit-component` (and so `cargo build --target wasm32-wasip2` and ComponentizeJS) trims
//! to the functions the guest actually calls. A component that imports a function without
//! the matching capability declared gets a high finding; a capability declared but never
//! imported by any component gets a low one.
//!
//! Except for ComponentizeJS components (recognised by their `producers` section): the
//! TypeScript SDK imports the `host` interface as a whole, so such a component imports
//! every host function whatever it calls, and only the interface-level fact is evidence
//! (no `clawdstrike:guard/host` import → no host call possible). For those, an imported
//! but undeclared host function gives a low `capability-unverified` finding instead.
//! Either way the engine denies an undeclared call at run time; these findings are about
//! a manifest that hides what a guard does.
//!
//! Source checks are line-based substring matches with identifier boundaries (no parser):
//! they point a reviewer at lines, they do not prove anything. Comment lines (`//`, `/*`,
//! `*`) are skipped. At most [`MAX_FINDINGS_PER_FILE_RULE`] findings per file and rule are
//! listed, then one finding counts the rest.

use clawdstrike_formats::imports;
use clawdstrike_formats::manifest::{NetworkCapability, PathAccess, SecretsCapability, TrustTier};
use serde::Serialize;

use clawdstrike_formats::decision::Severity;
use clawdstrike_formats::signed::{FindingCounts, ScanSummary};

use crate::package::{ArchiveKind, Package};

/// This scanner's version (the crate's), recorded in every report.
pub const SCANNER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Findings listed per file and rule before the rest are counted in one.
pub const MAX_FINDINGS_PER_FILE_RULE: usize = 20;

/// One scan rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The finding kind (`undeclared-capability`).
    pub kind: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// What it checks.
    pub summary: &'static str,
}

const fn rule(kind: &'static str, severity: Severity, summary: &'static str) -> Rule {
    Rule {
        kind,
        severity,
        summary,
    }
}

const TIER_VIOLATION: Rule = rule(
    "tier-violation",
    Severity::High,
    "the manifest declares capabilities, sandbox or resources that the trust tier it asks \
     for does not allow (PluginManifest::check_tier)",
);
const COMMUNITY_LIMITS: Rule = rule(
    "community-limits",
    Severity::Low,
    "the manifest asks for a tier above community and declares what community does not \
     allow; it runs as community until verified, and would be refused",
);
const DISALLOWED_IMPORT: Rule = rule(
    "disallowed-import",
    Severity::Critical,
    "a component imports an interface the engine refuses at load",
);
const UNDECLARED_CAPABILITY: Rule = rule(
    "undeclared-capability",
    Severity::High,
    "a component imports a host function whose capability the manifest does not declare",
);
const CAPABILITY_UNVERIFIED: Rule = rule(
    "capability-unverified",
    Severity::Low,
    "a ComponentizeJS component imports a host function whose capability is not declared; \
     such components import every host function, so this is not evidence of a call",
);
const UNUSED_CAPABILITY: Rule = rule(
    "unused-capability",
    Severity::Low,
    "the manifest declares a capability no component imports the host function for",
);
const JS_EVAL: Rule = rule(
    "js-eval",
    Severity::Medium,
    "runs code from a string (eval) in JavaScript",
);
const JS_FUNCTION: Rule = rule(
    "js-function-constructor",
    Severity::Medium,
    "builds a function from a string (the Function constructor) in JavaScript",
);
const JS_CHILD_PROCESS: Rule = rule(
    "js-child-process",
    Severity::Medium,
    "starts processes (child_process) in JavaScript",
);
const JS_PROCESS_ENV: Rule = rule(
    "js-process-env",
    Severity::Medium,
    "reads environment variables (process.env) in JavaScript",
);
const JS_FS_WRITE: Rule = rule(
    "js-fs-write",
    Severity::Medium,
    "writes or deletes files (writeFile, appendFile, createWriteStream, unlink, rmdir, rm) \
     in JavaScript",
);
const RUST_UNSAFE: Rule = rule("rust-unsafe", Severity::Low, "unsafe code in Rust source");
const RUST_FFI: Rule = rule(
    "rust-ffi",
    Severity::Low,
    "foreign functions (extern \"...\") in Rust source",
);

/// Every rule, in one place.
pub const RULES: &[Rule] = &[
    TIER_VIOLATION,
    COMMUNITY_LIMITS,
    DISALLOWED_IMPORT,
    UNDECLARED_CAPABILITY,
    CAPABILITY_UNVERIFIED,
    UNUSED_CAPABILITY,
    JS_EVAL,
    JS_FUNCTION,
    JS_CHILD_PROCESS,
    JS_PROCESS_ENV,
    JS_FS_WRITE,
    RUST_UNSAFE,
    RUST_FFI,
];

/// A source pattern: `word` with identifier boundaries on both sides, optionally only after
/// a `.`, optionally followed (after spaces) by `next`.
struct Pattern {
    rule: Rule,
    word: &'static str,
    after_dot: bool,
    next: Option<char>,
}

const fn pat(rule: Rule, word: &'static str, after_dot: bool, next: Option<char>) -> Pattern {
    Pattern {
        rule,
        word,
        after_dot,
        next,
    }
}

/// Patterns for `.js`, `.mjs` and `.cjs` files of npm packages.
const JS_PATTERNS: &[Pattern] = &[
    pat(JS_EVAL, "eval", false, Some('(')),
    pat(JS_FUNCTION, "Function", false, Some('(')),
    pat(JS_CHILD_PROCESS, "child_process", false, None),
    pat(JS_PROCESS_ENV, "process.env", false, None),
    pat(JS_FS_WRITE, "writeFile", false, None),
    pat(JS_FS_WRITE, "writeFileSync", false, None),
    pat(JS_FS_WRITE, "appendFile", false, None),
    pat(JS_FS_WRITE, "appendFileSync", false, None),
    pat(JS_FS_WRITE, "createWriteStream", false, None),
    pat(JS_FS_WRITE, "unlink", false, None),
    pat(JS_FS_WRITE, "unlinkSync", false, None),
    pat(JS_FS_WRITE, "rmdir", false, None),
    pat(JS_FS_WRITE, "rmdirSync", false, None),
    pat(JS_FS_WRITE, "rm", true, Some('(')),
    pat(JS_FS_WRITE, "rmSync", false, None),
];

/// Patterns for `.rs` files of crates.
const RUST_PATTERNS: &[Pattern] = &[
    pat(RUST_UNSAFE, "unsafe", false, None),
    pat(RUST_FFI, "extern", false, Some('"')),
];

/// One thing the scan found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// The rule's kind (`js-eval`); `type` in JSON, as in the index entry's
    /// `lastSecurityScan.findings`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What was found, and where to look.
    pub message: String,
    /// The file, relative to the package directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl Finding {
    fn new(rule: &Rule, message: String, file: Option<&str>, line: Option<u32>) -> Self {
        Self {
            severity: rule.severity,
            kind: rule.kind.to_string(),
            message,
            file: file.map(str::to_string),
            line,
        }
    }
}

/// The result of [`scan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    /// [`SCANNER_VERSION`].
    pub scanner_version: String,
    /// No high or critical finding.
    pub passed: bool,
    /// Every finding, most severe first.
    pub findings: Vec<Finding>,
}

impl ScanReport {
    /// The summary that goes into the signed manifest: counts by severity.
    pub fn summary(&self) -> ScanSummary {
        let mut counts = FindingCounts::default();
        for f in &self.findings {
            let slot = match f.severity {
                Severity::Critical => &mut counts.critical,
                Severity::High => &mut counts.high,
                Severity::Medium => &mut counts.medium,
                Severity::Low => &mut counts.low,
            };
            *slot = slot.saturating_add(1);
        }
        ScanSummary {
            scanner_version: self.scanner_version.clone(),
            passed: self.passed,
            findings: counts,
        }
    }
}

/// Run every rule on `package`.
pub fn scan(package: &Package) -> ScanReport {
    let mut findings = Vec::new();
    check_tier(package, &mut findings);
    check_capabilities(package, &mut findings);
    for (path, bytes) in &package.files {
        let patterns = match (package.kind, extension(path)) {
            (ArchiveKind::Npm, Some("js" | "mjs" | "cjs")) => JS_PATTERNS,
            (ArchiveKind::Crate, Some("rs")) => RUST_PATTERNS,
            _ => continue,
        };
        scan_source(
            path,
            &String::from_utf8_lossy(bytes),
            patterns,
            &mut findings,
        );
    }
    // Most severe first; stable, so file order is kept within a severity.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let passed = !findings.iter().any(|f| f.severity >= Severity::High);
    ScanReport {
        scanner_version: SCANNER_VERSION.to_string(),
        passed,
        findings,
    }
}

fn extension(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').map(|(_, ext)| ext)
}

fn check_tier(package: &Package, out: &mut Vec<Finding>) {
    let m = &package.manifest;
    let file = Some(package.manifest_file.as_str());
    let requested = m.trust.level;
    if let Err(problems) = m.check_tier(requested) {
        for p in problems {
            out.push(Finding::new(
                &TIER_VIOLATION,
                format!("at the requested tier {requested}: {p}"),
                file,
                None,
            ));
        }
    } else if requested > TrustTier::Community {
        if let Err(problems) = m.check_tier(TrustTier::Community) {
            for p in problems {
                out.push(Finding::new(
                    &COMMUNITY_LIMITS,
                    format!(
                        "asks for {requested} but runs as community until verified, where: {p}"
                    ),
                    file,
                    None,
                ));
            }
        }
    }
}

/// A host function and the capability behind it.
struct HostFn {
    name: &'static str,
    capability: &'static str,
    declared: fn(&clawdstrike_formats::manifest::Capabilities) -> bool,
}

const HOST_FNS: &[HostFn] = &[
    HostFn {
        name: "http-request",
        capability: "capabilities.network",
        declared: |c| !matches!(c.network, NetworkCapability::Denied),
    },
    HostFn {
        name: "read-file",
        capability: "capabilities.filesystem.read",
        declared: |c| !matches!(c.filesystem.read, PathAccess::Denied),
    },
    HostFn {
        name: "get-secret",
        capability: "capabilities.secrets",
        declared: |c| !matches!(c.secrets, SecretsCapability::Denied),
    },
];

fn check_capabilities(package: &Package, out: &mut Vec<Finding>) {
    let caps = &package.manifest.capabilities;
    let manifest_file = Some(package.manifest_file.as_str());
    let mut seen_paths: Vec<&str> = Vec::new();
    for c in &package.components {
        if seen_paths.contains(&c.path.as_str()) {
            continue;
        }
        seen_paths.push(&c.path);
        let bad = imports::disallowed(c.info.imports.iter().map(String::as_str));
        for import in bad {
            out.push(Finding::new(
                &DISALLOWED_IMPORT,
                format!("imports {import}, which the engine refuses at load"),
                Some(&c.path),
                None,
            ));
        }
        let used = c.info.host_functions();
        let whole_interface = c.info.is_componentize_js();
        for f in HOST_FNS {
            if !used.contains(&f.name) || (f.declared)(caps) {
                continue;
            }
            let finding = if whole_interface {
                Finding::new(
                    &CAPABILITY_UNVERIFIED,
                    format!(
                        "imports the host function {} (ComponentizeJS imports the whole host \
                         interface) and the manifest does not declare {}; if the guard calls \
                         it, every call is denied",
                        f.name, f.capability
                    ),
                    Some(&c.path),
                    None,
                )
            } else {
                Finding::new(
                    &UNDECLARED_CAPABILITY,
                    format!(
                        "imports the host function {} but the manifest does not declare {}; \
                         every call would be denied, or the manifest is hiding what the guard \
                         does: declare it or remove the call",
                        f.name, f.capability
                    ),
                    Some(&c.path),
                    None,
                )
            };
            out.push(finding);
        }
    }
    for f in HOST_FNS {
        let imported = package
            .components
            .iter()
            .any(|c| c.info.host_functions().contains(&f.name));
        if (f.declared)(caps) && !imported {
            out.push(Finding::new(
                &UNUSED_CAPABILITY,
                format!(
                    "declares {} but no component imports {}; remove the capability",
                    f.capability, f.name
                ),
                manifest_file,
                None,
            ));
        }
    }
    if !matches!(caps.filesystem.write, PathAccess::Denied) {
        out.push(Finding::new(
            &UNUSED_CAPABILITY,
            "declares capabilities.filesystem.write but the host has no function that writes \
             files; remove it"
                .into(),
            manifest_file,
            None,
        ));
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Whether `line` has `p` at an identifier boundary.
fn matches(line: &str, p: &Pattern) -> bool {
    for (at, _) in line.match_indices(p.word) {
        let before = line[..at].chars().next_back();
        if before.is_some_and(is_ident) {
            continue;
        }
        if p.after_dot && before != Some('.') {
            continue;
        }
        let rest = &line[at + p.word.len()..];
        if rest.chars().next().is_some_and(is_ident) {
            continue;
        }
        match p.next {
            None => return true,
            Some(want) => {
                if rest.trim_start().starts_with(want) {
                    return true;
                }
            }
        }
    }
    false
}

fn scan_source(path: &str, text: &str, patterns: &[Pattern], out: &mut Vec<Finding>) {
    // (rule kind, count) for this file.
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") || trimmed.starts_with("/*") || trimmed.starts_with('*') {
            continue;
        }
        let mut hit_on_line: Vec<&'static str> = Vec::new();
        for p in patterns {
            if hit_on_line.contains(&p.rule.kind) || !matches(line, p) {
                continue;
            }
            hit_on_line.push(p.rule.kind);
            let n = match counts.iter_mut().find(|(k, _)| *k == p.rule.kind) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((p.rule.kind, 1));
                    1
                }
            };
            if n <= MAX_FINDINGS_PER_FILE_RULE {
                out.push(Finding::new(
                    &p.rule,
                    format!("{}: `{}`", p.rule.summary, p.word),
                    Some(path),
                    Some(u32::try_from(i + 1).unwrap_or(u32::MAX)),
                ));
            }
        }
    }
    for (kind, n) in counts {
        if n > MAX_FINDINGS_PER_FILE_RULE {
            if let Some(rule) = RULES.iter().find(|r| r.kind == kind) {
                out.push(Finding::new(
                    rule,
                    format!(
                        "{} more lines match {} in this file",
                        n - MAX_FINDINGS_PER_FILE_RULE,
                        rule.kind
                    ),
                    Some(path),
                    None,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(line: &str, patterns: &[Pattern]) -> Vec<&'static str> {
        patterns
            .iter()
            .filter(|p| matches(line, p))
            .map(|p| p.word)
            .collect()
    }

    #[test]
    fn words_match_only_at_identifier_boundaries() {
        assert_eq!(hits("x = eval(y)", JS_PATTERNS), ["eval"]);
        assert_eq!(hits("x = eval (y)", JS_PATTERNS), ["eval"]);
        assert_eq!(hits("window.eval(y)", JS_PATTERNS), ["eval"]);
        assert!(hits("evaluate(y); medieval(z); eval_(q)", JS_PATTERNS).is_empty());
        assert!(hits("const evalResult = 1", JS_PATTERNS).is_empty());
        assert_eq!(hits("new Function('return 1')", JS_PATTERNS), ["Function"]);
        assert!(hits("myFunction(1); AsyncFunction", JS_PATTERNS).is_empty());
        assert_eq!(
            hits("import cp from 'node:child_process'", JS_PATTERNS),
            ["child_process"]
        );
        assert_eq!(hits("if (process.env.CI) {}", JS_PATTERNS), ["process.env"]);
        assert!(hits("subprocess.envelope", JS_PATTERNS).is_empty());
        assert_eq!(hits("await fs.promises.rm(p)", JS_PATTERNS), ["rm"]);
        assert!(hits("rm(p); form(x); farm.rm; x.rmx()", JS_PATTERNS).is_empty());
        assert_eq!(hits("fs.unlinkSync(p)", JS_PATTERNS), ["unlinkSync"]);
        assert_eq!(hits("unsafe { x }", RUST_PATTERNS), ["unsafe"]);
        assert_eq!(hits("extern \"C\" { fn f(); }", RUST_PATTERNS), ["extern"]);
        assert!(hits("extern crate alloc; let unsafe_ok = 1;", RUST_PATTERNS).is_empty());
    }

    #[test]
    fn every_pattern_uses_a_rule_from_the_table() {
        for p in JS_PATTERNS.iter().chain(RUST_PATTERNS) {
            assert!(RULES.contains(&p.rule), "{}", p.word);
        }
        let mut kinds: Vec<&str> = RULES.iter().map(|r| r.kind).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), RULES.len(), "rule kinds are unique");
    }

    #[test]
    fn the_report_and_its_summary_serialise_as_the_contract_says() {
        let report = ScanReport {
            scanner_version: SCANNER_VERSION.into(),
            passed: false,
            findings: vec![
                Finding::new(&TIER_VIOLATION, "x".into(), Some("m.json"), None),
                Finding::new(&JS_EVAL, "y".into(), Some("a.js"), Some(3)),
                Finding::new(&JS_EVAL, "z".into(), None, None),
            ],
        };
        let json = serde_json::to_value(&report).expect("serialises");
        assert_eq!(json["scannerVersion"], SCANNER_VERSION);
        assert_eq!(json["findings"][0]["severity"], "high");
        assert_eq!(json["findings"][0]["type"], "tier-violation");
        assert_eq!(json["findings"][1]["line"], 3);
        assert!(json["findings"][2].get("file").is_none());
        let summary = serde_json::to_value(report.summary()).expect("serialises");
        assert_eq!(
            summary,
            serde_json::json!({
                "scannerVersion": SCANNER_VERSION,
                "passed": false,
                "findings": {"critical": 0, "high": 1, "medium": 2, "low": 0}
            })
        );
    }

    #[test]
    fn extensions_are_taken_from_the_file_name() {
        assert_eq!(extension("lib/index.js"), Some("js"));
        assert_eq!(extension("a.b/c"), None);
        assert_eq!(extension("x.test.mjs"), Some("mjs"));
    }
}
