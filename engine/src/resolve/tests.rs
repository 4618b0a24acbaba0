//! Unit tests of the client configuration and name parsing.

use std::collections::HashMap;

use super::config::ClientConfig;
use super::*;
use crate::plugin::manifest::TrustTier;
use crate::policy::placeholders::Resolver;
use crate::signed::KeyPair;
use clawdstrike_formats::api::{KeyStatus, PublicKey};

fn resolver() -> Resolver {
    Resolver::fixed(
        HashMap::from([("REG_TOKEN".into(), "from-env".into())]),
        HashMap::from([("acme_token".into(), "from-secrets".into())]),
    )
}

fn parse(text: &str) -> Result<ClientConfig, ConfigError> {
    ClientConfig::parse(text, "clawdstrike.yaml", &resolver())
}

fn key_block(seed: u8) -> String {
    let pair = KeyPair::from_seed(&[seed; 32]);
    format!(
        "      - keyid: \"{}\"\n        publicKey: \"{}\"\n        validFrom: \"2026-01-01T00:00:00Z\"\n        validUntil: null\n",
        pair.key_id(),
        pair.public_key_base64()
    )
}

#[test]
fn a_full_configuration() {
    let text = format!(
        "registries:\n  - name: public\n    url: https://guards.example.com/\n    keys:\n{}  - name: acme\n    url: https://guards.acme.example\n    priority: 10\n    token: ${{secrets.acme_token}}\n    keys:\n{}trust:\n  minimum_tier: verified\n  allow_community: false\n  community_warning: false\n  require_signature: true\ncache:\n  directory: /var/cache/cs\n  max_size_mb: 64\n  ttl_hours: 0\n",
        key_block(1),
        key_block(2)
    );
    let c = parse(&text).unwrap();
    // Sorted by priority: acme (10) before public (default 100).
    assert_eq!(c.registries[0].name, "acme");
    assert_eq!(c.registries[0].token.as_deref(), Some("from-secrets"));
    assert_eq!(
        c.registries[0].keys[0].key_id,
        KeyPair::from_seed(&[2; 32]).key_id()
    );
    assert_eq!(c.registries[1].name, "public");
    assert_eq!(c.registries[1].url, "https://guards.example.com");
    assert_eq!(c.registries[1].priority, config::DEFAULT_PRIORITY);
    assert_eq!(c.trust.minimum_tier, TrustTier::Verified);
    assert!(!c.trust.allow_community);
    assert!(!c.trust.community_warning);
    assert_eq!(
        c.cache.directory.as_deref(),
        Some(std::path::Path::new("/var/cache/cs"))
    );
    assert_eq!(c.cache.max_size_mb, 64);
    assert_eq!(c.cache.ttl_hours, 0);
}

#[test]
fn defaults() {
    let c = parse("").unwrap();
    assert!(c.registries.is_empty());
    assert_eq!(c.trust, TrustConfig::default());
    assert_eq!(c.trust.minimum_tier, TrustTier::Community);
    assert!(c.trust.allow_community && c.trust.community_warning);
    assert_eq!(c.cache.ttl_hours, 24);
    let c = parse("registries:\n  - name: r\n    url: http://127.0.0.1:8080\n").unwrap();
    assert!(c.registries[0].keys.is_empty());
    assert!(c.registries[0].token.is_none());
}

