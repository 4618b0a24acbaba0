//! Why a guard package could not be loaded.

use std::path::PathBuf;

use crate::plugin::manifest::{ManifestError, ManifestProblem};

/// A load failure. Every variant names the package or file and says what to fix; the
/// engine reports it at the policy entry that asked for the guard.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The manifest could not be read or is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest asks for more than the guard's trust tier allows, or than the policy
    /// allows it.
    #[error("{package}: not allowed to run as {tier}: {}", join(problems))]
    Refused {
        /// Package name.
        package: String,
        /// The tier it would run at.
        tier: String,
        /// What is wrong, field by field.
        problems: Vec<ManifestProblem>,
    },
    /// The component file could not be read or compiled.
    #[error("{}: {message}", path.display())]
    Component {
        /// The component file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The component imports something outside the guard world and the deny-all WASI set.
    #[error("{}: the component imports interfaces a guard may not use: {} (a guard may import only clawdstrike:guard@1.0.0 and the WASI cli/io/clocks/random/filesystem 0.2 interfaces, which are linked deny-all)", path.display(), imports.join(", "))]
    Imports {
        /// The component file.
        path: PathBuf,
        /// The offending imports.
        imports: Vec<String>,
    },
    /// `describe` disagrees with the manifest, or failed.
    #[error("guard `{guard}`: {message}")]
    Describe {
        /// Guard name from the manifest.
        guard: String,
        /// What disagrees.
        message: String,
    },
    /// The policy's `config` does not match the guard's `configSchema`.
    #[error("guard `{guard}`: config does not match its configSchema: {}", errors.join("; "))]
    Config {
        /// Guard name.
        guard: String,
        /// Each violation, with its JSON pointer.
        errors: Vec<String>,
    },
    /// The guard's `init` refused the configuration, or the guard failed while starting.
    #[error("guard `{guard}` refused its configuration: {message}")]
    Init {
        /// Guard name.
        guard: String,
        /// The guard's message.
        message: String,
    },
    /// The WebAssembly runtime could not be set up.
    #[error("cannot start the WebAssembly runtime: {0}")]
    Runtime(String),
}

fn join(problems: &[ManifestProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
