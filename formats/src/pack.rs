//! Packing a guard's source directory into the archive a publish takes: an npm tarball
//! (`package/…`) when it has a `package.json`, else a `.crate`-style tarball
//! (`<name>-<version>/…`) from its `Cargo.toml`. Only what the registry reads goes in:
//! the package metadata, the plugin manifest, the readme and the components the manifest
//! names. Workspace-inherited `Cargo.toml` fields are resolved, as `cargo package` does.

use std::path::{Path, PathBuf};

use crate::manifest::PluginManifest;
use flate2::write::GzEncoder;

/// A directory that cannot be packed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The directory is not a guard package.
    #[error("{0}")]
    NotAPackage(String),
}

fn read(path: &Path) -> Result<Vec<u8>, PackError> {
    std::fs::read(path).map_err(|e| PackError::Read {
        path: path.into(),
        message: e.to_string(),
    })
}

/// An archive ready to publish.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Suggested file name.
    pub file_name: String,
    /// The gzip'd tar bytes.
    pub bytes: Vec<u8>,
}

/// Packs `dir`.
pub fn pack_dir(dir: &Path) -> Result<Packed, PackError> {
    let canonical = dir.canonicalize().map_err(|e| PackError::Read {
        path: dir.into(),
        message: e.to_string(),
    })?;
    let dir = canonical.as_path();
    let loaded = PluginManifest::load(dir).map_err(|e| PackError::NotAPackage(e.to_string()))?;
    let manifest_path = loaded.manifest_path.clone();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let (root, name, version, file_name) = if dir.join("package.json").is_file() {
        let text = read(&dir.join("package.json"))?;
        let json: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| PackError::NotAPackage(format!("{}/package.json: {e}", dir.display())))?;
        let name = json["name"].as_str().unwrap_or_default().to_string();
        let version = json["version"].as_str().unwrap_or_default().to_string();
        files.push(("package.json".into(), text));
        let base = name.trim_start_matches('@').replace('/', "-");
        (
            "package".to_string(),
            name,
            version.clone(),
            format!("{base}-{version}.tgz"),
        )
    } else if dir.join("Cargo.toml").is_file() {
        let (toml_text, name, version) = normalised_cargo_toml(dir)?;
        files.push(("Cargo.toml".into(), toml_text.into_bytes()));
        (
            format!("{name}-{version}"),
            name.clone(),
            version.clone(),
            format!("{name}-{version}.crate"),
        )
    } else {
        return Err(PackError::NotAPackage(format!(
            "{} has neither package.json nor Cargo.toml",
            dir.display()
        )));
    };
    if name.is_empty() || version.is_empty() {
        return Err(PackError::NotAPackage(format!(
            "{}: the package metadata needs a name and a version",
            dir.display()
        )));
    }
    let manifest_name = manifest_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("clawdstrike.plugin.json");
    files.push((manifest_name.to_string(), read(&manifest_path)?));
    if dir.join("README.md").is_file() {
        files.push(("README.md".into(), read(&dir.join("README.md"))?));
    }
    for guard in &loaded.manifest.guards {
        let path = loaded
            .entrypoint_path(guard)
            .map_err(|e| PackError::NotAPackage(e.to_string()))?;
        let rel = path
            .strip_prefix(dir)
            .map_err(|_| {
                PackError::NotAPackage(format!("{} is outside {}", path.display(), dir.display()))
            })?
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = read(&path).map_err(|e| {
            PackError::NotAPackage(format!(
                "{e} (build the guard's component first, e.g. scripts/build-guards.sh)"
            ))
        })?;
        if !files.iter().any(|(p, _)| *p == rel) {
            files.push((rel, bytes));
        }
    }
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::default()));
    for (path, bytes) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, format!("{root}/{path}"), bytes.as_slice())
            .map_err(|e| PackError::Read {
                path: dir.into(),
                message: e.to_string(),
            })?;
    }
    let gz = tar.into_inner().map_err(|e| PackError::Read {
        path: dir.into(),
        message: e.to_string(),
    })?;
    let bytes = gz.finish().map_err(|e| PackError::Read {
        path: dir.into(),
        message: e.to_string(),
    })?;
    Ok(Packed { file_name, bytes })
}

/// The crate's `Cargo.toml` with only `[package]`, workspace-inherited fields filled in
/// from the nearest workspace root.
fn normalised_cargo_toml(dir: &Path) -> Result<(String, String, String), PackError> {
    let path = dir.join("Cargo.toml");
    let text = String::from_utf8_lossy(&read(&path)?).into_owned();
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| PackError::NotAPackage(format!("{}: {e}", path.display())))?;
    let mut package = doc
        .get("package")
        .and_then(|p| p.as_table())
        .cloned()
        .ok_or_else(|| PackError::NotAPackage(format!("{}: no [package]", path.display())))?;
    let inherited: Vec<String> = package
        .iter()
        .filter(|(_, v)| {
            v.as_table()
                .and_then(|t| t.get("workspace"))
                .and_then(|w| w.as_bool())
                == Some(true)
        })
        .map(|(k, _)| k.clone())
        .collect();
    if !inherited.is_empty() {
        let ws = workspace_package(dir)?;
        for key in inherited {
            match ws.get(&key) {
                Some(v) => {
                    package.insert(key, v.clone());
                }
                None => {
                    package.remove(&key);
                }
            }
        }
    }
    for key in [
        "publish",
        "build",
        "autobins",
        "autoexamples",
        "autotests",
        "autobenches",
    ] {
        package.remove(key);
    }
    let name = package
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let version = package
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let mut out = toml::Table::new();
    out.insert("package".into(), toml::Value::Table(package));
    let text = toml::to_string(&out).map_err(|e| PackError::NotAPackage(e.to_string()))?;
    Ok((text, name, version))
}

fn workspace_package(dir: &Path) -> Result<toml::Table, PackError> {
    let mut at = dir.parent();
    while let Some(d) = at {
        let candidate = d.join("Cargo.toml");
        if candidate.is_file() {
            let text = String::from_utf8_lossy(&read(&candidate)?).into_owned();
            if let Ok(doc) = toml::from_str::<toml::Table>(&text) {
                if let Some(ws) = doc.get("workspace").and_then(|w| w.as_table()) {
                    return Ok(ws
                        .get("package")
                        .and_then(|p| p.as_table())
                        .cloned()
                        .unwrap_or_default());
                }
            }
        }
        at = d.parent();
    }
    Err(PackError::NotAPackage(format!(
        "{}: fields inherit from a workspace, but none was found above it",
        dir.display()
    )))
}
