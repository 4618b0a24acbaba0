//! The registry client against a fake registry on loopback: a directory of responses this
//! test generates and signs itself, served by the tiny HTTP server of `common::http`.
//! Resolution, verification, the cache, offline fallback, and the CLI end to end with the
//! real ACME component (`package:` guards in `clawdstrike check`, `guard info | fetch |
//! keys`).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use clawdstrike_engine::plugin::manifest::{toml_to_json, TrustTier};
use clawdstrike_engine::policy::model::PackageRegistry;
use clawdstrike_engine::policy::placeholders::Resolver;
use clawdstrike_engine::resolve::{ClientConfig, PackageQuery, RegistryClient, ResolveError};
use clawdstrike_engine::signed::{
    sha256_hex, ArchiveRef, ComponentRef, FindingCounts, KeyPair, Origin, PublisherRef,
    ReleasePredicate, ScanSummary, Statement, VerifyError,
};
use common::http::{Reply, Server};
use common::{clawdstrike, stderr, stdout, write};
use serde_json::{json, Value};

// ---------------------------------------------------------------- the fake registry

/// One release to publish.
#[derive(Clone)]
struct Release {
    name: String,
    version: String,
    wasm: Vec<u8>,
    manifest: Value,
    tier: TrustTier,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    yanked: bool,
    deprecated: Option<String>,
    engine_min: Option<String>,
    signer: Option<KeyPair>,
}

impl Release {
    fn new(name: &str, version: &str) -> Release {
        Release {
            name: name.into(),
            version: version.into(),
            wasm: format!("\0asm fake component {name} {version}").into_bytes(),
            manifest: json!({
                "version": "1.0.0",
                "name": name,
                "guards": [{"name": "fake_guard", "entrypoint": "dist/guard.wasm", "handles": ["file_write"]}],
            }),
            tier: TrustTier::Verified,
            issued_at: Utc::now() - Duration::hours(1),
            expires_at: Utc::now() + Duration::days(30),
            yanked: false,
            deprecated: None,
            engine_min: Some("0.1.0".into()),
            signer: None,
        }
    }

    fn archive_name(&self) -> String {
        format!(
            "{}-{}.tgz",
            self.name.trim_start_matches('@').replace('/', "-"),
            self.version
        )
    }

    fn archive(&self) -> Vec<u8> {
        format!("archive of {}@{}", self.name, self.version).into_bytes()
    }

    fn statement(&self) -> Statement {
        let archive = self.archive();
        Statement::for_release(ReleasePredicate {
            name: self.name.clone(),
            version: self.version.clone(),
            origin: Origin {
                kind: "direct".into(),
                integrity: format!("sha512-{}", self.version),
            },
            archive: ArchiveRef {
                name: self.archive_name(),
                kind: "npm".into(),
                size: archive.len() as u64,
                sha256: sha256_hex(&archive),
            },
            manifest: self.manifest.clone(),
            components: vec![ComponentRef {
                guard: "fake_guard".into(),
                path: "dist/guard.wasm".into(),
                sha256: sha256_hex(&self.wasm),
                size: self.wasm.len() as u64,
            }],
            trust_tier: self.tier,
            scan: ScanSummary {
                scanner_version: "0.1.0".into(),
                passed: true,
                findings: FindingCounts::default(),
            },
            publisher: PublisherRef {
                account: "alice".into(),
                identity: None,
            },
            issued_at: self.issued_at,
            expires_at: self.expires_at,
        })
    }
}

type Files = Arc<Mutex<HashMap<String, (u16, Vec<u8>)>>>;

struct FakeRegistry {
    server: Server,
    files: Files,
    key: KeyPair,
    releases: Mutex<Vec<Release>>,
}

fn encode(name: &str) -> String {
    name.replace('@', "%40").replace('/', "%2F")
}

