//! Real packages (the example guards, packed as `cargo package` and `npm pack` would) and
//! packages made here to exercise each metadata rule and scan rule. The example guards must
//! be built first: `scripts/build-guards.sh`.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use clawdstrike_formats::decision::Severity;
use clawdstrike_formats::manifest::ManifestError;
use clawdstrike_scanner::{read_package, scan, ArchiveKind, ComponentError, Limits, PackageError};
use sha2::{Digest, Sha256, Sha512};

use common::{built_wasm, example_crate, manifest_json, npm_package, parity_ts_npm, tgz};

const NO_CAPS: &str = r#"{"network": false, "filesystem": false, "secrets": false}"#;
const COMMUNITY: &str = r#"{"level": "community"}"#;

fn kinds(report: &clawdstrike_scanner::ScanReport) -> Vec<(Severity, &str)> {
    report
        .findings
        .iter()
        .map(|f| (f.severity, f.kind.as_str()))
        .collect()
}

#[test]
fn the_acme_crate_reads_back_with_metadata_manifest_component_and_digests() {
    let bytes = example_crate("acme-secrets");
    let p = read_package(&bytes, &Limits::default()).expect("the ACME crate");
    let version = common::WORKSPACE_VERSION;
    assert_eq!(p.kind, ArchiveKind::Crate);
    assert_eq!(p.name, "acme-secrets-guard");
    assert_eq!(p.version.to_string(), version);
    assert_eq!(
        p.archive.file_name,
        format!("acme-secrets-guard-{version}.crate")
    );
    assert_eq!(p.archive.size, bytes.len() as u64);
    assert_eq!(p.archive.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(
        p.archive.integrity,
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&bytes))
        )
    );
    assert_eq!(p.manifest_file, "clawdstrike.plugin.toml");
    assert_eq!(p.manifest.name, "acme-secrets-guard");
    assert_eq!(p.manifest_json["name"], "acme-secrets-guard");
    assert_eq!(
        p.manifest_json["guards"][0]["entrypoint"],
        "dist/guard.wasm"
    );
    assert_eq!(p.metadata.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(p.metadata.keywords, ["clawdstrike", "guard"]);
    assert_eq!(p.metadata.categories, ["development-tools"]);
    assert!(p
        .metadata
        .description
        .as_deref()
        .is_some_and(|d| d.contains("ACME")));
    assert!(p
        .metadata
        .readme
        .as_deref()
        .is_some_and(|r| r.contains("acme")));
    assert!(p.files.contains_key("src/lib.rs"));
    assert!(p.files.contains_key("Cargo.toml.orig"));

    let wasm = built_wasm("acme-secrets");
    assert_eq!(p.components.len(), 1);
    let c = &p.components[0];
    assert_eq!(
        (c.guard.as_str(), c.path.as_str()),
        ("acme_secrets", "dist/guard.wasm")
    );
    assert_eq!(c.size, wasm.len() as u64);
    assert_eq!(c.sha256, hex::encode(Sha256::digest(&wasm)));
    assert_eq!(c.bytes, wasm);
    assert_eq!(c.info.exports, ["describe", "init", "check"]);
    assert!(
        c.info.host_functions().is_empty(),
        "{:?}",
        c.info.host_functions()
    );

    let report = scan(&p);
    assert!(report.passed, "{report:#?}");
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.severity >= Severity::Medium),
        "{report:#?}"
    );
    let summary = serde_json::to_value(report.summary()).expect("serialises");
    assert_eq!(
        summary["scannerVersion"],
        clawdstrike_scanner::SCANNER_VERSION
    );
    assert_eq!(summary["passed"], true);
    assert_eq!(summary["findings"]["critical"], 0);
    assert_eq!(summary["findings"]["high"], 0);
    assert!(summary["findings"]["medium"].is_number());
    assert!(summary["findings"]["low"].is_number());
}

#[test]
fn reading_and_scanning_the_acme_package_fits_the_publish_budget() {
    let bytes = example_crate("acme-secrets");
    // Warm up, then take the best of a few runs.
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let p = read_package(&bytes, &Limits::default()).expect("the ACME crate");
        let report = scan(&p);
        assert!(report.passed);
        best = best.min(start.elapsed());
    }
    eprintln!(
        "read_package + scan of the ACME crate ({} bytes compressed): {best:?}",
        bytes.len()
    );
    // The budget is 200 ms per MB (release); debug builds get slack.
    let budget = if cfg!(debug_assertions) { 2000 } else { 200 };
    assert!(best < Duration::from_millis(budget), "{best:?}");
}

