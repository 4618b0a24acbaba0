//! Guard plugins: the manifest model, and the WebAssembly host that loads guard
//! components and runs them behind capability checks.
//!
//! * [`manifest`]: `clawdstrike.plugin.json` / `.toml`, trust tiers and their limits.
//! * [`host`]: [`PluginHost`] loads packages (manifest → tier → component → probe).
//! * [`wasm_guard`]: [`WasmGuard`], a guard run in a fresh, limited instance per check.
//! * [`capability`]: the checks behind `http-request`, `read-file` and `get-secret`.
//! * [`limits`]: every limit in one place.
//! * [`artifact_cache`]: the local cache of compiled components.
//! * [`instance_state`]: what one guard instance holds, its limiter and the host functions.

pub mod artifact_cache;
pub mod audit;
pub mod bindings;
pub mod capability;
pub mod cpu_clock;
pub mod error;
pub mod host;
pub mod instance_state;
pub mod limits;
pub mod state_store;
pub mod wasm_guard;

pub use clawdstrike_formats::{imports, manifest};

pub use error::PluginError;
pub use host::{HostOptions, PackageRequest, PluginHost};
pub use wasm_guard::WasmGuard;
