//! Whole-manifest unit tests: parsing both syntaxes, every structural rule, every tier rule,
//! the policy-side override and loading from disk.

use super::*;
use crate::event::EventType;
use serde_json::{json, Value};
use std::path::Path;

const FULL_JSON: &str = r#"{
  "version": "1.0.0",
  "name": "@acme/secrets-guard",
  "displayName": "ACME secrets",
  "description": "Blocks writes of ACME API keys.",
  "author": "ACME Security",
  "license": "Apache-2.0",
  "clawdstrike": {"minVersion": "0.1.0", "maxVersion": "1.x"},
  "guards": [{
    "name": "acme_secrets",
    "displayName": "ACME secrets",
    "entrypoint": "dist/guard.wasm",
    "handles": ["file_write", "patch_apply"],
    "configSchema": {"type": "object", "properties": {"strict": {"type": "boolean"}},
                     "additionalProperties": false}
  }],
  "capabilities": {
    "network": {"allowedHosts": ["api.example.com", "*.example.org", "127.0.0.1"],
                "allowedMethods": ["GET", "post"], "maxRequestSizeBytes": 65536,
                "maxResponseSizeBytes": 1048576},
    "filesystem": {"read": ["/etc/acme/*.conf"], "write": false},
    "secrets": {"allowedKeys": ["ACME_API_KEY"]},
    "subprocess": false
  },
  "resources": {"maxMemoryMb": 32, "maxCpuMs": 50, "maxTimeoutMs": 2000},
  "trust": {"level": "untrusted", "sandbox": "wasm"}
}"#;

const FULL_TOML: &str = r#"
[plugin]
version = "1.0.0"
name = "@acme/secrets-guard"
display_name = "ACME secrets"
description = "Blocks writes of ACME API keys."
author = "ACME Security"
license = "Apache-2.0"

[clawdstrike]
min_version = "0.1.0"
max_version = "1.x"

[[guards]]
name = "acme_secrets"
display_name = "ACME secrets"
entrypoint = "dist/guard.wasm"
handles = ["file_write", "patch_apply"]
config_schema = { type = "object", properties = { strict = { type = "boolean" } }, additionalProperties = false }

[capabilities]
subprocess = false

[capabilities.network]
allowed_hosts = ["api.example.com", "*.example.org", "127.0.0.1"]
allowed_methods = ["GET", "post"]
max_request_size_bytes = 65536
max_response_size_bytes = 1048576

[capabilities.filesystem]
read = ["/etc/acme/*.conf"]
write = false

[capabilities.secrets]
allowed_keys = ["ACME_API_KEY"]

[resources]
max_memory_mb = 32
max_cpu_ms = 50
max_timeout_ms = 2000

[trust]
level = "untrusted"
sandbox = "wasm"
"#;

fn json(text: &str) -> Result<PluginManifest, ManifestError> {
    PluginManifest::from_json_str(text, Path::new("clawdstrike.plugin.json"))
}

fn toml(text: &str) -> Result<PluginManifest, ManifestError> {
    PluginManifest::from_toml_str(text, Path::new("clawdstrike.plugin.toml"))
}

