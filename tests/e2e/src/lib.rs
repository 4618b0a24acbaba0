//! Harness for the end-to-end tests: the built binaries, a registry process, a throwaway
//! PostgreSQL cluster, and small HTTP helpers. `scripts/test.sh` builds the binaries
//! (`cargo build --bins`) before running these tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A binary of the workspace, built by `cargo build --bins` into the same target directory
/// as this test.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join(name))
        .expect("target dir");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `clawdstrike-registry serve` process.
pub struct Registry {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Environment given to the server and to admin subcommands.
    pub env: Vec<(String, String)>,
    /// The one-time admin token printed at first start (if this start was the first).
    pub admin_token: Option<String>,
    /// Extra `serve` arguments (e.g. `--seed DIR`).
    pub serve_args: Vec<String>,
    port: u16,
    child: Option<Child>,
}

impl Registry {
    /// Starts a registry on `data_dir` with `env`, on a free port, and waits until it is ready.
    pub fn start(data_dir: &Path, env: Vec<(String, String)>) -> Registry {
        Registry::start_with(data_dir, env, &[])
    }

    /// [`Registry::start`] with extra `serve` arguments.
    pub fn start_with(
        data_dir: &Path,
        env: Vec<(String, String)>,
        serve_args: &[&str],
    ) -> Registry {
        let mut r = Registry {
            url: String::new(),
            data_dir: data_dir.to_path_buf(),
            env,
            admin_token: None,
            serve_args: serve_args.iter().map(|s| s.to_string()).collect(),
            port: free_port(),
            child: None,
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let log = self.data_dir.join(format!("server-{}.log", self.port));
        std::fs::create_dir_all(&self.data_dir).unwrap();
        let mut cmd = Command::new(binary("clawdstrike-registry"));
        cmd.args(["serve", "--data-dir"])
            .arg(&self.data_dir)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(&self.serve_args)
            .current_dir(repo_root())
            .env("CLAWDSTRIKE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        isolate(&mut cmd, &self.env);
        let mut child = cmd.spawn().expect("spawn clawdstrike-registry");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "registry did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let url = line.rsplit(' ').next().unwrap().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected first line: {line}"
        );
        self.url = url;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        self.admin_token = text
            .split_whitespace()
            .find(|w| w.starts_with("cstk_"))
            .map(str::to_string);
        self.child = Some(child);
        wait_ready(&self.url);
    }

    /// Stops the process (SIGTERM, then kill).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops and starts again on the same port, data and environment.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Runs an admin subcommand against the same data and database.
    pub fn admin(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(binary("clawdstrike-registry"));
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .env("CLAWDSTRIKE_LOG", "warn");
        isolate(&mut cmd, &self.env);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Gives a registry process exactly the configuration of its test: the runner's own
/// `DATABASE_URL` (the test entry point sets one for the PostgreSQL tests) and any
/// `CLAWDSTRIKE_*` variables would otherwise reach it.
fn isolate(cmd: &mut Command, env: &[(String, String)]) {
    cmd.env_remove("DATABASE_URL");
    for (k, _) in std::env::vars() {
        if k.starts_with("CLAWDSTRIKE_") && k != "CLAWDSTRIKE_LOG" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
}

/// Waits until `/readyz` answers 200 (or panics after 30 s).
pub fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http().get(format!("{url}/readyz")).send() {
            if r.status().as_u16() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A blocking HTTP client.
pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// SHA-256, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A throwaway PostgreSQL cluster (scripts/postgres.sh) that a test may stop and start.
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    /// The admin URL (database `postgres`).
    pub url: String,
}

impl Postgres {
    /// initdb + start on a free port.
    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut pg = Postgres {
            dir,
            port,
            url: String::new(),
        };
        pg.url = pg.up();
        pg
    }

    fn up(&self) -> String {
        let out = run(Command::new(repo_root().join("scripts/postgres.sh"))
            .arg("start")
            .arg(self.dir.path())
            .arg(self.port.to_string()));
        assert!(
            out.status.success(),
            "cannot start PostgreSQL: {}",
            stderr(&out)
        );
        stdout(&out).lines().last().unwrap().to_string()
    }

    /// A fresh database on this cluster.
    pub fn database(&self, name: &str) -> String {
        let out = run(Command::new("psql")
            .arg(&self.url)
            .args(["-qc", &format!("CREATE DATABASE {name}")]));
        assert!(out.status.success(), "{}", stderr(&out));
        format!("{}/{name}", self.url.trim_end_matches("/postgres"))
    }

    /// Stops the server (the data stays).
    pub fn stop(&self) {
        run(Command::new(repo_root().join("scripts/postgres.sh"))
            .arg("stop")
            .arg(self.dir.path()));
    }

    /// Starts it again.
    pub fn start_again(&self) {
        self.up();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
