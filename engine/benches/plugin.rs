//! WebAssembly guard costs (issue 3's targets): cold load (compile: baseline code, with the
//! optimised build's arrival reported beside it), load from the local
//! cache, the check of a 4 KB event through the engine with a fresh instance per check,
//! and resident memory per loaded guard — for the Rust ACME guard and the TypeScript
//! parity guard. Also reports where the CPU budget stops a spinning guard: the checking
//! thread's CPU time and the wall time, for 10 ms, 100 ms and 1 s budgets on baseline and
//! optimised code.
//!
//! `cargo bench -p clawdstrike-engine --bench plugin` for the numbers (set
//! `CLAWDSTRIKE_BENCH_GUARD=DIR` to measure another package too); the smoke run
//! (`cargo test --benches`) runs every measurement once. Needs the example guards built
//! (`scripts/build-guards.sh`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clawdstrike_engine::guards::Guard;
use clawdstrike_engine::plugin::{HostOptions, PluginHost, WasmGuard};
use clawdstrike_engine::{Engine, Policy, PolicyEvent};
use criterion::{criterion_group, Criterion};
use serde_json::{json, Value};

fn example(dir: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/guards")
        .join(dir);
    assert!(
        root.join("dist/guard.wasm").is_file(),
        "{}/dist/guard.wasm is missing: run scripts/build-guards.sh",
        root.display()
    );
    root
}

fn host(cache: Option<&Path>) -> PluginHost {
    PluginHost::new(HostOptions {
        cache_dir: cache.map(Path::to_path_buf),
        ..HostOptions::default()
    })
    .expect("plugin host")
}

/// A host that compiles first loads with the optimising compiler only: the baseline for
/// the cold-load figure, measured in the same run.
fn optimizing_only_host() -> PluginHost {
    PluginHost::new(HostOptions {
        cache_dir: None,
        baseline_compiler: false,
        ..HostOptions::default()
    })
    .expect("plugin host")
}

fn load(host: &PluginHost, dir: &Path, config: &Value) -> WasmGuard {
    host.load_package(dir, config)
        .unwrap_or_else(|e| panic!("load {}: {e}", dir.display()))
        .remove(0)
}

/// A 4 KB file write with nothing secret in it.
fn event_4kb(path: &str) -> PolicyEvent {
    let line = "let total = items.iter().map(|i| i.price * i.quantity).sum::<u64>();\n";
    let content: String = line
        .repeat(4096 / line.len() + 1)
        .chars()
        .take(4096)
        .collect();
    PolicyEvent::file_write("bench-4kb", path, &content)
}

fn engine_with(dir: Option<&Path>, host: &PluginHost) -> Engine {
    let yaml = match dir {
        Some(d) => format!(
            "version: \"1.2.0\"\nname: bench\nguards:\n  custom:\n    - path: {}\n",
            d.display()
        ),
        None => "version: \"1.2.0\"\nname: bench\n".to_string(),
    };
    let policy = Policy::from_yaml(&yaml).expect("policy");
    Engine::builder(&policy)
        .plugin_host(host.clone())
        .build()
        .expect("engine")
}

fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)]
}