impl FakeRegistry {
    fn start() -> FakeRegistry {
        let files: Files = Arc::new(Mutex::new(HashMap::new()));
        let served = files.clone();
        let server = Server::start(move |_method, path| {
            let files = served.lock().unwrap();
            match files.get(path) {
                Some((status, body)) => Reply {
                    status: *status,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: body.clone(),
                    delay: std::time::Duration::ZERO,
                },
                None => Reply {
                    status: 404,
                    headers: vec![(
                        "content-type".into(),
                        "application/problem+json".into(),
                    )],
                    body: json!({"type": "about:blank", "title": "Not Found", "status": 404, "detail": format!("nothing at {path}")})
                        .to_string()
                        .into_bytes(),
                    delay: std::time::Duration::ZERO,
                },
            }
        });
        let key = KeyPair::from_seed(&[42; 32]);
        let reg = FakeRegistry {
            server,
            files,
            key,
            releases: Mutex::new(Vec::new()),
        };
        reg.put(
            "/api/v1/keys",
            json!({"keys": [{
                "keyid": reg.key.key_id(),
                "algorithm": "ed25519",
                "publicKey": reg.key.public_key_base64(),
                "validFrom": "2026-01-01T00:00:00Z",
                "validUntil": null,
                "status": "active"
            }]})
            .to_string()
            .into_bytes(),
        );
        reg
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_string(), (200, body));
    }

    fn base(name: &str, version: &str) -> String {
        format!("/api/v1/guards/{}/{version}", encode(name))
    }

    fn publish(&self, release: Release) {
        let signer = release.signer.clone().unwrap_or_else(|| self.key.clone());
        let envelope = signer.sign_envelope(&release.statement().to_payload());
        let base = Self::base(&release.name, &release.version);
        self.put(&format!("{base}/manifest"), envelope.to_json());
        self.put(
            &format!("{base}/artifact/dist/guard.wasm"),
            release.wasm.clone(),
        );
        self.put(&format!("{base}/artifact"), release.archive());
        let mut releases = self.releases.lock().unwrap();
        releases.retain(|r| !(r.name == release.name && r.version == release.version));
        releases.push(release.clone());
        let mut mine: Vec<&Release> = releases.iter().filter(|r| r.name == release.name).collect();
        mine.sort_by(|a, b| {
            semver::Version::parse(&b.version)
                .unwrap()
                .cmp(&semver::Version::parse(&a.version).unwrap())
        });
        let versions: Vec<Value> = mine
            .iter()
            .map(|r| {
                json!({
                    "version": r.version,
                    "publishedAt": "2026-11-24T13:00:00Z",
                    "engine": {"min": r.engine_min, "max": null},
                    "yanked": r.yanked,
                    "yankReason": if r.yanked { Some("broken") } else { None },
                    "deprecated": r.deprecated.is_some(),
                    "deprecationReason": r.deprecated,
                    "trustTier": r.tier.as_str(),
                    "archive": {"kind": "npm", "size": r.archive().len(), "sha256": sha256_hex(&r.archive())}
                })
            })
            .collect();
        let latest = mine.iter().find(|r| !r.yanked).map(|r| r.version.clone());
        let guard = format!("/api/v1/guards/{}", encode(&release.name));
        self.put(
            &format!("{guard}/versions"),
            json!({"name": release.name, "versions": versions})
                .to_string()
                .into_bytes(),
        );
        self.put(
            &guard,
            json!({
                "name": release.name,
                "displayName": "Fake",
                "description": "A fake guard for tests",
                "version": latest,
                "registry": "npm",
                "trustTier": release.tier.as_str(),
                "category": "secrets",
                "tags": [],
                "capabilities": {"network": false},
                "createdAt": "2026-11-24T13:00:00Z",
                "updatedAt": "2026-11-24T13:00:00Z",
                "readme": null,
                "license": "Apache-2.0",
                "repository": "https://example.invalid/acme/secrets",
                "homepage": null,
                "owners": ["alice"],
                "configSchema": {},
                "lastSecurityScan": null,
                "versions": mine.len()
            })
            .to_string()
            .into_bytes(),
        );
    }

    /// One `registries:` item pinning this registry's key, as `name`.
    fn entry(&self, name: &str, priority: i64) -> String {
        format!(
            "  - name: {name}\n    url: {}\n    priority: {priority}\n    keys:\n      - keyid: \"{}\"\n        publicKey: \"{}\"\n        validFrom: \"2026-01-01T00:00:00Z\"\n",
            self.url(),
            self.key.key_id(),
            self.key.public_key_base64(),
        )
    }

    /// A configuration with this registry as `name` and the cache at `cache`; `extra` is
    /// appended right after `cache.directory` (indent it to add cache fields).
    fn config(&self, name: &str, cache: &Path, extra: &str) -> String {
        format!(
            "registries:\n{}cache:\n  directory: {}\n{extra}",
            self.entry(name, 100),
            cache.display()
        )
    }
}