/// A minimal valid JSON manifest with `patch` merged into it (a `null` removes a key).
fn with(patch: Value) -> String {
    let mut base = json!({
        "version": "1.0.0",
        "name": "acme-guard",
        "guards": [{"name": "g", "entrypoint": "dist/guard.wasm", "handles": ["file_write"]}]
    });
    merge(&mut base, patch);
    serde_json::to_string_pretty(&base).unwrap()
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

fn caps(c: Value) -> PluginManifest {
    json(&with(json!({ "capabilities": c }))).unwrap()
}

/// The parse error's message (panics on success or another error).
fn err_msg(r: Result<PluginManifest, ManifestError>) -> String {
    match r {
        Err(ManifestError::Parse { message, .. }) => message,
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn err_at(r: Result<PluginManifest, ManifestError>) -> (usize, usize, String) {
    match r {
        Err(ManifestError::Parse {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn fields(r: Result<(), Vec<ManifestProblem>>) -> Vec<String> {
    r.err()
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.field)
        .collect()
}

// ---- parsing ---------------------------------------------------------------------------

#[test]
fn full_json_manifest_parses_into_the_model() {
    let m = json(FULL_JSON).unwrap();
    assert_eq!(m.manifest_version, semver::Version::new(1, 0, 0));
    assert_eq!(m.name, "@acme/secrets-guard");
    assert_eq!(m.display_name.as_deref(), Some("ACME secrets"));
    assert_eq!(m.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(m.engine.min_version.as_deref(), Some("0.1.0"));
    assert_eq!(m.engine.max_version.as_deref(), Some("1.x"));
    let g = &m.guards[0];
    assert_eq!(g.name, "acme_secrets");
    assert_eq!(g.entrypoint, "dist/guard.wasm");
    assert_eq!(g.handles, [EventType::FileWrite, EventType::PatchApply]);
    assert_eq!(
        g.config_schema.as_ref().unwrap()["additionalProperties"],
        false
    );
    let NetworkCapability::Hosts(net) = &m.capabilities.network else {
        panic!("{:?}", m.capabilities.network)
    };
    assert_eq!(
        net.allowed_hosts,
        ["api.example.com", "*.example.org", "127.0.0.1"]
    );
    assert_eq!(
        net.allowed_methods,
        ["GET", "POST"],
        "methods are upper-cased"
    );
    assert_eq!(net.max_request_size_bytes, 65536);
    assert_eq!(
        m.capabilities.filesystem.read,
        PathAccess::Globs(vec!["/etc/acme/*.conf".into()])
    );
    assert_eq!(m.capabilities.filesystem.write, PathAccess::Denied);
    assert_eq!(
        m.capabilities.secrets,
        SecretsCapability::Keys(vec!["ACME_API_KEY".into()])
    );
    assert_eq!(
        m.resources,
        Resources {
            max_memory_mb: 32,
            max_cpu_ms: 50,
            max_timeout_ms: 2000
        }
    );
    assert_eq!(m.trust.level, TrustTier::Community, "untrusted is an alias");
    assert_eq!(
        m.guard("acme_secrets").map(|g| g.name.as_str()),
        Some("acme_secrets")
    );
    assert!(m.check_tier(TrustTier::Community).is_ok());
}

#[test]
fn json_and_toml_forms_give_equal_models() {
    assert_eq!(json(FULL_JSON).unwrap(), toml(FULL_TOML).unwrap());
}

#[test]
fn toml_to_json_matches_the_json_form() {
    let converted = toml_to_json(FULL_TOML, Path::new("m.toml")).unwrap();
    let original: Value = serde_json::from_str(FULL_JSON).unwrap();
    assert_eq!(converted, original);
}

#[test]
fn normalised_json_form_parses_back_to_the_same_model() {
    for m in [json(FULL_JSON).unwrap(), json(&with(json!({}))).unwrap()] {
        let text = m.to_json_value().to_string();
        assert_eq!(json(&text).unwrap(), m);
    }
}

#[test]
fn absent_sections_take_their_defaults() {
    let m = json(&with(json!({}))).unwrap();
    assert_eq!(m.engine, EngineRange::default());
    assert_eq!(m.capabilities, Capabilities::default());
    assert_eq!(m.resources, Resources::default());
    assert_eq!(m.resources.max_memory_mb, 64);
    assert_eq!(m.resources.max_cpu_ms, 100);
    assert_eq!(m.resources.max_timeout_ms, 5000);
    assert_eq!(m.trust.level, TrustTier::Community);
    assert_eq!(m.trust.sandbox, Sandbox::Wasm);
    assert_eq!(m.display_name, None);
    assert_eq!(m.guards[0].config_schema, None);
    // Partly given sections default the rest.
    let m = json(&with(
        json!({"resources": {"maxCpuMs": 10}, "trust": {"sandbox": "wasm"}}),
    ))
    .unwrap();
    assert_eq!(m.resources.max_cpu_ms, 10);
    assert_eq!(m.resources.max_memory_mb, 64);
    assert_eq!(m.trust.level, TrustTier::Community);
}

#[test]
fn network_object_defaults_methods_and_sizes() {
    let m = caps(json!({"network": {"allowedHosts": ["api.example.com"]}}));
    assert_eq!(
        m.capabilities.network,
        NetworkCapability::Hosts(NetworkRules {
            allowed_hosts: vec!["api.example.com".into()],
            allowed_methods: vec!["GET".into()],
            max_request_size_bytes: 1024 * 1024,
            max_response_size_bytes: 10 * 1024 * 1024,
        })
    );
    assert_eq!(
        caps(json!({"network": true})).capabilities.network,
        NetworkCapability::Any
    );
    assert_eq!(
        caps(json!({"network": false})).capabilities.network,
        NetworkCapability::Denied
    );
    let m =
        caps(json!({"network": {"allowedHosts": ["a.example"], "allowedMethods": ["get", "GET"]}}));
    let NetworkCapability::Hosts(r) = m.capabilities.network else {
        panic!()
    };
    assert_eq!(r.allowed_methods, ["GET"], "duplicates collapse");
}

#[test]
fn filesystem_booleans_set_both_directions() {
    let fs = caps(json!({"filesystem": true})).capabilities.filesystem;
    assert_eq!((fs.read, fs.write), (PathAccess::Any, PathAccess::Any));
    let fs = caps(json!({"filesystem": false})).capabilities.filesystem;
    assert_eq!(
        (fs.read, fs.write),
        (PathAccess::Denied, PathAccess::Denied)
    );
    let fs = caps(json!({"filesystem": {"read": true}}))
        .capabilities
        .filesystem;
    assert_eq!((fs.read, fs.write), (PathAccess::Any, PathAccess::Denied));
    let fs = caps(json!({"filesystem": {"write": ["/tmp/acme/*"]}}))
        .capabilities
        .filesystem;
    assert_eq!(fs.write, PathAccess::Globs(vec!["/tmp/acme/*".into()]));
}

#[test]
fn secrets_take_false_true_or_named_keys() {
    assert_eq!(
        caps(json!({"secrets": true})).capabilities.secrets,
        SecretsCapability::Any
    );
    assert_eq!(
        caps(json!({"secrets": false})).capabilities.secrets,
        SecretsCapability::Denied
    );
    assert_eq!(
        caps(json!({"secrets": {"allowedKeys": ["K"]}}))
            .capabilities
            .secrets,
        SecretsCapability::Keys(vec!["K".into()])
    );
    let msg = err_msg(json(&with(
        json!({"capabilities": {"secrets": {"allowedKeys": ["ACME_*"]}}}),
    )));
    assert!(
        msg.starts_with("capabilities.secrets.allowedKeys[0]: "),
        "{msg}"
    );
    assert!(msg.contains("wildcards are not allowed"), "{msg}");
}

#[test]
fn trust_levels_accept_aliases() {
    for (level, tier) in [
        ("community", TrustTier::Community),
        ("untrusted", TrustTier::Community),
        ("verified", TrustTier::Verified),
        ("certified", TrustTier::Certified),
        ("first-party", TrustTier::FirstParty),
        ("first_party", TrustTier::FirstParty),
    ] {
        let m = json(&with(json!({"trust": {"level": level}}))).unwrap();
        assert_eq!(m.trust.level, tier, "{level}");
    }
    let msg = err_msg(json(&with(json!({"trust": {"level": "root"}}))));
    assert!(
        msg.starts_with("trust.level: unknown trust level \"root\""),
        "{msg}"
    );
    let msg = err_msg(json(&with(json!({"trust": {"sandbox": "docker"}}))));
    assert!(
        msg.starts_with("trust.sandbox: unknown sandbox \"docker\""),
        "{msg}"
    );
    let m = json(&with(json!({"trust": {"sandbox": "native"}}))).unwrap();
    assert_eq!(m.trust.sandbox, Sandbox::Native);
}

#[test]
fn unknown_event_type_is_located_and_names_the_path() {
    let text = "{\n  \"version\": \"1.0.0\",\n  \"name\": \"x\",\n  \"guards\": [{\"name\": \"g\", \"entrypoint\": \"g.wasm\",\n    \"handles\": [\"file_read\", \"file_delete\"]}]\n}";
    let (line, column, msg) = err_at(json(text));
    assert_eq!((line, column), (5, 30));
    assert!(
        msg.starts_with("guards[0].handles[1]: unknown event type \"file_delete\"; expected one of file_read, file_write"),
        "{msg}"
    );
}

#[test]
fn toml_errors_are_located_and_use_toml_spelling() {
    let text = "[plugin]\nversion = \"1.0.0\"\nname = \"x\"\n\n[[guards]]\nname = \"g\"\nentrypoint = \"g.wasm\"\nhandles = [\"file_delete\"]\n";
    let (line, column, msg) = err_at(toml(text));
    assert_eq!((line, column), (8, 12));
    assert!(
        msg.starts_with("guards[0].handles[0]: unknown event type"),
        "{msg}"
    );

    let text = "[plugin]\nversion = \"1.0.0\"\nname = \"x\"\n\n[[guards]]\nname = \"g\"\nentrypoint = \"g.wasm\"\nhandles = [\"file_read\"]\n\n[resources]\nmax_memory_mb = 0\n";
    let (line, _, msg) = err_at(toml(text));
    assert_eq!(line, 11);
    assert_eq!(msg, "resources.max_memory_mb: must be greater than 0");

    let text = "[plugin]\nversion = \"2.0.0\"\nname = \"x\"\n";
    let (line, column, msg) = err_at(toml(text));
    assert_eq!((line, column), (2, 11));
    assert!(
        msg.starts_with("plugin.version: manifest format 2.0.0 is not supported"),
        "{msg}"
    );
}

#[test]
fn unknown_fields_are_errors_with_a_spelling_hint() {
    let msg = err_msg(json(&with(json!({"capabilities": {"netwrok": false}}))));
    assert_eq!(
        msg,
        "capabilities.netwrok: unknown field; expected one of network, filesystem, secrets, subprocess"
    );
    let msg = err_msg(json(&with(json!({"display_name": "X"}))));
    assert!(
        msg.starts_with(
            "display_name: unknown field (JSON manifests use camelCase: \"displayName\")"
        ),
        "{msg}"
    );
    let msg = err_msg(toml(
        "[plugin]\nversion = \"1.0.0\"\nname = \"x\"\ndisplayName = \"X\"\n",
    ));
    assert!(
        msg.starts_with(
            "plugin.displayName: unknown field (TOML manifests use snake_case: \"display_name\")"
        ),
        "{msg}"
    );
    // In TOML, the header fields live in [plugin], not at the top.
    let msg = err_msg(toml("version = \"1.0.0\"\n"));
    assert!(msg.starts_with("version: unknown field (in TOML it belongs under [plugin]); expected one of plugin, clawdstrike"), "{msg}");
    let msg = err_msg(toml("[clawdstrike]\nmin_version = \"0.1.0\"\n"));
    assert_eq!(msg, "missing required field \"plugin\"");
}

#[test]
fn required_fields_are_named_when_missing() {
    assert_eq!(
        err_msg(json(&with(json!({"name": null})))),
        "missing required field \"name\""
    );
    assert_eq!(
        err_msg(json(&with(json!({"version": null})))),
        "missing required field \"version\""
    );
    assert_eq!(
        err_msg(json(&with(json!({"guards": null})))),
        "missing required field \"guards\""
    );
    let msg = err_msg(json(&with(
        json!({"guards": [{"name": "g", "entrypoint": "g.wasm"}]}),
    )));
    assert_eq!(msg, "guards[0]: missing required field \"handles\"");
    let msg = err_msg(json(&with(
        json!({"capabilities": {"network": {"allowedMethods": ["GET"]}}}),
    )));
    assert_eq!(
        msg,
        "capabilities.network: missing required field \"allowedHosts\""
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    let msg = err_msg(json(&with(json!({"name": 5}))));
    assert_eq!(msg, "name: expected a string, found a number");
    let msg = err_msg(json(&with(json!({"capabilities": {"subprocess": "no"}}))));
    assert_eq!(
        msg,
        "capabilities.subprocess: expected true or false, found a string"
    );
    let msg = err_msg(json(&with(
        json!({"capabilities": {"network": ["a.example"]}}),
    )));
    assert!(
        msg.starts_with("capabilities.network: expected false, true or an object"),
        "{msg}"
    );
    let msg = err_msg(json("[]"));
    assert_eq!(msg, "expected an object, found an array");
    let msg = err_msg(toml(
        "[plugin]\nversion = \"1.0.0\"\nname = \"x\"\nguards = 3\n",
    ));
    assert_eq!(msg, "plugin.guards: unknown field; expected one of version, name, display_name, description, author, license");
}

#[test]
fn manifest_version_must_be_one_x() {
    assert!(json(&with(json!({"version": "1.4.0"}))).is_ok());
    let msg = err_msg(json(&with(json!({"version": "2.0.0"}))));
    assert!(
        msg.contains("format 2.0.0 is not supported; this engine reads format 1.x"),
        "{msg}"
    );
    let msg = err_msg(json(&with(json!({"version": "0.3.0"}))));
    assert!(msg.contains("not supported"), "{msg}");
    let msg = err_msg(json(&with(json!({"version": "1"}))));
    assert!(
        msg.contains("is not a manifest format version; write \"1.0.0\""),
        "{msg}"
    );
}

#[test]
fn package_and_guard_names_are_checked() {
    assert!(json(&with(json!({"name": "@acme/x"}))).is_ok());
    assert!(json(&with(json!({"name": "Acme_Guard"}))).is_ok());
    let msg = err_msg(json(&with(json!({"name": "../evil"}))));
    assert!(
        msg.starts_with("name: \"../evil\" is not a package name"),
        "{msg}"
    );
    let msg = err_msg(json(&with(json!({"name": "a".repeat(215)}))));
    assert!(msg.contains("is not a package name"), "{msg}");
    let msg = err_msg(json(&with(
        json!({"guards": [{"name": "Bad Name", "entrypoint": "g.wasm", "handles": ["custom"]}]}),
    )));
    assert!(
        msg.starts_with("guards[0].name: \"Bad Name\" is not a guard name"),
        "{msg}"
    );
}

#[test]
fn guard_names_must_be_unique() {
    let g = json!({"name": "g", "entrypoint": "g.wasm", "handles": ["custom"]});
    let text = with(
        json!({"guards": [g.clone(), {"name": "h", "entrypoint": "h.wasm", "handles": ["custom"]}, g]}),
    );
    let msg = err_msg(json(&text));
    assert!(
        msg.starts_with("guards[2].name: duplicate guard name \"g\" (also guards[0])"),
        "{msg}"
    );
}

#[test]
fn guard_lists_are_bounded() {
    let msg = err_msg(json(&with(json!({"guards": []}))));
    assert_eq!(msg, "guards: a package must declare at least one guard");
    let many: Vec<Value> = (0..33)
        .map(|i| json!({"name": format!("g{i}"), "entrypoint": "g.wasm", "handles": ["custom"]}))
        .collect();
    let msg = err_msg(json(&with(json!({"guards": many}))));
    assert_eq!(msg, "guards: has 33 entries; at most 32 are allowed");
    let msg = err_msg(json(&with(
        json!({"guards": [{"name": "g", "entrypoint": "g.wasm", "handles": []}]}),
    )));
    assert!(
        msg.starts_with("guards[0].handles: list at least one event type"),
        "{msg}"
    );
    let msg = err_msg(json(&with(
        json!({"guards": [{"name": "g", "entrypoint": "g.wasm", "handles": ["custom", "custom"]}]}),
    )));
    assert_eq!(msg, "guards[0].handles[1]: \"custom\" is listed twice");
}

#[test]
fn lists_and_strings_are_bounded() {
    let hosts: Vec<String> = (0..257).map(|i| format!("h{i}.example.com")).collect();
    let msg = err_msg(json(&with(
        json!({"capabilities": {"network": {"allowedHosts": hosts}}}),
    )));
    assert_eq!(
        msg,
        "capabilities.network.allowedHosts: has 257 entries; at most 256 are allowed"
    );
    let hosts: Vec<String> = (0..256).map(|i| format!("h{i}.example.com")).collect();
    assert!(json(&with(
        json!({"capabilities": {"network": {"allowedHosts": hosts}}})
    ))
    .is_ok());
    let msg = err_msg(json(&with(json!({"description": "x".repeat(1025)}))));
    assert_eq!(
        msg,
        "description: the string is 1025 bytes long; at most 1024 are allowed"
    );
    assert!(json(&with(json!({"description": "x".repeat(1024)}))).is_ok());
    let msg = err_msg(json(&with(json!({"author": "a\u{0}b"}))));
    assert_eq!(msg, "author: the string contains a NUL byte");
    let msg = err_msg(json(&with(
        json!({"capabilities": {"filesystem": {"read": []}}}),
    )));
    assert!(
        msg.starts_with("capabilities.filesystem.read: the list is empty"),
        "{msg}"
    );
}

#[test]
fn hosts_and_methods_are_checked() {
    let msg = err_msg(json(&with(
        json!({"capabilities": {"network": {"allowedHosts": ["ok.example", "https://api.example.com/v1"]}}}),
    )));
    assert!(
        msg.starts_with(
            "capabilities.network.allowedHosts[1]: \"https://api.example.com/v1\" is a URL"
        ),
        "{msg}"
    );
    let msg = err_msg(json(&with(
        json!({"capabilities": {"network": {"allowedHosts": ["*"]}}}),
    )));
    assert!(msg.contains("`*` is not a host"), "{msg}");
    let msg = err_msg(json(&with(
        json!({"capabilities": {"network": {"allowedHosts": ["a.example"], "allowedMethods": ["TRACE"]}}}),
    )));
    assert!(
        msg.starts_with("capabilities.network.allowedMethods[0]: unknown HTTP method \"TRACE\""),
        "{msg}"
    );
    let m = caps(json!({"network": {"allowedHosts": ["API.Example.COM", "[::1]:8080"]}}));
    let NetworkCapability::Hosts(r) = m.capabilities.network else {
        panic!()
    };
    assert_eq!(r.allowed_hosts, ["api.example.com", "[::1]:8080"]);
}

#[test]
fn sizes_and_resources_are_bounded() {
    let msg = err_msg(json(&with(
        json!({"capabilities": {"network": {"allowedHosts": ["a.example"], "maxRequestSizeBytes": 0}}}),
    )));
    assert_eq!(
        msg,
        "capabilities.network.maxRequestSizeBytes: must be greater than 0"
    );
    for (field, over, cap) in [
        ("maxMemoryMb", 4097, "4096 MB"),
        ("maxCpuMs", 60_001, "60000 ms"),
        ("maxTimeoutMs", 300_001, "300000 ms"),
    ] {
        let msg = err_msg(json(&with(json!({"resources": {field: over}}))));
        assert!(
            msg.starts_with(&format!("resources.{field}: {over} ")),
            "{msg}"
        );
        assert!(
            msg.ends_with(&format!("above the hard limit of {cap}")),
            "{msg}"
        );
        let msg = err_msg(json(&with(json!({"resources": {field: 0}}))));
        assert_eq!(msg, format!("resources.{field}: must be greater than 0"));
    }
    let msg = err_msg(json(&with(json!({"resources": {"maxMemoryMb": -1}}))));
    assert_eq!(
        msg,
        "resources.maxMemoryMb: expected a whole number from 1 to 4096"
    );
    let msg = err_msg(json(&with(json!({"resources": {"maxMemoryMb": 1.5}}))));
    assert_eq!(
        msg,
        "resources.maxMemoryMb: expected a whole number from 1 to 4096"
    );
    assert!(json(&with(
        json!({"resources": {"maxMemoryMb": 4096, "maxCpuMs": 60000, "maxTimeoutMs": 300000}})
    ))
    .is_ok());
}

#[test]
fn engine_range_is_checked_when_parsed() {
    let msg = err_msg(json(&with(
        json!({"clawdstrike": {"minVersion": "latest"}}),
    )));
    assert!(
        msg.starts_with("clawdstrike.minVersion: \"latest\" is not a semver version"),
        "{msg}"
    );
    let msg = err_msg(json(&with(json!({"clawdstrike": {"maxVersion": ">=2"}}))));
    assert!(
        msg.starts_with("clawdstrike.maxVersion: \">=2\" is not a version bound"),
        "{msg}"
    );
    let msg = err_msg(json(&with(
        json!({"clawdstrike": {"minVersion": "2.0.0", "maxVersion": "1.x"}}),
    )));
    assert!(msg.contains("is below minVersion 2.0.0"), "{msg}");
}

#[test]
fn entrypoints_must_stay_in_the_package() {
    for (ep, needle) in [
        ("../../bin/evil.wasm", "leaves the package directory"),
        ("/usr/lib/evil.wasm", "absolute path"),
    ] {
        let msg = err_msg(json(&with(
            json!({"guards": [{"name": "g", "entrypoint": ep, "handles": ["custom"]}]}),
        )));
        assert!(msg.starts_with("guards[0].entrypoint: "), "{msg}");
        assert!(msg.contains(needle), "{msg}");
    }
}

#[test]
fn config_schema_must_compile_and_the_error_names_the_guard() {
    let ok = json(&with(
        json!({"guards": [{"name": "g", "entrypoint": "g.wasm", "handles": ["custom"], "configSchema": true}]}),
    ));
    assert_eq!(ok.unwrap().guards[0].config_schema, Some(json!(true)));
    let msg = err_msg(json(&with(
        json!({"guards": [{"name": "g", "entrypoint": "g.wasm", "handles": ["custom"], "configSchema": {"type": "nope"}}]}),
    )));
    assert!(
        msg.starts_with("guards[0].configSchema: guard \"g\" has an invalid config schema"),
        "{msg}"
    );
    let msg = err_msg(json(&with(
        json!({"guards": [{"name": "g", "entrypoint": "g.wasm", "handles": ["custom"], "configSchema": "object"}]}),
    )));
    assert_eq!(
        msg,
        "guards[0].configSchema: expected a JSON Schema (an object), found a string"
    );
    // A remote reference cannot be fetched: refused, and no request is made.
    let msg = err_msg(json(&with(
        json!({"guards": [{"name": "g", "entrypoint": "g.wasm", "handles": ["custom"], "configSchema": {"$ref": "http://169.254.169.254/latest/meta-data"}}]}),
    )));
    assert!(msg.contains("invalid config schema"), "{msg}");
}

#[test]
fn toml_config_schema_keeps_its_keys_as_written() {
    let text = "[plugin]\nversion = \"1.0.0\"\nname = \"x\"\n[[guards]]\nname = \"g\"\nentrypoint = \"g.wasm\"\nhandles = [\"custom\"]\n[guards.config_schema]\ntype = \"object\"\nadditionalProperties = false\nproperties = { max_items = { type = \"integer\", minimum = 0 } }\n";
    let m = toml(text).unwrap();
    assert_eq!(
        m.guards[0].config_schema,
        Some(json!({"type": "object", "additionalProperties": false,
                    "properties": {"max_items": {"type": "integer", "minimum": 0}}}))
    );
}

#[test]
fn oversized_text_is_refused_before_parsing() {
    let big = format!(
        "{{\"description\": \"{}\"}}",
        "x".repeat(MAX_MANIFEST_BYTES)
    );
    assert!(matches!(
        json(&big),
        Err(ManifestError::TooLarge {
            limit: MAX_MANIFEST_BYTES,
            ..
        })
    ));
    assert!(matches!(
        toml(&"#".repeat(MAX_MANIFEST_BYTES + 1)),
        Err(ManifestError::TooLarge { .. })
    ));
}

// ---- trust tiers -----------------------------------------------------------------------

#[test]
fn community_accepts_the_strict_shape() {
    let m = caps(json!({
        "network": {"allowedHosts": ["api.example.com", "*.example.org"]},
        "filesystem": {"read": ["/etc/acme/*.conf", "/etc/acme/**", "config/acme.toml"]},
        "secrets": {"allowedKeys": ["ACME_API_KEY"]}
    }));
    assert_eq!(m.check_tier(TrustTier::Community), Ok(()));
}

#[test]
fn untrusted_plugin_cannot_declare_subprocess() {
    let m = caps(json!({"subprocess": true}));
    let problems = m.check_tier(TrustTier::Community).unwrap_err();
    assert_eq!(problems[0].field, "capabilities.subprocess");
    assert!(
        problems[0].message.contains("no way to start a process"),
        "{}",
        problems[0]
    );
}

#[test]
fn subprocess_is_refused_at_every_sandboxed_tier() {
    let m = caps(json!({"subprocess": true}));
    for tier in [TrustTier::Verified, TrustTier::Certified] {
        let problems = m.check_tier(tier).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0]
            .message
            .contains("sandbox has no way to start a process, at any trust tier"));
    }
}

#[test]
fn community_cannot_write_files() {
    for fs in [
        json!({"write": ["/tmp/acme/*"]}),
        json!({"write": true}),
        json!(true),
    ] {
        let m = caps(json!({"filesystem": fs}));
        let f = fields(m.check_tier(TrustTier::Community));
        assert!(
            f.contains(&"capabilities.filesystem.write".to_string()),
            "{fs}: {f:?}"
        );
        assert_eq!(
            m.check_tier(TrustTier::Verified),
            Ok(()),
            "{fs}: relaxed for verified"
        );
    }
}

#[test]
fn community_reads_only_explicit_patterns() {
    let m = caps(json!({"filesystem": {"read": true}}));
    let p = m.check_tier(TrustTier::Community).unwrap_err();
    assert_eq!(p[0].field, "capabilities.filesystem.read");
    assert!(p[0].message.contains("list the paths it needs"), "{}", p[0]);
    for broad in [
        "**/*",
        "**",
        "/**",
        "*",
        "/",
        "/*/*",
        "**/.ssh/id_rsa",
        "*.conf",
        "/*/.ssh/id_rsa",
        "{/etc,/home}/**",
        "?",
    ] {
        let m = caps(json!({"filesystem": {"read": ["/etc/acme/a.conf", broad]}}));
        let p = m.check_tier(TrustTier::Community).unwrap_err();
        assert_eq!(p.len(), 1, "{broad}: {p:?}");
        assert_eq!(p[0].field, "capabilities.filesystem.read[1]", "{broad}");
        assert!(
            p[0].message.contains("may read only explicit paths"),
            "{}",
            p[0]
        );
        assert_eq!(
            m.check_tier(TrustTier::Verified),
            Ok(()),
            "{broad}: relaxed for verified"
        );
    }
}

#[test]
fn community_network_needs_an_explicit_host_list() {
    let m = caps(json!({"network": true}));
    let p = m.check_tier(TrustTier::Community).unwrap_err();
    assert_eq!(p[0].field, "capabilities.network");
    assert!(p[0].message.contains("allowedHosts"), "{}", p[0]);
    assert_eq!(m.check_tier(TrustTier::Verified), Ok(()));
    let m = caps(json!({"network": {"allowedHosts": ["ok.example.com", "*.com"]}}));
    let p = m.check_tier(TrustTier::Community).unwrap_err();
    assert_eq!(p[0].field, "capabilities.network.allowedHosts[1]");
    assert!(p[0].message.contains("whole top-level domain"), "{}", p[0]);
    // A hand-built model with a bare `*` (the parser refuses it) is refused too.
    let mut m = caps(json!({}));
    m.capabilities.network = NetworkCapability::Hosts(NetworkRules::with_hosts(["*"]));
    let p = m.check_tier(TrustTier::Community).unwrap_err();
    assert!(p[0].message.contains("matches any host"), "{}", p[0]);
}

#[test]
fn community_secrets_must_be_named() {
    let m = caps(json!({"secrets": true}));
    let p = m.check_tier(TrustTier::Community).unwrap_err();
    assert_eq!(p[0].field, "capabilities.secrets");
    assert!(p[0].message.contains("allowedKeys"), "{}", p[0]);
    assert_eq!(m.check_tier(TrustTier::Certified), Ok(()));
}

#[test]
fn resource_limits_depend_on_the_tier() {
    let at = |mem: u32, cpu: u32, wall: u32| {
        json(&with(
            json!({"resources": {"maxMemoryMb": mem, "maxCpuMs": cpu, "maxTimeoutMs": wall}}),
        ))
        .unwrap()
    };
    assert_eq!(at(64, 100, 5000).check_tier(TrustTier::Community), Ok(()));
    let p = at(65, 101, 5001)
        .check_tier(TrustTier::Community)
        .unwrap_err();
    let f: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        f,
        [
            "resources.maxMemoryMb",
            "resources.maxCpuMs",
            "resources.maxTimeoutMs"
        ]
    );
    assert!(
        p[0].message
            .starts_with("65 MB is above the community limit of 64 MB"),
        "{}",
        p[0]
    );
    assert!(
        p[0].message.contains("have the package verified"),
        "{}",
        p[0]
    );
    for tier in [TrustTier::Verified, TrustTier::Certified] {
        assert_eq!(at(512, 1000, 30_000).check_tier(tier), Ok(()));
        let p = at(513, 1001, 30_001).check_tier(tier).unwrap_err();
        assert_eq!(p.len(), 3);
        assert!(p[2]
            .message
            .starts_with(&format!("30001 ms is above the {tier} limit of 30000 ms")));
    }
}

#[test]
fn a_package_can_never_run_as_first_party() {
    let m = json(&with(
        json!({"trust": {"level": "first-party", "sandbox": "native"}}),
    ))
    .unwrap();
    let p = m.check_tier(TrustTier::FirstParty).unwrap_err();
    let f: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(f, ["trust.sandbox", "trust.level"]);
    assert!(
        p[1].message.contains("never run as first-party"),
        "{}",
        p[1]
    );
    assert!(p[1].message.contains("built into the engine"), "{}", p[1]);
    // Even the most harmless package.
    assert!(json(&with(json!({})))
        .unwrap()
        .check_tier(TrustTier::FirstParty)
        .is_err());
}

#[test]
fn native_sandbox_is_refused_for_packages() {
    let m = json(&with(json!({"trust": {"sandbox": "native"}}))).unwrap();
    for tier in [
        TrustTier::Community,
        TrustTier::Verified,
        TrustTier::Certified,
    ] {
        assert_eq!(fields(m.check_tier(tier)), ["trust.sandbox"], "{tier}");
    }
}

#[test]
fn problems_display_as_field_then_message() {
    let p = caps(json!({"secrets": true}))
        .check_tier(TrustTier::Community)
        .unwrap_err();
    assert!(p[0]
        .to_string()
        .starts_with("capabilities.secrets: true lets a community guard"));
}

#[test]
fn effective_tier_is_the_lower_and_never_first_party() {
    use TrustTier::*;
    for (requested, ceiling, expected) in [
        (Community, None, Community),
        (Verified, None, Verified),
        (Certified, Some(Verified), Verified),
        (Verified, Some(Certified), Verified),
        (Certified, Some(Community), Community),
        (FirstParty, None, Certified),
        (FirstParty, Some(FirstParty), Certified),
        (FirstParty, Some(Verified), Verified),
        (Community, Some(FirstParty), Community),
    ] {
        assert_eq!(
            effective_tier(requested, ceiling),
            expected,
            "{requested} / {ceiling:?}"
        );
    }
}

#[test]
fn engine_compatibility_names_both_sides() {
    let v = |s: &str| semver::Version::parse(s).unwrap();
    let m = json(&with(
        json!({"clawdstrike": {"minVersion": "0.5.0", "maxVersion": "1.x"}}),
    ))
    .unwrap();
    assert_eq!(m.check_engine_compat(&v("0.5.0")), Ok(()));
    assert_eq!(m.check_engine_compat(&v("1.9.3")), Ok(()));
    assert_eq!(
        m.check_engine_compat(&v("0.5.0-dev")),
        Ok(()),
        "pre-release counts as release"
    );
    let p = m.check_engine_compat(&v("0.4.9")).unwrap_err();
    assert_eq!(p.field, "clawdstrike.minVersion");
    assert!(
        p.message.contains("0.5.0 or later") && p.message.contains("this engine is 0.4.9"),
        "{p}"
    );
    let p = m.check_engine_compat(&v("2.0.0")).unwrap_err();
    assert_eq!(p.field, "clawdstrike.maxVersion");
    assert!(
        p.message.contains("up to 1.x") && p.message.contains("this engine is 2.0.0"),
        "{p}"
    );
    let exact = json(&with(json!({"clawdstrike": {"maxVersion": "0.3.1"}}))).unwrap();
    assert!(exact.check_engine_compat(&v("0.3.1")).is_ok());
    assert!(exact.check_engine_compat(&v("0.3.2")).is_err());
    assert!(json(&with(json!({})))
        .unwrap()
        .check_engine_compat(&v("99.0.0"))
        .is_ok());
}

// ---- trust_override --------------------------------------------------------------------

#[test]
fn trust_override_reads_policy_yaml_and_refuses_unknown_keys() {
    let o: TrustOverride = serde_saphyr::from_str(
        "max_trust_tier: untrusted\nrequire_capabilities: [network, secrets]\n",
    )
    .unwrap();
    assert_eq!(o.max_trust_tier, Some(TrustTier::Community));
    assert_eq!(
        o.require_capabilities,
        Some(vec![CapabilityName::Network, CapabilityName::Secrets])
    );
    let o = TrustOverride::from_value(&json!({})).unwrap();
    assert_eq!(o, TrustOverride::default());
    let err = TrustOverride::from_value(&json!({"maxTrustTier": "verified"})).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `maxTrustTier`"),
        "{err}"
    );
    assert!(TrustOverride::from_value(&json!({"require_capabilities": ["gpu"]})).is_err());
    assert!(TrustOverride::from_value(&json!({"max_trust_tier": "root"})).is_err());
}

#[test]
fn require_capabilities_allows_only_the_listed_ones() {
    let m = caps(
        json!({"network": {"allowedHosts": ["a.example"]}, "secrets": {"allowedKeys": ["K"]}}),
    );
    let only = |caps: &[CapabilityName]| TrustOverride {
        max_trust_tier: None,
        require_capabilities: Some(caps.to_vec()),
    };
    assert_eq!(
        TrustOverride::default().check_required(&m),
        Ok(()),
        "absent = no restriction"
    );
    assert_eq!(
        only(&[CapabilityName::Network, CapabilityName::Secrets]).check_required(&m),
        Ok(())
    );
    let p = only(&[CapabilityName::Network])
        .check_required(&m)
        .unwrap_err();
    assert_eq!(p.field, "capabilities.secrets");
    assert!(
        p.message
            .contains("allows only network, but the package declares secrets"),
        "{p}"
    );
    let p = only(&[]).check_required(&m).unwrap_err();
    assert_eq!(p.field, "capabilities.network");
    assert!(
        p.message
            .contains("allows only no capabilities, but the package declares network, secrets"),
        "{p}"
    );
    // A package declaring nothing satisfies any list.
    assert_eq!(
        only(&[]).check_required(&caps(json!({"network": false}))),
        Ok(())
    );
    // Filesystem counts when either direction is declared.
    let fs = caps(json!({"filesystem": {"read": ["/etc/acme/a"]}}));
    assert_eq!(
        only(&[]).check_required(&fs).unwrap_err().field,
        "capabilities.filesystem"
    );
    let sp = caps(json!({"subprocess": true}));
    assert_eq!(
        only(&[]).check_required(&sp).unwrap_err().field,
        "capabilities.subprocess"
    );
}

// ---- loading ---------------------------------------------------------------------------

#[test]
fn load_finds_the_manifest_in_a_package_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(TOML_MANIFEST), FULL_TOML).unwrap();
    let loaded = PluginManifest::load(dir.path()).unwrap();
    assert_eq!(loaded.manifest_path, dir.path().join(TOML_MANIFEST));
    assert_eq!(loaded.package_dir, dir.path());
    assert_eq!(loaded.manifest, json(FULL_JSON).unwrap());
    std::fs::write(dir.path().join(JSON_MANIFEST), FULL_JSON).unwrap();
    assert!(matches!(
        PluginManifest::load(dir.path()),
        Err(ManifestError::Ambiguous { .. })
    ));
    let by_file = PluginManifest::load(&dir.path().join(JSON_MANIFEST)).unwrap();
    assert_eq!(by_file.package_dir, dir.path());
    let empty = tempfile::tempdir().unwrap();
    let err = PluginManifest::load(empty.path()).unwrap_err();
    assert!(matches!(err, ManifestError::NotFound { .. }), "{err}");
    let other = dir.path().join("manifest.yaml");
    std::fs::write(&other, "x").unwrap();
    assert!(matches!(
        PluginManifest::load(&other),
        Err(ManifestError::UnknownFormat { .. })
    ));
    let err = PluginManifest::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, ManifestError::Io { .. }), "{err}");
    assert!(err.to_string().contains("missing.json"), "{err}");
}

