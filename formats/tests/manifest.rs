//! The plugin manifest against its fixtures (`formats/tests/fixtures/manifests/`), the
//! published JSON Schema (`sdk/schema/clawdstrike.plugin.schema.json`), the example guard
//! packages (`examples/guards/*`) and the hostile corpus (`tests/hostile/manifests/`).
//!
//! Fixture folders: `valid/` (accepted by engine and schema), `invalid/` (refused by both),
//! `invalid-engine-only/` (refused by the engine for a rule JSON Schema cannot express; the
//! schema accepts them, which this file records so the gap stays known), `tier/` (parse,
//! then refused at some trust tier).

use clawdstrike_formats::manifest::{
    effective_tier, toml_to_json, ManifestError, PluginManifest, TrustTier, MAX_MANIFEST_BYTES,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the engine crate sits in the workspace")
        .to_path_buf()
}

fn fixture_dir(sub: &str) -> PathBuf {
    repo().join("formats/tests/fixtures/manifests").join(sub)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.ends_with("README.md"))
        .collect();
    out.sort();
    out
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every file in `dir` has exactly one row in `table` and every row has a file.
fn assert_table_covers(dir: &Path, table: &[&str]) {
    let files: BTreeSet<String> = files_in(dir).iter().map(|p| name_of(p)).collect();
    let rows: BTreeSet<String> = table.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        files,
        rows,
        "fixture files and test table differ in {}",
        dir.display()
    );
}

fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = repo().join("sdk/schema/clawdstrike.plugin.schema.json");
        let text = std::fs::read_to_string(&path).expect("the schema file exists");
        let value: Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::draft202012::new(&value).expect("the schema compiles")
    })
}

