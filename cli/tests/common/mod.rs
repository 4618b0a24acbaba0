//! Helpers of the CLI's integration tests: run the real `clawdstrike` binary, plus the
//! helpers the engine's tests share (`engine/tests/common`).
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

#[path = "../../../engine/tests/common/mod.rs"]
mod shared;
pub use shared::*;

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