fn client_with(text: &str) -> (RegistryClient, Arc<Mutex<Vec<String>>>) {
    let config = ClientConfig::parse(text, "clawdstrike.yaml", &Resolver::default()).unwrap();
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let sink = warnings.clone();
    let client = RegistryClient::new(config)
        .unwrap()
        .with_warnings(move |w| sink.lock().unwrap().push(w.to_string()));
    (client, warnings)
}

fn client(reg: &FakeRegistry, cache: &Path) -> RegistryClient {
    client_with(&reg.config("test", cache, "")).0
}

fn query(name: &str, range: &str) -> PackageQuery {
    PackageQuery::npm(name, range)
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

// ---------------------------------------------------------------- library tests

#[test]
fn resolves_the_highest_match_verifies_and_caches() {
    let reg = FakeRegistry::start();
    for v in ["0.1.0", "0.1.4", "0.2.0", "1.0.0"] {
        reg.publish(Release::new("@acme/secrets", v));
    }
    let cache = tempfile::tempdir().unwrap();
    let client = client(&reg, cache.path());
    let pkg = client.fetch(&query("@acme/secrets", "^0.1")).unwrap();
    assert_eq!(pkg.version.to_string(), "0.1.4");
    assert_eq!(pkg.registry, "test");
    assert_eq!(pkg.trust_tier(), TrustTier::Verified);
    assert!(!pkg.offline);
    assert_eq!(pkg.dir, cache.path().join("test/@acme+secrets/0.1.4"));
    for f in [
        "manifest.dsse.json",
        "clawdstrike.plugin.json",
        "dist/guard.wasm",
    ] {
        assert!(pkg.dir.join(f).is_file(), "{f}");
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(pkg.dir.join("clawdstrike.plugin.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["name"], "@acme/secrets");

    // Within the TTL the cache answers: no request at all.
    let hits = reg.server.hits();
    let again = client.fetch(&query("@acme/secrets", "^0.1")).unwrap();
    assert_eq!(again.version, pkg.version);
    assert_eq!(reg.server.hits(), hits, "a fresh cache hit asks nothing");

    // npm vs cargo semantics of a bare version.
    let exact = client.fetch(&query("@acme/secrets", "0.1.0")).unwrap();
    assert_eq!(exact.version.to_string(), "0.1.0");
    let caret = client
        .fetch(&PackageQuery {
            ecosystem: PackageRegistry::Crates,
            ..query("@acme/secrets", "0.1.0")
        })
        .unwrap();
    assert_eq!(caret.version.to_string(), "0.1.4");
    let x = client.fetch(&query("@acme/secrets", "1.x")).unwrap();
    assert_eq!(x.version.to_string(), "1.0.0");
}

#[test]
fn unknown_package_is_a_404_per_registry() {
    let reg = FakeRegistry::start();
    let cache = tempfile::tempdir().unwrap();
    let err = client(&reg, cache.path())
        .fetch(&query("@acme/nope", "*"))
        .unwrap_err();
    assert!(matches!(err, ResolveError::NotFound { .. }), "{err}");
    assert_eq!(err.to_string(), "no package @acme/nope in registry test");
}

#[test]
fn no_matching_version_lists_what_exists() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "0.1.0"));
    reg.publish(Release::new("acme", "0.3.0"));
    let cache = tempfile::tempdir().unwrap();
    let err = client(&reg, cache.path())
        .fetch(&query("acme", "^2"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no version matches; available: 0.3.0, 0.1.0"),
        "{msg}"
    );
}

#[test]
fn yanked_versions_are_never_picked() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    let mut bad = Release::new("acme", "1.1.0");
    bad.yanked = true;
    reg.publish(bad);
    let cache = tempfile::tempdir().unwrap();
    let c = client(&reg, cache.path());
    assert_eq!(
        c.fetch(&query("acme", "^1")).unwrap().version.to_string(),
        "1.0.0"
    );
    let err = c.fetch(&query("acme", "~1.1")).unwrap_err();
    assert!(
        err.to_string()
            .contains("every matching version is yanked (1.1.0)"),
        "{err}"
    );
}

#[test]
fn versions_for_another_engine_are_skipped() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    let mut future = Release::new("acme", "1.1.0");
    future.engine_min = Some("99.0.0".into());
    reg.publish(future);
    let cache = tempfile::tempdir().unwrap();
    let c = client(&reg, cache.path());
    assert_eq!(
        c.fetch(&query("acme", "*")).unwrap().version.to_string(),
        "1.0.0"
    );
    let err = c.fetch(&query("acme", "1.1.0")).unwrap_err();
    assert!(err.to_string().contains("supports this engine"), "{err}");
}

