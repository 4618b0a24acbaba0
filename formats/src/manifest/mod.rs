//! The guard package manifest: `clawdstrike.plugin.json` (npm packages, camelCase) and
//! `clawdstrike.plugin.toml` (crates, snake_case under `[plugin]`, `[clawdstrike]`,
//! `[[guards]]`, `[capabilities]`, `[resources]`, `[trust]`) parse into one
//! [`PluginManifest`], with defaults applied and every value checked. The JSON form is
//! also described by `sdk/schema/clawdstrike.plugin.schema.json`; `docs/plugin-manifest.md`
//! documents every field.
//!
//! ```
//! use clawdstrike_formats::manifest::{PluginManifest, TrustTier};
//! use std::path::Path;
//!
//! let m = PluginManifest::from_json_str(r#"{
//!     "version": "1.0.0",
//!     "name": "@acme/secrets-guard",
//!     "guards": [{"name": "acme_secrets", "entrypoint": "dist/guard.wasm",
//!                 "handles": ["file_write"]}],
//!     "capabilities": {"network": {"allowedHosts": ["api.acme.example"]}}
//! }"#, Path::new("clawdstrike.plugin.json")).unwrap();
//! assert_eq!(m.resources.max_memory_mb, 64);
//! assert!(m.check_tier(TrustTier::Community).is_ok());
//! ```
//!
//! Layout: `model` (the types), `node` (both syntaxes to one positioned tree),
//! `build` (fields, types, defaults, limits), `rules` (names, hosts, globs, versions),
//! `tier` (trust-tier restrictions), `trust_override` (the policy side), `error`.

mod build;
mod error;
mod model;
mod node;
pub mod rules;
mod tier;
mod trust_override;

#[cfg(test)]
mod tests;

pub use error::{ManifestError, ManifestProblem};
pub use model::*;
pub use node::toml_to_json;
pub use tier::{effective_tier, tier_resource_limits};
pub use trust_override::{CapabilityName, TrustOverride};

use node::{Source, Syntax};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Largest manifest file accepted (256 KiB).
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;
/// Most guards in one package.
pub const MAX_GUARDS: usize = 32;
/// Most entries in one host, glob, key or method list.
pub const MAX_LIST_ENTRIES: usize = 256;
/// Longest string value, in bytes.
pub const MAX_STRING_BYTES: usize = 1024;
/// The JSON manifest's file name.
pub const JSON_MANIFEST: &str = "clawdstrike.plugin.json";
/// The TOML manifest's file name.
pub const TOML_MANIFEST: &str = "clawdstrike.plugin.toml";

/// A manifest read from disk, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedManifest {
    /// The manifest.
    pub manifest: PluginManifest,
    /// The manifest file.
    pub manifest_path: PathBuf,
    /// The package directory (the manifest's directory); entrypoints are relative to it.
    pub package_dir: PathBuf,
}

pub(crate) fn check_size(text: &str, origin: &Path) -> Result<(), ManifestError> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge {
            path: origin.to_path_buf(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    Ok(())
}

impl PluginManifest {
    /// Parse the JSON form. `origin` names the file in errors.
    pub fn from_json_str(text: &str, origin: &Path) -> Result<Self, ManifestError> {
        check_size(text, origin)?;
        let src = Source {
            text,
            origin,
            syntax: Syntax::Json,
        };
        let root = node::parse_json(&src)?;
        build::build(&src, &root)
    }

    /// Parse the TOML form. `origin` names the file in errors.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Self, ManifestError> {
        check_size(text, origin)?;
        let src = Source {
            text,
            origin,
            syntax: Syntax::Toml,
        };
        let root = node::parse_toml(&src)?;
        build::build(&src, &root)
    }

    /// Load a manifest from a package directory (which must hold exactly one of
    /// `clawdstrike.plugin.json` and `clawdstrike.plugin.toml`) or from a manifest file
    /// (`.json` or `.toml`).
    pub fn load(path: &Path) -> Result<LoadedManifest, ManifestError> {
        let meta = std::fs::metadata(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (manifest_path, syntax) = if meta.is_dir() {
            let json = path.join(JSON_MANIFEST);
            let toml = path.join(TOML_MANIFEST);
            match (exists(&json)?, exists(&toml)?) {
                (true, true) => {
                    return Err(ManifestError::Ambiguous {
                        dir: path.to_path_buf(),
                    })
                }
                (true, false) => (json, Syntax::Json),
                (false, true) => (toml, Syntax::Toml),
                (false, false) => {
                    return Err(ManifestError::NotFound {
                        dir: path.to_path_buf(),
                    })
                }
            }
        } else {
            let syntax = match path.extension().and_then(|e| e.to_str()) {
                Some("json") => Syntax::Json,
                Some("toml") => Syntax::Toml,
                _ => {
                    return Err(ManifestError::UnknownFormat {
                        path: path.to_path_buf(),
                    })
                }
            };
            (path.to_path_buf(), syntax)
        };
        // Only a regular file: a FIFO would block the loader and a device could be endless.
        let is_file = std::fs::metadata(&manifest_path)
            .map_err(|source| ManifestError::Io {
                path: manifest_path.clone(),
                source,
            })?
            .is_file();
        if !is_file {
            return Err(ManifestError::Io {
                path: manifest_path,
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file; a manifest must be a plain file",
                ),
            });
        }
        let text = read_capped(&manifest_path)?;
        let manifest = match syntax {
            Syntax::Json => Self::from_json_str(&text, &manifest_path)?,
            Syntax::Toml => Self::from_toml_str(&text, &manifest_path)?,
        };
        let package_dir = match manifest_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(LoadedManifest {
            manifest,
            manifest_path,
            package_dir,
        })
    }

    /// The guard called `name`, if the package has one.
    pub fn guard(&self, name: &str) -> Option<&GuardDecl> {
        self.guards.iter().find(|g| g.name == name)
    }
}

