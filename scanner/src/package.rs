//! Reading a guard package: an npm tarball or a `.crate`, its metadata, its plugin
//! manifest and its components.
//!
//! The kind is detected from the content: an npm tarball has every entry under
//! `package/`; a crate has every entry under `<name>-<version>/`, with a `Cargo.toml`
//! whose name and version agree with that directory.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use clawdstrike_formats::manifest::{ManifestError, PluginManifest, JSON_MANIFEST, TOML_MANIFEST};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use crate::archive::{read_archive, shorten, ArchiveError, Limits};
use crate::component::{check_component, ComponentError, ComponentInfo};
use crate::name::{validate_name, NameError};

/// Largest `package.json`, `Cargo.toml` or README read (1 MiB).
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// Most keywords (or categories).
pub const MAX_KEYWORDS: usize = 32;
/// Longest keyword or category, in bytes.
pub const MAX_KEYWORD_BYTES: usize = 64;
/// Longest description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4096;
/// Longest license, repository or homepage value, in bytes.
pub const MAX_FIELD_BYTES: usize = 1024;

/// Which packaging the archive follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveKind {
    /// An npm tarball (`package/` root, `package.json`, `clawdstrike.plugin.json`).
    Npm,
    /// A crate (`<name>-<version>/` root, `Cargo.toml`, `clawdstrike.plugin.toml` or `.json`).
    Crate,
}

impl ArchiveKind {
    /// `npm` or `crate`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveKind::Npm => "npm",
            ArchiveKind::Crate => "crate",
        }
    }

    /// The archive file's extension: `tgz` or `crate`.
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveKind::Npm => "tgz",
            ArchiveKind::Crate => "crate",
        }
    }

    /// The metadata file: `package.json` or `Cargo.toml`.
    pub fn metadata_file(self) -> &'static str {
        match self {
            ArchiveKind::Npm => "package.json",
            ArchiveKind::Crate => "Cargo.toml",
        }
    }
}

impl std::fmt::Display for ArchiveKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the package metadata (`package.json` / `Cargo.toml`) says besides name and version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageMetadata {
    /// One-paragraph description.
    pub description: Option<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Crate categories (empty for npm packages).
    pub categories: Vec<String>,
    /// License expression.
    pub license: Option<String>,
    /// Source repository URL (npm `repository` string or `repository.url`).
    pub repository: Option<String>,
    /// Home page URL.
    pub homepage: Option<String>,
    /// The README's text (Markdown, unsanitised), when the package has one.
    pub readme: Option<String>,
}

/// One guard's component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The guard (`guards[].name`).
    pub guard: String,
    /// The component's path inside the package (`dist/guard.wasm`).
    pub path: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The component.
    pub bytes: Vec<u8>,
    /// Its imports and exports, from [`check_component`].
    pub info: ComponentInfo,
}

/// The archive itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// `<name>-<version>.tgz` (a scoped npm name's `@scope/` becomes `scope-`) or
    /// `<name>-<version>.crate`.
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// npm-style subresource integrity: `sha512-` + standard base64 of the SHA-512.
    pub integrity: String,
}

/// A package that was read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    /// npm tarball or crate.
    pub kind: ArchiveKind,
    /// The package name (from `package.json` / `Cargo.toml`; the manifest's name equals it).
    pub name: String,
    /// The package version.
    pub version: semver::Version,
    /// Description, keywords, license, links, README.
    pub metadata: PackageMetadata,
    /// The plugin manifest.
    pub manifest: PluginManifest,
    /// The plugin manifest as JSON ([`PluginManifest::to_json_value`]), every default written.
    pub manifest_json: Value,
    /// The manifest's path inside the package (`clawdstrike.plugin.json`).
    pub manifest_file: String,
    /// One entry per guard, in manifest order.
    pub components: Vec<Component>,
    /// Every regular file, by path relative to the package directory.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Name, size and digests of the archive.
    pub archive: ArchiveInfo,
}