#[test]
fn a_tampered_artifact_is_refused() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    reg.put(
        &format!(
            "{}/artifact/dist/guard.wasm",
            FakeRegistry::base("acme", "1.0.0")
        ),
        b"\0asm evil".to_vec(),
    );
    let cache = tempfile::tempdir().unwrap();
    let err = client(&reg, cache.path())
        .fetch(&query("acme", "*"))
        .unwrap_err();
    match &err {
        ResolveError::Verify { source, .. } => match source.as_ref() {
            VerifyError::SubjectMismatch { name, .. } => assert_eq!(name, "dist/guard.wasm"),
            other => panic!("{other}"),
        },
        other => panic!("{other}"),
    }
    assert!(
        !cache.path().join("test/acme/1.0.0").exists(),
        "nothing cached"
    );
}

#[test]
fn an_expired_manifest_is_refused() {
    let reg = FakeRegistry::start();
    let mut old = Release::new("acme", "1.0.0");
    old.issued_at = at(2026, 2, 1);
    old.expires_at = at(2026, 3, 1);
    reg.publish(old);
    let cache = tempfile::tempdir().unwrap();
    let err = client(&reg, cache.path())
        .fetch(&query("acme", "*"))
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::Verify { source, .. } if matches!(**source, VerifyError::Expired { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("expired at"), "{err}");
}

#[test]
fn a_manifest_signed_by_an_unknown_key_is_refused() {
    let reg = FakeRegistry::start();
    let mut r = Release::new("acme", "1.0.0");
    r.signer = Some(KeyPair::from_seed(&[7; 32]));
    reg.publish(r);
    let cache = tempfile::tempdir().unwrap();
    let err = client(&reg, cache.path())
        .fetch(&query("acme", "*"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(KeyPair::from_seed(&[7; 32]).key_id()), "{msg}");
    assert!(msg.contains(reg.key.key_id()), "{msg}");
}

#[test]
fn without_pinned_keys_nothing_is_trusted() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    let cache = tempfile::tempdir().unwrap();
    let (c, _) = client_with(&format!(
        "registries:\n  - name: test\n    url: {}\ncache:\n  directory: {}\n",
        reg.url(),
        cache.path().display()
    ));
    let err = c.fetch(&query("acme", "*")).unwrap_err();
    assert!(matches!(err, ResolveError::NoKeys { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("clawdstrike guard keys {}", reg.url())),
        "{err}"
    );
}

#[test]
fn another_version_served_for_the_one_asked_is_refused() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    reg.publish(Release::new("acme", "1.1.0"));
    // Serve 1.0.0's genuine signed manifest as 1.1.0's.
    let old = reg.files.lock().unwrap()
        [&format!("{}/manifest", FakeRegistry::base("acme", "1.0.0"))]
        .1
        .clone();
    reg.put(
        &format!("{}/manifest", FakeRegistry::base("acme", "1.1.0")),
        old,
    );
    let cache = tempfile::tempdir().unwrap();
    let err = client(&reg, cache.path())
        .fetch(&query("acme", "*"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("served the signed manifest of acme@1.0.0"),
        "{err}"
    );
}

#[test]
fn unsafe_component_paths_are_refused() {
    let reg = FakeRegistry::start();
    let mut r = Release::new("acme", "1.0.0");
    r.manifest["guards"][0]["entrypoint"] = json!("../../escape.wasm");
    let mut statement = r.statement();
    statement.predicate.components[0].path = "../../escape.wasm".into();
    statement.subject[1].name = "../../escape.wasm".into();
    reg.publish(r);
    reg.put(
        &format!("{}/manifest", FakeRegistry::base("acme", "1.0.0")),
        reg.key.sign_envelope(&statement.to_payload()).to_json(),
    );
    let cache = tempfile::tempdir().unwrap();
    let err = client(&reg, cache.path())
        .fetch(&query("acme", "*"))
        .unwrap_err();
    assert!(err.to_string().contains("component path"), "{err}");
}

#[test]
fn trust_requirements_of_the_configuration() {
    let reg = FakeRegistry::start();
    let mut r = Release::new("acme", "1.0.0");
    r.tier = TrustTier::Community;
    reg.publish(r);
    let cache = tempfile::tempdir().unwrap();

    let (c, _) =
        client_with(&reg.config("test", cache.path(), "trust:\n  minimum_tier: verified\n"));
    let err = c.fetch(&query("acme", "*")).unwrap_err();
    assert!(
        err.to_string()
            .contains("trust tier is community, below trust.minimum_tier (verified)"),
        "{err}"
    );

    let (c, _) =
        client_with(&reg.config("test", cache.path(), "trust:\n  allow_community: false\n"));
    let err = c.fetch(&query("acme", "*")).unwrap_err();
    assert!(
        err.to_string().contains("allow_community is false"),
        "{err}"
    );

    let (c, warnings) = client_with(&reg.config("test", cache.path(), ""));
    c.fetch(&query("acme", "*")).unwrap();
    let w = warnings.lock().unwrap().join("\n");
    assert!(w.contains("community-tier package"), "{w}");

    let (c, warnings) =
        client_with(&reg.config("test", cache.path(), "trust:\n  community_warning: false\n"));
    c.fetch(&query("acme", "*")).unwrap();
    assert!(warnings.lock().unwrap().is_empty());
}

#[test]
fn deprecated_versions_warn() {
    let reg = FakeRegistry::start();
    let mut r = Release::new("acme", "1.0.0");
    r.deprecated = Some("use 2.x".into());
    reg.publish(r);
    let cache = tempfile::tempdir().unwrap();
    let (c, warnings) = client_with(&reg.config("test", cache.path(), ""));
    c.fetch(&query("acme", "*")).unwrap();
    let w = warnings.lock().unwrap().join("\n");
    assert!(w.contains("acme@1.0.0 is deprecated: use 2.x"), "{w}");
}

#[test]
fn the_policy_integrity_pin_must_match() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    let cache = tempfile::tempdir().unwrap();
    let c = client(&reg, cache.path());
    let mut q = query("acme", "1.0.0");
    q.integrity = Some("sha512-1.0.0".into());
    c.fetch(&q).unwrap();
    q.integrity = Some("sha512-other".into());
    let err = c.fetch(&q).unwrap_err();
    assert!(
        err.to_string().contains("pins integrity sha512-other"),
        "{err}"
    );
}

#[test]
fn a_tampered_cache_is_refused() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    let cache = tempfile::tempdir().unwrap();
    let c = client(&reg, cache.path());
    let pkg = c.fetch(&query("acme", "*")).unwrap();

    std::fs::write(pkg.dir.join("dist/guard.wasm"), b"\0asm swapped").unwrap();
    let err = c.fetch(&query("acme", "*")).unwrap_err();
    assert!(matches!(err, ResolveError::CacheTampered { .. }), "{err}");
    assert!(err.to_string().contains("dist/guard.wasm"), "{err}");

    // Delete it, fetch again; then add a file that is not in the signed manifest.
    std::fs::remove_dir_all(&pkg.dir).unwrap();
    let pkg = c.fetch(&query("acme", "*")).unwrap();
    std::fs::write(pkg.dir.join("clawdstrike.plugin.toml"), "[plugin]\n").unwrap();
    let err = c.fetch(&query("acme", "*")).unwrap_err();
    assert!(err.to_string().contains("unexpected file"), "{err}");

    // And a manifest that differs from the signed one.
    std::fs::remove_dir_all(&pkg.dir).unwrap();
    let pkg = c.fetch(&query("acme", "*")).unwrap();
    std::fs::write(
        pkg.dir.join("clawdstrike.plugin.json"),
        r#"{"version":"1.0.0","name":"acme","guards":[],"capabilities":{"network":true}}"#,
    )
    .unwrap();
    let err = c.fetch(&query("acme", "*")).unwrap_err();
    assert!(
        err.to_string().contains("differs from the signed manifest"),
        "{err}"
    );
}