fn exists(p: &Path) -> Result<bool, ManifestError> {
    p.try_exists().map_err(|source| ManifestError::Io {
        path: p.to_path_buf(),
        source,
    })
}

/// Read at most [`MAX_MANIFEST_BYTES`] (+1 to detect more) and decode UTF-8, so that a
/// huge or endless file (`/dev/zero`) costs no more than the cap.
fn read_capped(path: &Path) -> Result<String, ManifestError> {
    let io = |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = std::str::from_utf8(&bytes[..bad]).unwrap_or_default();
        let (line, column) = node::line_column(valid, valid.len());
        ManifestError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: format!(
                "the file is not valid UTF-8 (byte 0x{:02x}); save it as UTF-8",
                bytes.get(bad).copied().unwrap_or(0)
            ),
        }
    })
}

impl LoadedManifest {
    /// [`PluginManifest::check_tier`] as a [`ManifestError::Invalid`] naming the manifest
    /// file, for callers that report load failures as one error type.
    pub fn ensure_tier(&self, tier: TrustTier) -> Result<(), ManifestError> {
        self.manifest
            .check_tier(tier)
            .map_err(|problems| ManifestError::Invalid {
                path: self.manifest_path.clone(),
                problems,
            })
    }

    /// The absolute, canonical path of `guard`'s component. Refuses an absolute entrypoint,
    /// one with `..` components, and one that (after resolving symlinks) lies outside the
    /// package directory. The file must exist.
    pub fn entrypoint_path(&self, guard: &GuardDecl) -> Result<PathBuf, ManifestError> {
        let refuse = |reason: String| ManifestError::Entrypoint {
            path: self.manifest_path.clone(),
            guard: guard.name.clone(),
            entrypoint: guard.entrypoint.clone(),
            reason,
        };
        // The same rules the parser applies, again: `guard` may have been built by hand.
        rules::entrypoint(&guard.entrypoint).map_err(|m| refuse(format!("is refused: {m}")))?;
        let rel = Path::new(&guard.entrypoint);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(refuse(
                "is refused: it must be a relative path inside the package".into(),
            ));
        }
        let dir = self
            .package_dir
            .canonicalize()
            .map_err(|source| ManifestError::Io {
                path: self.package_dir.clone(),
                source,
            })?;
        let full = dir.join(rel);
        let resolved = full.canonicalize().map_err(|e| {
            refuse(format!(
                "cannot be opened ({}): {e}; build the package first (scripts/build-guards.sh)",
                full.display()
            ))
        })?;
        if !resolved.starts_with(&dir) {
            return Err(refuse(format!(
                "resolves to {}, outside the package directory {} (through a symlink); the \
                 component must be a file inside the package",
                resolved.display(),
                dir.display()
            )));
        }
        if !resolved.is_file() {
            return Err(refuse(format!("is not a file ({})", resolved.display())));
        }
        Ok(resolved)
    }
}