/// Why a package is refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The archive itself is refused.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// Neither an npm tarball (`package/`) nor a crate (`<name>-<version>/` with a Cargo.toml).
    #[error(
        "the archive's directory \"{root}/\" is neither `package/` (an npm tarball) nor a \
         crate's `<name>-<version>/` with a Cargo.toml; upload what `npm pack` or \
         `cargo package` produced"
    )]
    UnknownLayout {
        /// The archive's top-level directory.
        root: String,
    },
    /// A required file is missing.
    #[error("the package has no {file}; {hint}")]
    MissingFile {
        /// The file, relative to the package directory.
        file: String,
        /// What to do.
        hint: &'static str,
    },
    /// A metadata file (`package.json`, `Cargo.toml`, README, manifest) is unreadable or has
    /// a bad field.
    #[error("{file}: {message}")]
    Metadata {
        /// The file, relative to the package directory.
        file: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The version is not a semantic version.
    #[error(
        "{file}: version \"{version}\" is not a semantic version (MAJOR.MINOR.PATCH): {message}"
    )]
    Version {
        /// The metadata file.
        file: String,
        /// The value, shortened.
        version: String,
        /// The parser's message.
        message: String,
    },
    /// The package name is refused.
    #[error("{file}: {source}")]
    Name {
        /// The metadata file.
        file: String,
        /// Why.
        #[source]
        source: NameError,
    },
    /// A crate's directory is not `<name>-<version>` of its Cargo.toml.
    #[error(
        "the crate's directory is \"{root}/\" but its Cargo.toml says \"{expected}\"; pack it \
         with `cargo package`"
    )]
    RootMismatch {
        /// The archive's directory.
        root: String,
        /// `<name>-<version>`.
        expected: String,
    },
    /// No plugin manifest.
    #[error("the package has no plugin manifest: add {expected} next to {metadata_file}")]
    MissingManifest {
        /// What was looked for.
        expected: &'static str,
        /// package.json or Cargo.toml.
        metadata_file: &'static str,
    },
    /// Both manifest forms.
    #[error("the package has both clawdstrike.plugin.toml and clawdstrike.plugin.json; keep exactly one")]
    AmbiguousManifest,
    /// The plugin manifest is refused (file, line and column in the message).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest's name is not the package's name.
    #[error(
        "{manifest_file} names the package \"{manifest_name}\" but {metadata_file} names it \
         \"{package_name}\"; make them equal"
    )]
    NameMismatch {
        /// The manifest file.
        manifest_file: String,
        /// The manifest's `name`.
        manifest_name: String,
        /// package.json or Cargo.toml.
        metadata_file: &'static str,
        /// The package's name.
        package_name: String,
    },
    /// A guard's entrypoint is not a file in the archive.
    #[error(
        "guard \"{guard}\": its entrypoint \"{path}\" is not in the package; build the \
         component and include it (check the `files` list of package.json or `include` of \
         Cargo.toml)"
    )]
    MissingEntrypoint {
        /// The guard.
        guard: String,
        /// The entrypoint as written.
        path: String,
    },
    /// Two guards name the same component; a component is one guard (its `describe`
    /// returns one name).
    #[error(
        "guards \"{other}\" and \"{guard}\" both use \"{path}\"; a component implements one \
         guard (its describe returns one name): build one component per guard"
    )]
    SharedEntrypoint {
        /// The later guard.
        guard: String,
        /// The earlier guard.
        other: String,
        /// The component's path.
        path: String,
    },
    /// A guard's component is refused.
    #[error("guard \"{guard}\": {path}: {source}")]
    Component {
        /// The guard.
        guard: String,
        /// The component's path.
        path: String,
        /// Why.
        #[source]
        source: ComponentError,
    },
}