#[test]
fn env_placeholders_in_tokens() {
    for token in ["${REG_TOKEN}", "${env.REG_TOKEN}"] {
        let c = parse(&format!(
            "registries:\n  - name: r\n    url: https://r.example\n    token: \"{token}\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.registries[0].token.as_deref(),
            Some("from-env"),
            "{token}"
        );
    }
    let c =
        parse("registries:\n  - name: r\n    url: https://r.example\n    token: \"$${env.X}\"\n")
            .unwrap();
    assert_eq!(c.registries[0].token.as_deref(), Some("${env.X}"));
    let err =
        parse("registries:\n  - name: r\n    url: https://r.example\n    token: ${secrets.nope}\n")
            .unwrap_err();
    assert_eq!(err.location.line_col.map(|l| l.0), Some(4), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn unknown_fields_are_located() {
    let err =
        parse("registries:\n  - name: r\n    url: https://r.example\n    tokn: x\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("clawdstrike.yaml:4:"), "{msg}");
    assert!(msg.contains("tokn"), "{msg}");
    assert!(
        !msg.contains("error: line"),
        "the position is not repeated: {msg}"
    );
    let err = parse("trust:\n  minimum: verified\n").unwrap_err();
    assert!(err.to_string().starts_with("clawdstrike.yaml:2:"), "{err}");
    let err = parse("registry: []\n").unwrap_err();
    assert!(err.to_string().starts_with("clawdstrike.yaml:1:"), "{err}");
}

#[test]
fn bad_values_are_located() {
    let cases = [
        (
            "registries:\n  - name: r\n    url: http://guards.example.com\n",
            3,
            "loopback",
        ),
        ("registries:\n  - name: r\n    url: ftp://x.example\n", 3, "scheme"),
        ("registries:\n  - name: r\n    url: not a url\n", 3, "not a URL"),
        ("registries:\n  - name: r\n    url: https://u:p@x.example\n", 3, "token"),
        ("registries:\n  - name: ../x\n    url: https://x.example\n", 2, "registry name"),
        (
            "registries:\n  - name: r\n    url: https://a.example\n  - name: r\n    url: https://b.example\n",
            4,
            "unique",
        ),
        ("trust:\n  minimum_tier: gold\n", 2, "unknown trust level"),
        ("trust:\n  minimum_tier: first-party\n", 2, "built into the engine"),
        ("trust:\n  require_signature: false\n", 2, "not supported"),
        ("cache:\n  max_size_mb: 0\n", 2, "no room"),
    ];
    for (text, line, needle) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!(
            err.location.line_col.map(|l| l.0),
            Some(line),
            "{text}: {err}"
        );
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
}

#[test]
fn bad_keys_are_located() {
    let pair = KeyPair::from_seed(&[1; 32]);
    let text = format!(
        "registries:\n  - name: r\n    url: https://r.example\n    keys:\n      - keyid: \"ed25519:0000000000000000\"\n        publicKey: \"{}\"\n        validFrom: \"2026-01-01T00:00:00Z\"\n",
        pair.public_key_base64()
    );
    let err = parse(&text).unwrap_err();
    assert_eq!(err.location.field.as_deref(), Some("registries[0].keys[0]"));
    assert_eq!(err.location.line_col.map(|l| l.0), Some(5), "{err}");
    assert!(err.to_string().contains(pair.key_id()), "{err}");
    let err = parse(
        "registries:\n  - name: r\n    url: https://r.example\n    keys:\n      - keyid: x\n        publicKey: x\n        validFrom: yesterday\n",
    )
    .unwrap_err();
    assert!(err.location.line_col.is_some(), "{err}");
}

#[test]
fn loopback_http_and_https_are_accepted() {
    for url in [
        "http://127.0.0.1:9000",
        "http://localhost:9000/",
        "http://[::1]:9000",
        "https://guards.example.com/prefix/",
    ] {
        let c = parse(&format!("registries:\n  - name: r\n    url: \"{url}\"\n")).unwrap();
        assert!(!c.registries[0].url.ends_with('/'), "{url}");
    }
}

#[test]
fn relative_cache_directories_resolve_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clawdstrike.yaml");
    std::fs::write(&path, "cache:\n  directory: pkgs\n").unwrap();
    let c = ClientConfig::from_file(&path, &resolver()).unwrap();
    assert_eq!(c.cache.directory, Some(dir.path().join("pkgs")));
    assert_eq!(c.source.as_deref(), Some(path.as_path()));
}

#[test]
fn locate_prefers_explicit_then_next_to_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ClientConfig::locate(None, Some(dir.path())), None);
    std::fs::write(dir.path().join("clawdstrike.yaml"), "").unwrap();
    // $CLAWDSTRIKE_CONFIG is not set in unit tests; the file next to the policy is found.
    if std::env::var_os("CLAWDSTRIKE_CONFIG").is_none() {
        assert_eq!(
            ClientConfig::locate(None, Some(dir.path())),
            Some(dir.path().join("clawdstrike.yaml"))
        );
    }
    let explicit = dir.path().join("other.yaml");
    assert_eq!(
        ClientConfig::locate(Some(&explicit), Some(dir.path())),
        Some(explicit.clone())
    );
    // An explicit file that does not exist is an error when read.
    assert!(ClientConfig::discover(Some(&explicit), None, &resolver()).is_err());
}

#[test]
fn specs_split_at_the_last_at_after_the_first_character() {
    assert_eq!(split_spec("@acme/secrets@^1.2"), ("@acme/secrets", "^1.2"));
    assert_eq!(split_spec("@acme/secrets"), ("@acme/secrets", "*"));
    assert_eq!(split_spec("acme@1.x"), ("acme", "1.x"));
    assert_eq!(split_spec("acme"), ("acme", "*"));
    assert_eq!(split_spec("acme@"), ("acme", "*"));
    assert_eq!(split_spec("@acme/x@>=1 <2"), ("@acme/x", ">=1 <2"));
    assert_eq!(split_spec(""), ("", "*"));
}

#[test]
fn package_names() {
    for ok in ["acme", "@acme/secrets", "acme_guard", "Acme-Guard", "a.b~c"] {
        assert!(check_package_name(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", "..", "@acme", "@acme/", "a/b", "@a/b/c", ".hidden", "a b", "@../x",
    ] {
        assert!(check_package_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn no_registry_is_a_clear_error() {
    let client = RegistryClient::new(ClientConfig::default()).unwrap();
    let err = client
        .fetch(&PackageQuery::npm("@acme/secrets", "^1"))
        .unwrap_err();
    assert!(matches!(err, ResolveError::NoRegistry { .. }), "{err}");
    assert!(
        err.to_string().contains("no registry is configured"),
        "{err}"
    );
}

#[test]
fn pin_blocks_parse_back() {
    let pair = KeyPair::from_seed(&[3; 32]);
    let retired = KeyPair::from_seed(&[4; 32]);
    let key = |p: &KeyPair, status: KeyStatus| PublicKey {
        keyid: p.key_id().to_string(),
        algorithm: "ed25519".into(),
        public_key: p.public_key_base64(),
        valid_from: "2026-01-01T00:00:00Z".parse().unwrap(),
        valid_until: None,
        status,
    };
    let block = pin_block(
        "acme",
        "https://guards.acme.example",
        &[
            key(&pair, KeyStatus::Active),
            key(&retired, KeyStatus::Retired),
        ],
    );
    let c = parse(&block).unwrap();
    assert_eq!(c.registries[0].name, "acme");
    // Retired keys stay pinned: manifests issued inside their window still need them.
    assert_eq!(c.registries[0].keys.len(), 2);
    assert_eq!(c.registries[0].keys[0].key_id, pair.key_id());
    assert_eq!(registry_name_for("http://127.0.0.1:8080"), "127.0.0.1");
    assert_eq!(
        registry_name_for("https://guards.acme.example/x"),
        "guards.acme.example"
    );
}
