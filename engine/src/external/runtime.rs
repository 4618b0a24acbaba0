//! The engine's own tokio runtime. Every external call and every background check runs
//! here, so they progress while the caller's thread runs the synchronous guards, work the
//! same from sync and async callers, and background checks outlive the call that started
//! them (until [`AsyncRuntime::drain`]).

use std::future::Future;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// A small multi-threaded runtime plus a tracker of background checks.
pub struct AsyncRuntime {
    rt: Option<Runtime>,
    background: TaskTracker,
}

impl std::fmt::Debug for AsyncRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRuntime")
            .field("background", &self.background.len())
            .finish_non_exhaustive()
    }
}

impl AsyncRuntime {
    /// Start the runtime: two workers (external calls wait on I/O, they do not compute).
    pub fn new() -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("clawdstrike-async")
            .enable_all()
            .build()?;
        Ok(AsyncRuntime {
            rt: Some(rt),
            background: TaskTracker::new(),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        match &self.rt {
            Some(rt) => rt.handle(),
            None => unreachable!("the runtime is only taken in Drop"),
        }
    }

    /// Run a future on the runtime; await the handle from anywhere.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(future)
    }

    /// Run a background check: tracked, so [`drain`](Self::drain) can wait for it.
    pub fn spawn_background<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.background.spawn_on(future, self.handle());
    }

    /// Background checks still running.
    pub fn pending(&self) -> usize {
        self.background.len()
    }

    /// Wait up to `timeout` for the background checks started so far; true when all
    /// finished. New ones can still be started afterwards.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.background.close();
        let done = tokio::time::timeout(timeout, self.background.wait())
            .await
            .is_ok();
        self.background.reopen();
        done
    }

    /// [`drain`](Self::drain) from synchronous code (the CLI before it exits).
    pub fn drain_blocking(&self, timeout: Duration) -> bool {
        let handle = self.handle().clone();
        futures_executor::block_on(async move {
            // The timer lives on the runtime; enter it so `timeout` can register.
            let _guard = handle.enter();
            self.drain(timeout).await
        })
    }
}

impl Drop for AsyncRuntime {
    fn drop(&mut self) {
        // Dropping a runtime inside an async context panics; the engine may be dropped
        // anywhere (a daemon swapping policies), so let the workers wind down on their own.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
