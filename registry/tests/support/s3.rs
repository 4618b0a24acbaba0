//! A throwaway S3-protocol server for tests: the `s3s-fs` binary on a loopback port, with a
//! temporary data directory and random credentials (it verifies request signatures).
//!
//! The binary comes from `$CLAWDSTRIKE_S3S_FS`, else
//! `$HOME/.cache/clawdstrike-registry/tools/bin/s3s-fs` (installed by `scripts/install-s3s.sh`).
//!
//! ```ignore
//! let server = S3Server::start();
//! server.create_bucket("blobs").await;
//! let store = clawdstrike_registry::blob::open(&server.blob_config("blobs")).await?;
//! ```
#![allow(dead_code)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clawdstrike_registry::blob::BlobConfig;

/// How long the server may take to accept connections after being spawned.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `s3s-fs` server; killed when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The access key id the server accepts.
    pub access_key: String,
    /// The secret key the server accepts.
    pub secret_key: String,
    /// The loopback port (kept across [`S3Server::restart`]).
    pub port: u16,
    binary: PathBuf,
    /// Holds `data/` (the server's root: one directory per bucket) and `server.log`.
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn binary_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CLAWDSTRIKE_S3S_FS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/clawdstrike-registry/tools/bin/s3s-fs")
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("random bytes");
    hex::encode(buf)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

impl S3Server {
    /// Starts a server on a free loopback port with a fresh data directory and random keys,
    /// and waits (at most 10 s) until it accepts connections.
    ///
    /// Panics when the binary is missing ("s3s-fs not found: run scripts/install-s3s.sh or
    /// scripts/test.sh") or the server does not come up.
    pub fn start() -> S3Server {
        let binary = binary_path();
        if !binary.is_file() {
            panic!(
                "s3s-fs not found: run scripts/install-s3s.sh or scripts/test.sh (looked for {})",
                binary.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("clawdstrike-s3s-")
            .tempdir()
            .expect("temporary directory for s3s-fs");
        std::fs::create_dir(dir.path().join("data")).expect("s3s-fs data directory");
        let mut server = S3Server {
            endpoint: String::new(),
            access_key: format!("AK{}", random_hex(9).to_uppercase()),
            secret_key: random_hex(20),
            port: 0,
            binary,
            dir,
            child: None,
        };
        // Another process may grab the port between our probe and the server's bind: retry
        // on a new port when the server exits at once.
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = free_port();
            server.endpoint = format!("http://127.0.0.1:{}", server.port);
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("s3s-fs did not start: {last_error}");
    }

    /// The server's root directory (one sub-directory per bucket).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(log.len());
        log[start..].to_string()
    }

    /// Spawns the binary on `self.port` and waits until it accepts connections.
    fn spawn(&mut self) -> Result<(), String> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("cannot open the server log: {e}"))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot open the server log: {e}"))?;
        let mut child = Command::new(&self.binary)
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--access-key")
            .arg(&self.access_key)
            .arg("--secret-key")
            .arg(&self.secret_key)
            .arg(self.data_dir())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "s3s-fs exited with {status} on port {}; log:\n{}",
                    self.port,
                    self.log_tail()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Whoever answered, make sure it is our process (it exits at once when the
                // port was taken by someone else).
                std::thread::sleep(Duration::from_millis(30));
                if let Ok(None) = child.try_wait() {
                    self.child = Some(child);
                    return Ok(());
                }
                continue;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "s3s-fs did not accept connections on port {} within {} s; log:\n{}",
                    self.port,
                    START_TIMEOUT.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Kills the server (for fault tests); the data directory stays for [`S3Server::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same data directory and keys.
    pub fn restart(&mut self) {
        self.stop();
        // The port was ours a moment ago; give the kernel a few tries to release it.
        let mut last_error = String::new();
        for _ in 0..3 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) => last_error = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("s3s-fs did not restart: {last_error}");
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// An SDK client for this server (path-style, static credentials, region us-east-1).
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_with_secret(&self.secret_key)
    }

    /// An SDK client signing with another secret (for negative tests).
    pub fn client_with_secret(&self, secret: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &self.access_key,
                secret,
                None,
                None,
                "s3s-test-server",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Creates a bucket; panics on failure.
    pub async fn create_bucket(&self, name: &str) {
        if let Err(e) = self.client().create_bucket().bucket(name).send().await {
            panic!(
                "cannot create bucket {name} at {}: {}",
                self.endpoint,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            );
        }
    }

    /// A blob-store configuration for `bucket` on this server.
    pub fn blob_config(&self, bucket: &str) -> BlobConfig {
        BlobConfig::S3 {
            endpoint: Some(self.endpoint.clone()),
            bucket: bucket.to_string(),
            region: None,
            access_key_id: self.access_key.clone(),
            secret_access_key: self.secret_key.clone(),
            prefix: None,
            force_path_style: None,
        }
    }

    /// The path where the server keeps `object_key` of `bucket` (for white-box checks).
    pub fn object_path(&self, bucket: &str, object_key: &str) -> PathBuf {
        self.data_dir().join(bucket).join(Path::new(object_key))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
