//! The local cache of compiled guard components (DESIGN.md §3.2).
//!
//! Compiling a component is slow (tens of milliseconds for a small Rust guard, seconds
//! for a JavaScript one); loading the native artifact is fast. The cache is keyed by the
//! component's SHA-256, the wasmtime version and the engine's compilation settings, so a
//! change to any of them compiles afresh. Artifacts are only ever produced here: loading
//! one runs native code, so the cache directory must be private to the engine's user
//! (it is created `0700`, and a directory others can write to is not used).

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

/// Where a component came from on this load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded the precompiled artifact.
    Hit,
    /// Compiled, and stored the artifact.
    Compiled,
    /// Compiled; caching is off (or the cache directory is unusable).
    CompiledUncached,
    /// Compiled with the fast baseline compiler to start at once; the optimised build
    /// follows in the background and replaces it.
    Baseline,
}

impl CacheOutcome {
    /// Lower-case name for audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Compiled => "compiled",
            CacheOutcome::CompiledUncached => "compiled-uncached",
            CacheOutcome::Baseline => "baseline",
        }
    }
}

/// The cache: a directory, or none (always compile).
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: Option<PathBuf>,
}

impl ArtifactCache {
    /// Cache in `dir` (created if missing), or not at all.
    pub fn new(dir: Option<PathBuf>) -> Self {
        ArtifactCache { dir }
    }

    /// The default location: `$CLAWDSTRIKE_CACHE_DIR/wasm`, else
    /// `$XDG_CACHE_HOME/clawdstrike/wasm`, else `~/.cache/clawdstrike/wasm`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("CLAWDSTRIKE_CACHE_DIR") {
            return Some(PathBuf::from(d).join("wasm"));
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(d).join("clawdstrike/wasm"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/clawdstrike/wasm"))
    }

    /// The directory in use, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The cache key for a component with this digest on this engine.
    pub fn key(engine: &wasmtime::Engine, component_sha256: &[u8; 32]) -> String {
        let mut compat = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut compat);
        let mut h = Sha256::new();
        h.update(component_sha256);
        h.update(b"\0wasmtime-48.0.8\0");
        h.update(compat.finish().to_le_bytes());
        hex::encode(h.finalize())
    }

    /// The component for `bytes`, from the cache or compiled (and then cached).
    pub fn load_or_compile(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
        component_sha256: &[u8; 32],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        match self.lookup(engine, component_sha256) {
            Some(component) => Ok((component, CacheOutcome::Hit)),
            None => self.compile(engine, bytes, component_sha256),
        }
    }

    /// The cached artifact for this component on this engine, if there is a usable one.
    #[allow(unsafe_code)] // loads a precompiled artifact; SAFETY note at the block
    pub fn lookup(
        &self,
        engine: &wasmtime::Engine,
        component_sha256: &[u8; 32],
    ) -> Option<Component> {
        let dir = self.usable_dir()?;
        let path = dir.join(format!("{}.cwasm", Self::key(engine, component_sha256)));
        if !path.is_file() {
            return None;
        }
        // SAFETY: the artifact was written by `precompile_component` of an engine with the
        // same settings (the key covers them) into a directory only this user can write
        // (checked by `usable_dir`); it is never downloaded. Wasmtime still checks the
        // header and refuses incompatible artifacts.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding unusable cached artifact");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Compile with `engine` and store the artifact (when the cache is usable).
    #[allow(unsafe_code)] // loads the artifact just compiled; SAFETY note at the block
    pub fn compile(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
        component_sha256: &[u8; 32],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let Some(dir) = self.usable_dir() else {
            return Ok((
                Component::new(engine, bytes)?,
                CacheOutcome::CompiledUncached,
            ));
        };
        let path = dir.join(format!("{}.cwasm", Self::key(engine, component_sha256)));
        let artifact = engine.precompile_component(bytes)?;
        // SAFETY: produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        match write_atomically(&dir, &path, &artifact) {
            Ok(()) => Ok((component, CacheOutcome::Compiled)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write compiled artifact to the cache");
                Ok((component, CacheOutcome::CompiledUncached))
            }
        }
    }

    /// The cache directory, created private, or `None` when it cannot be trusted.
    fn usable_dir(&self) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        if let Err(e) = create_private_dir(dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "compiled-guard cache disabled");
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            match std::fs::metadata(dir) {
                Ok(meta) if meta.mode() & 0o022 == 0 => {}
                Ok(_) => {
                    tracing::warn!(dir = %dir.display(), "compiled-guard cache disabled: the directory is writable by other users");
                    return None;
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "compiled-guard cache disabled");
                    return None;
                }
            }
        }
        Some(dir.clone())
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
