//! Reading policy documents: size and YAML limits, version checks, placeholders, and the
//! `extends` chain (built-in rulesets or relative paths, cycles refused).

use std::path::{Path, PathBuf};

use serde_saphyr::{Budget, DuplicateKeyPolicy};

use super::error::{Location, PolicyError};
use super::locate::{locate, YamlPath};
use super::merge::merge;
use super::model::{PolicyFile, DEFAULT_VERSION, SUPPORTED_VERSIONS};
use super::placeholders::Resolver;
use super::rulesets;

/// Limits and switches for loading.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Largest policy document accepted, in bytes (default 1 MiB).
    pub max_policy_bytes: usize,
    /// Longest `extends` chain (default 16).
    pub max_extends_depth: usize,
    /// Placeholder values; `None` leaves `${...}` as written (for `policy show`).
    pub resolver: Option<Resolver>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_policy_bytes: 1024 * 1024,
            max_extends_depth: 16,
            resolver: Some(Resolver::default()),
        }
    }
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// A built-in ruleset.
    Ruleset(String),
    /// A string given by the caller.
    Text,
}

impl Source {
    /// How the source is named in messages.
    pub fn describe(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Ruleset(n) => format!("<ruleset:{n}>"),
            Source::Text => "<policy>".to_string(),
        }
    }

    /// The directory relative paths in the policy are resolved against.
    pub fn dir(&self) -> PathBuf {
        match self {
            Source::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            _ => PathBuf::from("."),
        }
    }
}

/// A located problem in a document.
pub(crate) fn problem_at(
    source: &Source,
    text: &str,
    field: &YamlPath,
    message: impl Into<String>,
) -> PolicyError {
    PolicyError::at(
        Location {
            source: source.describe(),
            line_col: locate(text, field),
            field: Some(field.to_string()).filter(|f| !f.is_empty()),
        },
        message,
    )
}

fn yaml_options() -> serde_saphyr::Options {
    // Alias bombs and deep nesting are refused by the parser's budget before any memory
    // is spent on them.
    let mut budget = Budget::default();
    budget.max_aliases = 256;
    budget.max_anchors = 256;
    budget.max_depth = 64;
    budget.max_nodes = 250_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = 4 * 1024 * 1024;
    serde_saphyr::options! {
        budget: Some(budget),
        duplicate_keys: DuplicateKeyPolicy::Error,
    }
}

