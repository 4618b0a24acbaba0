//! Why a manifest could not be read, parsed or accepted.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a manifest that parsed: the field (in its JSON spelling, e.g.
/// `capabilities.filesystem.read[0]`) and a message that says why and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ManifestProblem {
    /// The field, JSON spelling, dotted with `[index]` for list entries.
    pub field: String,
    /// Why the field is refused and what to write instead.
    pub message: String,
}

impl ManifestProblem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ManifestProblem {}

/// Why a manifest could not be loaded. Every variant names the file (or the directory that
/// was searched); parse errors also carry the 1-based line and column.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is larger than [`super::MAX_MANIFEST_BYTES`].
    #[error("{}: the manifest is larger than the limit of {limit} bytes", path.display())]
    TooLarge {
        /// The manifest.
        path: PathBuf,
        /// The limit in force, in bytes.
        limit: usize,
    },
    /// Not valid JSON/TOML, or valid but not the manifest's shape (unknown field, wrong type,
    /// bad value, list too long, ...). `message` starts with the field path when there is one.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The manifest.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong, e.g. `guards[0].handles[1]: unknown event type "file_delete"; ...`.
        message: String,
    },
    /// The manifest parsed but is refused as a whole (for example by a trust-tier check).
    #[error("{}: {}", path.display(), ProblemList(problems))]
    Invalid {
        /// The manifest.
        path: PathBuf,
        /// Everything that is wrong.
        problems: Vec<ManifestProblem>,
    },
    /// A package directory holds both `clawdstrike.plugin.json` and `clawdstrike.plugin.toml`,
    /// so which one counts would be a guess.
    #[error(
        "{}: holds both clawdstrike.plugin.json and clawdstrike.plugin.toml; keep exactly one",
        dir.display()
    )]
    Ambiguous {
        /// The package directory.
        dir: PathBuf,
    },
    /// A package directory holds no manifest.
    #[error(
        "{}: no clawdstrike.plugin.json or clawdstrike.plugin.toml in this directory",
        dir.display()
    )]
    NotFound {
        /// The package directory.
        dir: PathBuf,
    },
    /// A manifest file whose name ends in neither `.json` nor `.toml`.
    #[error("{}: a manifest file must end in .json or .toml", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A guard's entrypoint is not a file inside the package.
    #[error("{}: guard \"{guard}\": entrypoint \"{entrypoint}\" {reason}", path.display())]
    Entrypoint {
        /// The manifest.
        path: PathBuf,
        /// The guard's name.
        guard: String,
        /// The entrypoint as written.
        entrypoint: String,
        /// Why it is refused.
        reason: String,
    },
}

/// Joins problems for one-line display.
struct ProblemList<'a>(&'a [ManifestProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("invalid manifest"),
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems: ", many.len())?;
                for (i, p) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_displays_field_then_message() {
        let p = ManifestProblem::new("capabilities.subprocess", "not allowed");
        assert_eq!(p.to_string(), "capabilities.subprocess: not allowed");
    }

    #[test]
    fn parse_error_displays_path_line_and_column() {
        let e = ManifestError::Parse {
            path: "pkg/clawdstrike.plugin.json".into(),
            line: 7,
            column: 19,
            message: "guards[0].name: bad".into(),
        };
        assert_eq!(
            e.to_string(),
            "pkg/clawdstrike.plugin.json:7:19: guards[0].name: bad"
        );
    }

    #[test]
    fn invalid_lists_every_problem() {
        let e = ManifestError::Invalid {
            path: "m.json".into(),
            problems: vec![
                ManifestProblem::new("a", "x"),
                ManifestProblem::new("b", "y"),
            ],
        };
        assert_eq!(e.to_string(), "m.json: 2 problems: a: x; b: y");
    }
}
