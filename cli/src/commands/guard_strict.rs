//! `clawdstrike guard validate --strict`: what a package needs besides loading (SPEC §5):
//! a README, a CHANGELOG, a LICENSE, tests that are present and pass, and no declared
//! dependency the code never uses.
//!
//! The package's kind follows from its files: `Cargo.toml` is a Rust crate (`cargo test`),
//! `package.json` an npm package (`npm test`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

/// One strict check's outcome.
pub struct Finding {
    /// What was checked: `readme`, `changelog`, `license`, `tests`, `dependencies`.
    pub check: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or what is missing and how to fix it.
    pub message: String,
}

impl Finding {
    fn pass(check: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            check,
            ok: true,
            message: message.into(),
        }
    }

    fn fail(check: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            check,
            ok: false,
            message: message.into(),
        }
    }

    /// As JSON for `--json`.
    pub fn to_json(&self) -> Value {
        json!({"check": self.check, "ok": self.ok, "message": self.message})
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rust,
    Npm,
}

/// Run every strict check on the package in `dir` (`run_tests`: also run its tests).
pub fn check(dir: &Path, manifest_license: Option<&str>, run_tests: bool) -> Vec<Finding> {
    let kind = if dir.join("Cargo.toml").is_file() {
        Some(Kind::Rust)
    } else if dir.join("package.json").is_file() {
        Some(Kind::Npm)
    } else {
        None
    };
    let mut findings = vec![
        document(
            dir,
            "readme",
            &["README.md", "README", "README.txt", "README.rst"],
        ),
        document(
            dir,
            "changelog",
            &["CHANGELOG.md", "CHANGELOG", "HISTORY.md", "CHANGES.md"],
        ),
        license(dir, manifest_license),
    ];
    match kind {
        None => findings.push(Finding::fail(
            "tests",
            "neither Cargo.toml nor package.json: cannot tell how to test the package",
        )),
        Some(kind) => {
            findings.push(tests(dir, kind, run_tests));
            findings.push(dependencies(dir, kind));
        }
    }
    findings
}

fn first_existing(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

fn document(dir: &Path, check: &'static str, names: &[&str]) -> Finding {
    match first_existing(dir, names) {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => Finding::pass(check, file_name(&path)),
            _ => Finding::fail(check, format!("{} is empty", file_name(&path))),
        },
        None => Finding::fail(check, format!("missing: add {}", names[0])),
    }
}

fn license(dir: &Path, manifest_license: Option<&str>) -> Finding {
    let file = first_existing(
        dir,
        &[
            "LICENSE",
            "LICENSE.md",
            "LICENSE.txt",
            "LICENSE-APACHE",
            "LICENSE-MIT",
            "COPYING",
        ],
    );
    match (file, manifest_license.filter(|l| !l.trim().is_empty())) {
        (Some(f), Some(l)) => Finding::pass("license", format!("{} ({l})", file_name(&f))),
        (None, _) => Finding::fail("license", "missing: add a LICENSE file"),
        (Some(_), None) => Finding::fail(
            "license",
            "the manifest names no license: set `license` (an SPDX expression)",
        ),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Source files under `dir`'s `subdirs` with one of `extensions` (no `node_modules`,
/// `target` or `dist`), at most a few thousand.
fn sources(dir: &Path, subdirs: &[&str], extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = subdirs.iter().map(|s| dir.join(s)).collect();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = file_name(&path);
            if path.is_dir() {
                if !matches!(name.as_str(), "node_modules" | "target" | "dist" | ".git") {
                    stack.push(path);
                }
            } else if extensions.iter().any(|e| name.ends_with(e)) && out.len() < 5000 {
                out.push(path);
            }
        }
    }
    out
}

fn tests(dir: &Path, kind: Kind, run: bool) -> Finding {
    let (present, command): (bool, &[&str]) = match kind {
        Kind::Rust => {
            let files = sources(dir, &["tests", "src"], &[".rs"]);
            let any = files
                .iter()
                .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("#[test]")));
            (any, &["cargo", "test"])
        }
        Kind::Npm => {
            let has_script = std::fs::read_to_string(dir.join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|p| p["scripts"]["test"].is_string());
            let files = sources(dir, &["test", "tests", "src"], &[".js", ".ts", ".mjs"]);
            let any = files.iter().any(|f| {
                let n = file_name(f);
                n.contains(".test.") || n.contains(".spec.")
            });
            (has_script && any, &["npm", "test"])
        }
    };
    if !present {
        return Finding::fail(
            "tests",
            match kind {
                Kind::Rust => "no #[test] in tests/ or src/",
                Kind::Npm => "no `test` script with *.test.* files in test/",
            },
        );
    }
    if !run {
        return Finding::pass("tests", "present (not run: --no-run-tests)");
    }
    let shown = command.join(" ");
    match Command::new(command[0])
        .args(&command[1..])
        .current_dir(dir)
        .output()
    {
        Ok(out) if out.status.success() => Finding::pass("tests", format!("`{shown}` passed")),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let tail: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
            let tail = tail[tail.len().saturating_sub(15)..].join("\n    ");
            Finding::fail(
                "tests",
                format!("`{shown}` failed ({}):\n    {tail}", out.status),
            )
        }
        Err(e) => Finding::fail("tests", format!("cannot run `{shown}`: {e}")),
    }
}

