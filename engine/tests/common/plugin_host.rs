//! A plugin host for tests: a compiled-component cache shared by the whole test process
//! (each component compiles once), fixed secrets, and an audit log the test reads back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use clawdstrike_engine::audit::AuditLog;
use clawdstrike_engine::plugin::{HostOptions, PluginHost};
use clawdstrike_engine::policy::placeholders::Resolver;
use serde_json::Value;

/// An audit sink the test can read back.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Every record so far.
    pub fn records(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The records of one kind.
    pub fn kinds(&self, kind: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["kind"] == kind)
            .collect()
    }
}

/// A host and what it audits.
pub struct Host {
    /// The host.
    pub host: PluginHost,
    /// Its audit records.
    pub audit: Captured,
}

fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// A host on the shared cache, without secrets.
pub fn host() -> Host {
    host_with_secrets(&[])
}

/// A host on the shared cache with these secrets.
pub fn host_with_secrets(secrets: &[(&str, &str)]) -> Host {
    host_in(shared_cache().to_path_buf(), secrets)
}

/// A host with its own cache directory.
pub fn host_in(cache_dir: PathBuf, secrets: &[(&str, &str)]) -> Host {
    let audit = Captured::default();
    let host = PluginHost::new(HostOptions {
        cache_dir: Some(cache_dir),
        secrets: Resolver::fixed(
            Default::default(),
            secrets
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        audit: Some(Arc::new(AuditLog::to_writer(Box::new(audit.clone())))),
        ..HostOptions::default()
    })
    .unwrap();
    Host { host, audit }
}
