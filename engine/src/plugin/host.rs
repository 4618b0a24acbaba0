//! The plugin host: one wasmtime engine, its linker and compiled-artifact cache, and the
//! loading of guard packages from a directory.
//!
//! Loading a package: read and validate the manifest; work out the tier the guard will
//! run at (its request, capped by the policy's `trust_override.max_trust_tier`) and
//! check the manifest against that tier and the policy's `require_capabilities`; check
//! the engine-version range; then for each guard read the component, refuse imports
//! outside the world, compile it (or take it from the local cache), validate the
//! policy's `config` against the guard's `configSchema`, and run one probe instance
//! (`describe` must agree with the manifest, `init` must accept the config).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasData, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig, Strategy};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::WasiView;

use super::artifact_cache::{ArtifactCache, CacheOutcome};
use super::audit::PluginAudit;
use super::bindings;
use super::capability::filesystem::FileReadAccess;
use super::capability::network::NetworkAccess;
use super::capability::secrets::SecretAccess;
use super::error::PluginError;
use super::imports;
use super::instance_state::{GuardContext, StoreState};
use super::limits::{
    CheckLimits, EPOCH_TICK, MAX_COMPONENT_BYTES, MAX_CORE_INSTANCES_PER_COMPONENT,
    MAX_MEMORIES_PER_COMPONENT, MAX_MEMORY_BYTES, MAX_TABLES_PER_COMPONENT, MAX_TABLE_ELEMENTS,
    MAX_WASM_STACK, POOL_COMPONENT_INSTANCES, POOL_CORE_INSTANCES, POOL_KEEP_RESIDENT_BYTES,
    POOL_MEMORIES, POOL_TABLES,
};
use super::manifest::{
    effective_tier, GuardDecl, LoadedManifest, PluginManifest, TrustOverride, TrustTier,
};
use super::state_store::StateStore;
use super::wasm_guard::{Code, CodeSlot, WasmGuard};
use crate::audit::AuditLog;
use crate::policy::placeholders::Resolver;

/// How a [`PluginHost`] is set up.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Where compiled components are cached (`None`: compile on every load).
    pub cache_dir: Option<PathBuf>,
    /// Where `get-secret` reads secrets from (a secrets file, else
    /// `$CLAWDSTRIKE_SECRET_<NAME>`), the same source as `${secrets.NAME}`.
    pub secrets: Resolver,
    /// Where plugin audit records go.
    pub audit: Option<Arc<AuditLog>>,
    /// Start first loads on baseline code (a fast compile) while the optimised build runs
    /// in the background (default on). Off: a first load waits for the optimised build.
    pub baseline_compiler: bool,
}

/// No cache, no secrets, no audit: nothing read from the environment. The CLI passes
/// [`ArtifactCache::default_dir`] and the secrets it was given.
impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            cache_dir: None,
            secrets: Resolver::default(),
            audit: None,
            baseline_compiler: true,
        }
    }
}

/// One guard package to load.
#[derive(Debug, Clone, Copy)]
pub struct PackageRequest<'a> {
    /// The package directory (or its manifest file).
    pub path: &'a Path,
    /// The policy's `config` for the guard(s); `{}` when absent.
    pub config: &'a Value,
    /// The policy's `trust_override`, if any.
    pub trust_override: Option<&'a TrustOverride>,
    /// The highest tier the package's source entitles it to: for a local `path:`
    /// package, the policy's `trust_override.max_trust_tier` or `community`; for a
    /// registry package, the tier the registry signed. The guard runs at the lowest of
    /// this, the override's ceiling and the tier its manifest asks for.
    pub entitled: TrustTier,
}

/// Loads guard components and runs them. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<HostInner>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("cache", &self.inner.cache.dir())
            .finish_non_exhaustive()
    }
}

struct HostInner {
    /// The optimising compiler's engine (Cranelift): what guards run on, and what the
    /// artifact cache holds.
    engine: wasmtime::Engine,
    linker: Linker<StoreState>,
    /// The baseline compiler's engine (Winch), started on the first cache miss: a first
    /// load compiles several times faster with it and runs at once, while the optimised
    /// build follows in the background (`None` when it cannot start).
    baseline: Arc<std::sync::OnceLock<Option<Baseline>>>,
    cache: ArtifactCache,
    options: HostOptions,
    stop_ticker: Arc<AtomicBool>,
}

