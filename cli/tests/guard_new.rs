//! `clawdstrike guard new`: every template, in both languages, is scaffolded by the real
//! binary, then built and tested the way its README says:
//! - Rust: `cargo test`, the component built for `wasm32-wasip2`;
//! - TypeScript: `npm install`, `npm test`, `npm run build`, `npm test` (now against the
//!   component too);
//!
//! then `clawdstrike guard validate`, and the example policy deciding the example event.
//! The packages depend on this checkout's SDK (`--sdk-path`) and build offline: Rust
//! against the workspace's lockfile, npm against the workspace's installed modules.

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
    scaffold(
        dir,
        "rust",
        template,
        &[
            "Cargo.toml",
            "src/lib.rs",
            "tests/guard.rs",
            "clawdstrike.plugin.toml",
        ],
    );
    std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

/// `guard new` with this checkout's SDK; `files` (and the ones every template has) exist
/// with every placeholder filled.
fn scaffold(dir: &Path, lang: &str, template: &str, files: &[&str]) {
    let sdk = repo().join("sdk").join(lang);
    let out = clawdstrike(
        &[
            "guard",
            "new",
            dir.to_str().unwrap(),
            "--lang",
            lang,
            "--template",
            template,
            "--sdk-path",
            sdk.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let common = [
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        ".gitignore",
        "policy.example.yaml",
        "event.json",
    ];
    for file in files.iter().chain(&common) {
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

/// `guard validate --strict --json` (tests run with this test's offline settings):
/// (exit code, findings by check).
fn strict(dir: &Path, extra: &[&str]) -> (i32, serde_json::Map<String, serde_json::Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args(["guard", "validate", "--strict", "--json"])
        .args(extra)
        .arg(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("npm_config_offline", "true")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    let findings = report["strict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["check"].as_str().unwrap().to_string(), f.clone()))
        .collect();
    (out.status.code().unwrap(), findings)
}

fn strict_passes(dir: &Path, extra: &[&str]) {
    let (code, findings) = strict(dir, extra);
    assert_eq!(code, 0, "{findings:#?}");
    for check in ["readme", "changelog", "license", "tests", "dependencies"] {
        assert_eq!(findings[check]["ok"], true, "{check}: {findings:#?}");
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
        strict_passes(&dir, &[]);
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
    strict_passes(&dir, &[]);
    example_denies(&dir, "two_rules_commands");

    // What --strict refuses: no LICENSE, an unused dependency, a failing test.
    std::fs::remove_file(dir.join("LICENSE")).unwrap();
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        cargo_toml.replace("serde_json = \"1\"", "serde_json = \"1\"\nmemchr = \"2\""),
    )
    .unwrap();
    let tests = std::fs::read_to_string(dir.join("tests/guard.rs")).unwrap();
    std::fs::write(
        dir.join("tests/guard.rs"),
        tests.replace(
            "reason(\"`curl` may not be run\")",
            "reason(\"`curl` is fine\")",
        ),
    )
    .unwrap();
    let (code, findings) = strict(&dir, &[]);
    assert_eq!(code, 2, "{findings:#?}");
    assert_eq!(findings["readme"]["ok"], true);
    assert_eq!(findings["license"]["ok"], false, "{findings:#?}");
    let deps = findings["dependencies"]["message"].as_str().unwrap();
    assert!(deps.contains("never used: memchr"), "{deps}");
    let tests = findings["tests"]["message"].as_str().unwrap();
    assert!(tests.contains("`cargo test` failed"), "{tests}");
    // Without running them, the tests only need to exist.
    let (_, findings) = strict(&dir, &["--no-run-tests"]);
    assert_eq!(findings["tests"]["ok"], true, "{findings:#?}");
}

/// `npm` offline in `dir`: the SDK is a `file:` link to this checkout's, whose own
/// dependencies are the workspace's (installed by the test entry point).
fn npm(dir: &Path, args: &[&str]) {
    let out = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("npm_config_offline", "true")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        // The second `npm test` must include the component runs.
        .env(
            "CLAWDSTRIKE_REQUIRE_COMPONENT",
            if dir.join("dist").exists() { "1" } else { "0" },
        )
        .output()
        .unwrap_or_else(|e| panic!("npm is needed for the TypeScript templates: {e}"));
    assert!(
        out.status.success(),
        "npm {args:?} in {}:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_typescript_template_builds_tests_and_loads() {
    assert!(
        repo()
            .join("node_modules/@bytecodealliance/componentize-js")
            .is_dir(),
        "the npm workspace is not installed: run `npm ci` at the repository root \
         (scripts/test.sh does this)"
    );
    let root = tempfile::tempdir().unwrap();
    for (template, name, guards, denies) in [
        (
            "basic",
            "word-ban-ts",
            vec!["word_ban_ts"],
            Some("word_ban_ts"),
        ),
        ("async-guard", "host-score-ts", vec!["host_score_ts"], None),
        (
            "compliance-guard",
            "spdx-check-ts",
            vec!["spdx_check_ts"],
            Some("spdx_check_ts"),
        ),
        (
            "multi-guard",
            "two-rules-ts",
            vec!["two_rules_ts_paths", "two_rules_ts_commands"],
            Some("two_rules_ts_commands"),
        ),
    ] {
        let dir = root.path().join(name);
        scaffold(
            &dir,
            "typescript",
            template,
            &[
                "package.json",
                "test/guard.test.js",
                "clawdstrike.plugin.json",
            ],
        );
        npm(&dir, &["install", "--no-audit", "--no-fund"]);
        npm(&dir, &["test"]);
        npm(&dir, &["run", "build"]);
        npm(&dir, &["test"]);
        validate(&dir, &guards);
        // npm test ran twice already; --strict runs it once more for one template.
        if template == "basic" {
            strict_passes(&dir, &[]);
        } else {
            strict_passes(&dir, &["--no-run-tests"]);
        }
        if let Some(guard) = denies {
            example_denies(&dir, guard);
        }
    }
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
