//! The registry and the engine as users run them: real processes, real HTTP, a real
//! database and blob store. Publish the Rust example guard with a token, read it back through
//! every read route, run `clawdstrike check` with a policy that names it by package, then
//! tamper with what the registry stores and watch the engine refuse (exit 2); finally take
//! the database or the blob store away and bring it back.

#[path = "../../../registry/tests/support/s3.rs"]
mod s3;

use std::path::{Path, PathBuf};
use std::process::Command;

use clawdstrike_e2e::{
    binary, http, repo_root, run, sha256_hex, stderr, stdout, Postgres, Registry,
};
use serde_json::Value;

const ACME: &str = "acme-secrets-guard";

/// Where a blob lives, so a test can tamper with it. A local directory serves whatever
/// is on disk, so the engine's own verification is what refuses tampered bytes; S3 keeps
/// a checksum per object and the registry already refuses to serve a corrupt manifest.
enum Store<'a> {
    Dir(PathBuf),
    S3(&'a s3::S3Server, &'static str),
}

impl Store<'_> {
    fn path(&self, sha256: &str) -> PathBuf {
        let key = format!("sha256/{}/{}/{}", &sha256[..2], &sha256[2..4], sha256);
        match self {
            Store::Dir(d) => d.join(key),
            Store::S3(s, bucket) => s.object_path(bucket, &key),
        }
    }
}

fn publisher_token(reg: &Registry) -> String {
    reg.admin(&["publisher", "create", "alice"]);
    let out = reg.admin(&[
        "token",
        "create",
        "--publisher",
        "alice",
        "--scope",
        "publish:*",
        "--scope",
        "yank:*",
    ]);
    stdout(&out).trim().to_string()
}

fn publish(reg: &Registry, token: &str, archive: &[u8]) -> reqwest::blocking::Response {
    http()
        .post(format!("{}/api/v1/guards", reg.url))
        .bearer_auth(token)
        .header("content-type", "application/gzip")
        .body(archive.to_vec())
        .send()
        .unwrap()
}

fn get(reg: &Registry, path: &str) -> (u16, Vec<u8>) {
    let r = http().get(format!("{}{path}", reg.url)).send().unwrap();
    (r.status().as_u16(), r.bytes().unwrap().to_vec())
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn pack(dir: &Path) -> Vec<u8> {
    let out_file = dir.join("acme.crate");
    let out = run(Command::new(binary("clawdstrike-registry"))
        .args(["pack"])
        .arg(repo_root().join("examples/guards/acme-secrets"))
        .arg("-o")
        .arg(&out_file));
    assert!(
        out.status.success(),
        "pack: {} (run scripts/build-guards.sh)",
        stderr(&out)
    );
    std::fs::read(out_file).unwrap()
}

/// The ACME guard packed as another version, from a standalone copy of its directory.
fn pack_version(work: &Path, version: &str) -> Vec<u8> {
    let src = repo_root().join("examples/guards/acme-secrets");
    let dir = work.join(format!("acme-{version}"));
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{ACME}\"\nversion = \"{version}\"\nlicense = \"Apache-2.0\"\n"
        ),
    )
    .unwrap();
    std::fs::copy(
        src.join("clawdstrike.plugin.toml"),
        dir.join("clawdstrike.plugin.toml"),
    )
    .unwrap();
    std::fs::copy(src.join("dist/guard.wasm"), dir.join("dist/guard.wasm")).unwrap();
    let out_file = work.join(format!("acme-{version}.crate"));
    let out = run(Command::new(binary("clawdstrike-registry"))
        .arg("pack")
        .arg(&dir)
        .arg("-o")
        .arg(&out_file));
    assert!(out.status.success(), "pack: {}", stderr(&out));
    std::fs::read(out_file).unwrap()
}

/// Writes clawdstrike.yaml (keys pinned with `clawdstrike guard keys`), policy.yaml and an
/// events file; returns (policy, events).
fn engine_setup(reg: &Registry, dir: &Path) -> (PathBuf, PathBuf) {
    let out =
        run(Command::new(binary("clawdstrike"))
            .args(["guard", "keys", &reg.url, "--name", "local"]));
    assert!(out.status.success(), "guard keys: {}", stderr(&out));
    let config = format!(
        "{}cache:\n  directory: {}\n",
        stdout(&out),
        dir.join("cache").display()
    );
    std::fs::write(dir.join("clawdstrike.yaml"), config).unwrap();
    let policy = dir.join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "version: \"1.2.0\"\nname: e2e\nguards:\n  custom:\n    - package: {ACME}\n      registry: crates.io\n      version: \"^0.1\"\n"
        ),
    )
    .unwrap();
    let event = |id: &str, content: &str| {
        serde_json::json!({"eventId": id, "eventType": "file_write",
            "data": {"type": "file", "path": "/work/app/src/config.rs", "content": content}})
        .to_string()
    };
    let events = dir.join("events.jsonl");
    let secret = format!("let k = \"ACME-{}\";", "Z9".repeat(16));
    std::fs::write(
        &events,
        format!(
            "{}\n{}\n",
            event("e1", &secret),
            event("e2", "fn main() {}")
        ),
    )
    .unwrap();
    (policy, events)
}