fn median(mut samples: Vec<Duration>) -> Duration {
    percentile(&mut samples, 0.5)
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

struct Report {
    cold: Duration,
    optimized: Duration,
    full_compile: Duration,
    cached: Duration,
    p50: Duration,
    p99: Duration,
    baseline_p50: Duration,
    baseline_p99: Duration,
    resident_per_guard: f64,
}

fn measure(label: &str, dir: &Path, config: &Value, full: bool) -> Report {
    let (cold_runs, cached_runs, checks, guards) = if full {
        (5, 50, 5000, 20)
    } else {
        (1, 2, 20, 2)
    };
    // Cold: compile every time (no cache). The load returns on baseline code; the
    // optimised build follows in the background (measured until it is swapped in, and
    // waited for so it does not compete with the next measurement).
    let nocache = host(None);
    let (cold, optimized): (Vec<Duration>, Vec<Duration>) = (0..cold_runs)
        .map(|_| {
            let t = Instant::now();
            let guard = black_box(load(&nocache, dir, config));
            let cold = t.elapsed();
            assert!(
                guard.wait_optimized(Duration::from_secs(120)),
                "optimised build"
            );
            (cold, t.elapsed())
        })
        .unzip();
    let (cold, optimized) = (median(cold), median(optimized));
    let full_compile_host = optimizing_only_host();
    let full_compile = median(
        (0..cold_runs)
            .map(|_| {
                let t = Instant::now();
                black_box(load(&full_compile_host, dir, config));
                t.elapsed()
            })
            .collect(),
    );
    // Their epoch tickers would only add noise to what follows.
    drop((nocache, full_compile_host));
    // From the local cache (the first load fills it once its optimised build lands).
    let cache_dir = tempfile::tempdir().expect("cache dir");
    let cached_host = host(Some(cache_dir.path()));
    assert!(load(&cached_host, dir, config).wait_optimized(Duration::from_secs(120)));
    let cached = median(
        (0..cached_runs)
            .map(|_| {
                let t = Instant::now();
                black_box(load(&cached_host, dir, config));
                t.elapsed()
            })
            .collect(),
    );
    // A 4 KB event through the engine, fresh instance per check; baseline = the same
    // engine without the custom guard, measured in the same run.
    let event = event_4kb("/home/dev/project/src/report.rs");
    let with = engine_with(Some(dir), &cached_host);
    let without = engine_with(None, &cached_host);
    let sample = |engine: &Engine| {
        for _ in 0..checks / 10 + 1 {
            black_box(engine.check(&event));
        }
        let mut s: Vec<Duration> = (0..checks)
            .map(|_| {
                let t = Instant::now();
                black_box(engine.check(black_box(&event)));
                t.elapsed()
            })
            .collect();
        (percentile(&mut s, 0.5), percentile(&mut s, 0.99))
    };
    let (p50, p99) = sample(&with);
    let (baseline_p50, baseline_p99) = sample(&without);
    // Resident memory per loaded guard (from the cache, as an engine loads them).
    let before = resident_bytes();
    let loaded: Vec<WasmGuard> = (0..guards)
        .map(|_| load(&cached_host, dir, config))
        .collect();
    for g in &loaded {
        black_box(g.check(&event));
    }
    let resident_per_guard = resident_bytes().saturating_sub(before) as f64 / guards as f64;
    drop(loaded);
    let r = Report {
        cold,
        optimized,
        full_compile,
        cached,
        p50,
        p99,
        baseline_p50,
        baseline_p99,
        resident_per_guard,
    };
    println!(
        "\n{label}: cold load (compile) {:?} (optimised build swapped in after {:?}; optimising compiler alone {:?}); load from cache {:?}; 4 KB event through the engine \
         p50 {:?} p99 {:?} (built-ins only: p50 {:?} p99 {:?}; guard adds p99 {:?}); \
         resident per loaded guard {:.2} MB",
        r.cold,
        r.optimized,
        r.full_compile,
        r.cached,
        r.p50,
        r.p99,
        r.baseline_p50,
        r.baseline_p99,
        r.p99.saturating_sub(r.baseline_p99),
        r.resident_per_guard / (1 << 20) as f64,
    );
    r
}

/// Where `maxCpuMs` stops a guard spinning in a tight loop: the CPU time of the checking
/// thread and the wall time, for 10 ms, 100 ms and 1 s budgets, on baseline code (right
/// after a cold load) and on optimised code. The documented bound is the budget plus the
/// larger of 10 % and 5 ms.
fn cpu_budget_stops(full: bool) {
    use clawdstrike_engine::plugin::cpu_clock::CpuMeter;
    use clawdstrike_engine::plugin::limits::cpu_overshoot_bound;
    use clawdstrike_engine::plugin::manifest::TrustTier;
    use clawdstrike_engine::plugin::PackageRequest;
    let wasm = example("hostile").join("dist/guard.wasm");
    let event = PolicyEvent::file_write("loop", "/tmp/x", "x");
    let runs = if full { 5 } else { 1 };
    let budgets: &[u64] = if full { &[10, 100, 1000] } else { &[10, 100] };
    println!("\nCPU budget (maxCpuMs) against a tight loop: median of {runs} run(s), CPU / wall");
    for &budget_ms in budgets {
        let pkg = tempfile::tempdir().expect("package dir");
        std::fs::create_dir(pkg.path().join("dist")).expect("dist");
        std::fs::copy(&wasm, pkg.path().join("dist/guard.wasm")).expect("component");
        let manifest = json!({
            "version": "1.0.0", "name": "bench-spin", "clawdstrike": {"minVersion": "0.1.0"},
            "guards": [{"name": "hostile", "entrypoint": "dist/guard.wasm", "handles": ["file_read", "file_write", "network_egress", "command_exec",
                "patch_apply", "tool_call", "secret_access", "custom"]}],
            "resources": {"maxCpuMs": budget_ms, "maxTimeoutMs": 30_000},
            "trust": {"level": "verified", "sandbox": "wasm"}
        });
        std::fs::write(
            pkg.path().join("clawdstrike.plugin.json"),
            manifest.to_string(),
        )
        .expect("manifest");
        let host = host(None);
        let guard = host
            .load(PackageRequest {
                path: pkg.path(),
                config: &json!({"mode": "loop"}),
                trust_override: None,
                entitled: TrustTier::Verified,
            })
            .expect("load the spinning guard")
            .remove(0);
        let time = |guard: &WasmGuard| {
            let mut samples: Vec<(Duration, Duration)> = (0..runs)
                .map(|_| {
                    let meter = CpuMeter::start();
                    black_box(guard.check(&event));
                    (meter.used(), meter.elapsed())
                })
                .collect();
            samples.sort();
            samples[samples.len() / 2]
        };
        let baseline = (!guard.is_optimized()).then(|| time(&guard));
        assert!(
            guard.wait_optimized(Duration::from_secs(120)),
            "optimised build"
        );
        let optimized = time(&guard);
        let budget = Duration::from_millis(budget_ms);
        let show = |m: Option<(Duration, Duration)>| {
            m.map_or("(not measured)".to_string(), |(cpu, wall)| {
                format!(
                    "{:.1} ms / {:.1} ms",
                    cpu.as_secs_f64() * 1e3,
                    wall.as_secs_f64() * 1e3
                )
            })
        };
        println!(
            "  {budget_ms:>5} ms budget (bound {:.1} ms): baseline {}, optimised {}",
            (budget + cpu_overshoot_bound(budget)).as_secs_f64() * 1e3,
            show(baseline),
            show(Some(optimized)),
        );
    }
}

fn bench_check(c: &mut Criterion) {
    let dir = example("acme-secrets");
    let cache = tempfile::tempdir().expect("cache dir");
    let host = host(Some(cache.path()));
    let engine = engine_with(Some(&dir), &host);
    let event = event_4kb("/home/dev/project/src/report.rs");
    c.bench_function("plugin/acme_4kb_event_through_engine", |b| {
        b.iter(|| black_box(engine.check(black_box(&event))))
    });
}

criterion_group!(benches, bench_check);

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    benches();
    Criterion::default().configure_from_args().final_summary();
    measure(
        "Rust ACME guard",
        &example("acme-secrets"),
        &json!({}),
        full,
    );
    measure(
        "TypeScript parity guard",
        &example("parity-ts"),
        &json!({}),
        full,
    );
    measure(
        "Rust parity guard",
        &example("parity-rust"),
        &json!({}),
        full,
    );
    // Measure your own guard package the same way.
    if let Some(dir) = std::env::var_os("CLAWDSTRIKE_BENCH_GUARD") {
        let dir = PathBuf::from(dir);
        measure(&dir.display().to_string(), &dir, &json!({}), full);
    }
    cpu_budget_stops(full);
}
