//! The WebAssembly guard host against the real example components: limits, fail-closed
//! behaviour, capabilities, audit records, and guards inside a policy.

mod common;

use std::time::{Duration, Instant};

use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::manifest::TrustTier;
use clawdstrike_engine::plugin::{PackageRequest, WasmGuard};
use clawdstrike_engine::{PolicyEvent, Status};
use common::guards::{example_wasm, manifest, package, ALL_EVENTS};
use common::plugin_host::{host, host_in, Host};
use serde_json::{json, Value};

fn event(v: Value) -> PolicyEvent {
    PolicyEvent::from_value(v).unwrap()
}

fn file_write(path: &str, content: &str) -> PolicyEvent {
    event(
        json!({"eventType": "file_write", "data": {"type": "file", "path": path, "content": content}}),
    )
}

fn hostile_manifest(resources: Value, tier: &str, capabilities: Value) -> Value {
    manifest("hostile", ALL_EVENTS, capabilities, resources, tier)
}

fn load_hostile(h: &Host, mode: &str, resources: Value, tier: &str) -> WasmGuard {
    let pkg = package(
        &example_wasm("hostile"),
        &hostile_manifest(resources, tier, json!({})),
    );
    let entitled: TrustTier = tier.parse().expect("tier");
    let mut guards = h
        .host
        .load(PackageRequest {
            path: pkg.path(),
            config: &json!({"mode": mode}),
            trust_override: None,
            entitled,
        })
        .unwrap_or_else(|e| panic!("load hostile/{mode}: {e}"));
    guards.remove(0)
}

fn deny_reason(guard: &WasmGuard, e: &PolicyEvent) -> String {
    let v = guard.check(e).expect("guard handles the event");
    assert_eq!(v.status, Status::Deny, "{v:?}");
    v.message
}

#[test]
fn a_well_behaved_guard_allows() {
    let h = host();
    let g = load_hostile(&h, "ok", json!({}), "community");
    let v = g.check(&file_write("/tmp/a", "x")).unwrap();
    assert_eq!(v.status, Status::Allow, "{v:?}");
    assert_eq!(h.audit.kinds("plugin_loaded").len(), 1);
    let checks = h.audit.kinds("plugin_check");
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["guard"], "hostile");
    // Events the guard does not handle are skipped, not run.
    let pkg = package(
        &example_wasm("hostile"),
        &hostile_manifest(json!({}), "community", json!({})),
    );
    let narrow = h
        .host
        .load_package(pkg.path(), &json!({"mode": "ok"}))
        .unwrap();
    assert_eq!(narrow[0].handles().len(), ALL_EVENTS.len());
}

#[test]
fn an_infinite_loop_is_stopped_at_its_cpu_budget() {
    let h = host();
    let g = load_hostile(&h, "loop", json!({"maxCpuMs": 20}), "community");
    let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
    assert!(reason.contains("CPU budget"), "{reason}");
    let errors = h.audit.kinds("plugin_error");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0]["error"].as_str().unwrap().contains("CPU"));
}

#[test]
fn an_infinite_loop_is_stopped_at_its_wall_clock_limit() {
    let h = host();
    // Verified tier: CPU budget far above the wall-clock limit, so the wall clock is what
    // stops it.
    let wall = 100u64;
    let g = load_hostile(
        &h,
        "loop",
        json!({"maxCpuMs": 1000, "maxTimeoutMs": wall}),
        "verified",
    );
    let mut elapsed = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
        elapsed.push(started.elapsed());
        assert!(reason.contains("wall-clock limit of 100 ms"), "{reason}");
    }
    elapsed.sort();
    // The bound: stopped within its limit plus 50 ms (median of three runs, so
    // one scheduling hiccup on a shared machine does not decide it).
    assert!(
        elapsed[1] <= Duration::from_millis(wall + 50),
        "stopped after {:?}",
        elapsed
    );
}

#[test]
fn unbounded_allocation_is_stopped_at_the_memory_limit() {
    let h = host();
    let g = load_hostile(&h, "alloc", json!({"maxMemoryMb": 32}), "community");
    let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
    assert!(reason.contains("memory limit of 32 MB"), "{reason}");
}

#[test]
fn deep_recursion_overflows_the_stack_not_the_process() {
    let h = host();
    let g = load_hostile(&h, "recurse", json!({}), "community");
    let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
    assert!(reason.contains("stack"), "{reason}");
}

#[test]
fn a_trap_fails_closed() {
    let h = host();
    let g = load_hostile(&h, "trap", json!({}), "community");
    let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
    assert!(reason.contains("unreachable"), "{reason}");
}

#[test]
fn a_huge_result_is_refused() {
    let h = host();
    let g = load_hostile(&h, "huge_result", json!({}), "community");
    let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
    assert!(
        reason.contains("verdict of") || reason.contains("memory limit"),
        "{reason}"
    );
}

#[test]
fn malformed_details_are_refused() {
    let h = host();
    let g = load_hostile(&h, "bad_json", json!({}), "community");
    let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
    assert!(reason.contains("not valid JSON"), "{reason}");
}

#[test]
fn undeclared_capabilities_stop_the_guard_and_are_audited() {
    let h = host();
    let g = load_hostile(&h, "undeclared", json!({}), "community");
    let reason = deny_reason(&g, &file_write("/tmp/a", "x"));
    assert!(
        reason.contains("does not declare capabilities."),
        "{reason}"
    );
    let denied = h.audit.kinds("capability_denied");
    assert_eq!(
        denied.len(),
        1,
        "the first undeclared call stops the guard: {denied:?}"
    );
}