fn check(policy: &Path, events: &Path) -> std::process::Output {
    run(Command::new(binary("clawdstrike"))
        .args(["check", "--json", "--policy"])
        .arg(policy)
        .arg("--event")
        .arg(events)
        .env_remove("CLAWDSTRIKE_CONFIG"))
}

fn clear_cache(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir.join("cache"));
}

/// Flips one byte of a stored blob; returns the original bytes.
fn tamper(path: &Path, at: usize) -> Vec<u8> {
    let original = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut bad = original.clone();
    let i = at.min(bad.len() - 1);
    bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
    std::fs::write(path, bad).unwrap();
    original
}

/// The shared scenario: publish, read back, install and decide, tamper and refuse.
fn scenario(reg: &mut Registry, store: &Store<'_>, work: &Path) {
    let token = publisher_token(reg);
    let archive = pack(work);

    // Publish with a token; without one, 401 problem+json.
    let r = http()
        .post(format!("{}/api/v1/guards", reg.url))
        .body(archive.clone())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = publish(reg, &token, &archive);
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
    assert_eq!(publish(reg, &token, &archive).status().as_u16(), 409);

    // Every read route.
    let (s, list) = get(reg, "/api/v1/guards");
    assert_eq!(s, 200);
    assert_eq!(json(&list)["guards"][0]["name"], ACME);
    let (s, details) = get(reg, &format!("/api/v1/guards/{ACME}"));
    assert_eq!(s, 200);
    assert_eq!(json(&details)["owners"][0], "alice");
    let (s, versions) = get(reg, &format!("/api/v1/guards/{ACME}/versions"));
    assert_eq!(s, 200);
    assert_eq!(
        json(&versions)["versions"][0]["archive"]["sha256"],
        sha256_hex(&archive)
    );
    let (s, envelope) = get(reg, &format!("/api/v1/guards/{ACME}/0.1.0/manifest"));
    assert_eq!(s, 200);
    let (s, artifact) = get(reg, &format!("/api/v1/guards/{ACME}/0.1.0/artifact"));
    assert_eq!((s, artifact == archive), (200, true));
    let (s, wasm) = get(
        reg,
        &format!("/api/v1/guards/{ACME}/0.1.0/artifact/dist/guard.wasm"),
    );
    assert_eq!(s, 200);
    let built =
        std::fs::read(repo_root().join("examples/guards/acme-secrets/dist/guard.wasm")).unwrap();
    assert_eq!(wasm, built);
    assert_eq!(get(reg, "/api/v1/keys").0, 200);
    assert_eq!(get(reg, "/api/v1/openapi.json").0, 200);

    // The engine installs it by package name and decides.
    let (policy, events) = engine_setup(reg, work);
    let out = check(&policy, &events);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let decisions: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decisions[0]["status"], "deny", "{}", decisions[0]);
    assert_eq!(decisions[0]["guard"], "acme_secrets");
    assert_eq!(decisions[1]["status"], "allow");
    let out = run(Command::new(binary("clawdstrike"))
        .args(["guard", "info", ACME, "--registry-config"])
        .arg(work.join("clawdstrike.yaml")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("0.1.0"), "{}", stdout(&out));

    // Tampering with the stored manifest: the engine refuses with exit 2. The registry keeps
    // manifests in memory, so it is restarted to serve what is on disk.
    let envelope_path = store.path(&sha256_hex(&envelope));
    let payload_at = envelope
        .windows(9)
        .position(|w| w == b"\"payload\"")
        .unwrap()
        + 40;
    let original = tamper(&envelope_path, payload_at);
    reg.restart();
    clear_cache(work);
    let out = check(&policy, &events);
    assert_eq!(
        out.status.code(),
        Some(2),
        "tampered manifest accepted: {}",
        stdout(&out)
    );
    assert!(stderr(&out).contains(ACME), "{}", stderr(&out));
    std::fs::write(&envelope_path, &original).unwrap();

    // Tampering with the signature.
    let sig_at = envelope.windows(5).position(|w| w == b"\"sig\"").unwrap() + 12;
    let original = tamper(&envelope_path, sig_at);
    reg.restart();
    clear_cache(work);
    let out = check(&policy, &events);
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad signature accepted: {}",
        stdout(&out)
    );
    if matches!(store, Store::Dir(_)) {
        assert!(
            stderr(&out).to_lowercase().contains("signature"),
            "{}",
            stderr(&out)
        );
    }
    std::fs::write(&envelope_path, &original).unwrap();

    // Tampering with the component in the blob store.
    let wasm_path = store.path(&sha256_hex(&wasm));
    let original = tamper(&wasm_path, wasm.len() / 2);
    reg.restart();
    clear_cache(work);
    let out = check(&policy, &events);
    assert_eq!(
        out.status.code(),
        Some(2),
        "tampered component accepted: {}",
        stdout(&out)
    );
    if matches!(store, Store::Dir(_)) {
        assert!(
            stderr(&out).contains("sha256") || stderr(&out).contains("digest"),
            "{}",
            stderr(&out)
        );
    }
    std::fs::write(&wasm_path, &original).unwrap();

    // Restored, after a restart everything is consistent again.
    reg.restart();
    clear_cache(work);
    assert_eq!(check(&policy, &events).status.code(), Some(1));
}

