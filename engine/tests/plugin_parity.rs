//! The parity promise: the same guard written in Rust and in TypeScript, run as
//! components in the engine, gives the same results on the same vectors
//! (`examples/guards/parity-vectors.json`), and both match the vectors' expectations.

mod common;

use clawdstrike_engine::decision::Verdict;
use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::{HostOptions, PluginHost, WasmGuard};
use clawdstrike_engine::PolicyEvent;
use common::guards::{example_dir, repo_root};
use serde_json::{json, Value};

fn vectors() -> Vec<Value> {
    let path = repo_root().join("examples/guards/parity-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("parity vectors are JSON")
}

fn load(host: &PluginHost, dir: &str, config: &Value) -> Result<WasmGuard, String> {
    host.load_package(&example_dir(dir), config)
        .map(|mut g| g.remove(0))
        .map_err(|e| e.to_string())
}

/// What a verdict looks like in the vectors' terms.
fn observed(v: &Verdict) -> Value {
    let severity = match v.status {
        // An allow without a severity is reported by the engine as `low`.
        clawdstrike_engine::Status::Allow => Value::Null,
        _ => json!(v.severity),
    };
    json!({
        "status": v.status,
        "severity": severity,
        "reason": v.message,
        "details": v.details.clone().unwrap_or(Value::Null),
    })
}

#[test]
fn rust_and_typescript_components_agree_on_every_vector() {
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::new(HostOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostOptions::default()
    })
    .unwrap();
    let mut compared = 0;
    for vector in vectors() {
        let name = vector["name"].as_str().unwrap_or("?").to_string();
        let config = vector.get("config").cloned().unwrap_or(json!({}));
        let expect = &vector["expect"];
        let rust = load(&host, "parity-rust", &config);
        let ts = load(&host, "parity-ts", &config);
        if let Some(error) = expect.get("error").and_then(Value::as_str) {
            // Either the configuration is refused at load by both ...
            match (&rust, &ts) {
                (Err(r), Err(t)) => {
                    assert!(
                        r.contains(error),
                        "{name}: rust load error {r:?} lacks {error:?}"
                    );
                    assert!(
                        t.contains(error),
                        "{name}: ts load error {t:?} lacks {error:?}"
                    );
                    compared += 1;
                    continue;
                }
                (Ok(_), Ok(_)) => {}
                _ => panic!("{name}: one language refused the config: rust {rust:?}, ts {ts:?}"),
            }
        }
        let (rust, ts) = (
            rust.unwrap_or_else(|e| panic!("{name}: rust: {e}")),
            ts.unwrap_or_else(|e| panic!("{name}: ts: {e}")),
        );
        // ... or the event is one the engine itself refuses (malformed events never
        // reach a guard), or both guards answer.
        let Ok(event) = PolicyEvent::from_value(vector["event"].clone()) else {
            continue;
        };
        let (r, t) = match (rust.check(&event), ts.check(&event)) {
            (Some(r), Some(t)) => (r, t),
            // An event type neither declares: the engine does not call the guards at all
            // (the vectors' own "not handled" answer is checked by each language's tests).
            (None, None) => {
                assert!(
                    !rust.handles().contains(&event.event_type),
                    "{name}: skipped an event it handles"
                );
                continue;
            }
            _ => panic!("{name}: one language skipped the event and the other did not"),
        };
        assert_eq!(
            observed(&r),
            observed(&t),
            "{name}: rust and typescript differ"
        );
        if let Some(error) = expect.get("error").and_then(Value::as_str) {
            assert!(r.message.contains(error), "{name}: {r:?}");
        } else {
            let o = observed(&r);
            for key in ["status", "severity", "reason", "details"] {
                if let Some(want) = expect.get(key) {
                    assert_eq!(&o[key], want, "{name}: {key}");
                }
            }
        }
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} vectors compared");
}