/// Read and check a package archive: the archive (with `limits`), its metadata, its plugin
/// manifest, and each guard's component. Everything in memory; nothing is written.
pub fn read_package(bytes: &[u8], limits: &Limits) -> Result<Package, PackageError> {
    let unpacked = read_archive(bytes, limits)?;
    let root = unpacked.root;
    let files = unpacked.files;

    let kind = if root == "package" {
        ArchiveKind::Npm
    } else if files.contains_key("Cargo.toml") {
        ArchiveKind::Crate
    } else {
        return Err(PackageError::UnknownLayout {
            root: shorten(&root),
        });
    };

    let (name, version, metadata) = match kind {
        ArchiveKind::Npm => read_package_json(&files)?,
        ArchiveKind::Crate => read_cargo_toml(&files)?,
    };
    validate_name(&name, kind).map_err(|source| PackageError::Name {
        file: kind.metadata_file().into(),
        source,
    })?;
    if kind == ArchiveKind::Crate {
        let expected = format!("{name}-{version}");
        if root != expected {
            return Err(PackageError::RootMismatch {
                root: shorten(&root),
                expected,
            });
        }
    }

    let (manifest_file, manifest) = read_manifest(&files, kind)?;
    if manifest.name != name {
        return Err(PackageError::NameMismatch {
            manifest_file,
            manifest_name: shorten(&manifest.name),
            metadata_file: kind.metadata_file(),
            package_name: name,
        });
    }

    let mut components: Vec<Component> = Vec::with_capacity(manifest.guards.len());
    for guard in &manifest.guards {
        let path = normalise(&guard.entrypoint);
        let Some(bytes) = files.get(&path) else {
            return Err(PackageError::MissingEntrypoint {
                guard: guard.name.clone(),
                path: shorten(&guard.entrypoint),
            });
        };
        // A component describes exactly one guard (the engine requires `describe` to
        // return the guard's name), so two guards cannot share one; refusing it also keeps
        // the copies below within the unpacked limit.
        if let Some(other) = components.iter().find(|c| c.path == path) {
            return Err(PackageError::SharedEntrypoint {
                guard: guard.name.clone(),
                other: other.guard.clone(),
                path,
            });
        }
        let info = check_component(bytes).map_err(|source| PackageError::Component {
            guard: guard.name.clone(),
            path: path.clone(),
            source,
        })?;
        components.push(Component {
            guard: guard.name.clone(),
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
            bytes: bytes.clone(),
            info,
            path,
        });
    }

    let archive = ArchiveInfo {
        file_name: archive_file_name(&name, &version, kind),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        integrity: format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
        ),
    };
    Ok(Package {
        kind,
        name,
        version,
        metadata,
        manifest_json: manifest.to_json_value(),
        manifest,
        manifest_file,
        components,
        files,
        archive,
    })
}

/// `<name>-<version>.tgz` with `@scope/` turned into `scope-`, or `<name>-<version>.crate`.
pub fn archive_file_name(name: &str, version: &semver::Version, kind: ArchiveKind) -> String {
    let flat = match name.strip_prefix('@') {
        Some(scoped) => scoped.replacen('/', "-", 1),
        None => name.to_string(),
    };
    format!("{flat}-{version}.{}", kind.extension())
}

/// `./dist//guard.wasm` → `dist/guard.wasm` (the manifest allows `.` components; archive
/// paths never have them).
fn normalise(entrypoint: &str) -> String {
    entrypoint
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// A text file of the package, at most [`MAX_METADATA_BYTES`], UTF-8.
fn text<'a>(
    files: &'a BTreeMap<String, Vec<u8>>,
    file: &str,
) -> Result<Option<&'a str>, PackageError> {
    let Some(bytes) = files.get(file) else {
        return Ok(None);
    };
    if bytes.len() > MAX_METADATA_BYTES {
        return Err(PackageError::Metadata {
            file: file.into(),
            message: format!(
                "the file is {} bytes, over the limit of {MAX_METADATA_BYTES} bytes",
                bytes.len()
            ),
        });
    }
    std::str::from_utf8(bytes)
        .map(Some)
        .map_err(|e| PackageError::Metadata {
            file: file.into(),
            message: format!(
                "not valid UTF-8 (at byte {}); save it as UTF-8",
                e.valid_up_to()
            ),
        })
}

type NameVersionMeta = (String, semver::Version, PackageMetadata);

fn read_package_json(files: &BTreeMap<String, Vec<u8>>) -> Result<NameVersionMeta, PackageError> {
    const FILE: &str = "package.json";
    let text = text(files, FILE)?.ok_or(PackageError::MissingFile {
        file: FILE.into(),
        hint: "an npm tarball has package/package.json; pack it with `npm pack`",
    })?;
    let bad = |message: String| PackageError::Metadata {
        file: FILE.into(),
        message,
    };
    let json: Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Value::Object(obj) = json else {
        return Err(bad("the top level must be a JSON object".into()));
    };
    let fields = Fields {
        file: FILE,
        get: &|key| obj.get(key).map(Field::Json),
    };
    let name = fields.required_string("name")?;
    let version = parse_version(FILE, &fields.required_string("version")?)?;
    let license = match obj.get("license") {
        // The legacy form `{"type": "MIT", "url": ...}`.
        Some(Value::Object(o)) => match o.get("type") {
            Some(Value::String(s)) => Some(capped(FILE, "license.type", s, MAX_FIELD_BYTES)?),
            _ => {
                return Err(bad(
                    "license: write an SPDX expression string, e.g. \"MIT\"".into(),
                ))
            }
        },
        _ => fields.string("license", MAX_FIELD_BYTES)?,
    };
    let repository = match obj.get("repository") {
        Some(Value::Object(o)) => match o.get("url") {
            Some(Value::String(s)) => Some(capped(FILE, "repository.url", s, MAX_FIELD_BYTES)?),
            None => None,
            _ => return Err(bad("repository.url: must be a string".into())),
        },
        _ => fields.string("repository", MAX_FIELD_BYTES)?,
    };
    let metadata = PackageMetadata {
        description: fields.string("description", MAX_DESCRIPTION_BYTES)?,
        keywords: fields.string_list("keywords")?,
        categories: Vec::new(),
        license,
        repository,
        homepage: fields.string("homepage", MAX_FIELD_BYTES)?,
        readme: find_readme(files, None)?,
    };
    Ok((name, version, metadata))
}

