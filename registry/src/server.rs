//! Starting and stopping the service: open the database, blob store and key ring, create
//! the first admin on a fresh database, seed, listen, and drain on SIGINT/SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::blob;
use crate::config::Config;
use crate::db::publishers::Role;
use crate::db::Db;
use crate::signing::KeyRing;
use crate::state::AppState;

/// Opens everything the service needs, from a configuration.
pub async fn open_state(config: Config) -> anyhow::Result<AppState> {
    let url = config.database_url();
    let db = Db::connect(&url, config.database_max_connections)
        .await
        .with_context(|| format!("cannot open the database {}", crate::db::redact(&url)))?;
    let blobs = blob::open(&config.blob_config())
        .await
        .context("cannot open the blob store")?;
    let keys =
        KeyRing::open_or_create(&config.key_dir()).context("cannot open the signing key ring")?;
    Ok(AppState::new(config, db, blobs, keys))
}

/// On a database with no accounts, creates `admin` with an admin token and returns the
/// token (printed once; only its hash is stored).
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<Option<String>> {
    if state.db.count_publishers().await? > 0 {
        return Ok(None);
    }
    let admin = match state.db.create_publisher("admin", None, Role::Admin).await {
        Ok(a) => a,
        // Another replica starting at the same moment created it first.
        Err(crate::db::DbError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let (token, hash) = crate::auth::generate_token().map_err(|e| anyhow::anyhow!("{e}"))?;
    state
        .db
        .create_token(admin.id, "bootstrap", &hash, &["admin".to_string()], None)
        .await?;
    Ok(Some(token))
}

/// What `serve` was asked to do besides the configuration.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Directories of guard packages to publish at start (skipping versions already there).
    pub seed: Vec<PathBuf>,
}

/// Runs the service until SIGINT or SIGTERM, then finishes in-flight requests.
pub async fn serve(config: Config, options: ServeOptions) -> anyhow::Result<()> {
    let listen = config.listen;
    let state = open_state(config).await?;
    if let Some(token) = bootstrap_admin(&state).await? {
        eprintln!("\nFirst start: created the account `admin`. Its token (shown once, store it now):\n\n    {token}\n");
    }
    for dir in &options.seed {
        crate::seed::seed_dir(&state, dir)
            .await
            .with_context(|| format!("seeding from {}", dir.display()))?;
    }
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = ?state.db.backend(), blobs = %state.blobs.describe(), "registry listening");
    println!("Clawdstrike guard registry listening on http://{addr}");
    let db = state.db.clone();
    let app = crate::api::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