#[test]
fn load_errors_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JSON_MANIFEST);
    std::fs::write(&path, "{\n  \"version\": \"1.0.0\",\n  \"nmae\": \"x\"\n}").unwrap();
    let err = PluginManifest::load(dir.path()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:3:3: nmae: unknown field; expected one of $schema, version, name, displayName, \
             description, author, license, clawdstrike, guards, capabilities, resources, trust",
            path.display()
        )
    );
}

#[test]
fn ensure_tier_reports_problems_against_the_manifest_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JSON_MANIFEST);
    std::fs::write(
        &path,
        with(json!({"capabilities": {"subprocess": true, "secrets": true}})),
    )
    .unwrap();
    let loaded = PluginManifest::load(dir.path()).unwrap();
    let err = loaded.ensure_tier(TrustTier::Community).unwrap_err();
    let ManifestError::Invalid { path: p, problems } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(p, &path);
    assert_eq!(problems.len(), 2);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}: 2 problems: capabilities.subprocess: ",
            path.display()
        )),
        "{shown}"
    );
    assert!(
        loaded.ensure_tier(TrustTier::Verified).is_err(),
        "subprocess, still"
    );
}

#[test]
fn entrypoint_path_resolves_inside_the_package() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    std::fs::write(dir.path().join("dist/guard.wasm"), b"\0asm").unwrap();
    std::fs::write(dir.path().join(JSON_MANIFEST), with(json!({}))).unwrap();
    let loaded = PluginManifest::load(dir.path()).unwrap();
    let mut g = loaded.manifest.guards[0].clone();
    g.entrypoint = "dist/guard.wasm".into();
    let p = loaded.entrypoint_path(&g).unwrap();
    assert_eq!(
        p,
        dir.path().canonicalize().unwrap().join("dist/guard.wasm")
    );
    g.entrypoint = "./dist/guard.wasm".into();
    assert!(loaded.entrypoint_path(&g).is_ok());

    for (ep, needle) in [
        ("../outside.wasm", "leaves the package directory"),
        ("/etc/passwd", "absolute path"),
        ("dist/missing.wasm", "cannot be opened"),
        ("dist", "is not a file"),
    ] {
        g.entrypoint = ep.into();
        let err = loaded.entrypoint_path(&g).unwrap_err();
        assert!(
            matches!(err, ManifestError::Entrypoint { .. }),
            "{ep}: {err}"
        );
        assert!(err.to_string().contains(needle), "{ep}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn entrypoint_symlink_out_of_the_package_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("evil.wasm"), b"\0asm").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("evil.wasm"),
        dir.path().join("dist/guard.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join(JSON_MANIFEST), with(json!({}))).unwrap();
    let loaded = PluginManifest::load(dir.path()).unwrap();
    let err = loaded
        .entrypoint_path(&loaded.manifest.guards[0])
        .unwrap_err();
    assert!(
        err.to_string().contains("outside the package directory"),
        "{err}"
    );
    // A symlink that stays inside is fine.
    std::fs::write(dir.path().join("dist/real.wasm"), b"\0asm").unwrap();
    std::fs::remove_file(dir.path().join("dist/guard.wasm")).unwrap();
    std::os::unix::fs::symlink("real.wasm", dir.path().join("dist/guard.wasm")).unwrap();
    assert!(loaded.entrypoint_path(&loaded.manifest.guards[0]).is_ok());
}

#[test]
fn invalid_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JSON_MANIFEST);
    std::fs::write(&path, b"{\n  \"name\": \"a\xffb\"\n}").unwrap();
    match PluginManifest::load(&path) {
        Err(ManifestError::Parse {
            line,
            column,
            message,
            ..
        }) => {
            assert_eq!((line, column), (2, 13));
            assert!(message.contains("not valid UTF-8 (byte 0xff)"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JSON_MANIFEST);
    std::fs::write(&path, vec![b' '; MAX_MANIFEST_BYTES + 1]).unwrap();
    let err = PluginManifest::load(&path).unwrap_err();
    assert!(matches!(err, ManifestError::TooLarge { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("larger than the limit of 262144 bytes"),
        "{err}"
    );
    std::fs::write(&path, vec![b' '; MAX_MANIFEST_BYTES]).unwrap();
    assert!(matches!(
        PluginManifest::load(&path),
        Err(ManifestError::Parse { .. })
    ));
}
