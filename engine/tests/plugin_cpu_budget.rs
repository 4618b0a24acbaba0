//! `maxCpuMs` is CPU time on the machine at hand (issue 18): a guard spinning in a loop is
//! denied once the checking thread has used its budget, on baseline and on optimised
//! code, while another process keeps both cores busy. The bound checked is the thread's
//! CPU time (a CPU-time measurement, not a wall-clock timing): at most the budget plus
//! `cpu_overshoot_bound` (the larger of 10 % and 5 ms).

mod common;

use std::process::{Child, Command};
use std::time::Duration;

use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::cpu_clock::CpuMeter;
use clawdstrike_engine::plugin::limits::cpu_overshoot_bound;
use clawdstrike_engine::plugin::manifest::TrustTier;
use clawdstrike_engine::plugin::{PackageRequest, WasmGuard};
use clawdstrike_engine::{PolicyEvent, Status};
use common::guards::{example_wasm, manifest, package, ALL_EVENTS};
use common::plugin_host::host_in;
use serde_json::json;

/// Busy processes, one per core, killed when dropped.
struct Load(Vec<Child>);

impl Load {
    fn both_cores() -> Load {
        Load(
            (0..2)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("start a busy process")
                })
                .collect(),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Check a spinning guard once on this thread: its verdict and the CPU time it took.
fn spin(guard: &WasmGuard) -> (String, Duration) {
    let event = PolicyEvent::file_write("spin", "/tmp/a", "x");
    let meter = CpuMeter::start();
    let verdict = guard
        .check(&event)
        .expect("the hostile guard handles file_write");
    let used = meter.used();
    assert_eq!(verdict.status, Status::Deny, "{verdict:?}");
    (verdict.message, used)
}

#[test]
fn a_spinning_guard_is_denied_within_its_cpu_budget_on_a_loaded_machine() {
    let _load = Load::both_cores();
    for budget_ms in [10u64, 100] {
        // A cache of its own: the first check runs on baseline code, then the optimised
        // build is waited for.
        let cache = tempfile::tempdir().unwrap();
        let h = host_in(cache.path().to_path_buf(), &[]);
        let pkg = package(
            &example_wasm("hostile"),
            &manifest(
                "hostile",
                ALL_EVENTS,
                json!({}),
                // The wall clock far away, so the CPU budget is what stops it.
                json!({"maxCpuMs": budget_ms, "maxTimeoutMs": 30_000}),
                "verified",
            ),
        );
        let guard = h
            .host
            .load(PackageRequest {
                path: pkg.path(),
                config: &json!({"mode": "loop"}),
                trust_override: None,
                entitled: TrustTier::Verified,
            })
            .expect("load the hostile guard")
            .remove(0);
        let budget = Duration::from_millis(budget_ms);
        let bound = budget + cpu_overshoot_bound(budget);
        let mut runs = Vec::new();
        if !guard.is_optimized() {
            runs.push(("baseline", spin(&guard)));
        }
        assert!(
            guard.wait_optimized(Duration::from_secs(120)),
            "the optimised build"
        );
        runs.push(("optimised", spin(&guard)));
        for (code, (message, used)) in runs {
            assert!(
                message.contains(&format!("CPU budget of {budget_ms} ms")),
                "{code}: {message}"
            );
            assert!(
                used <= bound,
                "{code} code with a {budget_ms} ms budget used {used:?} of CPU (bound {bound:?})"
            );
            assert!(
                used >= budget,
                "{code} code was stopped after {used:?} of CPU, before its {budget_ms} ms"
            );
        }
    }
}
