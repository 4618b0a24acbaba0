//! The async machinery's overhead (issue 5's target: ≤ 5 µs on a cache hit), each against
//! a baseline measured in the same run:
//!
//! * `Resilience::call` answering from its cache, against a bare cache lookup;
//! * a whole decision with a VirusTotal guard answering from its cache, against the same
//!   decision by the same built-in guards without it (the difference is the async path:
//!   planning, the cache lookup, the memo, the contribution);
//! * `check_async` on a built-in-only policy, against `check` (the synchronous path must
//!   cost nothing extra).
//!
//! The VirusTotal guard is filled once from a local server in the service's documented
//! shape (`tests/fake_services`).
//!
//! `cargo bench -p clawdstrike-engine --bench resilience`; the smoke run
//! (`cargo test --benches`) runs each once.

use std::hint::black_box;

use clawdstrike_engine::resilience::{AsyncConfig, Attempt, Resilience, ResultCache};
use criterion::{criterion_group, Criterion};
use serde_json::json;

fn bench_cache_hit(c: &mut Criterion) {
    let config = AsyncConfig::from_value(&json!({
        "rate_limit": {"requests_per_second": 1000},
        "circuit_breaker": {"failure_threshold": 5},
        "retry": {"max_retries": 2}
    }))
    .expect("valid async block");
    let resilience: Resilience<u64> = Resilience::new(&config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    runtime
        .block_on(resilience.call("guard:e1", || async { Attempt::Done(42) }))
        .expect("first call fills the cache");
    c.bench_function("resilience call, cache hit", |b| {
        b.iter(|| {
            let r = runtime
                .block_on(resilience.call(black_box("guard:e1"), || async { Attempt::Done(0) }));
            black_box(r.expect("cached"))
        })
    });
    let bare: ResultCache<u64> = ResultCache::new(std::time::Duration::from_secs(3600), 100_000);
    bare.insert("guard:e1".into(), 42);
    c.bench_function("baseline: bare cache lookup", |b| {
        b.iter(|| black_box(bare.get(black_box("guard:e1"))))
    });
}

#[path = "../tests/fake_services/mod.rs"]
mod fake_services;

fn bench_engine_paths(c: &mut Criterion) {
    use clawdstrike_engine::{Engine, PolicyEvent};
    let server = fake_services::start();
    let content = "x".repeat(4096);
    server.with(|i| {
        i.vt.insert(fake_services::sha256_hex(content.as_bytes()), 0);
    });
    let builtins = "version: \"1.2.0\"\nextends: default\n";
    let with_vt = format!(
        "{builtins}guards:\n  custom:\n    - package: clawdstrike-virustotal\n      config: {{base_url: \"{}/api/v3\", api_key: {}}}\n",
        server.url(""),
        fake_services::KEY
    );
    let plain = Engine::from_yaml(builtins).expect("policy");
    let async_engine = Engine::from_yaml(&with_vt).expect("policy with VirusTotal");
    let event = PolicyEvent::file_write("e1", "/repo/src/data.txt", &content);
    let first = async_engine.check(&event);
    assert_eq!(server.count(), 1, "the first check asks: {first:?}");

    let mut group = c.benchmark_group("decision, 4 KB file_write");
    group.bench_function("baseline: built-in guards", |b| {
        b.iter(|| black_box(plain.check(black_box(&event))))
    });
    group.bench_function("built-in guards + VirusTotal cache hit, check", |b| {
        b.iter(|| black_box(async_engine.check(black_box(&event))))
    });
    group.bench_function("built-in guards + VirusTotal cache hit, check_async", |b| {
        b.iter(|| {
            black_box(futures_executor::block_on(
                async_engine.check_async(black_box(&event)),
            ))
        })
    });
    group.bench_function("built-in guards only, check_async", |b| {
        b.iter(|| {
            black_box(futures_executor::block_on(
                plain.check_async(black_box(&event)),
            ))
        })
    });
    group.finish();
    assert_eq!(server.count(), 1, "every later check was a cache hit");
}

criterion_group!(benches, bench_cache_hit, bench_engine_paths);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