#[test]
fn sqlite_and_a_local_directory() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let mut reg = Registry::start(&data, vec![]);
    assert!(
        reg.admin_token.is_some(),
        "the first start prints an admin token"
    );
    let store = Store::Dir(data.join("blobs"));
    scenario(&mut reg, &store, work.path());
    // A second start prints no new admin token.
    reg.restart();
    assert!(reg.admin_token.is_none());
}

#[test]
fn postgresql_and_s3_with_outages() {
    let work = tempfile::tempdir().unwrap();
    let pg = Postgres::start();
    let db = pg.database("registry");
    let mut s3 = s3::S3Server::start();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(s3.create_bucket("guards"));
    let env = vec![
        ("CLAWDSTRIKE_DATABASE_URL".to_string(), db.clone()),
        ("CLAWDSTRIKE_BLOB_KIND".to_string(), "s3".to_string()),
        ("CLAWDSTRIKE_S3_ENDPOINT".to_string(), s3.endpoint.clone()),
        ("CLAWDSTRIKE_S3_BUCKET".to_string(), "guards".to_string()),
        (
            "CLAWDSTRIKE_S3_ACCESS_KEY_ID".to_string(),
            s3.access_key.clone(),
        ),
        (
            "CLAWDSTRIKE_S3_SECRET_ACCESS_KEY".to_string(),
            s3.secret_key.clone(),
        ),
    ];
    let mut reg = Registry::start(&work.path().join("data"), env);
    {
        let store = Store::S3(&s3, "guards");
        scenario(&mut reg, &store, work.path());
    }
    let token = {
        let out = reg.admin(&[
            "token",
            "create",
            "--publisher",
            "alice",
            "--scope",
            "publish:*",
        ]);
        stdout(&out).trim().to_string()
    };
    // The blob store goes away during a publish: 503, and no row.
    s3.stop();
    let r = publish(&reg, &token, &pack_version(work.path(), "0.2.0"));
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(get(&reg, "/readyz").0, 503);
    s3.restart();
    clawdstrike_e2e::wait_ready(&reg.url);
    let (_, versions) = get(&reg, &format!("/api/v1/guards/{ACME}/versions"));
    assert_eq!(json(&versions)["versions"].as_array().unwrap().len(), 1);
    let r = publish(&reg, &token, &pack_version(work.path(), "0.2.0"));
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());

    // The database goes away: readiness fails and writes are refused; reads of cached
    // manifests may still answer. After it returns, everything is as before.
    pg.stop();
    assert_eq!(get(&reg, "/readyz").0, 503);
    let r = http()
        .put(format!("{}/api/v1/guards/{ACME}/0.1.0/yank", reg.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"reason": "db down"}))
        .send()
        .unwrap();
    assert!(
        r.status().as_u16() == 503 || r.status().as_u16() == 401,
        "{}",
        r.status()
    );
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    pg.start_again();
    clawdstrike_e2e::wait_ready(&reg.url);
    let (s, versions) = get(&reg, &format!("/api/v1/guards/{ACME}/versions"));
    assert_eq!(s, 200);
    assert_eq!(json(&versions)["versions"][1]["yanked"], false);
    reg.restart();
    assert_eq!(
        get(&reg, &format!("/api/v1/guards/{ACME}/0.1.0/manifest")).0,
        200
    );
}

#[test]
fn serve_seeds_the_example_guards_once() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    // The README's first command runs exactly this (in release): relative seed path.
    let mut reg = Registry::start_with(&data, vec![], &["--seed", "examples/guards"]);
    let (s, list) = get(&reg, "/api/v1/guards?limit=100");
    assert_eq!(s, 200);
    let list = json(&list);
    let mut names: Vec<&str> = list["guards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "@clawdstrike/example-parity-ts",
            "acme-secrets-guard",
            "parity-rust-guard",
            "reputation-guard"
        ]
    );
    assert!(list["guards"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["trustTier"] == "first-party"));
    reg.restart();
    assert_eq!(json(&get(&reg, "/api/v1/guards").1)["total"], 4);
}