#[test]
fn an_unreachable_registry_falls_back_to_a_verified_cached_copy() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("acme", "1.0.0"));
    reg.publish(Release::new("acme", "2.0.0"));
    let cache = tempfile::tempdir().unwrap();
    client(&reg, cache.path())
        .fetch(&query("acme", "^1"))
        .unwrap();

    // The same registry name and keys, now at a port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let offline = reg
        .config("test", cache.path(), "  ttl_hours: 0\n")
        .replace(&reg.url(), &format!("http://127.0.0.1:{closed}"));
    let (c, warnings) = client_with(&offline);
    let pkg = c.fetch(&query("acme", "*")).unwrap();
    assert!(pkg.offline);
    assert_eq!(pkg.version.to_string(), "1.0.0", "only 1.0.0 is cached");
    let w = warnings.lock().unwrap().join("\n");
    assert!(w.contains("unreachable"), "{w}");
    assert!(w.contains("verified cached copy of acme@1.0.0"), "{w}");

    // Nothing cached for the range: the error says both things.
    let err = c.fetch(&query("acme", "^2")).unwrap_err();
    assert!(matches!(err, ResolveError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("no cached version of acme matches ^2"),
        "{err}"
    );

    // A tampered cached copy does not stand in.
    std::fs::write(pkg.dir.join("dist/guard.wasm"), b"x").unwrap();
    let err = c.fetch(&query("acme", "^1")).unwrap_err();
    assert!(err.to_string().contains("verifies"), "{err}");
}

