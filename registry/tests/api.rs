//! The registry's HTTP API over real storage: every test body runs on SQLite and on
//! PostgreSQL (a fresh database on `DATABASE_URL`), through the real router.

mod support;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use chrono::Utc;
use clawdstrike_formats::signed::{self, TrustedKey};
use clawdstrike_registry::db::publishers::Role;
use support::app::{packed_example, repo_root, Blobs, Database, TestApp};

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Database::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Database::Postgres).await
            }
        }
    )*};
}

on_both_databases!(
    publish_then_read_back_through_every_route,
    hostile_requests_get_problems_and_leave_nothing_behind,
    versions_are_immutable_and_names_are_owned,
    yank_deprecate_and_tier_changes,
    errors_are_problem_json_everywhere,
);

const ACME: &str = "acme-secrets-guard";

fn pinned_keys(keys: &serde_json::Value) -> Vec<TrustedKey> {
    keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            TrustedKey::from_base64(
                k["keyid"].as_str().unwrap(),
                k["publicKey"].as_str().unwrap(),
                k["validFrom"].as_str().unwrap().parse().unwrap(),
                k["validUntil"].as_str().map(|t| t.parse().unwrap()),
            )
            .unwrap()
        })
        .collect()
}

/// An npm-style package built from the ACME guard's component, under another name.
fn npm_package(name: &str, version: &str) -> Vec<u8> {
    let acme = repo_root().join("examples/guards/acme-secrets");
    let loaded = clawdstrike_formats::manifest::PluginManifest::load(&acme).unwrap();
    let mut manifest = loaded.manifest.to_json_value();
    manifest["name"] = serde_json::json!(name);
    let wasm = std::fs::read(acme.join("dist/guard.wasm")).expect("run scripts/build-guards.sh");
    let package_json = serde_json::json!({"name": name, "version": version, "description": "test guard", "keywords": ["secrets"], "license": "MIT"});
    let entry = manifest["guards"][0]["entrypoint"]
        .as_str()
        .unwrap()
        .to_string();
    tarball(&[
        (
            "package/package.json",
            package_json.to_string().into_bytes(),
        ),
        (
            "package/clawdstrike.plugin.json",
            manifest.to_string().into_bytes(),
        ),
        (&format!("package/{entry}"), wasm),
    ])
}

