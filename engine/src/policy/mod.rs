//! Policies: the model ([`model`]), reading and `extends` ([`load`]), merging ([`merge`]),
//! placeholders ([`placeholders`]) and the built-in rulesets ([`rulesets`]).
//!
//! A [`Policy`] is the *effective* policy: the `extends` chain merged, placeholders
//! expanded, and every built-in guard section present (an absent section means the guard
//! runs with its defaults; only `enabled: false` turns one off).

pub mod error;
pub mod load;
pub mod locate;
pub mod merge;
pub mod model;
pub mod placeholders;
pub mod rulesets;

use std::path::{Path, PathBuf};

pub use error::{Location, PolicyError, Problem};
pub use load::{LoadOptions, Source};
pub use model::{PolicyFile, Settings};

use locate::YamlPath;
use model::GuardsSection;

/// An effective policy, ready to build an [`crate::Engine`] from.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The merged document with every built-in guard section filled in.
    pub file: PolicyFile,
    /// Where the top document came from.
    pub source: Source,
    /// The top document's text, used to point errors found later at a line.
    text: String,
}

impl Policy {
    /// Load from YAML text; relative `extends` resolve against the current directory.
    pub fn from_yaml(text: &str) -> Result<Self, PolicyError> {
        Self::load(text, Source::Text, &LoadOptions::default())
    }

    /// Load a policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        Self::from_file_with(path, &LoadOptions::default())
    }

    /// Load a policy file with options.
    pub fn from_file_with(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let io = |e: std::io::Error| PolicyError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() as usize > opts.max_policy_bytes {
            return Err(PolicyError::at(
                Location {
                    source: path.display().to_string(),
                    line_col: None,
                    field: None,
                },
                format!(
                    "policy is {} bytes, larger than the limit of {} bytes",
                    meta.len(),
                    opts.max_policy_bytes
                ),
            ));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            PolicyError::at(
                Location {
                    source: path.display().to_string(),
                    line_col: None,
                    field: None,
                },
                format!(
                    "policy is not valid UTF-8 (byte {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })?;
        Self::load(&text, Source::File(path.to_path_buf()), opts)
    }

    /// A built-in ruleset by name (`default`, `clawdstrike:strict`, ...).
    pub fn ruleset(name: &str) -> Result<Self, PolicyError> {
        let Some(yaml) = rulesets::ruleset(name) else {
            return Err(PolicyError::at(
                Location {
                    source: format!("<ruleset:{name}>"),
                    line_col: None,
                    field: None,
                },
                format!(
                    "unknown built-in ruleset `{name}` (built-in: {})",
                    rulesets::names().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        let name = name.strip_prefix("clawdstrike:").unwrap_or(name);
        Self::load(
            yaml,
            Source::Ruleset(name.to_string()),
            &LoadOptions::default(),
        )
    }

    /// Load from text with an explicit source and options.
    pub fn load(text: &str, source: Source, opts: &LoadOptions) -> Result<Self, PolicyError> {
        let merged = load::load_chain(text, source.clone(), opts)?;
        Ok(Policy {
            file: effective(merged),
            source,
            text: text.to_string(),
        })
    }

    /// Effective settings.
    pub fn settings(&self) -> Settings {
        Settings::from(&self.file.settings.clone().unwrap_or_default())
    }

    /// The directory relative paths in this policy resolve against.
    pub fn base_dir(&self) -> PathBuf {
        match &self.source {
            Source::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            _ => PathBuf::from("."),
        }
    }

    /// The effective policy as YAML (`policy show --resolved`).
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(&self.file)
            .unwrap_or_else(|e| format!("# cannot render policy: {e}\n"))
    }

    /// An error about a field of this policy, located in the top document when it is there.
    pub fn problem(&self, field: &str, message: impl Into<String>) -> Problem {
        let path = YamlPath::parse(field);
        Problem {
            location: Location {
                source: self.source.describe(),
                line_col: locate::locate(&self.text, &path),
                field: Some(field.to_string()),
            },
            message: message.into(),
        }
    }
}

/// Every built-in guard section present, with defaults applied to what was absent (a
/// section as written is used as written: its own `additional_*`/`remove_*` apply to its
/// lists when the guard is built).
fn effective(mut file: PolicyFile) -> PolicyFile {
    let g = std::mem::take(&mut file.guards);
    file.guards = GuardsSection {
        custom: g.custom.clone(),
        composition: g.composition.clone(),
        ..g.combine_builtins(&g, &crate::guards::builtin::Fill)
    };
    if file.version.is_none() {
        file.version = Some(model::DEFAULT_VERSION.to_string());
    }
    file.extends = None;
    file.merge_strategy = None;
    file
}