/// Declared dependencies never named in the code (or, for npm, the scripts).
fn dependencies(dir: &Path, kind: Kind) -> Finding {
    let (declared, haystack): (Vec<String>, String) = match kind {
        Kind::Rust => {
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
            let parsed: toml::Table = match manifest.parse() {
                Ok(t) => t,
                Err(e) => return Finding::fail("dependencies", format!("Cargo.toml: {e}")),
            };
            let names = ["dependencies", "dev-dependencies"]
                .iter()
                .filter_map(|section| parsed.get(*section).and_then(|d| d.as_table()))
                .flat_map(|t| t.keys().cloned())
                .collect();
            let code: String = sources(dir, &["src", "tests", "benches", "examples"], &[".rs"])
                .iter()
                .filter_map(|f| std::fs::read_to_string(f).ok())
                .collect::<Vec<_>>()
                .join("\n");
            // Features may enable a dependency (`sandbox = ["sdk/sandbox"]`) without code.
            let features = parsed
                .get("features")
                .map(|f| format!("{f:?}"))
                .unwrap_or_default();
            (names, format!("{code}\n{features}"))
        }
        Kind::Npm => {
            let text = std::fs::read_to_string(dir.join("package.json")).unwrap_or_default();
            let parsed: Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) => return Finding::fail("dependencies", format!("package.json: {e}")),
            };
            let names = ["dependencies", "devDependencies"]
                .iter()
                .filter_map(|section| parsed[*section].as_object())
                .flat_map(|o| o.keys().cloned())
                .collect();
            let code: String = sources(
                dir,
                &["src", "test", "tests", "scripts"],
                &[".ts", ".js", ".mjs", ".cjs"],
            )
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect::<Vec<_>>()
            .join("\n");
            (names, format!("{code}\n{}", parsed["scripts"]))
        }
    };
    let unused: Vec<&String> = declared
        .iter()
        .filter(|name| !used(dir, kind, name, &haystack))
        .collect();
    if unused.is_empty() {
        Finding::pass(
            "dependencies",
            format!("{} declared, all used", declared.len()),
        )
    } else {
        Finding::fail(
            "dependencies",
            format!(
                "declared but never used: {}",
                unused
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }
}

fn used(dir: &Path, kind: Kind, name: &str, haystack: &str) -> bool {
    match kind {
        // `serde_json::…`, `use serde::…`, or a feature naming it.
        Kind::Rust => {
            let ident = name.replace('-', "_");
            haystack.contains(&format!("{ident}::"))
                || haystack.contains(&format!("use {ident}"))
                || haystack.contains(&format!("\"{name}/"))
                || haystack.contains(&format!("extern crate {ident}"))
        }
        // An import or require of the package (or a subpath), or a script running one of
        // the commands it installs.
        Kind::Npm => {
            let imported = ['"', '\''].iter().any(|q| {
                haystack.contains(&format!("{q}{name}{q}"))
                    || haystack.contains(&format!("{q}{name}/"))
            });
            imported
                || npm_bins(dir, name)
                    .iter()
                    .any(|bin| haystack.contains(bin.as_str()))
        }
    }
}

/// The commands an installed npm package provides (its `bin`), when it is installed.
fn npm_bins(dir: &Path, name: &str) -> Vec<String> {
    let manifest = dir.join("node_modules").join(name).join("package.json");
    let Some(package) = std::fs::read_to_string(manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    else {
        return Vec::new();
    };
    match &package["bin"] {
        // A single bin is named after the package (without its scope).
        Value::String(_) => vec![name.rsplit('/').next().unwrap_or(name).to_string()],
        Value::Object(bins) => bins.keys().cloned().collect(),
        _ => Vec::new(),
    }
}
