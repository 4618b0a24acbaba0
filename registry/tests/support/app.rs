//! [`TestApp`]: the registry's router over real storage, plus request helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use bytes::Bytes;
use clawdstrike_registry::blob::BlobConfig;
use clawdstrike_registry::config::Config;
use clawdstrike_registry::db::publishers::Role;
use clawdstrike_registry::state::AppState;
use tower::ServiceExt;

use super::{pg, s3::S3Server};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file in the test's data directory.
    Sqlite,
    /// A fresh database on `DATABASE_URL`.
    Postgres,
}

/// Which blob store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blobs {
    /// `<data>/blobs`.
    Local,
    /// An s3s-fs server.
    S3,
}

/// A registry for one test.
pub struct TestApp {
    /// The state (database, blobs, keys).
    pub state: AppState,
    /// The router.
    pub router: Router,
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// The S3 server, when the blobs live there.
    pub s3: Option<S3Server>,
    /// An admin token.
    pub admin_token: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: axum::http::HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The content type.
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer with this status and returns its detail.
    pub fn problem(&self, status: StatusCode) -> String {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), "application/problem+json");
        let j = self.json();
        assert_eq!(j["status"], status.as_u16());
        j["detail"].as_str().unwrap_or_default().to_string()
    }
}

impl TestApp {
    /// A registry on `db` and `blobs`.
    pub async fn new(db: Database, blobs: Blobs) -> TestApp {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database_url = Some(match db {
            Database::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("registry.db").display()
            ),
            Database::Postgres => pg::fresh_database().await,
        });
        let mut s3 = None;
        config.blob = Some(match blobs {
            Blobs::Local => BlobConfig::Local {
                dir: dir.path().join("blobs"),
            },
            Blobs::S3 => {
                let server = S3Server::start();
                server.create_bucket("registry").await;
                let c = server.blob_config("registry");
                s3 = Some(server);
                c
            }
        });
        let state = clawdstrike_registry::server::open_state(config)
            .await
            .unwrap();
        let admin_token = clawdstrike_registry::server::bootstrap_admin(&state)
            .await
            .unwrap()
            .unwrap();
        let router = clawdstrike_registry::api::router(state.clone());
        TestApp {
            state,
            router,
            dir,
            s3,
            admin_token,
        }
    }

    /// Creates an account and a token with `scopes` for it.
    pub async fn account(&self, name: &str, role: Role, scopes: &[&str]) -> String {
        let p = self
            .state
            .db
            .create_publisher(name, None, role)
            .await
            .unwrap();
        let (token, hash) = clawdstrike_registry::auth::generate_token().unwrap();
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.state
            .db
            .create_token(p.id, "test", &hash, &scopes, None)
            .await
            .unwrap();
        token
    }

    /// Sends a request.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Body,
        content_type: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let response = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET.
    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None, Body::empty(), None).await
    }

    /// POST an archive.
    pub async fn publish(&self, token: Option<&str>, archive: Vec<u8>) -> Reply {
        self.send(
            Method::POST,
            "/api/v1/guards",
            token,
            Body::from(archive),
            Some("application/gzip"),
        )
        .await
    }

    /// PUT JSON.
    pub async fn put_json(&self, uri: &str, token: Option<&str>, json: serde_json::Value) -> Reply {
        self.send(
            Method::PUT,
            uri,
            token,
            Body::from(json.to_string()),
            Some("application/json"),
        )
        .await
    }

    /// Every blob key in the store (local stores only).
    pub fn local_blob_count(&self) -> usize {
        fn walk(p: &Path, n: &mut usize) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        walk(&path, n);
                    } else if !path
                        .file_name()
                        .is_some_and(|f| f.to_string_lossy().starts_with('.'))
                    {
                        *n += 1;
                    }
                }
            }
        }
        let mut n = 0;
        walk(&self.dir.path().join("blobs"), &mut n);
        n
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A packed example guard (its component must be built: scripts/build-guards.sh).
pub fn packed_example(name: &str) -> Vec<u8> {
    let dir = repo_root().join("examples/guards").join(name);
    clawdstrike_registry::pack::pack_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "cannot pack {}: {e} (run scripts/build-guards.sh)",
                dir.display()
            )
        })
        .bytes
}
