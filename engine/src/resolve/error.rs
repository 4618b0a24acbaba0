//! Why a package could not be resolved, fetched or verified.

use std::path::PathBuf;

use crate::signed::VerifyError;

/// A resolution failure. Every message names the package and, where one is involved, the
/// registry, and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No registry is configured.
    #[error(
        "cannot resolve package `{package}`: no registry is configured ({source_hint}); add a \
         `registries:` entry to clawdstrike.yaml next to the policy, or name a configuration \
         with --registry-config or $CLAWDSTRIKE_CONFIG"
    )]
    NoRegistry {
        /// Package name.
        package: String,
        /// Where the configuration came from, or that none was found.
        source_hint: String,
    },
    /// The package name or version is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// No registry has the package.
    #[error("no package {package} in registry {}", registries.join(", "))]
    NotFound {
        /// Package name.
        package: String,
        /// The registries asked.
        registries: Vec<String>,
    },
    /// The package exists but no version can be used.
    #[error("{package}@{range} in registry {registry}: {reason}")]
    NoVersion {
        /// Package name.
        package: String,
        /// The constraint.
        range: String,
        /// The registry.
        registry: String,
        /// What exists and why none fits.
        reason: String,
    },
    /// A registry could not be reached (and no verified cached version could stand in).
    #[error("registry {registry} ({url}) is unreachable: {message}")]
    Unreachable {
        /// The registry.
        registry: String,
        /// What was requested.
        url: String,
        /// The transport error, and what the cache had.
        message: String,
    },
    /// The registry answered with an error or something unreadable.
    #[error("registry {registry}: {url}: {message}")]
    Http {
        /// The registry.
        registry: String,
        /// What was requested.
        url: String,
        /// The status and problem details, or the parse error.
        message: String,
    },
    /// The registry has no pinned keys, so nothing from it can be verified.
    #[error(
        "registry {registry} has no pinned signing keys, so {package} cannot be verified; \
         run `clawdstrike guard keys {url}`, check the printed keys out of band, and add the \
         `keys:` block to the registry `{registry}` in {config}"
    )]
    NoKeys {
        /// The registry.
        registry: String,
        /// Its URL.
        url: String,
        /// Package name.
        package: String,
        /// The configuration file.
        config: String,
    },
    /// The signed manifest did not verify.
    #[error("{package}@{version} from registry {registry}: {source}")]
    Verify {
        /// The registry.
        registry: String,
        /// Package name.
        package: String,
        /// Version.
        version: String,
        /// What failed.
        source: Box<VerifyError>,
    },
    /// The signed manifest is valid but not acceptable (other package, trust tier below
    /// the configuration's minimum, integrity differs from the policy's pin, unsafe paths).
    #[error("{package}@{version} from registry {registry}: {message}")]
    Refused {
        /// The registry.
        registry: String,
        /// Package name.
        package: String,
        /// Version.
        version: String,
        /// Why.
        message: String,
    },
    /// A download is larger than allowed.
    #[error("registry {registry}: {url}: the response is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The registry.
        registry: String,
        /// What was requested.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The cached copy does not verify: someone changed it.
    #[error(
        "the cached copy of {package}@{version} at {} was modified after it was verified \
         ({message}); it is refused. Delete that directory to download the package again",
        path.display()
    )]
    CacheTampered {
        /// Package name.
        package: String,
        /// Version.
        version: String,
        /// The version directory.
        path: PathBuf,
        /// What does not match.
        message: String,
    },
    /// The cache directory could not be used.
    #[error("package cache {}: {message}", path.display())]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
}
