//! The example guard components, and temporary packages built around them.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Every event type: the hostile example guard describes itself as handling them all.
pub const ALL_EVENTS: &[&str] = &[
    "file_read",
    "file_write",
    "network_egress",
    "command_exec",
    "patch_apply",
    "tool_call",
    "secret_access",
    "custom",
];

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The built component of an example guard (`examples/guards/<dir>/dist/guard.wasm`).
/// Fails loudly when it has not been built: these suites never skip.
pub fn example_wasm(dir: &str) -> PathBuf {
    let path = repo_root()
        .join("examples/guards")
        .join(dir)
        .join("dist/guard.wasm");
    assert!(
        path.is_file(),
        "{} is missing: build the example guards first with scripts/build-guards.sh \
         (scripts/test.sh does this)",
        path.display()
    );
    path
}

/// The directory of an example guard package.
pub fn example_dir(dir: &str) -> PathBuf {
    example_wasm(dir);
    repo_root().join("examples/guards").join(dir)
}

/// A package in a temp dir: `clawdstrike.plugin.json` = `manifest`, `dist/guard.wasm` =
/// the given component.
pub fn package(wasm: &Path, manifest: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("dist")).expect("dist dir");
    std::fs::copy(wasm, dir.path().join("dist/guard.wasm")).expect("copy component");
    std::fs::write(
        dir.path().join("clawdstrike.plugin.json"),
        serde_json::to_string_pretty(manifest).expect("manifest json"),
    )
    .expect("write manifest");
    dir
}

/// A manifest for one guard with the given handles, capabilities, resources and tier.
pub fn manifest(
    guard: &str,
    handles: &[&str],
    capabilities: Value,
    resources: Value,
    tier: &str,
) -> Value {
    serde_json::json!({
        "version": "1.0.0",
        "name": format!("test-{}", guard.replace('_', "-")),
        "clawdstrike": {"minVersion": "0.1.0"},
        "guards": [{"name": guard, "entrypoint": "dist/guard.wasm", "handles": handles}],
        "capabilities": capabilities,
        "resources": resources,
        "trust": {"level": tier, "sandbox": "wasm"}
    })
}
