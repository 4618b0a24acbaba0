//! Helpers shared by the integration tests: run the real `clawdstrike` binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The hostile-input corpus at the repository root.
pub fn hostile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/hostile")
        .join(name)
}

/// Run the CLI with arguments and optional stdin.
pub fn clawdstrike(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args(args)
        .env_remove("CLAWDSTRIKE_AUDIT_LOG")
        .env_remove("CLAWDSTRIKE_SECRETS_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clawdstrike");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            // The CLI may exit before reading everything (e.g. input too large).
            let _ = input.write_all(bytes);
        }
    }
    child.wait_with_output().expect("wait for clawdstrike")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Write a file into a temp dir and return its path.
pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

pub mod guards;
pub mod http;
pub mod plugin_host;