fn tarball(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Write the raw name so hostile paths reach the server unaltered.
        let name = h.as_gnu_mut().unwrap();
        name.name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        tar.append(&h, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

async fn publish_then_read_back_through_every_route(db: Database) {
    let app = TestApp::new(db, Blobs::Local).await;
    let alice = app.account("alice", Role::Publisher, &["publish:*"]).await;
    let archive = packed_example("acme-secrets");
    let r = app.publish(Some(&alice), archive.clone()).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let published = r.json();
    assert_eq!(published["name"], ACME);
    assert_eq!(published["version"], "0.1.0");
    assert_eq!(published["trustTier"], "community");

    let list = app.get("/api/v1/guards").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["guards"][0]["name"], ACME);
    assert_eq!(list["guards"][0]["registry"], "crates.io");

    let details = app.get(&format!("/api/v1/guards/{ACME}")).await.json();
    assert_eq!(details["owners"], serde_json::json!(["alice"]));
    assert_eq!(details["version"], "0.1.0");
    assert!(
        details["configSchema"]["acme_secrets"].is_object(),
        "{details}"
    );
    assert!(details["lastSecurityScan"].is_object());
    assert!(details["readme"]
        .as_str()
        .unwrap_or_default()
        .contains("ACME"));

    let versions = app
        .get(&format!("/api/v1/guards/{ACME}/versions"))
        .await
        .json();
    assert_eq!(versions["versions"][0]["version"], "0.1.0");
    assert_eq!(versions["versions"][0]["yanked"], false);
    let archive_sha = versions["versions"][0]["archive"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(archive_sha, signed::sha256_hex(&archive));

    // The signed manifest verifies against the published keys and names the exact bytes.
    let keys = pinned_keys(&app.get("/api/v1/keys").await.json());
    let m = app
        .get(&format!("/api/v1/guards/{ACME}/0.1.0/manifest"))
        .await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(m.content_type(), "application/vnd.dsse.envelope.v1+json");
    let etag = m
        .headers
        .get(header::ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let release = signed::verify(&m.body, &keys, Utc::now()).unwrap();
    let p = &release.statement.predicate;
    assert_eq!((p.name.as_str(), p.version.as_str()), (ACME, "0.1.0"));
    assert_eq!(p.origin.kind, "direct");
    assert_eq!(p.publisher.account, "alice");
    assert!(p.expires_at > Utc::now() + chrono::Duration::days(300));

    let a = app
        .get(&format!("/api/v1/guards/{ACME}/0.1.0/artifact"))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body.as_ref(), archive.as_slice());
    assert!(a
        .headers
        .get(header::CACHE_CONTROL)
        .unwrap()
        .to_str()
        .unwrap()
        .contains("immutable"));
    release.check_subject(&p.archive.name, &a.body).unwrap();
    for c in &p.components {
        let r = app
            .get(&format!("/api/v1/guards/{ACME}/0.1.0/artifact/{}", c.path))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", c.path);
        assert_eq!(r.content_type(), "application/wasm");
        release.check_subject(&c.path, &r.body).unwrap();
    }

    // Conditional requests.
    let again = app
        .send(
            Method::GET,
            &format!("/api/v1/guards/{ACME}/0.1.0/manifest"),
            None,
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(
        again.headers.get(header::ETAG).unwrap().to_str().unwrap(),
        etag
    );
    let mut req = axum::http::Request::get(format!("/api/v1/guards/{ACME}/0.1.0/manifest"));
    req = req.header(header::IF_NONE_MATCH, &etag);
    let r = tower::ServiceExt::oneshot(app.router.clone(), req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // A scoped npm package travels URL-encoded.
    let r = app
        .publish(Some(&alice), npm_package("@alice/secrets", "1.0.0"))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(r.json()["manifestUrl"]
        .as_str()
        .unwrap()
        .contains("%40alice%2Fsecrets/1.0.0/manifest"));
    let d = app.get("/api/v1/guards/%40alice%2Fsecrets").await.json();
    assert_eq!(d["registry"], "npm");
    assert_eq!(d["category"], "secrets");
    assert_eq!(app.get("/api/v1/guards").await.json()["total"], 2);
    let npm = app.get("/api/v1/guards?registry=npm").await.json();
    assert_eq!(
        (npm["total"].as_i64(), npm["guards"][0]["name"].as_str()),
        (Some(1), Some("@alice/secrets"))
    );
    assert_eq!(
        app.get("/api/v1/guards?category=secrets&trust_tier=community")
            .await
            .json()["total"],
        1
    );
    let d = app
        .get("/api/v1/guards?trust_tier=gold")
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(d.contains("certified"), "{d}");

    let ready = app.get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&ready.body)
    );
    let metrics = String::from_utf8(app.get("/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("clawdstrike_registry_publishes_total{outcome=\"ok\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/api/v1/guards/{name}/{version}/manifest\""),
        "{metrics}"
    );
}

async fn hostile_requests_get_problems_and_leave_nothing_behind(db: Database) {
    let app = TestApp::new(db, Blobs::Local).await;
    let alice = app.account("alice", Role::Publisher, &["publish:*"]).await;
    let good = packed_example("acme-secrets");

    app.publish(None, good.clone())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    app.publish(Some("cstk_0000"), good.clone())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    let narrow = app
        .account("narrow", Role::Publisher, &["publish:@narrow/*"])
        .await;
    let d = app
        .publish(Some(&narrow), good.clone())
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(d.contains("publish"), "{d}");

    let traversal = tarball(&[("package/../../etc/passwd", b"x".to_vec())]);
    let d = app
        .publish(Some(&alice), traversal)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(d.contains(".."), "{d}");
    app.publish(Some(&alice), b"not an archive".to_vec())
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.publish(Some(&alice), Vec::new())
        .await
        .problem(StatusCode::BAD_REQUEST);
    // A bomb: 64 MiB of zeros gzip to ~64 KiB.
    let bomb = tarball(&[("package/package.json", vec![0u8; 64 << 20])]);
    assert!(bomb.len() < 1 << 20);
    app.publish(Some(&alice), bomb)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    for bad in [
        "Bad Name",
        "@x/",
        "UPPER",
        "node_modules",
        ".hidden",
        &"a".repeat(300),
    ] {
        let r = app.publish(Some(&alice), npm_package(bad, "1.0.0")).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.status);
        assert_eq!(r.content_type(), "application/problem+json");
    }

    // A declared 1 GB body is refused from its Content-Length, before any byte is read.
    let req = axum::http::Request::post("/api/v1/guards")
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .header(header::CONTENT_LENGTH, 1u64 << 30)
        .body(Body::from_stream(futures_util::stream::pending::<
            Result<bytes::Bytes, std::io::Error>,
        >()))
        .unwrap();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tower::ServiceExt::oneshot(app.router.clone(), req),
    )
    .await
    .expect("a 1 GB upload must be refused without waiting for its body")
    .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Every archive of the hostile corpus, over HTTP: a 4xx problem, nothing stored.
    let corpus = repo_root().join("tests/hostile/archives");
    for entry in std::fs::read_dir(&corpus).unwrap().flatten() {
        let path = entry.path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("tgz" | "crate")
        ) {
            continue;
        }
        let r = app
            .publish(Some(&alice), std::fs::read(&path).unwrap())
            .await;
        assert!(
            r.status.is_client_error(),
            "{}: {}",
            path.display(),
            r.status
        );
        assert_eq!(
            r.content_type(),
            "application/problem+json",
            "{}",
            path.display()
        );
    }

    assert_eq!(app.get("/api/v1/guards").await.json()["total"], 0);
    assert_eq!(
        app.local_blob_count(),
        0,
        "a refused publish left blobs behind"
    );
}