#[test]
fn the_typescript_parity_guard_reads_back_as_an_npm_package() {
    let bytes = parity_ts_npm();
    let start = Instant::now();
    let p = read_package(&bytes, &Limits::default()).expect("the parity-ts tarball");
    let report = scan(&p);
    eprintln!(
        "read_package + scan of parity-ts ({} bytes compressed, {} bytes of component): {:?}",
        bytes.len(),
        p.components[0].size,
        start.elapsed()
    );
    assert_eq!(p.kind, ArchiveKind::Npm);
    assert_eq!(p.name, "@clawdstrike/example-parity-ts");
    assert_eq!(
        p.archive.file_name,
        "clawdstrike-example-parity-ts-0.1.0.tgz"
    );
    assert_eq!(p.manifest_file, "clawdstrike.plugin.json");
    assert_eq!(p.metadata.license.as_deref(), Some("Apache-2.0"));
    assert!(p.metadata.readme.is_some());
    let c = &p.components[0];
    assert_eq!(c.guard, "parity_check");
    assert!(c.info.is_componentize_js());
    // ComponentizeJS imports the whole host interface: low findings, not high ones.
    assert!(report.passed, "{report:#?}");
    for f in &report.findings {
        eprintln!(
            "  {:?} {} {:?}:{:?} {}",
            f.severity, f.kind, f.file, f.line, f.message
        );
    }
    assert!(kinds(&report).contains(&(Severity::Low, "capability-unverified")));
    assert!(!kinds(&report)
        .iter()
        .any(|(_, k)| *k == "undeclared-capability"));
}

#[test]
fn the_hostile_example_fails_the_scan_on_undeclared_host_calls() {
    let p = read_package(&example_crate("hostile"), &Limits::default()).expect("reads");
    let report = scan(&p);
    assert!(!report.passed);
    let undeclared: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.kind == "undeclared-capability")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(undeclared.len(), 3, "{report:#?}");
    for (func, cap) in [
        ("http-request", "capabilities.network"),
        ("read-file", "capabilities.filesystem.read"),
        ("get-secret", "capabilities.secrets"),
    ] {
        assert!(
            undeclared
                .iter()
                .any(|m| m.contains(func) && m.contains(cap)),
            "{func}: {undeclared:#?}"
        );
    }
    assert!(report
        .findings
        .iter()
        .all(|f| f.kind != "undeclared-capability"
            || (f.severity == Severity::High && f.file.as_deref() == Some("dist/guard.wasm"))));
    assert_eq!(report.summary().findings.high, 3);
}

#[test]
fn a_declared_capability_no_component_imports_is_a_low_finding() {
    let manifest = manifest_json(
        "unused-net",
        r#"{"network": {"allowedHosts": ["api.example.com"]}, "secrets": {"allowedKeys": ["K"]},
            "filesystem": {"read": ["/etc/hosts"]}}"#,
        COMMUNITY,
    );
    let bytes = npm_package("unused-net", &manifest, &built_wasm("acme-secrets"), &[]);
    let p = read_package(&bytes, &Limits::default()).expect("reads");
    let report = scan(&p);
    assert!(report.passed, "{report:#?}");
    let unused: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == "unused-capability")
        .collect();
    assert_eq!(unused.len(), 3, "{report:#?}");
    assert!(unused.iter().all(
        |f| f.severity == Severity::Low && f.file.as_deref() == Some("clawdstrike.plugin.json")
    ));
    assert_eq!(
        p.metadata.repository.as_deref(),
        Some("https://example.invalid/x.git")
    );
    assert_eq!(p.metadata.keywords, ["a", "b"]);
}

#[test]
fn a_manifest_beyond_its_requested_tier_is_a_high_finding() {
    let manifest = manifest_json(
        "greedy",
        r#"{"filesystem": {"read": true, "write": true}}"#,
        COMMUNITY,
    );
    let bytes = npm_package("greedy", &manifest, &built_wasm("acme-secrets"), &[]);
    let p = read_package(&bytes, &Limits::default()).expect("reads");
    let report = scan(&p);
    assert!(!report.passed);
    let tier: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == "tier-violation")
        .collect();
    assert!(tier.len() >= 2, "{report:#?}");
    assert!(tier.iter().all(|f| f.severity == Severity::High));
    assert!(tier
        .iter()
        .any(|f| f.message.contains("capabilities.filesystem.write")));
    // Most severe first.
    assert_eq!(report.findings[0].severity, Severity::High);
}

#[test]
fn asking_for_verified_with_relaxed_limits_notes_what_community_would_refuse() {
    let manifest = r#"{"version": "1.0.0", "name": "big",
            "guards": [{"name": "g", "entrypoint": "dist/guard.wasm", "handles": ["file_write"]}],
            "resources": {"maxMemoryMb": 256}, "trust": {"level": "verified"}}"#;
    let bytes = npm_package("big", manifest, &built_wasm("acme-secrets"), &[]);
    let report = scan(&read_package(&bytes, &Limits::default()).expect("reads"));
    assert!(report.passed, "{report:#?}");
    assert!(
        kinds(&report).contains(&(Severity::Low, "community-limits")),
        "{report:#?}"
    );
}

