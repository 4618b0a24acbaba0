//! Every file of the hostile corpus (`tests/hostile/archives/`) gives exactly the error its
//! README line names, quickly, with a message free of control characters.

mod common;

use std::time::{Duration, Instant};

use clawdstrike_scanner::{check_component, read_package, Limits, PackageError};

/// The variant name from a Debug rendering: `ParentDir { path: .. }` → `ParentDir`.
fn variant(debug: String) -> String {
    debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// What reading `file` gives: `ok`, or the error as `Type::Variant`, and its message.
fn outcome(file: &str, bytes: &[u8]) -> (String, String) {
    if file.ends_with(".wasm") {
        return match check_component(bytes) {
            Ok(_) => ("ok".into(), String::new()),
            Err(e) => (
                format!("ComponentError::{}", variant(format!("{e:?}"))),
                e.to_string(),
            ),
        };
    }
    match read_package(bytes, &Limits::default()) {
        Ok(_) => ("ok".into(), String::new()),
        Err(e) => {
            let kind = match &e {
                PackageError::Archive(a) => format!("ArchiveError::{}", variant(format!("{a:?}"))),
                PackageError::Component { source, .. } => format!(
                    "PackageError::Component(ComponentError::{})",
                    variant(format!("{source:?}"))
                ),
                other => format!("PackageError::{}", variant(format!("{other:?}"))),
            };
            (kind, e.to_string())
        }
    }
}

/// `(file, expected error)` from the README's table.
fn table() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(common::corpus_dir().join("README.md"))
        .expect("tests/hostile/archives/README.md");
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            let unquote = |s: &str| s.trim_matches('`').to_string();
            (unquote(cols[1]), unquote(cols[cols.len() - 2]))
        })
        .collect()
}

#[test]
fn every_corpus_file_is_refused_with_the_error_its_readme_line_names() {
    let rows = table();
    assert!(rows.len() >= 40, "the README table has {} rows", rows.len());
    let dir = common::corpus_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n != "README.md" && n != "make.py")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = rows.iter().map(|(f, _)| f.clone()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "files on disk and README rows differ");

    let mut failures = Vec::new();
    for (file, expected) in &rows {
        let bytes = std::fs::read(dir.join(file)).expect("a corpus file");
        let start = Instant::now();
        let (got, message) = outcome(file, &bytes);
        let took = start.elapsed();
        if &got != expected {
            failures.push(format!("{file}: expected {expected}, got {got}: {message}"));
        }
        if message.is_empty() || message.len() > 700 {
            failures.push(format!(
                "{file}: message of {} bytes: {message}",
                message.len()
            ));
        }
        if message.chars().any(char::is_control) {
            failures.push(format!(
                "{file}: control character in the message: {message:?}"
            ));
        }
        if took > Duration::from_secs(5) {
            failures.push(format!("{file}: took {took:?}"));
        }
        eprintln!("{file}: {got} ({took:?}): {message}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
