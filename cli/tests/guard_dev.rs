//! `clawdstrike guard dev`: the real binary serving a package copied into a temp dir.
//! Verdicts over `POST /check`, problem+json for bad requests, and reloads: a changed
//! package is swapped in, a broken one is refused while the previous build answers.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::guards::{example_dir, example_wasm};
use common::{clawdstrike, stderr};
use serde_json::{json, Value};

const API_KEY: &str = "ACME-0123456789ABCDEFGHIJKLMNOPQRSTUV";

struct Dev {
    url: String,
    child: Child,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(package: &Path) -> Dev {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clawdstrike"))
        .args([
            "guard",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--reload-interval-ms",
            "100",
        ])
        .arg(package)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("`acme_secrets`"), "{line}");
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    Dev { url, child }
}

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// (status, content type, body as JSON)
fn send(request: reqwest::blocking::RequestBuilder) -> (u16, String, Value) {
    let r = request.send().unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = serde_json::from_str(&r.text().unwrap()).unwrap();
    (status, content_type, body)
}

fn check(dev: &Dev, query: &str, event: &Value) -> (u16, String, Value) {
    send(
        client()
            .post(format!("{}/check{query}", dev.url))
            .body(event.to_string()),
    )
}

fn info(dev: &Dev) -> Value {
    send(client().get(format!("{}/", dev.url))).2
}

/// Poll `GET /` until `done` holds (reloads are polled every 100 ms, then compiled).
fn wait_for(dev: &Dev, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = info(dev);
        if done(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {now}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Copy an example package (manifest + component) into `dir`.
fn copy_package(example: &str, dir: &Path) {
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    let manifest = example_dir(example).join("clawdstrike.plugin.toml");
    std::fs::copy(manifest, dir.join("clawdstrike.plugin.toml")).unwrap();
    // Write to a temp name and rename, as a build tool would, so a poll never reads half.
    std::fs::copy(example_wasm(example), dir.join("dist/guard.wasm.tmp")).unwrap();
    std::fs::rename(dir.join("dist/guard.wasm.tmp"), dir.join("dist/guard.wasm")).unwrap();
}

fn file_write(path: &str, content: &str) -> Value {
    json!({"eventId": "e1", "eventType": "file_write",
           "data": {"type": "file", "path": path, "content": content}})
}

#[test]
fn serves_verdicts_and_reloads_on_change() {
    let dir = tempfile::tempdir().unwrap();
    copy_package("acme-secrets", dir.path());
    let dev = start(dir.path());

    let first = info(&dev);
    assert_eq!(first["generation"], 1);
    assert_eq!(first["guards"][0]["name"], "acme_secrets");
    assert_eq!(first["guards"][0]["tier"], "community");
    assert_eq!(first["lastReloadError"], Value::Null);

    let (status, content_type, body) = check(&dev, "", &file_write(".env", API_KEY));
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let result = &body["results"][0];
    assert_eq!(result["guard"], "acme_secrets");
    assert_eq!(result["handled"], true);
    assert_eq!(result["status"], "deny");
    assert_eq!(result["severity"], "critical");
    assert!(
        result["reason"].as_str().unwrap().contains("acme_api_key"),
        "{body}"
    );
    assert!(
        !body.to_string().contains(API_KEY),
        "the key leaked: {body}"
    );
    assert!(result["durationUs"].as_u64().is_some(), "{body}");

    let (_, _, body) = check(&dev, "", &file_write("a.txt", "nothing here"));
    assert_eq!(body["results"][0]["status"], "allow");

    // An event type the guard does not handle is reported, not decided.
    let egress = json!({"eventType": "network_egress",
                        "data": {"type": "network", "host": "h.example", "port": 443}});
    let (status, _, body) = check(&dev, "", &egress);
    assert_eq!(status, 200);
    assert_eq!(body["results"][0]["handled"], false);
    assert!(body["results"][0].get("status").is_none(), "{body}");

    // Bad requests: problem+json with a reason.
    for (query, raw, expected, needle) in [
        ("", "{not json".to_string(), 400, "invalid JSON at line 1"),
        (
            "",
            json!({"eventType": "file_nope", "data": {}}).to_string(),
            400,
            "file_nope",
        ),
        (
            "?guard=nope",
            file_write("a", "b").to_string(),
            404,
            "no guard `nope`",
        ),
    ] {
        let (status, content_type, body) = send(
            client()
                .post(format!("{}/check{query}", dev.url))
                .body(raw.clone()),
        );
        assert_eq!(status, expected, "{raw}: {body}");
        assert_eq!(content_type, "application/problem+json", "{raw}");
        assert!(
            body["detail"].as_str().unwrap().contains(needle),
            "{raw}: {body}"
        );
    }
    let (status, _, body) = check(&dev, "?guard=acme_secrets", &file_write("a", "b"));
    assert_eq!(
        (status, body["results"].as_array().unwrap().len()),
        (200, 1)
    );

    // A different package in the same place is swapped in.
    copy_package("parity-rust", dir.path());
    let second = wait_for(&dev, "the parity guard", |i| i["generation"] == 2);
    assert_eq!(second["guards"][0]["name"], "parity_check");
    let (_, _, body) = check(&dev, "", &file_write("setup.exe", "MZ"));
    assert_eq!(body["generation"], 2);
    assert_eq!(body["results"][0]["guard"], "parity_check");
    assert_eq!(body["results"][0]["status"], "deny");

    // A broken component is refused; the previous build keeps answering.
    std::fs::write(dir.path().join("dist/guard.wasm"), b"not a component").unwrap();
    let refused = wait_for(&dev, "the refusal", |i| {
        i["lastReloadError"].as_str().is_some()
    });
    assert_eq!(refused["generation"], 2);
    assert!(
        refused["lastReloadError"]
            .as_str()
            .unwrap()
            .contains("not a valid guard component"),
        "{refused}"
    );
    let (_, _, body) = check(&dev, "", &file_write("setup.exe", "MZ"));
    assert_eq!(body["results"][0]["status"], "deny");

    // Fixing it clears the error.
    copy_package("parity-rust", dir.path());
    let fixed = wait_for(&dev, "the fix", |i| i["generation"] == 3);
    assert_eq!(fixed["lastReloadError"], Value::Null);
}

#[test]
fn refuses_a_package_that_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let out = clawdstrike(&["guard", "dev", "--listen", "127.0.0.1:0"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let missing = dir.path().join("nothing-here");
    let out = clawdstrike(
        &[
            "guard",
            "dev",
            "--listen",
            "127.0.0.1:0",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing-here"), "{}", stderr(&out));

    copy_package("acme-secrets", dir.path());
    let out = clawdstrike(
        &[
            "guard",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--config",
            r#"{"patterns": [{"name": "x", "regex": "("}]}"#,
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("config.patterns[0].regex"),
        "{}",
        stderr(&out)
    );
}