#[test]
fn the_first_registry_that_has_the_package_decides() {
    let primary = FakeRegistry::start();
    let secondary = FakeRegistry::start();
    primary.publish(Release::new("acme", "1.0.0"));
    secondary.publish(Release::new("acme", "9.0.0"));
    secondary.publish(Release::new("only-here", "1.0.0"));
    let cache = tempfile::tempdir().unwrap();
    let text = format!(
        "registries:\n{}{}cache:\n  directory: {}\n",
        secondary.entry("second", 200),
        primary.entry("first", 1),
        cache.path().display()
    );
    let (c, _) = client_with(&text);
    let pkg = c.fetch(&query("acme", "*")).unwrap();
    assert_eq!(pkg.registry, "first");
    assert_eq!(pkg.version.to_string(), "1.0.0");
    let pkg = c.fetch(&query("only-here", "*")).unwrap();
    assert_eq!(pkg.registry, "second");
    let err = c.fetch(&query("acme", "^9")).unwrap_err();
    assert!(err.to_string().contains("in registry first"), "{err}");
}

#[test]
fn the_archive_is_checked_against_its_signed_digest() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("@acme/secrets", "1.0.0"));
    let cache = tempfile::tempdir().unwrap();
    let c = client(&reg, cache.path());
    let pkg = c.fetch(&query("@acme/secrets", "*")).unwrap();
    let mut seen = 0;
    let bytes = c
        .download_archive(&pkg, Some(&mut |done, _| seen = done))
        .unwrap();
    assert_eq!(bytes, Release::new("@acme/secrets", "1.0.0").archive());
    assert_eq!(seen, bytes.len() as u64);
    reg.put(
        &format!("{}/artifact", FakeRegistry::base("@acme/secrets", "1.0.0")),
        b"tampered".to_vec(),
    );
    let err = c.download_archive(&pkg, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("acme-secrets-1.0.0.tgz: sha256 is"),
        "{err}"
    );
}

#[test]
fn info_reads_the_entry_and_versions() {
    let reg = FakeRegistry::start();
    reg.publish(Release::new("@acme/secrets", "1.0.0"));
    let cache = tempfile::tempdir().unwrap();
    let info = client(&reg, cache.path()).info("@acme/secrets").unwrap();
    assert_eq!(info.registry, "test");
    assert_eq!(info.details["license"], "Apache-2.0");
    assert_eq!(info.versions.versions[0].version, "1.0.0");
}

// ---------------------------------------------------------------- the CLI

/// The ACME example component, published as `@acme/secrets@0.1.0` with its manifest
/// converted to JSON, signed at `tier`.
fn publish_acme(reg: &FakeRegistry, tier: TrustTier) {
    publish_acme_requesting(reg, tier, "community");
}