/// The JSON form of a manifest file (a TOML file converted mechanically).
fn json_form(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    if path.extension().is_some_and(|e| e == "toml") {
        toml_to_json(&text, path).unwrap_or_else(|e| panic!("{e}"))
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

fn schema_errors(v: &Value) -> Vec<String> {
    schema()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The example guard packages that carry a manifest.
fn example_manifests() -> Vec<PathBuf> {
    let dir = repo().join("examples/guards");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        let pkg = e.unwrap().path();
        for name in ["clawdstrike.plugin.json", "clawdstrike.plugin.toml"] {
            if pkg.join(name).is_file() {
                out.push(pkg.join(name));
            }
        }
    }
    out.sort();
    out
}

fn parse_message(path: &Path, r: Result<impl std::fmt::Debug, ManifestError>) -> String {
    match r {
        Err(e @ ManifestError::Parse { .. }) => {
            let ManifestError::Parse {
                path: ref p,
                line,
                column,
                ref message,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(p, path, "the error names the file");
            assert!(line >= 1 && column >= 1, "{e}");
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("{}:{line}:{column}: ", path.display())),
                "{shown}"
            );
            assert!(
                shown.len() < 1000,
                "messages stay short: {} bytes",
                shown.len()
            );
            message.clone()
        }
        other => panic!(
            "{}: expected a located parse error, got {other:?}",
            path.display()
        ),
    }
}

// ---- fixtures --------------------------------------------------------------------------

#[test]
fn valid_fixtures_load_and_pass_the_tier_they_request() {
    let files = files_in(&fixture_dir("valid"));
    assert!(files.len() >= 8);
    for path in files {
        let loaded = PluginManifest::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let m = &loaded.manifest;
        assert_eq!(
            m.check_tier(m.trust.level),
            Ok(()),
            "{} at its requested tier",
            path.display()
        );
        // The normalised JSON form is itself a manifest that means the same.
        let again = PluginManifest::from_json_str(&m.to_json_value().to_string(), &path).unwrap();
        assert_eq!(&again, m, "{}", path.display());
    }
}

#[test]
fn json_and_toml_twins_give_equal_models() {
    let dir = fixture_dir("valid");
    let mut pairs = 0;
    for json in files_in(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let toml = json.with_extension("toml");
        if !toml.exists() {
            continue;
        }
        pairs += 1;
        let a = PluginManifest::load(&json).unwrap().manifest;
        let b = PluginManifest::load(&toml).unwrap().manifest;
        assert_eq!(a, b, "{} vs {}", json.display(), toml.display());
        assert_eq!(
            json_form(&json),
            json_form(&toml),
            "mechanical conversion of {}",
            toml.display()
        );
    }
    assert!(pairs >= 2, "at least full and minimal come in both forms");
}

const INVALID: &[(&str, &str)] = &[
    ("bad-guard-name.json", "guards[0].name: \"Acme Secrets\" is not a guard name"),
    ("bad-max-version.json", "clawdstrike.maxVersion: \">=1.0\" is not a version bound"),
    ("bad-method.json", "capabilities.network.allowedMethods[0]: unknown HTTP method \"CONNECT\""),
    ("bad-min-version.json", "clawdstrike.minVersion: \"latest\" is not a semver version"),
    ("bad-package-name.json", "name: \"../evil\" is not a package name"),
    ("bare-star-host.json", "capabilities.network.allowedHosts[0]: `*` is not a host"),
    ("camel-case-in-toml.toml", "resources.maxMemoryMb: unknown field (TOML manifests use snake_case: \"max_memory_mb\")"),
    ("config-schema-string.json", "guards[0].configSchema: expected a JSON Schema (an object), found a string"),
    ("duplicate-handles.json", "guards[0].handles[1]: \"file_read\" is listed twice"),
    ("empty-handles.json", "guards[0].handles: list at least one event type"),
    ("empty-hosts.json", "capabilities.network.allowedHosts: the list is empty"),
    ("entrypoint-absolute.json", "guards[0].entrypoint: \"/usr/lib/guard.wasm\" is an absolute path"),
    ("entrypoint-dotdot.json", "guards[0].entrypoint: \"../other-package/dist/guard.wasm\" leaves the package directory"),
    ("filesystem-string.json", "capabilities.filesystem.read: expected false, true or a list of globs, found a string"),
    ("host-with-path.json", "capabilities.network.allowedHosts[0]: \"api.example.com/v1\" has a path"),
    ("host-with-scheme.json", "capabilities.network.allowedHosts[0]: \"https://api.example.com\" is a URL; write only the host"),
    ("long-description.json", "description: the string is 1025 bytes long; at most 1024 are allowed"),
    ("memory-over-cap.json", "resources.maxMemoryMb: 8192 MB is above the hard limit of 4096 MB"),
    ("missing-handles.json", "guards[0]: missing required field \"handles\""),
    ("missing-name.json", "missing required field \"name\""),
    ("no-guards.json", "guards: a package must declare at least one guard"),
    ("request-size-zero.json", "capabilities.network.maxRequestSizeBytes: must be greater than 0"),
    ("resources-zero.json", "resources.maxCpuMs: must be greater than 0"),
    ("sandbox-unknown.json", "trust.sandbox: unknown sandbox \"docker\"; expected one of wasm, native"),
    ("secrets-wildcard.json", "capabilities.secrets.allowedKeys[0]: \"ACME_*\": secret keys are named one by one"),
    ("snake-case-in-json.json", "display_name: unknown field (JSON manifests use camelCase: \"displayName\")"),
    ("subprocess-string.json", "capabilities.subprocess: expected true or false, found a string"),
    ("toml-header-at-top.toml", "name: unknown field (in TOML it belongs under [plugin]); expected one of plugin, clawdstrike, guards"),
    ("toml-resources-over-cap.toml", "resources.max_timeout_ms: 600000 ms is above the hard limit of 300000 ms"),
    ("trust-level-unknown.json", "trust.level: unknown trust level \"trusted\""),
    ("unknown-event-type.json", "guards[0].handles[1]: unknown event type \"file_delete\"; expected one of file_read, file_write"),
    ("unknown-field.json", "homepage: unknown field; expected one of $schema, version, name"),
    ("version-2.json", "version: manifest format 2.0.0 is not supported; this engine reads format 1.x"),
];

const ENGINE_ONLY: &[(&str, &str)] = &[
    (
        "bad-glob.json",
        "capabilities.filesystem.read[0]: \"/etc/acme/[.conf\" is not a valid glob",
    ),
    (
        "bad-ipv6.json",
        "capabilities.network.allowedHosts[0]: \"[1::2::3]\": `1::2::3` is not an IPv6 address",
    ),
    (
        "config-schema-invalid.json",
        "guards[0].configSchema: guard \"g\" has an invalid config schema",
    ),
    (
        "duplicate-guard-names.json",
        "guards[1].name: duplicate guard name \"g\" (also guards[0])",
    ),
    (
        "min-above-max.json",
        "clawdstrike.maxVersion: maxVersion \"1.x\" is below minVersion 2.0.0",
    ),
    (
        "port-out-of-range.json",
        "\"a.example.com:70000\": `70000` is not a port",
    ),
];

fn check_refused(sub: &str, table: &[(&str, &str)]) {
    let dir = fixture_dir(sub);
    assert_table_covers(&dir, &table.iter().map(|(f, _)| *f).collect::<Vec<_>>());
    for (file, expected) in table {
        let path = dir.join(file);
        let msg = parse_message(&path, PluginManifest::load(&path));
        assert!(
            msg.contains(expected),
            "{file}:\n  got      {msg}\n  expected {expected}"
        );
    }
}

#[test]
fn invalid_fixtures_are_refused_with_located_messages() {
    check_refused("invalid", INVALID);
}

#[test]
fn engine_only_fixtures_are_refused_with_located_messages() {
    check_refused("invalid-engine-only", ENGINE_ONLY);
}

#[test]
fn located_errors_point_at_the_offending_value() {
    let path = fixture_dir("invalid/unknown-event-type.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let Err(ManifestError::Parse { line, column, .. }) = PluginManifest::load(&path) else {
        panic!()
    };
    let at = text.lines().nth(line - 1).unwrap();
    let from: String = at.chars().skip(column - 1).collect();
    assert!(
        from.starts_with("\"file_delete\""),
        "line {line} column {column}: {at}"
    );

    let path = fixture_dir("invalid/toml-resources-over-cap.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let Err(ManifestError::Parse { line, column, .. }) = PluginManifest::load(&path) else {
        panic!()
    };
    let at = text.lines().nth(line - 1).unwrap();
    let from: String = at.chars().skip(column - 1).collect();
    assert_eq!(from, "600000", "line {line} column {column}: {at}");
}

const TIER: &[(&str, TrustTier, &[&str])] = &[
    (
        "community-fs-write.json",
        TrustTier::Community,
        &["capabilities.filesystem.write"],
    ),
    ("community-fs-write.json", TrustTier::Verified, &[]),
    (
        "community-network-any.json",
        TrustTier::Community,
        &["capabilities.network"],
    ),
    ("community-network-any.json", TrustTier::Certified, &[]),
    (
        "community-over-resources.json",
        TrustTier::Community,
        &["resources.maxMemoryMb"],
    ),
    ("community-over-resources.json", TrustTier::Verified, &[]),
    (
        "community-read-everything.json",
        TrustTier::Community,
        &["capabilities.filesystem.read[1]"],
    ),
    ("community-read-everything.json", TrustTier::Verified, &[]),
    (
        "community-secrets-any.json",
        TrustTier::Community,
        &["capabilities.secrets"],
    ),
    ("community-secrets-any.json", TrustTier::Verified, &[]),
    (
        "community-subprocess.json",
        TrustTier::Community,
        &["capabilities.subprocess"],
    ),
    (
        "community-subprocess.json",
        TrustTier::Verified,
        &["capabilities.subprocess"],
    ),
    (
        "community-subprocess.json",
        TrustTier::Certified,
        &["capabilities.subprocess"],
    ),
    (
        "first-party.json",
        TrustTier::FirstParty,
        &["trust.sandbox", "trust.level"],
    ),
    ("first-party.json", TrustTier::Certified, &["trust.sandbox"]),
    (
        "verified-over-resources.json",
        TrustTier::Verified,
        &["resources.maxMemoryMb", "resources.maxCpuMs"],
    ),
    (
        "verified-over-resources.json",
        TrustTier::Certified,
        &["resources.maxMemoryMb", "resources.maxCpuMs"],
    ),
];

#[test]
fn tier_fixtures_are_refused_at_their_tier_only() {
    let dir = fixture_dir("tier");
    let names: BTreeSet<&str> = TIER.iter().map(|(f, _, _)| *f).collect();
    assert_table_covers(&dir, &names.into_iter().collect::<Vec<_>>());
    for (file, tier, expected) in TIER {
        let m = PluginManifest::load(&dir.join(file)).unwrap().manifest;
        let got: Vec<String> = match m.check_tier(*tier) {
            Ok(()) => Vec::new(),
            Err(problems) => {
                for p in &problems {
                    assert!(p.message.len() > 30, "{file}: messages explain: {p}");
                    assert!(p.to_string().starts_with(&format!("{}: ", p.field)));
                }
                problems.into_iter().map(|p| p.field).collect()
            }
        };
        assert_eq!(got, *expected, "{file} at {tier}");
    }
}

// ---- the JSON Schema -------------------------------------------------------------------

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let path = repo().join("sdk/schema/clawdstrike.plugin.schema.json");
    let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        value["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(jsonschema::draft202012::meta::is_valid(&value));
    assert!(repo().join("sdk/schema/README.md").is_file());
}

#[test]
fn schema_accepts_every_valid_manifest_and_example() {
    let mut checked = 0;
    let files = files_in(&fixture_dir("valid"))
        .into_iter()
        .chain(files_in(&fixture_dir("tier")))
        .chain(example_manifests());
    for path in files {
        let errors = schema_errors(&json_form(&path));
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        // The engine's normalised form passes too.
        let m = PluginManifest::load(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .manifest;
        let errors = schema_errors(&m.to_json_value());
        assert!(
            errors.is_empty(),
            "normalised {}: {errors:#?}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 16, "{checked}");
}

#[test]
fn schema_rejects_every_invalid_fixture() {
    for path in files_in(&fixture_dir("invalid")) {
        let v = json_form(&path);
        assert!(
            !schema().is_valid(&v),
            "{}: the engine refuses it, so the schema must too",
            path.display()
        );
    }
}

#[test]
fn schema_cannot_express_the_engine_only_rules() {
    // If the schema learns one of these rules, move the fixture to `invalid/`.
    for path in files_in(&fixture_dir("invalid-engine-only")) {
        let errors = schema_errors(&json_form(&path));
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn example_packages_load_and_their_entrypoints_stay_inside() {
    for path in example_manifests() {
        let loaded = PluginManifest::load(path.parent().unwrap()).unwrap_or_else(|e| panic!("{e}"));
        for g in &loaded.manifest.guards {
            match loaded.entrypoint_path(g) {
                Ok(p) => assert!(p.starts_with(loaded.package_dir.canonicalize().unwrap())),
                // `dist/` is built by scripts/build-guards.sh and may be absent; nothing
                // else is acceptable.
                Err(e) => assert!(e.to_string().contains("cannot be opened"), "{e}"),
            }
        }
    }
}

// ---- hostile manifests -----------------------------------------------------------------

fn hostile_dir() -> PathBuf {
    repo().join("tests/hostile/manifests")
}

fn hostile(file: &str) -> PathBuf {
    hostile_dir().join(file)
}

#[test]
fn hostile_corpus_is_covered_and_documented() {
    let files: Vec<String> = files_in(&hostile_dir())
        .iter()
        .map(|p| name_of(p))
        .collect();
    let readme = std::fs::read_to_string(repo().join("tests/hostile/README.md")).unwrap();
    for f in &files {
        assert!(
            readme.contains(&format!("`manifests/{f}`")),
            "{f} has no line in tests/hostile/README.md"
        );
        assert!(
            HOSTILE_FILES.contains(&f.as_str()),
            "{f} has no test in this file"
        );
    }
    assert_eq!(files.len(), HOSTILE_FILES.len());
}

const HOSTILE_FILES: &[&str] = &[
    "absolute-entrypoint.json",
    "bom.json",
    "community-reads-everything.json",
    "deep-nesting.json",
    "deep-nesting.toml",
    "dotdot-entrypoint.json",
    "duplicate-guard-names.json",
    "duplicate-keys.json",
    "first-party-native.json",
    "huge-list.json",
    "invalid-utf8.toml",
    "long-string.json",
    "remote-ref-config-schema.json",
];

#[test]
fn hostile_manifests_are_refused_with_a_located_message() {
    for (file, expected) in [
        (
            "absolute-entrypoint.json",
            "guards[0].entrypoint: \"/tmp/evil.wasm\" is an absolute path",
        ),
        ("bom.json", "byte-order mark"),
        (
            "deep-nesting.json",
            "invalid JSON: recursion limit exceeded",
        ),
        ("deep-nesting.toml", "invalid TOML"),
        ("dotdot-entrypoint.json", "leaves the package directory"),
        (
            "duplicate-guard-names.json",
            "guards[1].name: duplicate guard name \"g\"",
        ),
        ("duplicate-keys.json", "duplicate key \"capabilities\""),
        (
            "huge-list.json",
            "capabilities.network.allowedHosts: has 2000 entries; at most 256 are allowed",
        ),
        ("invalid-utf8.toml", "not valid UTF-8"),
        ("long-string.json", "name: the string is 20000 bytes long"),
        (
            "remote-ref-config-schema.json",
            "guards[0].configSchema: guard \"g\" has an invalid config schema",
        ),
    ] {
        let path = hostile(file);
        let started = Instant::now();
        let msg = parse_message(&path, PluginManifest::load(&path));
        assert!(
            msg.contains(expected),
            "{file}:\n  got      {msg}\n  expected {expected}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{file} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn hostile_errors_point_at_the_right_line() {
    let at = |file: &str| match PluginManifest::load(&hostile(file)) {
        Err(ManifestError::Parse { line, column, .. }) => (line, column),
        other => panic!("{file}: {other:?}"),
    };
    assert_eq!(at("bom.json"), (1, 1));
    assert_eq!(at("duplicate-keys.json"), (6, 3));
    assert_eq!(at("invalid-utf8.toml").0, 4);
}

#[test]
fn community_guard_cannot_read_everything() {
    let m = PluginManifest::load(&hostile("community-reads-everything.json"))
        .unwrap()
        .manifest;
    assert_eq!(m.trust.level, TrustTier::Community);
    let problems = m.check_tier(TrustTier::Community).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, "capabilities.filesystem.read[1]");
    assert!(
        problems[0].message.contains("\"**/*\" starts with `**`"),
        "{}",
        problems[0]
    );
}

#[test]
fn first_party_request_is_capped_and_refused() {
    let m = PluginManifest::load(&hostile("first-party-native.json"))
        .unwrap()
        .manifest;
    assert_eq!(m.trust.level, TrustTier::FirstParty);
    assert_eq!(effective_tier(m.trust.level, None), TrustTier::Certified);
    let problems = m.check_tier(TrustTier::FirstParty).unwrap_err();
    assert!(problems
        .iter()
        .any(|p| p.field == "trust.level" && p.message.contains("never run as first-party")));
    // Even at the capped tier, the native sandbox it asks for is refused.
    let problems = m.check_tier(TrustTier::Certified).unwrap_err();
    assert_eq!(problems[0].field, "trust.sandbox");
}

#[test]
fn oversized_manifest_made_at_test_time_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clawdstrike.plugin.json");
    // A valid manifest whose description pads it past the cap.
    let text = format!(
        "{{\"version\": \"1.0.0\", \"name\": \"x\", \"description\": \"{}\", \"guards\": []}}",
        "x".repeat(MAX_MANIFEST_BYTES)
    );
    std::fs::write(&path, text).unwrap();
    let err = PluginManifest::load(dir.path()).unwrap_err();
    assert!(matches!(err, ManifestError::TooLarge { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&path.display().to_string()),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn endless_manifest_made_at_test_time_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clawdstrike.plugin.json");
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let started = Instant::now();
    let err = PluginManifest::load(dir.path()).unwrap_err();
    assert!(matches!(err, ManifestError::Io { .. }), "{err}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[cfg(unix)]
#[test]
fn symlink_escape_made_at_test_time_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("evil.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let pkg = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture_dir("valid/minimal.json"),
        pkg.path().join("clawdstrike.plugin.json"),
    )
    .unwrap();
    // `dist` itself is the link: the entrypoint text is innocent.
    std::os::unix::fs::symlink(outside.path(), pkg.path().join("dist")).unwrap();
    let loaded = PluginManifest::load(pkg.path()).unwrap();
    let guard = &loaded.manifest.guards[0];
    assert_eq!(guard.entrypoint, "dist/guard.wasm");
    std::fs::write(outside.path().join("guard.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let err = loaded.entrypoint_path(guard).unwrap_err();
    assert!(matches!(err, ManifestError::Entrypoint { .. }), "{err}");
    assert!(
        err.to_string().contains("outside the package directory"),
        "{err}"
    );
}