fn read_cargo_toml(files: &BTreeMap<String, Vec<u8>>) -> Result<NameVersionMeta, PackageError> {
    const FILE: &str = "Cargo.toml";
    let bad = |message: String| PackageError::Metadata {
        file: FILE.into(),
        message,
    };
    let text = text(files, FILE)?.ok_or(PackageError::MissingFile {
        file: FILE.into(),
        hint: "a crate has <name>-<version>/Cargo.toml; pack it with `cargo package`",
    })?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(format!("not valid TOML: {}", e.message())))?;
    let Some(toml::Value::Table(pkg)) = doc.get("package") else {
        return Err(bad("no [package] table".into()));
    };
    let fields = Fields {
        file: FILE,
        get: &|key| pkg.get(key).map(Field::Toml),
    };
    let name = fields.required_string("name")?;
    let version = parse_version(FILE, &fields.required_string("version")?)?;
    let readme = match pkg.get("readme") {
        Some(toml::Value::Boolean(false)) => None,
        None | Some(toml::Value::Boolean(true)) => find_readme(files, None)?,
        Some(toml::Value::String(path)) => {
            let path = normalise(path);
            if path.split('/').any(|c| c == "..") || !files.contains_key(&path) {
                return Err(bad(format!(
                    "package.readme: \"{}\" is not a file in the package",
                    shorten(&path)
                )));
            }
            find_readme(files, Some(&path))?
        }
        Some(_) => return Err(bad("package.readme: must be a path or a boolean".into())),
    };
    let metadata = PackageMetadata {
        description: fields.string("description", MAX_DESCRIPTION_BYTES)?,
        keywords: fields.string_list("keywords")?,
        categories: fields.string_list("categories")?,
        license: fields.string("license", MAX_FIELD_BYTES)?,
        repository: fields.string("repository", MAX_FIELD_BYTES)?,
        homepage: fields.string("homepage", MAX_FIELD_BYTES)?,
        readme,
    };
    Ok((name, version, metadata))
}

/// A metadata value, JSON or TOML.
enum Field<'a> {
    Json(&'a Value),
    Toml(&'a toml::Value),
}

impl Field<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Field::Json(Value::String(s)) => Some(s),
            Field::Toml(toml::Value::String(s)) => Some(s),
            _ => None,
        }
    }

    fn as_str_list(&self) -> Option<Vec<Option<&str>>> {
        match self {
            Field::Json(Value::Array(a)) => Some(a.iter().map(Value::as_str).collect()),
            Field::Toml(toml::Value::Array(a)) => Some(a.iter().map(toml::Value::as_str).collect()),
            _ => None,
        }
    }

    fn is_workspace_ref(&self) -> bool {
        matches!(self, Field::Toml(toml::Value::Table(t)) if t.contains_key("workspace"))
    }
}

/// Typed access to the fields of a metadata file, with messages naming the field.
struct Fields<'a> {
    file: &'static str,
    get: &'a dyn Fn(&str) -> Option<Field<'a>>,
}