/// The same, with the manifest's `trust.level` set to `requested`.
fn publish_acme_requesting(reg: &FakeRegistry, tier: TrustTier, requested: &str) {
    let dir = common::guards::example_dir("acme-secrets");
    let toml_path = dir.join("clawdstrike.plugin.toml");
    let text = std::fs::read_to_string(&toml_path).unwrap();
    let mut manifest = toml_to_json(&text, &toml_path).unwrap();
    manifest["name"] = json!("@acme/secrets");
    manifest["trust"]["level"] = json!(requested);
    let mut r = Release::new("@acme/secrets", "0.1.0");
    r.wasm = std::fs::read(dir.join("dist/guard.wasm")).unwrap();
    r.manifest = manifest;
    r.tier = tier;
    reg.publish(r);
}

fn acme_key() -> String {
    format!("ACME-{}", "Z9".repeat(16))
}

fn file_write(content: &str) -> String {
    json!({
        "eventId": "e1",
        "eventType": "file_write",
        "data": {"type": "file", "path": "/work/app/src/config.rs", "content": content}
    })
    .to_string()
}

fn setup_policy(reg: &FakeRegistry, dir: &Path, entry: &str) -> PathBuf {
    write(
        dir,
        "clawdstrike.yaml",
        &reg.config("acme", &dir.join("cache"), ""),
    );
    write(
        dir,
        "policy.yaml",
        &format!("version: \"1.2.0\"\nname: registry\nguards:\n  custom:\n{entry}"),
    )
}

#[test]
fn check_loads_a_registry_package_and_denies_its_secrets() {
    let reg = FakeRegistry::start();
    publish_acme(&reg, TrustTier::Verified);
    let dir = tempfile::tempdir().unwrap();
    let policy = setup_policy(
        &reg,
        dir.path(),
        "    - package: \"@acme/secrets\"\n      version: \"^0.1\"\n",
    );
    let events = write(
        dir.path(),
        "events.jsonl",
        &format!(
            "{}\n{}\n",
            file_write(&format!("let k = \"{}\";", acme_key())),
            file_write("fn main() {}")
        ),
    );
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--event",
            events.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let decisions: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decisions[0]["status"], "deny", "{}", decisions[0]);
    assert_eq!(decisions[0]["guard"], "acme_secrets");
    assert_eq!(decisions[1]["status"], "allow", "{}", decisions[1]);
    assert!(dir
        .path()
        .join("cache/acme/@acme+secrets/0.1.0/dist/guard.wasm")
        .is_file());
    // Verified tier: no community warning.
    assert!(!stderr(&out).contains("community-tier"), "{}", stderr(&out));
}