#[test]
fn suspicious_javascript_is_reported_with_file_and_line() {
    let js = b"'use strict';\n\
        const cp = require('child_process');\n\
        // eval(comment) is not code\n\
        const x = eval(input);\n\
        const f = new Function('a', 'return a');\n\
        const home = process.env.HOME;\n\
        fs.writeFileSync('/tmp/x', 'y'); fs.unlinkSync('/tmp/y');\n\
        fs.rm('/tmp/z', () => {});\n\
        const ok = evaluate(x) + myFunction(y) + confirm(z) + farm(w);\n";
    let manifest = manifest_json("js-pkg", NO_CAPS, COMMUNITY);
    let bytes = npm_package(
        "js-pkg",
        &manifest,
        &built_wasm("acme-secrets"),
        &[("lib/index.js", js), ("lib/notes.txt", b"eval(x)")],
    );
    let report = scan(&read_package(&bytes, &Limits::default()).expect("reads"));
    let mut got: Vec<(&str, u32)> = report
        .findings
        .iter()
        .filter(|f| f.kind.starts_with("js-"))
        .map(|f| {
            assert_eq!(f.severity, Severity::Medium);
            assert_eq!(f.file.as_deref(), Some("lib/index.js"));
            (f.kind.as_str(), f.line.expect("a line"))
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("js-child-process", 2),
            ("js-eval", 4),
            ("js-fs-write", 7),
            ("js-fs-write", 8),
            ("js-function-constructor", 5),
            ("js-process-env", 6),
        ]
    );
    assert!(report.passed, "medium findings do not fail the scan");
    assert_eq!(report.summary().findings.medium, 6);
}

#[test]
fn many_matches_in_one_file_are_capped_and_counted() {
    let js = "eval(a);\n".repeat(100);
    let manifest = manifest_json("noisy", NO_CAPS, COMMUNITY);
    let bytes = npm_package(
        "noisy",
        &manifest,
        &built_wasm("acme-secrets"),
        &[("index.js", js.as_bytes())],
    );
    let report = scan(&read_package(&bytes, &Limits::default()).expect("reads"));
    let evals: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == "js-eval")
        .collect();
    assert_eq!(evals.len(), 21);
    assert!(evals
        .iter()
        .any(|f| f.line.is_none() && f.message.starts_with("80 more")));
}

