//! `clawdstrike guard publish` against a real registry: a package directory is packed and
//! uploaded with a publish token, then served; a second upload of the same version, a bad
//! token and a plain-http remote registry are refused with the reason.

use std::path::Path;
use std::process::Command;

use clawdstrike_e2e::{binary, http, repo_root, run, stderr, stdout, Registry};
use serde_json::Value;

const NAME: &str = "publish-demo-guard";

/// The ACME example as a standalone crate named `NAME`.
fn package(dir: &Path) {
    let src = repo_root().join("examples/guards/acme-secrets");
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"{NAME}\"\nversion = \"0.3.0\"\nlicense = \"Apache-2.0\"\n"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(src.join("clawdstrike.plugin.toml")).unwrap();
    std::fs::write(
        dir.join("clawdstrike.plugin.toml"),
        manifest.replace(
            "name = \"acme-secrets-guard\"",
            &format!("name = \"{NAME}\""),
        ),
    )
    .unwrap();
    std::fs::copy(src.join("README.md"), dir.join("README.md")).unwrap();
    std::fs::copy(src.join("dist/guard.wasm"), dir.join("dist/guard.wasm"))
        .unwrap_or_else(|e| panic!("{e}: run scripts/build-guards.sh"));
}

fn publish(dir: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = run(Command::new(binary("clawdstrike"))
        .args(["guard", "publish", "--json"])
        .arg(dir)
        .args(args)
        .env_remove("CLAWDSTRIKE_REGISTRY_URL")
        .env_remove("CLAWDSTRIKE_REGISTRY_TOKEN"));
    let answer = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
    (out.status.code(), answer, stderr(&out))
}

#[test]
fn publishes_a_package_directory() {
    let work = tempfile::tempdir().unwrap();
    let reg = Registry::start(&work.path().join("data"), vec![]);
    reg.admin(&["publisher", "create", "carol"]);
    let token = stdout(&reg.admin(&[
        "token",
        "create",
        "--publisher",
        "carol",
        "--scope",
        "publish:publish-demo-*",
    ]))
    .trim()
    .to_string();
    let token_file = work.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let token_arg = token_file.to_str().unwrap();
    let dir = work.path().join("pkg");
    package(&dir);

    // A dry run packs without any registry.
    let (code, answer, err) = publish(&dir, &["--dry-run"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(answer["archive"], format!("{NAME}-0.3.0.crate"), "{answer}");

    let (code, answer, err) = publish(&dir, &["--registry", &reg.url, "--token-file", token_arg]);
    assert_eq!(code, Some(0), "{err} {answer}");
    assert_eq!(answer["name"], NAME);
    assert_eq!(answer["version"], "0.3.0");
    assert_eq!(answer["trustTier"], "community");
    let served = http()
        .get(format!("{}/api/v1/guards/{NAME}", reg.url))
        .send()
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);

    // Versions are immutable.
    let (code, answer, _) = publish(&dir, &["--registry", &reg.url, "--token-file", token_arg]);
    assert_eq!(code, Some(2));
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("refused the package (409)"), "{error}");

    // A wrong token, and a scope that does not cover the name.
    std::fs::write(&token_file, "not-a-token").unwrap();
    let (code, answer, _) = publish(&dir, &["--registry", &reg.url, "--token-file", token_arg]);
    assert_eq!(code, Some(2));
    assert!(
        answer["error"].as_str().unwrap().contains("(401)"),
        "{answer}"
    );

    // Plain http is for loopback registries only; nothing is sent.
    std::fs::write(&token_file, &token).unwrap();
    let (code, answer, _) = publish(
        &dir,
        &[
            "--registry",
            "http://guards.example.com",
            "--token-file",
            token_arg,
        ],
    );
    assert_eq!(code, Some(2));
    assert!(
        answer["error"].as_str().unwrap().contains("use https"),
        "{answer}"
    );

    // No token at all.
    let (code, answer, _) = publish(&dir, &["--registry", &reg.url]);
    assert_eq!(code, Some(2));
    assert!(
        answer["error"].as_str().unwrap().contains("--token-file"),
        "{answer}"
    );
}
