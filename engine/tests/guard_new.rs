//! `clawdstrike guard new`: every template is scaffolded by the real binary, then built
//! and tested the way its README says: `cargo test`, the component built for
//! `wasm32-wasip2`, `clawdstrike guard validate`, and the example policy deciding the
//! example event. The generated crates depend on this checkout's SDK (`--sdk-path`) and
//! build offline against the workspace's lockfile.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{clawdstrike, stderr, stdout};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A target directory of its own: the outer `cargo test` holds the workspace's.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { repo().join(t) })
        .unwrap_or_else(|| repo().join("target"))
        .join("scaffold-tests")
}

fn new(dir: &Path, template: &str) {
    let sdk = repo().join("sdk/rust");
    let out = clawdstrike(
        &[
            "guard",
            "new",
            dir.to_str().unwrap(),
            "--template",
            template,
            "--sdk-path",
            sdk.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "tests/guard.rs",
        "clawdstrike.plugin.toml",
        "README.md",
        "CHANGELOG.md",
        ".gitignore",
        "policy.example.yaml",
        "event.json",
    ] {
        assert!(dir.join(file).is_file(), "{template}: {file} missing");
        assert!(
            stdout(&out).contains(&format!("  {file}\n")),
            "{}",
            stdout(&out)
        );
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            !text.contains("{{"),
            "{template}/{file} keeps a placeholder"
        );
    }
    std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

fn cargo(dir: &Path, args: &[&str]) {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .arg("--offline")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?} in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Build the component with `features` and put it at `dist/<name>.wasm`.
fn component(dir: &Path, crate_name: &str, features: &[&str], name: &str) {
    let mut args = vec!["build", "--target", "wasm32-wasip2", "--profile", "guard"];
    if !features.is_empty() {
        args.push("--features");
        args.extend(features);
    }
    cargo(dir, &args);
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::copy(
        target_dir().join(format!("wasm32-wasip2/guard/{crate_name}.wasm")),
        dir.join(format!("dist/{name}.wasm")),
    )
    .unwrap();
}

fn validate(dir: &Path, guards: &[&str]) {
    let out = clawdstrike(&["guard", "validate", dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for g in guards {
        assert!(
            stdout(&out).contains(&format!("guard `{g}`")),
            "{}",
            stdout(&out)
        );
    }
}

/// The example policy decides the example event: the guard denies it.
fn example_denies(dir: &Path, guard: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args([
            "check",
            "--json",
            "--policy",
            "policy.example.yaml",
            "--event",
            "event.json",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decision["status"], "deny", "{decision}");
    assert!(decision.to_string().contains(guard), "{decision}");
}

#[test]
fn every_template_builds_tests_and_loads() {
    let root = tempfile::tempdir().unwrap();
    for (template, name) in [
        ("basic", "word-ban"),
        ("async-guard", "host-score"),
        ("compliance-guard", "spdx-check"),
    ] {
        let dir = root.path().join(name);
        new(&dir, template);
        let guard = name.replace('-', "_");
        cargo(&dir, &["test"]);
        component(&dir, &guard, &[], "guard");
        validate(&dir, &[&guard]);
        // The async example would call its (made-up) service: validating is enough.
        if template != "async-guard" {
            example_denies(&dir, &guard);
        }
    }

    let dir = root.path().join("two-rules");
    new(&dir, "multi-guard");
    cargo(&dir, &["test"]);
    component(&dir, "two_rules", &["paths"], "paths");
    component(&dir, "two_rules", &["commands"], "commands");
    validate(&dir, &["two_rules_paths", "two_rules_commands"]);
    example_denies(&dir, "two_rules_commands");
}

#[test]
fn refuses_to_overwrite_or_misname() {
    let root = tempfile::tempdir().unwrap();
    let taken = root.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep.txt"), "mine").unwrap();
    let out = clawdstrike(&["guard", "new", taken.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(&taken).unwrap().count(),
        1,
        "wrote into it"
    );

    let bad = root.path().join("Bad Name");
    let out = clawdstrike(&["guard", "new", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--name"), "{}", stderr(&out));
    assert!(!bad.exists());

    // --name fixes it; an empty directory is fine.
    std::fs::create_dir(&bad).unwrap();
    let out = clawdstrike(
        &["guard", "new", bad.to_str().unwrap(), "--name", "good-name"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = std::fs::read_to_string(bad.join("clawdstrike.plugin.toml")).unwrap();
    assert!(manifest.contains("name = \"good_name\""), "{manifest}");
    let cargo_toml = std::fs::read_to_string(bad.join("Cargo.toml")).unwrap();
    assert!(
        cargo_toml.contains("clawdstrike-guard-sdk = \"0.1\""),
        "{cargo_toml}"
    );

    let out = clawdstrike(
        &[
            "guard",
            "new",
            root.path().join("x").to_str().unwrap(),
            "--template",
            "nope",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("basic"), "{}", stderr(&out));
}
