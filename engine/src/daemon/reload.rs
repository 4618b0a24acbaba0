//! Reloading the policy when its file changes: poll its length, modification time and
//! content hash; build the new engine on the blocking pool; swap it in only if it loads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Daemon, EngineBuilder};

fn fingerprint(path: &std::path::Path) -> Option<[u8; 32]> {
    let bytes = std::fs::read(path).ok()?;
    Some(Sha256::digest(&bytes).into())
}

/// Watches `path` every `interval` until the process ends.
pub async fn watch(
    daemon: Arc<Daemon>,
    build: EngineBuilder,
    path: PathBuf,
    interval: Duration,
    offload: bool,
) {
    let mut last = fingerprint(&path);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        let now = fingerprint(&path);
        if now.is_none() || now == last {
            // Missing (mid-rename by an editor) or unchanged: keep what we have.
            continue;
        }
        last = now;
        let build = build.clone();
        match tokio::task::spawn_blocking(move || build()).await {
            Ok(Ok(engine)) => {
                let generation = daemon.replace(engine, offload);
                daemon.metrics.reload(true);
                eprintln!(
                    "clawdstrike daemon: reloaded {} (generation {generation})",
                    path.display()
                );
            }
            Ok(Err(e)) => {
                daemon.metrics.reload(false);
                eprintln!(
                    "clawdstrike daemon: refused the new {}; the previous policy stays in force:",
                    path.display()
                );
                for p in e.problems() {
                    eprintln!("  error: {p}");
                }
            }
            Err(e) => {
                daemon.metrics.reload(false);
                eprintln!("clawdstrike daemon: reload failed: {e}");
            }
        }
    }
}