/// Parse one document (no `extends` resolution).
pub fn parse_document(
    text: &str,
    source: &Source,
    opts: &LoadOptions,
) -> Result<PolicyFile, PolicyError> {
    if text.len() > opts.max_policy_bytes {
        return Err(PolicyError::at(
            Location {
                source: source.describe(),
                line_col: None,
                field: None,
            },
            format!(
                "policy is {} bytes, larger than the limit of {} bytes",
                text.len(),
                opts.max_policy_bytes
            ),
        ));
    }
    let file: PolicyFile =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
            let line_col = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize));
            PolicyError::at(
                Location {
                    source: source.describe(),
                    line_col,
                    field: None,
                },
                first_line(&e.to_string()),
            )
        })?;
    check_version(&file, text, source)?;
    match &opts.resolver {
        Some(resolver) => expand(file, text, source, resolver),
        None => Ok(file),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

fn check_version(file: &PolicyFile, text: &str, source: &Source) -> Result<(), PolicyError> {
    let version = file.version.as_deref().unwrap_or(DEFAULT_VERSION);
    let strict = version.split('.').count() == 3
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !strict || !SUPPORTED_VERSIONS.contains(&version) {
        return Err(problem_at(
            source,
            text,
            &YamlPath::parse("version"),
            format!(
                "policy version `{version}` is not supported: this engine reads {} \
                 (write `version: \"1.2.0\"`; the 1.1.0 and 1.2.0 schemas are the same \
                 but for `path_allowlist` and `posture`)",
                SUPPORTED_VERSIONS.join(" and ")
            ),
        ));
    }
    if version == "1.1.0" {
        for (present, field) in [
            (
                file.guards.path_allowlist.is_some(),
                "guards.path_allowlist",
            ),
            (file.posture.is_some(), "posture"),
        ] {
            if present {
                return Err(problem_at(
                    source,
                    text,
                    &YamlPath::parse(field),
                    format!("`{field}` needs policy version 1.2.0 (this file says 1.1.0)"),
                ));
            }
        }
    }
    Ok(())
}

fn expand(
    file: PolicyFile,
    text: &str,
    source: &Source,
    resolver: &Resolver,
) -> Result<PolicyFile, PolicyError> {
    if !text.contains("${") {
        return Ok(file);
    }
    let internal = |e: serde_json::Error| {
        problem_at(source, text, &YamlPath::default(), format!("internal: {e}"))
    };
    let mut value = serde_json::to_value(&file).map_err(internal)?;
    resolver
        .expand_value(&mut value)
        .map_err(|(path, msg)| problem_at(source, text, &path, msg))?;
    serde_json::from_value(value).map_err(|e| {
        problem_at(
            source,
            text,
            &YamlPath::default(),
            format!("after expanding placeholders: {e}"),
        )
    })
}

/// Load a document and everything it extends, merged.
pub fn load_chain(
    text: &str,
    source: Source,
    opts: &LoadOptions,
) -> Result<PolicyFile, PolicyError> {
    let mut chain = Vec::new();
    load_recursive(text, source, opts, &mut chain)
}

fn load_recursive(
    text: &str,
    source: Source,
    opts: &LoadOptions,
    chain: &mut Vec<Source>,
) -> Result<PolicyFile, PolicyError> {
    let doc = parse_document(text, &source, opts)?;
    let Some(extends) = doc.extends.clone() else {
        return Ok(doc);
    };
    let at_extends = |msg: String| problem_at(&source, text, &YamlPath::parse("extends"), msg);
    if chain.len() >= opts.max_extends_depth {
        return Err(at_extends(format!(
            "`extends` chain is deeper than {} policies",
            opts.max_extends_depth
        )));
    }
    let (base_source, base_text) = match rulesets::ruleset(&extends) {
        Some(yaml) => (
            Source::Ruleset(
                extends
                    .strip_prefix("clawdstrike:")
                    .unwrap_or(&extends)
                    .to_string(),
            ),
            yaml.to_string(),
        ),
        None if extends.starts_with("clawdstrike:") => {
            return Err(at_extends(format!(
                "unknown built-in ruleset `{extends}` (built-in: {})",
                rulesets::names().collect::<Vec<_>>().join(", ")
            )))
        }
        None => {
            let path = source.dir().join(&extends);
            let canonical = path.canonicalize().map_err(|e| {
                at_extends(format!(
                    "`{extends}` is neither a built-in ruleset ({}) nor a readable file ({}: {e})",
                    rulesets::names().collect::<Vec<_>>().join(", "),
                    path.display()
                ))
            })?;
            let meta = std::fs::metadata(&canonical)
                .map_err(|e| at_extends(format!("{}: {e}", canonical.display())))?;
            if meta.len() as usize > opts.max_policy_bytes {
                return Err(at_extends(format!(
                    "{} is {} bytes, larger than the limit of {} bytes",
                    canonical.display(),
                    meta.len(),
                    opts.max_policy_bytes
                )));
            }
            let text = std::fs::read_to_string(&canonical)
                .map_err(|e| at_extends(format!("cannot read {}: {e}", canonical.display())))?;
            (Source::File(canonical), text)
        }
    };
    let this = match &source {
        Source::File(p) => Source::File(p.canonicalize().unwrap_or_else(|_| p.clone())),
        other => other.clone(),
    };
    chain.push(this);
    if chain.contains(&base_source) {
        let mut names: Vec<String> = chain.iter().map(Source::describe).collect();
        names.push(base_source.describe());
        return Err(at_extends(format!(
            "`extends` cycle: {}",
            names.join(" -> ")
        )));
    }
    let base = load_recursive(&base_text, base_source, opts, chain)?;
    chain.pop();
    Ok(merge(&base, &doc))
}