#[test]
fn a_component_with_a_disallowed_import_is_refused_naming_guard_and_imports() {
    let wasm = std::fs::read(common::corpus_dir().join("disallowed-import.wasm")).expect("corpus");
    let manifest = manifest_json("sneaky", NO_CAPS, COMMUNITY);
    let bytes = npm_package("sneaky", &manifest, &wasm, &[]);
    match read_package(&bytes, &Limits::default()) {
        Err(e @ PackageError::Component { .. }) => {
            let PackageError::Component {
                guard,
                path,
                source,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!((guard.as_str(), path.as_str()), ("g", "dist/guard.wasm"));
            assert!(
                matches!(source, ComponentError::DisallowedImports { imports }
                if imports == &["wasi:sockets/tcp@0.2.0", "wasi:http/outgoing-handler@0.2.0"])
            );
            assert!(e.to_string().contains("wasi:sockets/tcp@0.2.0"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn manifest_errors_keep_file_line_and_column() {
    let manifest = "{\n  \"version\": \"1.0.0\",\n  \"name\": \"bad-manifest\",\n  \"guards\": [],\n  \"capabilites\": {}\n}";
    let bytes = npm_package("bad-manifest", manifest, &built_wasm("acme-secrets"), &[]);
    match read_package(&bytes, &Limits::default()) {
        Err(PackageError::Manifest(e @ ManifestError::Parse { .. })) => {
            let text = e.to_string();
            assert!(text.starts_with("clawdstrike.plugin.json:"), "{text}");
            let ManifestError::Parse { line, .. } = e else {
                unreachable!()
            };
            assert!((4..=5).contains(&line), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn metadata_problems_name_the_file_and_field() {
    let wasm = built_wasm("acme-secrets");
    let manifest = manifest_json("m", NO_CAPS, COMMUNITY);
    let cases: &[(&str, &str)] = &[
        (r#"{"name": "m"}"#, "version: missing"),
        (
            r#"{"name": "m", "version": 1}"#,
            "version: must be a string",
        ),
        (
            r#"{"name": "m", "version": "1.0.0", "keywords": "a"}"#,
            "keywords: must be a list",
        ),
        (
            r#"{"name": "m", "version": "1.0.0", "keywords": [1]}"#,
            "keywords[0]: must be a string",
        ),
        (
            r#"{"name": "m", "version": "1.0.0", "license": 5}"#,
            "license: must be a string",
        ),
        (r#"[1]"#, "top level must be a JSON object"),
        (r#"{"name": "m", "#, "not valid JSON"),
    ];
    for (package_json, want) in cases {
        let bytes = tgz(
            "package",
            &[
                ("package.json", package_json.as_bytes()),
                ("clawdstrike.plugin.json", manifest.as_bytes()),
                ("dist/guard.wasm", &wasm),
            ],
        );
        match read_package(&bytes, &Limits::default()) {
            Err(e @ PackageError::Metadata { .. }) => {
                let text = e.to_string();
                assert!(text.starts_with("package.json: "), "{text}");
                assert!(text.contains(want), "{want}: {text}");
            }
            other => panic!("{package_json}: {other:?}"),
        }
    }
    let bytes = tgz(
        "package",
        &[
            ("package.json", br#"{"name": "m", "version": "1.0"}"#),
            ("clawdstrike.plugin.json", manifest.as_bytes()),
        ],
    );
    assert!(matches!(
        read_package(&bytes, &Limits::default()),
        Err(PackageError::Version { .. })
    ));
}

#[test]
fn a_bad_package_name_is_refused() {
    let manifest = manifest_json("Bad", NO_CAPS, COMMUNITY);
    let bytes = npm_package("Bad", &manifest, &built_wasm("acme-secrets"), &[]);
    assert!(matches!(
        read_package(&bytes, &Limits::default()),
        Err(PackageError::Name { .. })
    ));
}

#[test]
fn scoped_npm_names_give_a_flat_archive_file_name() {
    let manifest = manifest_json("@acme/secrets", NO_CAPS, COMMUNITY);
    let bytes = npm_package("@acme/secrets", &manifest, &built_wasm("acme-secrets"), &[]);
    let p = read_package(&bytes, &Limits::default()).expect("reads");
    assert_eq!(p.archive.file_name, "acme-secrets-1.0.0.tgz");
}

#[test]
fn crate_layouts_are_checked() {
    let wasm = built_wasm("acme-secrets");
    let toml_manifest = "[plugin]\nversion = \"1.0.0\"\nname = \"c\"\n\n[[guards]]\nname = \"g\"\n\
                         entrypoint = \"./dist/guard.wasm\"\nhandles = [\"file_write\"]\n";
    let cargo = b"[package]\nname = \"c\"\nversion = \"0.2.0\"\n";
    // A good one, with a `./` entrypoint and no README.
    let ok = tgz(
        "c-0.2.0",
        &[
            ("Cargo.toml", cargo),
            ("clawdstrike.plugin.toml", toml_manifest.as_bytes()),
            ("dist/guard.wasm", &wasm),
        ],
    );
    let p = read_package(&ok, &Limits::default()).expect("a minimal crate");
    assert_eq!(p.archive.file_name, "c-0.2.0.crate");
    assert_eq!(p.components[0].path, "dist/guard.wasm");
    assert_eq!(p.metadata.readme, None);

    // Both manifests.
    let both = tgz(
        "c-0.2.0",
        &[
            ("Cargo.toml", cargo),
            ("clawdstrike.plugin.toml", toml_manifest.as_bytes()),
            ("clawdstrike.plugin.json", b"{}"),
        ],
    );
    assert!(matches!(
        read_package(&both, &Limits::default()),
        Err(PackageError::AmbiguousManifest)
    ));

    // No manifest.
    let none = tgz("c-0.2.0", &[("Cargo.toml", cargo)]);
    assert!(matches!(
        read_package(&none, &Limits::default()),
        Err(PackageError::MissingManifest { .. })
    ));

    // An unresolved workspace version: not what `cargo package` uploads.
    let ws = tgz(
        "c-0.2.0",
        &[(
            "Cargo.toml",
            b"[package]\nname = \"c\"\nversion.workspace = true\n",
        )],
    );
    match read_package(&ws, &Limits::default()) {
        Err(e @ PackageError::Metadata { .. }) => {
            assert!(e.to_string().contains("cargo package"), "{e}")
        }
        other => panic!("{other:?}"),
    }

    // Neither `package/` nor a Cargo.toml.
    let unknown = tgz("stuff", &[("x.txt", b"x")]);
    assert!(matches!(
        read_package(&unknown, &Limits::default()),
        Err(PackageError::UnknownLayout { .. })
    ));

    // An npm tarball without package.json.
    let no_json = tgz("package", &[("index.js", b"")]);
    assert!(matches!(
        read_package(&no_json, &Limits::default()),
        Err(PackageError::MissingFile { .. })
    ));
}