#[test]
fn check_reports_resolution_errors_at_the_entry_and_exits_2() {
    let reg = FakeRegistry::start();
    publish_acme(&reg, TrustTier::Community);
    let dir = tempfile::tempdir().unwrap();
    let policy = setup_policy(
        &reg,
        dir.path(),
        "    - package: \"@acme/secrets\"\n      version: \"^0.1\"\n    - package: \"@acme/missing\"\n",
    );
    let events = write(dir.path(), "e.json", &file_write("x"));
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--event",
            events.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("(guards.custom[1].package)"), "{err}");
    assert!(
        err.contains("no package @acme/missing in registry acme"),
        "{err}"
    );
    assert!(err.contains(":7:"), "points at the line: {err}");
    assert_eq!(
        err.matches("error:").count(),
        1,
        "only the missing one fails: {err}"
    );
    // The community package loaded, with its warning.
    assert!(
        err.contains("warning: @acme/secrets@0.1.0 is a community-tier package"),
        "{err}"
    );

    // The same through `policy validate`.
    let out = clawdstrike(&["policy", "validate", policy.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
}

/// The tier the guard ran at, from the audit log's `plugin_loaded` record.
fn loaded_tier(reg: &FakeRegistry, signed: TrustTier, override_tier: Option<&str>) -> String {
    publish_acme_requesting(reg, signed, "certified");
    let dir = tempfile::tempdir().unwrap();
    let entry = match override_tier {
        Some(t) => format!(
            "    - package: \"@acme/secrets\"\n      trust_override:\n        max_trust_tier: {t}\n"
        ),
        None => "    - package: \"@acme/secrets\"\n".to_string(),
    };
    let policy = setup_policy(reg, dir.path(), &entry);
    let events = write(dir.path(), "e.json", &file_write(&acme_key()));
    let audit = dir.path().join("audit.jsonl");
    let out = clawdstrike(
        &[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--event",
            events.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = std::fs::read_to_string(&audit).unwrap();
    let loaded: Value = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["kind"] == "plugin_loaded")
        .expect("plugin_loaded record");
    loaded.to_string()
}

#[test]
fn the_guard_runs_at_the_signed_tier_capped_by_the_policy() {
    // The manifest asks for certified; what it gets is the signed tier, capped by the
    // policy's trust_override, never raised by it.
    let reg = FakeRegistry::start();
    let rec = loaded_tier(&reg, TrustTier::Verified, None);
    assert!(rec.contains(r#""trust":"verified""#), "{rec}");
    let rec = loaded_tier(&reg, TrustTier::Community, Some("certified"));
    assert!(rec.contains(r#""trust":"community""#), "{rec}");
    let rec = loaded_tier(&reg, TrustTier::Certified, Some("verified"));
    assert!(rec.contains(r#""trust":"verified""#), "{rec}");
}

#[test]
fn guard_info_fetch_and_keys() {
    let reg = FakeRegistry::start();
    publish_acme(&reg, TrustTier::Verified);
    let mut yanked = Release::new("@acme/secrets", "0.0.9");
    yanked.yanked = true;
    reg.publish(yanked);
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "client.yaml",
        &reg.config("acme", &dir.path().join("cache"), ""),
    );
    let cfg = config.to_str().unwrap();

    let out = clawdstrike(
        &["guard", "info", "@acme/secrets", "--registry-config", cfg],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("@acme/secrets 0.1.0 (registry acme, npm)"),
        "{text}"
    );
    assert!(text.contains("trust tier: verified"), "{text}");
    assert!(text.contains("license: Apache-2.0"), "{text}");
    assert!(text.contains("engine: >=0.1.0"), "{text}");
    assert!(text.contains("YANKED: broken"), "{text}");

    let out = clawdstrike(
        &[
            "guard",
            "info",
            "@acme/secrets",
            "--registry-config",
            cfg,
            "--json",
        ],
        None,
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["registry"], "acme");
    assert_eq!(v["versions"][1]["yanked"], true);

    let out_dir = dir.path().join("out");
    let out = clawdstrike(
        &[
            "guard",
            "fetch",
            "@acme/secrets@^0.1",
            "--registry-config",
            cfg,
            "-o",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved = PathBuf::from(stdout(&out).trim());
    assert_eq!(saved, out_dir.join("acme-secrets-0.1.0.tgz"));
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        Release::new("@acme/secrets", "0.1.0").archive()
    );
    assert!(
        stderr(&out).contains("verified @acme/secrets@0.1.0"),
        "{}",
        stderr(&out)
    );

    let out = clawdstrike(
        &[
            "guard",
            "fetch",
            "@acme/secrets@^3",
            "--registry-config",
            cfg,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("available: 0.1.0"),
        "{}",
        stderr(&out)
    );

    let out = clawdstrike(&["guard", "keys", &reg.url(), "--name", "acme"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let block = stdout(&out);
    assert!(block.contains(reg.key.key_id()), "{block}");
    // The printed block is a valid configuration pinning the key.
    let parsed = ClientConfig::parse(&block, "keys", &Resolver::default()).unwrap();
    assert_eq!(parsed.registries[0].keys[0].key_id, reg.key.key_id());
    assert_eq!(parsed.registries[0].url, reg.url());

    let out = clawdstrike(&["guard", "keys", "http://192.0.2.1:1"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("loopback"), "{}", stderr(&out));
}

#[test]
fn a_bad_client_configuration_is_located() {
    let reg = FakeRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "clawdstrike.yaml",
        &format!(
            "registries:\n  - name: acme\n    url: {}\n    tokn: x\n",
            reg.url()
        ),
    );
    let policy = write(
        dir.path(),
        "policy.yaml",
        "version: \"1.2.0\"\nguards:\n  custom:\n    - package: \"@acme/secrets\"\n",
    );
    let out = clawdstrike(&["policy", "validate", policy.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("clawdstrike.yaml:4:"), "{err}");
    assert!(err.contains("tokn"), "{err}");
}
