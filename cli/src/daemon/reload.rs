//! Reloading when files change: poll a fingerprint of their contents; build the new
//! engine (or guards) on the blocking pool; swap it in only if it loads.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{Daemon, EngineFactory};

/// The SHA-256 of the contents of `paths`, in order; `None` if one cannot be read.
pub fn fingerprint<P: AsRef<Path>>(paths: &[P]) -> Option<[u8; 32]> {
    let mut hash = Sha256::new();
    for path in paths {
        let bytes = std::fs::read(path).ok()?;
        // The length first, so moving bytes from one file to the next changes the hash.
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    Some(hash.finalize().into())
}

/// Every `interval`, take `fingerprint()`; when it differs from the last one seen, call
/// `on_change`. `None` (a file missing, say mid-rename by an editor) changes nothing.
/// Runs until the process ends.
pub async fn poll_changes<F, C, Fut>(fingerprint: F, interval: Duration, mut on_change: C)
where
    F: Fn() -> Option<[u8; 32]>,
    C: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut last = fingerprint();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        let now = fingerprint();
        if now.is_none() || now == last {
            continue;
        }
        last = now;
        on_change().await;
    }
}

/// Watches the policy at `path` every `interval` until the process ends.
pub async fn watch(
    daemon: Arc<Daemon>,
    build: EngineFactory,
    path: PathBuf,
    interval: Duration,
    offload: bool,
) {
    let watched = [path.clone()];
    poll_changes(
        || fingerprint(&watched),
        interval,
        || reload(&daemon, &build, &path, offload),
    )
    .await
}

async fn reload(daemon: &Daemon, build: &EngineFactory, path: &Path, offload: bool) {
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
