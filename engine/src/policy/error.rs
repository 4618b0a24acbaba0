//! Everything that can be wrong with a policy, each with where it is.

use std::fmt;
use std::path::PathBuf;

/// Where a problem is: the file (or built-in ruleset), and a line and column when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, or `<ruleset:NAME>`, or `<string>`.
    pub source: String,
    /// 1-based line and column.
    pub line_col: Option<(usize, usize)>,
    /// The field path (`guards.secret_leak.patterns[1].pattern`), when known.
    pub field: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some((l, c)) = self.line_col {
            write!(f, ":{l}:{c}")?;
        }
        if let Some(field) = &self.field {
            write!(f, " ({field})")?;
        }
        Ok(())
    }
}

/// One problem with a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub location: Location,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// A policy that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// One or more problems, each located.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl PolicyError {
    /// A single located problem.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        PolicyError::Invalid(vec![Problem {
            location,
            message: message.into(),
        }])
    }

    /// Every problem (an I/O error is one problem without a line).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            PolicyError::Io { path, message } => vec![Problem {
                location: Location {
                    source: path.display().to_string(),
                    line_col: None,
                    field: None,
                },
                message: message.clone(),
            }],
            PolicyError::Invalid(p) => p.clone(),
        }
    }
}