/// The baseline compiler's engine and linker.
type Baseline = (wasmtime::Engine, Linker<StoreState>);

impl HostInner {
    fn baseline(&self) -> Option<&Baseline> {
        if !self.options.baseline_compiler {
            return None;
        }
        self.baseline
            .get_or_init(|| match start_engine(Strategy::Winch) {
                Ok(tier) => Some(tier),
                Err(e) => {
                    tracing::warn!(error = %e, "baseline compiler unavailable; first loads compile fully");
                    None
                }
            })
            .as_ref()
    }
}

/// An engine with the given compiler and its deny-all linker.
fn start_engine(strategy: Strategy) -> Result<Baseline, PluginError> {
    let runtime = |e: wasmtime::Error| PluginError::Runtime(format!("{e:#}"));
    let mut config = engine_config();
    config.strategy(strategy);
    let engine = wasmtime::Engine::new(&config).map_err(runtime)?;
    let mut linker = Linker::<StoreState>::new(&engine);
    link_deny_all_wasi(&mut linker).map_err(runtime)?;
    bindings::Guard::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)
        .map_err(runtime)?;
    Ok((engine, linker))
}

impl Drop for HostInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// The wasmtime configuration every guard runs under.
fn engine_config() -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_COMPONENT_INSTANCES)
        .total_core_instances(POOL_CORE_INSTANCES)
        .total_memories(POOL_MEMORIES)
        .total_tables(POOL_TABLES)
        .max_memory_size(MAX_MEMORY_BYTES)
        .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
        .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
        .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_module(2)
        .max_tables_per_module(4)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_core_instance_size(16 << 20)
        .max_component_instance_size(1 << 20)
        // A fresh instance per check touches the same few dozen pages every time
        // (stack top, heap). Resetting them with memset — found with PAGEMAP_SCAN where
        // the kernel has it — instead of madvise keeps them mapped: no page faults and
        // no TLB shootdowns on the next check.
        .pagemap_scan(wasmtime::Enabled::Auto)
        .linear_memory_keep_resident(POOL_KEEP_RESIDENT_BYTES)
        .table_keep_resident(64 << 10);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .parallel_compilation(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

impl PluginHost {
    /// Start a host: the engine, the linker and the epoch ticker thread.
    pub fn new(options: HostOptions) -> Result<Self, PluginError> {
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (engine, linker) = start_engine(Strategy::Cranelift)?;
        let baseline = Arc::new(std::sync::OnceLock::new());
        spawn_ticker(engine.clone(), baseline.clone(), stop_ticker.clone())?;
        Ok(PluginHost {
            inner: Arc::new(HostInner {
                cache: ArtifactCache::new(options.cache_dir.clone()),
                engine,
                linker,
                baseline,
                options,
                stop_ticker,
            }),
        })
    }

    /// The options this host runs with.
    pub fn options(&self) -> &HostOptions {
        &self.inner.options
    }

    /// Load every guard of the local package at `path` with `config`, at most at the
    /// `community` tier.
    pub fn load_package(&self, path: &Path, config: &Value) -> Result<Vec<WasmGuard>, PluginError> {
        self.load(PackageRequest {
            path,
            config,
            trust_override: None,
            entitled: TrustTier::Community,
        })
    }

    /// Load every guard of a package.
    pub fn load(&self, request: PackageRequest<'_>) -> Result<Vec<WasmGuard>, PluginError> {
        let loaded = PluginManifest::load(request.path)?;
        let manifest = &loaded.manifest;
        let ceiling = match request.trust_override.and_then(|t| t.max_trust_tier) {
            Some(max) => max.min(request.entitled),
            None => request.entitled,
        };
        let tier = effective_tier(manifest.trust.level, Some(ceiling));
        let refused = |problems| PluginError::Refused {
            package: manifest.name.clone(),
            tier: tier.to_string(),
            problems,
        };
        manifest.check_tier(tier).map_err(refused)?;
        if let Some(t) = request.trust_override {
            t.check_required(manifest).map_err(|p| refused(vec![p]))?;
        }
        let engine_version = semver::Version::parse(env!("CARGO_PKG_VERSION"))
            .map_err(|e| PluginError::Runtime(e.to_string()))?;
        manifest
            .check_engine_compat(&engine_version)
            .map_err(|p| refused(vec![p]))?;
        manifest
            .guards
            .iter()
            .map(|decl| self.load_guard(&loaded, decl, request.config, tier))
            .collect()
    }

    fn load_guard(
        &self,
        loaded: &LoadedManifest,
        decl: &GuardDecl,
        config: &Value,
        tier: TrustTier,
    ) -> Result<WasmGuard, PluginError> {
        let started = Instant::now();
        let manifest = &loaded.manifest;
        let path = loaded.entrypoint_path(decl)?;
        let component_err = |message: String| PluginError::Component {
            path: path.clone(),
            message,
        };
        let bytes = read_capped(&path).map_err(component_err)?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();

        validate_config(decl, config)?;

        // The optimised artifact from the cache; else baseline code now and the optimised
        // build in the background; else (no baseline compiler) the optimised build now.
        let inner = &self.inner;
        let invalid = |e: wasmtime::Error| {
            component_err(format!("not a valid guard component: {}", one_line(&e)))
        };
        let (component, cache, engine, linker) = match inner.cache.lookup(&inner.engine, &digest) {
            Some(c) => (c, CacheOutcome::Hit, &inner.engine, &inner.linker),
            None => match inner.baseline() {
                Some((engine, linker)) => (
                    Component::new(engine, &bytes).map_err(invalid)?,
                    CacheOutcome::Baseline,
                    engine,
                    linker,
                ),
                None => {
                    let (c, outcome) = inner
                        .cache
                        .compile(&inner.engine, &bytes, &digest)
                        .map_err(invalid)?;
                    (c, outcome, &inner.engine, &inner.linker)
                }
            },
        };
        let import_names: Vec<String> = component
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let bad = imports::disallowed(import_names.iter().map(String::as_str));
        if !bad.is_empty() {
            return Err(PluginError::Imports {
                path: path.clone(),
                imports: bad,
            });
        }
        let pre = link(linker, &component).map_err(component_err)?;
        let code: CodeSlot = Arc::new(std::sync::RwLock::new(Arc::new(Code {
            engine: engine.clone(),
            pre,
            optimized: cache != CacheOutcome::Baseline,
        })));

        let o = &self.inner.options;
        let audit = PluginAudit::new(o.audit.clone(), &decl.name, &manifest.name);
        let ctx = Arc::new(GuardContext {
            guard: decl.name.clone(),
            network: NetworkAccess::new(&manifest.capabilities.network)
                .map_err(|e| refused_field(manifest, tier, "capabilities.network", e))?,
            files: FileReadAccess::new(&manifest.capabilities.filesystem.read)
                .map_err(|e| refused_field(manifest, tier, "capabilities.filesystem.read", e))?,
            secrets: SecretAccess::new(&manifest.capabilities.secrets, o.secrets.clone()),
            state: StateStore::new(),
            audit: audit.clone(),
            resilient: std::sync::OnceLock::new(),
        });
        let mut guard = WasmGuard::new(
            decl,
            code,
            ctx,
            serde_json::to_string(config).unwrap_or_else(|_| "{}".into()),
            CheckLimits::from_resources(&manifest.resources),
            tier,
        );
        match guard.probe() {
            Ok(()) => {}
            Err(e) => {
                audit.error(None, "load", &e.to_string(), "");
                return Err(e);
            }
        }
        audit.loaded(json!({
            "trust": tier.as_str(),
            "sandbox": "wasm",
            "capabilities": manifest.capabilities.to_json_value(),
            "resources": manifest.resources.to_json_value(),
            "componentSha256": hex::encode(digest),
            "cache": cache.as_str(),
            "loadMs": started.elapsed().as_secs_f64() * 1000.0,
        }));
        if cache == CacheOutcome::Baseline {
            self.optimize_in_background(&guard, bytes, digest, audit);
        }
        Ok(guard)
    }

    /// Compile the optimised build of a guard loaded on baseline code, store it in the
    /// artifact cache, and swap it into the guard (if it is still loaded).
    fn optimize_in_background(
        &self,
        guard: &WasmGuard,
        bytes: Vec<u8>,
        digest: [u8; 32],
        audit: PluginAudit,
    ) {
        let inner = self.inner.clone();
        let slot = Arc::downgrade(guard.code_slot());
        let spawned = std::thread::Builder::new()
            .name("clawdstrike-optimize".into())
            .spawn(move || {
                let started = Instant::now();
                let built = inner
                    .cache
                    .compile(&inner.engine, &bytes, &digest)
                    .map_err(|e| format!("{e:#}"))
                    .and_then(|(component, _)| link(&inner.linker, &component));
                match built {
                    Ok(pre) => {
                        let Some(slot) = slot.upgrade() else { return };
                        let code = Arc::new(Code {
                            engine: inner.engine.clone(),
                            pre,
                            optimized: true,
                        });
                        match slot.write() {
                            Ok(mut g) => *g = code,
                            Err(p) => *p.into_inner() = code,
                        }
                        audit.optimized(started.elapsed());
                    }
                    // The baseline code keeps running; the next load compiles again.
                    Err(e) => audit.error(None, "optimize", &e, ""),
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the optimising compile; the guard stays on baseline code");
        }
    }
}

/// Pre-link a component with a linker and check it exports the guard world.
fn link(
    linker: &Linker<StoreState>,
    component: &Component,
) -> Result<bindings::GuardPre<StoreState>, String> {
    let instance_pre = linker
        .instantiate_pre(component)
        .map_err(|e| format!("cannot link the component: {e:#}"))?;
    bindings::GuardPre::new(instance_pre)
        .map_err(|e| format!("the component does not export the guard world: {e:#}"))
}

fn refused_field(
    manifest: &PluginManifest,
    tier: TrustTier,
    field: &str,
    message: String,
) -> PluginError {
    PluginError::Refused {
        package: manifest.name.clone(),
        tier: tier.to_string(),
        problems: vec![super::manifest::ManifestProblem::new(field, message)],
    }
}

fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open the component: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_COMPONENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the component: {e}"))?;
    if bytes.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(format!(
            "the component is larger than the limit of {MAX_COMPONENT_BYTES} bytes"
        ));
    }
    Ok(bytes)
}

fn validate_config(decl: &GuardDecl, config: &Value) -> Result<(), PluginError> {
    let Some(schema) = &decl.config_schema else {
        return Ok(());
    };
    let validator = jsonschema::validator_for(schema).map_err(|e| PluginError::Config {
        guard: decl.name.clone(),
        errors: vec![format!("the guard's configSchema is invalid: {e}")],
    })?;
    let errors: Vec<String> = validator
        .iter_errors(config)
        .take(10)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("at {at}: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(PluginError::Config {
            guard: decl.name.clone(),
            errors,
        })
    }
}