#[test]
fn a_looping_init_fails_the_load() {
    let h = host();
    let pkg = package(
        &example_wasm("hostile"),
        &hostile_manifest(json!({"maxCpuMs": 20}), "community", json!({})),
    );
    let err = h
        .host
        .load_package(pkg.path(), &json!({"mode": "slow_init"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("CPU budget"), "{err}");
    assert_eq!(h.audit.kinds("plugin_error").len(), 1);
}

#[test]
fn the_engine_keeps_deciding_after_a_hostile_guard_misbehaves() {
    let h = host();
    let guards: Vec<WasmGuard> = ["loop", "alloc", "recurse", "trap", "ok"]
        .iter()
        .map(|m| {
            load_hostile(
                &h,
                m,
                json!({"maxCpuMs": 20, "maxMemoryMb": 32}),
                "community",
            )
        })
        .collect();
    for round in 0..3 {
        for g in &guards {
            let v = g.check(&file_write("/tmp/a", "x")).unwrap();
            let expected = if std::ptr::eq(g, &guards[4]) {
                Status::Allow
            } else {
                Status::Deny
            };
            assert_eq!(v.status, expected, "round {round}: {v:?}");
        }
    }
}

#[test]
fn malformed_components_are_rejected_at_load() {
    let h = host();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x01\0\0\0this is not a component").unwrap();
    let pkg = package(
        &garbage,
        &hostile_manifest(json!({}), "community", json!({})),
    );
    let err = h
        .host
        .load_package(pkg.path(), &json!({}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a valid guard component"), "{err}");

    // A core module is not a component either.
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let pkg = package(&core, &hostile_manifest(json!({}), "community", json!({})));
    let err = h
        .host
        .load_package(pkg.path(), &json!({}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a valid guard component"), "{err}");
}

#[test]
fn describe_must_agree_with_the_manifest() {
    let h = host();
    let pkg = package(
        &example_wasm("hostile"),
        &manifest(
            "someone_else",
            ALL_EVENTS,
            json!({}),
            json!({}),
            "community",
        ),
    );
    let err = h
        .host
        .load_package(pkg.path(), &json!({}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("describes itself as `hostile`"), "{err}");
    // Nor may the manifest claim event types the guard does not describe.
    let pkg = package(
        &example_wasm("hostile"),
        &manifest(
            "hostile",
            &["file_write"],
            json!({}),
            json!({}),
            "community",
        ),
    );
    let err = h
        .host
        .load_package(pkg.path(), &json!({}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("but the manifest declares [file_write]"),
        "{err}"
    );
}

#[test]
fn the_compiled_component_is_cached() {
    let own = tempfile::tempdir().unwrap();
    let h = host_in(own.path().to_path_buf(), &[]);
    let pkg = package(
        &example_wasm("hostile"),
        &hostile_manifest(json!({}), "community", json!({})),
    );
    // A first load starts on baseline code at once; the optimised build follows in the
    // background, replaces it, and lands in the cache.
    let first = h
        .host
        .load_package(pkg.path(), &json!({"mode": "ok"}))
        .unwrap()
        .remove(0);
    let event = file_write("/tmp/x", "hello");
    assert_eq!(first.check(&event).unwrap().status, Status::Allow);
    assert!(first.wait_optimized(Duration::from_secs(60)));
    assert_eq!(first.check(&event).unwrap().status, Status::Allow);
    let again = h
        .host
        .load_package(pkg.path(), &json!({"mode": "ok"}))
        .unwrap()
        .remove(0);
    assert!(again.is_optimized());
    let loads = h.audit.kinds("plugin_loaded");
    assert_eq!(loads[0]["cache"], "baseline");
    assert_eq!(loads[1]["cache"], "hit");
    assert_eq!(h.audit.kinds("plugin_optimized").len(), 1);
}

#[test]
fn a_local_package_cannot_grant_itself_a_higher_tier() {
    let h = host();
    // The manifest asks for `verified` (and its relaxed CPU budget); without a grant
    // from the policy it runs as community, where 1000 ms of CPU is not allowed.
    let pkg = package(
        &example_wasm("hostile"),
        &hostile_manifest(json!({"maxCpuMs": 1000}), "verified", json!({})),
    );
    let err = h
        .host
        .load_package(pkg.path(), &json!({}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("community") && err.contains("maxCpuMs"),
        "{err}"
    );
}

#[test]
fn tier_restrictions_are_applied_at_load() {
    let h = host();
    // Community guards may not ask for more than 100 ms of CPU.
    let pkg = package(
        &example_wasm("hostile"),
        &hostile_manifest(json!({"maxCpuMs": 1000}), "community", json!({})),
    );
    let err = h
        .host
        .load_package(pkg.path(), &json!({}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("maxCpuMs"), "{err}");
    // Nor a subprocess, at any tier.
    let pkg = package(
        &example_wasm("hostile"),
        &hostile_manifest(json!({}), "verified", json!({"subprocess": true})),
    );
    let err = h
        .host
        .load_package(pkg.path(), &json!({}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("subprocess"), "{err}");
}

#[test]
fn one_guard_serves_concurrent_checks_with_fresh_instances() {
    let h = host();
    let g = std::sync::Arc::new(load_hostile(&h, "ok", json!({}), "community"));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let g = g.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let v = g.check(&file_write(&format!("/tmp/{t}/{i}"), "x")).unwrap();
                    assert_eq!(v.status, Status::Allow, "{v:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a checking thread panicked");
    }
    assert_eq!(h.audit.kinds("plugin_check").len(), 100);
}