async fn versions_are_immutable_and_names_are_owned(db: Database) {
    let app = TestApp::new(db, Blobs::Local).await;
    let alice = app
        .account("alice", Role::Publisher, &["publish:*", "yank:*"])
        .await;
    let bob = app.account("bob", Role::Publisher, &["publish:*"]).await;
    assert_eq!(
        app.publish(Some(&alice), npm_package("@alice/guard", "1.0.0"))
            .await
            .status,
        StatusCode::CREATED
    );
    let blobs = app.local_blob_count();

    let d = app
        .publish(Some(&alice), npm_package("@alice/guard", "1.0.0"))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(d.contains("immutable"), "{d}");
    let d = app
        .publish(Some(&bob), npm_package("@alice/guard", "1.1.0"))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(d.contains("alice"), "{d}");
    let d = app
        .publish(Some(&bob), npm_package("@alice/other", "1.0.0"))
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(d.contains("@alice"), "{d}");
    assert_eq!(
        app.publish(Some(&alice), npm_package("plain-guard", "1.0.0"))
            .await
            .status,
        StatusCode::CREATED
    );
    let d = app
        .publish(Some(&bob), npm_package("plain_guard", "1.0.0"))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(d.contains("plain-guard"), "{d}");
    let after_refusals = app.local_blob_count();

    // Owners add owners; then bob may publish.
    let r = app
        .send(
            Method::POST,
            "/api/v1/guards/%40alice%2Fguard/owners",
            Some(&alice),
            Body::from(r#"{"publisher":"bob"}"#),
            Some("application/json"),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["owners"], serde_json::json!(["alice", "bob"]));
    assert_eq!(
        app.publish(Some(&bob), npm_package("@alice/guard", "1.1.0"))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.publish(Some(&bob), npm_package("@alice/guard", "1.0.1"))
            .await
            .status,
        StatusCode::CREATED
    );
    let v = app
        .get("/api/v1/guards/%40alice%2Fguard/versions")
        .await
        .json();
    let order: Vec<&str> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["1.1.0", "1.0.1", "1.0.0"]);
    assert_eq!(
        app.get("/api/v1/guards/%40alice%2Fguard").await.json()["version"],
        "1.1.0"
    );
    // Identical components are shared: a refused publish removed nothing in use.
    assert!(after_refusals >= blobs);

    // Owners remove owners, never the last one.
    let r = app
        .send(
            Method::DELETE,
            "/api/v1/guards/%40alice%2Fguard/owners/alice",
            Some(&bob),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["owners"], serde_json::json!(["bob"]));
    app.send(
        Method::DELETE,
        "/api/v1/guards/%40alice%2Fguard/owners/bob",
        Some(&bob),
        Body::empty(),
        None,
    )
    .await
    .problem(StatusCode::CONFLICT);
    app.publish(Some(&alice), npm_package("@alice/guard", "1.2.0"))
        .await
        .problem(StatusCode::FORBIDDEN);
}