/// One thread ticks the epoch of both engines (the baseline one once it exists).
fn spawn_ticker(
    engine: wasmtime::Engine,
    baseline: Arc<std::sync::OnceLock<Option<Baseline>>>,
    stop: Arc<AtomicBool>,
) -> Result<(), PluginError> {
    std::thread::Builder::new()
        .name("clawdstrike-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
                if let Some(Some((b, _))) = baseline.get() {
                    b.increment_epoch();
                }
            }
        })
        .map(|_| ())
        .map_err(|e| PluginError::Runtime(format!("cannot start the epoch ticker: {e}")))
}

struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

/// Link the WASI interfaces a Rust standard library imports, backed by the deny-all
/// context of [`StoreState`]. Sockets, HTTP and everything else are not linked at all.
fn link_deny_all_wasi(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sync};
    type T = StoreState;
    let l = linker;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    sync::filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    random::random::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    sync::io::error::add_to_linker::<T, HasTable>(l, |t| t.ctx().table)?;
    sync::io::poll::add_to_linker::<T, HasTable>(l, |t| t.ctx().table)?;
    sync::io::streams::add_to_linker::<T, HasTable>(l, |t| t.ctx().table)?;
    Ok(())
}

/// A wasmtime error chain on one line: its debug-formatted byte arrays span many lines,
/// which a log line or a JSON field should not.
fn one_line(e: &wasmtime::Error) -> String {
    format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