impl Fields<'_> {
    fn bad(&self, message: String) -> PackageError {
        PackageError::Metadata {
            file: self.file.into(),
            message,
        }
    }

    fn not_string(&self, key: &str, f: &Field<'_>) -> PackageError {
        if f.is_workspace_ref() {
            self.bad(format!(
                "{key}: `{key}.workspace = true` is not resolved; upload the .crate made by \
                 `cargo package`, which writes the value"
            ))
        } else {
            self.bad(format!("{key}: must be a string"))
        }
    }

    fn required_string(&self, key: &str) -> Result<String, PackageError> {
        match (self.get)(key) {
            None => Err(self.bad(format!("{key}: missing"))),
            Some(f) => match f.as_str() {
                Some(s) => capped(self.file, key, s, MAX_FIELD_BYTES),
                None => Err(self.not_string(key, &f)),
            },
        }
    }

    fn string(&self, key: &str, max: usize) -> Result<Option<String>, PackageError> {
        match (self.get)(key) {
            None => Ok(None),
            Some(f) => match f.as_str() {
                Some(s) => capped(self.file, key, s, max).map(Some),
                None => Err(self.not_string(key, &f)),
            },
        }
    }

    fn string_list(&self, key: &str) -> Result<Vec<String>, PackageError> {
        let Some(f) = (self.get)(key) else {
            return Ok(Vec::new());
        };
        if f.is_workspace_ref() {
            return Err(self.not_string(key, &f));
        }
        let Some(items) = f.as_str_list() else {
            return Err(self.bad(format!("{key}: must be a list of strings")));
        };
        if items.len() > MAX_KEYWORDS {
            return Err(self.bad(format!(
                "{key}: {} entries, over the limit of {MAX_KEYWORDS}",
                items.len()
            )));
        }
        items
            .into_iter()
            .enumerate()
            .map(|(i, s)| match s {
                Some(s) => capped(self.file, &format!("{key}[{i}]"), s, MAX_KEYWORD_BYTES),
                None => Err(self.bad(format!("{key}[{i}]: must be a string"))),
            })
            .collect()
    }
}

fn capped(file: &str, key: &str, s: &str, max: usize) -> Result<String, PackageError> {
    if s.len() > max {
        return Err(PackageError::Metadata {
            file: file.into(),
            message: format!("{key}: {} bytes, over the limit of {max} bytes", s.len()),
        });
    }
    Ok(s.to_string())
}

fn parse_version(file: &str, text: &str) -> Result<semver::Version, PackageError> {
    semver::Version::parse(text).map_err(|e| PackageError::Version {
        file: file.into(),
        version: shorten(text),
        message: e.to_string(),
    })
}

/// The README: `named` if given, else the first top-level file called (in any case)
/// `README.md`, `README.markdown`, `README.txt` or `README`.
fn find_readme(
    files: &BTreeMap<String, Vec<u8>>,
    named: Option<&str>,
) -> Result<Option<String>, PackageError> {
    let path = match named {
        Some(p) => Some(p.to_string()),
        None => ["readme.md", "readme.markdown", "readme.txt", "readme"]
            .iter()
            .find_map(|want| {
                files
                    .keys()
                    .find(|k| !k.contains('/') && k.eq_ignore_ascii_case(want))
                    .cloned()
            }),
    };
    match path {
        None => Ok(None),
        Some(p) => Ok(text(files, &p)?.map(str::to_string)),
    }
}

/// The plugin manifest: `clawdstrike.plugin.json` for npm; `clawdstrike.plugin.toml` or
/// `.json` (exactly one) for crates.
fn read_manifest(
    files: &BTreeMap<String, Vec<u8>>,
    kind: ArchiveKind,
) -> Result<(String, PluginManifest), PackageError> {
    let has_json = files.contains_key(JSON_MANIFEST);
    let has_toml = files.contains_key(TOML_MANIFEST);
    let file = match (kind, has_json, has_toml) {
        (ArchiveKind::Npm, true, _) => JSON_MANIFEST,
        (ArchiveKind::Npm, false, _) => {
            return Err(PackageError::MissingManifest {
                expected: JSON_MANIFEST,
                metadata_file: "package.json",
            })
        }
        (ArchiveKind::Crate, true, true) => return Err(PackageError::AmbiguousManifest),
        (ArchiveKind::Crate, true, false) => JSON_MANIFEST,
        (ArchiveKind::Crate, false, true) => TOML_MANIFEST,
        (ArchiveKind::Crate, false, false) => {
            return Err(PackageError::MissingManifest {
                expected: "clawdstrike.plugin.toml (or clawdstrike.plugin.json)",
                metadata_file: "Cargo.toml",
            })
        }
    };
    let bytes = files.get(file).map(Vec::as_slice).unwrap_or_default();
    let text = std::str::from_utf8(bytes).map_err(|e| PackageError::Metadata {
        file: file.into(),
        message: format!(
            "not valid UTF-8 (at byte {}); save it as UTF-8",
            e.valid_up_to()
        ),
    })?;
    let origin = Path::new(file);
    let manifest = if file == JSON_MANIFEST {
        PluginManifest::from_json_str(text, origin)?
    } else {
        PluginManifest::from_toml_str(text, origin)?
    };
    Ok((file.to_string(), manifest))
}