async fn yank_deprecate_and_tier_changes(db: Database) {
    let app = TestApp::new(db, Blobs::Local).await;
    let alice = app
        .account("alice", Role::Publisher, &["publish:*", "yank:*"])
        .await;
    let moderator = app.account("mod", Role::Moderator, &["moderate"]).await;
    for v in ["1.0.0", "1.1.0"] {
        assert_eq!(
            app.publish(Some(&alice), npm_package("@alice/g", v))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let base = "/api/v1/guards/%40alice%2Fg";
    app.put_json(
        &format!("{base}/1.1.0/yank"),
        Some(&alice),
        serde_json::json!({}),
    )
    .await
    .problem(StatusCode::BAD_REQUEST);
    let r = app
        .put_json(
            &format!("{base}/1.1.0/yank"),
            Some(&alice),
            serde_json::json!({"reason": "leaks"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["yanked"], true);
    assert_eq!(app.get(base).await.json()["version"], "1.0.0");
    let r = app
        .put_json(
            &format!("{base}/1.0.0/deprecate"),
            Some(&alice),
            serde_json::json!({"reason": "use 2.x"}),
        )
        .await;
    assert_eq!(r.json()["deprecationReason"], "use 2.x");
    app.put_json(
        &format!("{base}/1.0.0/yank"),
        None,
        serde_json::json!({"reason": "x"}),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED);

    // Tier changes need a moderator and re-sign the manifest.
    let keys = pinned_keys(&app.get("/api/v1/keys").await.json());
    let before = app.get(&format!("{base}/1.0.0/manifest")).await;
    app.put_json(
        "/api/v1/admin/guards/%40alice%2Fg/1.0.0/tier",
        Some(&alice),
        serde_json::json!({"tier": "verified"}),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    app.put_json(
        "/api/v1/admin/guards/%40alice%2Fg/1.0.0/tier",
        Some(&moderator),
        serde_json::json!({"tier": "gold"}),
    )
    .await
    .problem(StatusCode::BAD_REQUEST);
    let r = app
        .put_json(
            "/api/v1/admin/guards/%40alice%2Fg/1.0.0/tier",
            Some(&moderator),
            serde_json::json!({"tier": "verified"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let after = app.get(&format!("{base}/1.0.0/manifest")).await;
    assert_ne!(
        before.headers.get(header::ETAG),
        after.headers.get(header::ETAG)
    );
    let release = signed::verify(&after.body, &keys, Utc::now()).unwrap();
    assert_eq!(release.statement.predicate.trust_tier.as_str(), "verified");
    assert_eq!(app.get(base).await.json()["trustTier"], "verified");

    // Key rotation: new manifests are signed by the new key; old ones still verify.
    let (_, new_key) = app.state.keys.rotate().unwrap();
    let r = app
        .put_json(
            "/api/v1/admin/guards/%40alice%2Fg/1.1.0/tier",
            Some(&moderator),
            serde_json::json!({"tier": "certified"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let keys = pinned_keys(&app.get("/api/v1/keys").await.json());
    let m = app.get(&format!("{base}/1.1.0/manifest")).await;
    assert_eq!(
        signed::verify(&m.body, &keys, Utc::now()).unwrap().key_id,
        new_key
    );
    signed::verify(&after.body, &keys, Utc::now()).unwrap();

    // Revoking a key: what it signed stops verifying until renewed with the active key.
    let old_key = release.key_id.clone();
    app.state.keys.revoke(&old_key).unwrap();
    let keys = pinned_keys(&app.get("/api/v1/keys").await.json());
    assert!(signed::verify(&after.body, &keys, Utc::now()).is_err());
    let selection = clawdstrike_registry::signing::renew::RenewSelection {
        signed_by: Some(old_key.clone()),
        ..Default::default()
    };
    let report = clawdstrike_registry::signing::renew::renew(&app.state, &selection)
        .await
        .unwrap();
    assert_eq!((report.checked, report.renewed), (2, 1));
    let renewed = app.get(&format!("{base}/1.0.0/manifest")).await;
    let release = signed::verify(&renewed.body, &keys, Utc::now()).unwrap();
    assert_ne!(release.key_id, old_key);
    assert_eq!(release.statement.predicate.trust_tier.as_str(), "verified");
}

async fn errors_are_problem_json_everywhere(db: Database) {
    let app = TestApp::new(db, Blobs::Local).await;
    app.get("/nope").await.problem(StatusCode::NOT_FOUND);
    app.get("/api/v1/guards/missing")
        .await
        .problem(StatusCode::NOT_FOUND);
    app.get("/api/v1/guards/missing/1.0.0/manifest")
        .await
        .problem(StatusCode::NOT_FOUND);
    app.send(Method::DELETE, "/api/v1/guards", None, Body::empty(), None)
        .await
        .problem(StatusCode::METHOD_NOT_ALLOWED);
    app.get("/api/v1/guards?limit=1000")
        .await
        .problem(StatusCode::BAD_REQUEST);
    app.get("/api/v1/guards?page=abc")
        .await
        .problem(StatusCode::BAD_REQUEST);
    let alice = app
        .account("alice", Role::Publisher, &["publish:*", "yank:*"])
        .await;
    assert_eq!(
        app.publish(Some(&alice), npm_package("g", "1.0.0"))
            .await
            .status,
        StatusCode::CREATED
    );
    let r = app
        .send(
            Method::PUT,
            "/api/v1/guards/g/1.0.0/yank",
            Some(&alice),
            Body::from("{not json"),
            Some("application/json"),
        )
        .await;
    assert!(r.status.is_client_error());
    assert_eq!(r.content_type(), "application/problem+json");
    let r = app
        .send(
            Method::PUT,
            "/api/v1/guards/g/1.0.0/yank",
            Some(&alice),
            Body::from(vec![b' '; 200_000]),
            Some("application/json"),
        )
        .await;
    r.problem(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_outage_refuses_publishes_with_503_and_stores_no_row() {
    let mut app = TestApp::new(Database::Sqlite, Blobs::S3).await;
    let alice = app.account("alice", Role::Publisher, &["publish:*"]).await;
    assert_eq!(
        app.publish(Some(&alice), npm_package("before", "1.0.0"))
            .await
            .status,
        StatusCode::CREATED
    );
    app.s3.as_mut().unwrap().stop();
    app.publish(Some(&alice), npm_package("during", "1.0.0"))
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(app
        .state
        .db
        .package_by_name("during")
        .await
        .unwrap()
        .is_none());
    app.s3.as_mut().unwrap().restart();
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    assert_eq!(
        app.publish(Some(&alice), npm_package("during", "1.0.0"))
            .await
            .status,
        StatusCode::CREATED
    );
    let a = app.get("/api/v1/guards/before/1.0.0/artifact").await;
    assert_eq!(a.status, StatusCode::OK);
}

#[test]
fn openapi_document_matches_its_snapshot() {
    let doc = serde_json::to_string_pretty(&clawdstrike_registry::api::openapi::document())
        .unwrap()
        + "\n";
    let path = repo_root().join("registry/tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &doc).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(expected == doc, "the OpenAPI document changed; review the diff and run with UPDATE_SNAPSHOTS=1 to accept it");
}
