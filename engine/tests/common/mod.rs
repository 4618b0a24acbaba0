//! Helpers shared by the integration tests of the engine and of the CLI (which includes
//! this file): the hostile corpus, example guards, a loopback HTTP server, a test plugin host.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The hostile-input corpus at the repository root.
pub fn hostile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/hostile")
        .join(name)
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
